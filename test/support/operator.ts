import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, writeFileSync } from "node:fs";
import { inject } from "vitest";
import { EnvDir } from "../../scripts/env/env-dir.js";
import { freePort, waitFor } from "../../scripts/env/ports.js";
import { testKubeconfig } from "./kubectl.js";

export interface LogRecord {
  msg: string;
  level: string;
  [field: string]: unknown;
}

/** A child process that logs JSON lines (the operator, the agent): its records, kept in order. */
export class JsonLogChild {
  readonly lines: LogRecord[] = [];
  protected readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly child: ChildProcess) {
    let buffer = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          this.lines.push(JSON.parse(line) as LogRecord);
        } catch {
          this.lines.push({ msg: line, level: "RAW" });
        }
      }
    });
    child.stderr?.on("data", (chunk: Buffer) => this.lines.push({ msg: chunk.toString(), level: "STDERR" }));
    this.exit = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  }

  logged(msg: string): LogRecord[] {
    return this.lines.filter((l) => l.msg === msg);
  }

  /** Resolves with the first record logged with `msg` (waiting up to `timeoutMs`). */
  waitForLog(msg: string, timeoutMs: number): Promise<LogRecord> {
    return waitFor(`log "${msg}"`, async () => this.logged(msg)[0], timeoutMs, 50).catch((err: unknown) => {
      throw new Error(`${err instanceof Error ? err.message : String(err)}\noutput:\n${this.dump()}`);
    });
  }

  dump(last = 40): string {
    return this.lines
      .slice(-last)
      .map((l) => JSON.stringify(l))
      .join("\n");
  }

  /** Stops the process where it stands (SIGSTOP), as a process that hangs; thaw() lets it go on. */
  freeze(): void {
    this.child.kill("SIGSTOP");
  }

  thaw(): void {
    this.child.kill("SIGCONT");
  }

  /** Sends a signal and resolves with the exit code and how long the exit took. */
  protected async signal(signal: NodeJS.Signals): Promise<{ code: number | null; ms: number }> {
    const started = Date.now();
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    const { code } = await this.exit;
    return { code, ms: Date.now() - started };
  }
}

/**
 * The built operator (dist/bloodraven.mjs) as a real child process on free loopback ports. Its
 * kubeconfig is copied into an env folder, so the folder's guardian kills it if the test dies.
 */
export class OperatorProcess extends JsonLogChild {
  private constructor(
    child: ChildProcess,
    private readonly env: EnvDir,
    readonly ports: { metrics: number; health: number; status: number },
  ) {
    super(child);
  }

  /**
   * `kubeconfig` is the file the operator uses (copied like the default), e.g. one holding a
   * ServiceAccount token; the test control plane's admin kubeconfig when omitted. `ports` are
   * those of an operator that ended, so that its clients (agents) find the new one.
   */
  static async start(opts: { identity: string; args?: string[]; env?: NodeJS.ProcessEnv; kubeconfig?: string; ports?: OperatorProcess["ports"] }): Promise<OperatorProcess> {
    const env = new EnvDir("operator");
    const kubeconfig = env.join("kubeconfig");
    copyFileSync(opts.kubeconfig ?? testKubeconfig(), kubeconfig);
    const ports = opts.ports ?? { metrics: await freePort(), health: await freePort(), status: await freePort() };
    const child = spawn(
      process.execPath,
      [
        `${inject("distDir")}/bloodraven.mjs`,
        "operator",
        `--kubeconfig=${kubeconfig}`,
        "--bind-address=127.0.0.1",
        `--metrics-port=${ports.metrics}`,
        `--health-port=${ports.health}`,
        `--status-port=${ports.status}`,
        `--identity=${opts.identity}`,
        "--log-level=debug",
        ...(opts.args ?? []),
      ],
      { env: { ...process.env, ...opts.env }, stdio: ["ignore", "pipe", "pipe"] },
    );
    if (child.pid === undefined) throw new Error("could not start the operator");
    writeFileSync(env.join("operator.pid"), String(child.pid));
    const op = new OperatorProcess(child, env, ports);
    await waitFor("operator /healthz", async () => (await fetch(op.url("health", "/healthz"))).ok, 15_000, 100).catch((err: unknown) => {
      throw new Error(`${err instanceof Error ? err.message : String(err)}\noperator output:\n${op.dump()}`);
    });
    return op;
  }

  url(server: "metrics" | "health" | "status", path: string): string {
    return `http://127.0.0.1:${this.ports[server]}${path}`;
  }

  wsUrl(path = "/ws/status"): string {
    return `ws://127.0.0.1:${this.ports.status}${path}`;
  }

  /** Sends a signal and resolves with the exit code and how long the exit took. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<{ code: number | null; ms: number }> {
    const result = await this.signal(signal);
    this.env.remove();
    return result;
  }
}
