import { spawn } from "node:child_process";
import { inject } from "vitest";

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** Runs a program to completion with a deadline; never throws on a non-zero exit. */
export function run(program: string, args: string[], opts: RunOptions = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { env: opts.env ?? process.env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    // A program that exits before reading its input closes the pipe: not an error of the test.
    child.stdin.on("error", () => undefined);
    child.stdin.end(opts.input ?? "");
  });
}

/** The kubeconfig of the control plane that test/e2e/global-setup.ts started. */
export function testKubeconfig(): string {
  return inject("kubeconfig");
}

/** The environment of kubectl against the test control plane, with the built plugin on PATH. */
function kubectlEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, KUBECONFIG: testKubeconfig(), PATH: `${inject("distDir")}:${process.env.PATH ?? ""}`, NO_COLOR: "1", ...extra };
}

/** Runs the installed kubectl against the test control plane, with the built plugin on PATH. */
export function kubectl(args: string[], opts: RunOptions = {}): Promise<CommandResult> {
  return run("kubectl", args, { ...opts, env: kubectlEnv(opts.env) });
}

/** kubectl (the plugin, with `bloodraven` first) as a child process the test interacts with (--watch, --wait). */
export function startKubectl(args: string[]) {
  const child = spawn("kubectl", args, { env: kubectlEnv(), stdio: ["ignore", "pipe", "pipe"] });
  const out = { stdout: "", stderr: "" };
  child.stdout.on("data", (d: Buffer) => (out.stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out.stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, out, exited };
}

/** kubectl that must succeed: its stdout, or an error with its stderr. */
export async function mustKubectl(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input === undefined ? {} : { input });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}:\n${r.stderr}`);
  return r.stdout;
}

declare module "vitest" {
  export interface ProvidedContext {
    kubeconfig: string;
    distDir: string;
  }
}
