import { CommanderError } from "commander";
import { buildProgram } from "./program.js";

/** Exit codes: 0 success, 1 the operation failed, 2 bad usage or rejected input. */
async function main(): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version output end with exit 0; usage errors are already printed by commander.
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}

void main();
