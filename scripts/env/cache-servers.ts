import type { ChildProcess } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { createConnection } from "node:net";
import { EnvDir } from "./env-dir.js";
import { freePort, waitFor } from "./ports.js";
import { ensureDebianPackages } from "./prerequisites.js";
import { ManagedProcesses } from "./processes.js";

/**
 * Real cache servers for the Dragonfly tests: Debian's redis-server, which speaks the replication
 * commands Dragonfly does (Dragonfly itself is not packaged here; its own commands are pinned by
 * contract tests). Each server listens on loopback (or `address`), without persistence, in an
 * EnvDir, so the guardian removes what a killed test leaves.
 */
export interface CacheServer {
  name: string;
  host: string;
  port: number;
  /** SIGKILL: the server is gone as a crash leaves it. */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty (no persistence), as a replaced server comes back. */
  restart(): Promise<void>;
}

export class CacheServers {
  private constructor(
    private readonly env: EnvDir,
    private readonly processes: ManagedProcesses,
    readonly servers: CacheServer[],
  ) {}

  static async start(names: readonly string[], options: { password?: string; address?: string } = {}): Promise<CacheServers> {
    ensureDebianPackages(["/usr/bin/redis-server"], ["redis-server"]);
    const env = new EnvDir("cache");
    const processes = new ManagedProcesses(env);
    const host = options.address ?? "127.0.0.1";
    const running = new Map<string, ChildProcess>();
    const launch = async (name: string, port: number): Promise<void> => {
      // A folder of its own, emptied: a replica keeps the copy it loaded there as dump.rdb,
      // which a restarted server would load.
      const dir = env.join(name);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir);
      const args = ["--bind", host, "--port", String(port), "--save", "", "--appendonly", "no", "--dir", dir, "--protected-mode", "no", "--loglevel", "notice", "--repl-diskless-sync-delay", "0"];
      if (options.password !== undefined) args.push("--requirepass", options.password, "--masterauth", options.password);
      running.set(name, processes.start(name, "/usr/bin/redis-server", args));
      await waitFor(`redis-server ${name} on ${host}:${port}`, () => answersPing(host, port), 10_000, 50);
    };
    const servers: CacheServer[] = [];
    try {
      for (const name of names) {
        const port = await freePort();
        await launch(name, port);
        servers.push({
          name,
          host,
          port,
          kill: async () => {
            const child = running.get(name);
            if (child !== undefined) await processes.kill(child);
          },
          restart: () => launch(name, port),
        });
      }
    } catch (err) {
      await processes.stop();
      env.remove();
      throw err;
    }
    return new CacheServers(env, processes, servers);
  }

  get(name: string): CacheServer {
    const s = this.servers.find((x) => x.name === name);
    if (!s) throw new Error(`no cache server ${name}`);
    return s;
  }

  async stop(): Promise<void> {
    await this.processes.stop();
    this.env.remove();
  }
}

/** One PING with a 1 s deadline; any answer (+PONG, or -NOAUTH with a password) means it listens. */
function answersPing(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once("error", () => done(false));
    socket.once("data", () => done(true));
    socket.once("connect", () => socket.write("PING\r\n"));
  });
}
