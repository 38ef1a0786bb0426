/**
 * Runs a JavaScript program in MySQL Shell (`mysqlsh --no-wizard --js --file`): the program is
 * written into the work folder (it may name files of a mounted Secret, never a password), and
 * MySQL Shell's own log and history go there too, because a Job's root filesystem is read-only.
 */
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { exitOf, stderrTail } from "./run-tool.js";

export interface MysqlShellRun {
  /** Settles when MySQL Shell exits; rejects with the tail of its stderr when it failed. */
  readonly exited: Promise<void>;
  /** Ends MySQL Shell at once, when it still runs. */
  kill(): void;
}

export interface MysqlShellProgram {
  /** The executable. */
  readonly mysqlsh: string;
  /** Names the program's file (`<name>.js`) and the run in errors. */
  readonly name: string;
  readonly text: string;
  /** Exists; holds the program and MySQL Shell's own files. */
  readonly workDir: string;
  /** Which image must carry MySQL Shell, said when it cannot run. */
  readonly imageHint: string;
}

export async function runMysqlShell(program: MysqlShellProgram, signal: AbortSignal): Promise<MysqlShellRun> {
  const file = join(program.workDir, `${program.name}.js`);
  await writeFile(file, program.text, { mode: 0o600 });
  const env = { ...process.env, MYSQLSH_USER_CONFIG_HOME: join(program.workDir, "mysqlsh") };
  const child = spawn(program.mysqlsh, ["--no-wizard", "--js", "--file", file], { stdio: ["ignore", "ignore", "pipe"], signal, cwd: program.workDir, env });
  let notStarted: Error | undefined;
  child.once("error", (err) => (notStarted ??= err));
  const exited = exitOf(child, `mysqlsh ${program.name}`, stderrTail(child)).catch((err: unknown) => {
    if (notStarted && child.pid === undefined) throw new Error(`cannot run ${program.mysqlsh} (${notStarted.message}): ${program.imageHint}`);
    throw err;
  });
  return {
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}
