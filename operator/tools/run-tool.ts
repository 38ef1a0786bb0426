/**
 * Runs the database's command-line tools (mariadb-backup, mbstream) as child processes, with
 * their input piped from a stream and the tail of their stderr as the error when they fail.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { errorText } from "../../shared/errors.js";

/** Enough of a tool's stderr to say why it failed. */
const STDERR_TAIL = 2_000;

/**
 * Runs a tool to its end, fed from `input` when given (piped so that an error of either fails
 * the run); rejects with the tail of its stderr when it fails or `signal` aborts.
 */
export async function runTool(command: string, args: string[], signal: AbortSignal, input?: Readable): Promise<void> {
  const child = spawn(command, args, { stdio: [input ? "pipe" : "ignore", "ignore", "pipe"], signal });
  const stderr = stderrTail(child);
  const exited = exitOf(child, command, stderr);
  if (!input || !child.stdin) return exited;
  const [fed, exit] = await Promise.allSettled([pipeline(input, child.stdin), exited]);
  // The tool's own words say more (a full disk) than the broken pipe they leave behind.
  if (exit.status === "rejected") throw new Error(`${errorText(exit.reason)}${fed.status === "rejected" ? `; its input: ${errorText(fed.reason)}` : ""}`);
  if (fed.status === "rejected") throw fed.reason;
}

export function stderrTail(child: ChildProcess): () => string {
  let text = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    text = (text + chunk.toString("utf8")).slice(-STDERR_TAIL);
  });
  return () => text.trim();
}

export async function exitOf(child: ChildProcess, command: string, stderr: () => string): Promise<void> {
  const [code, signal] = (await once(child, "close")) as [number | null, NodeJS.Signals | null];
  if (code !== 0) throw new Error(`${command} failed (${code === null ? `signal ${signal}` : `exit code ${code}`}): ${stderr().split("\n").slice(-3).join(" | ")}`);
}
