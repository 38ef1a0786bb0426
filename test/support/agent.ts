import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { inject } from "vitest";
import { EnvDir } from "../../scripts/env/env-dir.js";
import type { MariaDbSite } from "../../scripts/env/mariadb-sites.js";
import { TEST_USERS } from "../../scripts/env/mariadb-sites.js";
import { waitFor } from "../../scripts/env/ports.js";
import { JsonLogChild } from "./operator.js";

export interface AgentOptions {
  site: string;
  group: string;
  namespace: string;
  operatorUrl: string;
  server: MariaDbSite;
  port: number;
  /** The other sites' agents: site to base URL. */
  peers?: Record<string, string>;
  /** Run inside this network namespace, listening on `bindAddress` (the site's own address). */
  netns?: string;
  bindAddress?: string;
  peerCheckInterval?: string;
  leaseTimeout?: string;
  env?: NodeJS.ProcessEnv;
}

/** The built agent (`dist/bloodraven.mjs agent`) beside one test server, as a real child process. */
export class AgentProcess extends JsonLogChild {
  private constructor(
    child: ConstructorParameters<typeof JsonLogChild>[0],
    private readonly env: EnvDir,
    /** Base URL of its API. */
    readonly url: string,
  ) {
    super(child);
  }

  static async start(opts: AgentOptions): Promise<AgentProcess> {
    const env = new EnvDir("agent");
    const peers = Object.entries(opts.peers ?? {}).map(([site, url]) => `${site}=${url}`);
    const bindAddress = opts.bindAddress ?? "127.0.0.1";
    const child = spawn(
      opts.netns ? "ip" : process.execPath,
      [
        ...(opts.netns ? ["netns", "exec", opts.netns, process.execPath] : []),
        `${inject("distDir")}/bloodraven.mjs`,
        "agent",
        `--site=${opts.site}`,
        `--group=${opts.group}`,
        `--namespace=${opts.namespace}`,
        `--operator-url=${opts.operatorUrl}`,
        `--peers=${peers.join(",")}`,
        `--bind-address=${bindAddress}`,
        `--port=${opts.port}`,
        `--mysql-host=${opts.server.host}`,
        `--mysql-port=${opts.server.port}`,
        `--mysql-user=${TEST_USERS.operator.user}`,
        `--peer-check-interval=${opts.peerCheckInterval ?? "1s"}`,
        `--lease-timeout=${opts.leaseTimeout ?? "3s"}`,
        "--log-level=debug",
      ],
      { env: { ...process.env, BLOODRAVEN_MYSQL_PASSWORD: TEST_USERS.operator.password, ...opts.env }, stdio: ["ignore", "pipe", "pipe"] },
    );
    if (child.pid === undefined) throw new Error("could not start the agent");
    writeFileSync(env.join("agent.pid"), String(child.pid));
    const agent = new AgentProcess(child, env, `http://${bindAddress}:${opts.port}`);
    await waitFor(`agent ${opts.site} /healthz`, async () => (await fetch(`${agent.url}/healthz`)).ok, 15_000, 100).catch((err: unknown) => {
      throw new Error(`${err instanceof Error ? err.message : String(err)}\nagent output:\n${agent.dump()}`);
    });
    return agent;
  }

  /** Resolves with the first record logged with `msg` (waiting up to `timeoutMs`). */
  waitForLog(msg: string, timeoutMs: number): Promise<Record<string, unknown>> {
    return waitFor(`agent log "${msg}"`, async () => this.logged(msg)[0], timeoutMs, 50).catch((err: unknown) => {
      throw new Error(`${err instanceof Error ? err.message : String(err)}\nagent output:\n${this.dump()}`);
    });
  }

  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<{ code: number | null; ms: number }> {
    const result = await this.signal(signal);
    this.env.remove();
    return result;
  }
}
