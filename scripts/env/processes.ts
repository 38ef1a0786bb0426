import { spawn, type ChildProcess } from "node:child_process";
import { openSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import type { EnvDir } from "./env-dir.js";
import { waitFor } from "./ports.js";

/**
 * The long-running servers of one test environment. Each writes its log and pid file into the
 * environment's folder, and every command line names a path inside that folder, which the
 * guardian (env-dir.ts) checks before it kills a pid.
 */
export class ManagedProcesses {
  private readonly children: { name: string; child: ChildProcess }[] = [];
  /** Killed on purpose by kill(): their exit is no news. */
  private readonly killed = new WeakSet<ChildProcess>();
  private stopping = false;

  constructor(private readonly env: EnvDir) {}

  start(name: string, binary: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): ChildProcess {
    const log = openSync(this.env.join(`${name}.log`), "a");
    const child = spawn(binary, args, { stdio: ["ignore", log, log], env: { ...process.env, ...extraEnv } });
    if (child.pid === undefined) throw new Error(`could not start ${name} (${binary})`);
    writeFileSync(this.env.join(`${name}.pid`), String(child.pid));
    child.once("exit", (code, signal) => {
      if (!this.stopping && !this.killed.has(child)) process.stderr.write(`${name} exited unexpectedly (code ${code}, signal ${signal}); log: ${this.env.join(`${name}.log`)}\n`);
    });
    this.children.push({ name, child });
    return child;
  }

  /** SIGKILLs one of them (a crash a test causes) and resolves once it is gone. */
  async kill(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    this.killed.add(child);
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGKILL");
    await exited;
  }

  logTail(name: string, lines = 40): string {
    try {
      return readFileSync(this.env.join(`${name}.log`), "utf8").split("\n").slice(-lines).join("\n");
    } catch {
      return "";
    }
  }

  /** SIGTERM in reverse start order, SIGKILL after graceMs: what started last depends on what started first. */
  async stop(graceMs = 5_000): Promise<void> {
    this.stopping = true;
    for (const { child } of [...this.children].reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    }
  }
}

function allThreadsStopped(pid: number): boolean {
  const tasks = `/proc/${pid}/task`;
  try {
    // The state follows the command name in parentheses; T means stopped by a signal.
    return readdirSync(tasks).every((tid) => {
      const stat = readFileSync(`${tasks}/${tid}/stat`, "utf8");
      return /^[Tt]$/.test(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0] ?? "");
    });
  } catch {
    return false; // a thread ended between listing and reading
  }
}

/**
 * SIGSTOPs `pid` (a server then hangs: the kernel still accepts connections, nothing answers) and
 * resolves once every thread has stopped: the signal lands asynchronously, and a request sent in
 * between would still be answered.
 */
export async function pauseProcess(pid: number, what: string): Promise<void> {
  process.kill(pid, "SIGSTOP");
  await waitFor(`${what} to stop`, async () => allThreadsStopped(pid), 5_000, 5);
}
