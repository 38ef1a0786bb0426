import { CommanderError } from "commander";
import { buildProgram } from "./program.js";
import { complete } from "./commands/complete.js";
import { normalizeArgs } from "./kube-flags.js";

const COMPLETE_COMMAND = "__complete";

/** Exit codes: 0 success, 1 the operation failed, 2 bad usage or rejected input. */
async function main(): Promise<void> {
  const program = buildProgram();
  // kubectl's plugin completion (kubectl_complete-bloodraven): answered before commander parses,
  // since the words are half-typed command lines, not a command.
  if (process.argv[2] === COMPLETE_COMMAND) {
    await complete(program, process.argv.slice(3), (text) => process.stdout.write(text));
    return;
  }
  const args = normalizeArgs(process.argv.slice(2));
  if (!args.ok) {
    process.stderr.write(`error: ${args.errors.join("; ")}\n`);
    process.exitCode = 2;
    return;
  }
  try {
    await program.parseAsync(args.value, { from: "user" });
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
