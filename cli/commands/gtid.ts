import { CommanderError } from "commander";
import type { Command } from "commander";
import { GtidSet, GtidSetParseError } from "../../shared/gtid/gtid-set.js";

export interface GtidCommandOptions {
  /** Reads all of stdin, for arguments given as "-"; tests replace it. */
  readStdin?: () => Promise<string>;
}

const UUID_A = "3e11fa47-71ca-11e1-9e33-c80aa9429562";

function rootOf(command: Command): Command {
  let root = command;
  while (root.parent) root = root.parent;
  return root;
}

async function readProcessStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * Adds `gtid normalize|subtract|subset|count`: offline answers identical to MySQL's
 * GTID_SUBTRACT / GTID_SUBSET, for checking errant transactions by hand.
 */
export function registerGtidCommands(program: Command, options: GtidCommandOptions = {}): void {
  const readStdin = options.readStdin ?? readProcessStdin;

  // Output goes where the program's output is configured, even if that happened after this call.
  const writeOut = (command: Command, text: string): void => {
    const write = rootOf(command).configureOutput().writeOut ?? ((s: string) => process.stdout.write(s));
    write(text);
  };

  /** Parses each argument ("-" reads stdin once); bad input is exit code 2, like other usage errors. */
  const parseSets = async (command: Command, args: readonly string[]): Promise<GtidSet[]> => {
    if (args.filter((a) => a === "-").length > 1) fail(command, "only one argument can be \"-\" (stdin)");
    const sets: GtidSet[] = [];
    for (const arg of args) {
      try {
        sets.push(GtidSet.parse(arg === "-" ? await readStdin() : arg));
      } catch (err) {
        if (err instanceof GtidSetParseError) fail(command, err.message);
        throw err;
      }
    }
    return sets;
  };

  const example = (lines: string) => (context: { command: Command }) =>
    `\nExample:\n${lines.replaceAll("$CLI", rootOf(context.command).name())}\n`;

  const gtid = program
    .command("gtid")
    .description("compute with MySQL GTID sets offline, with the same results as MySQL's GTID functions")
    .addHelpText(
      "after",
      `
A set is written as MySQL prints @@gtid_executed: uuid[:tag]:interval[:interval...] entries
separated by commas, e.g. "${UUID_A}:1-5:11". Give "-" instead of a set to read it
from stdin (handy for a multi-line @@gtid_executed). Malformed sets exit with code 2.`,
    );

  gtid
    .command("normalize")
    .argument("<set>", "GTID set, or - for stdin")
    .description("print a set in canonical form: sorted, merged, lowercase, exactly as MySQL prints it")
    .addHelpText(
      "after",
      example(`  $ $CLI gtid normalize '${UUID_A.toUpperCase()}:4-6:1-3:9'
  ${UUID_A}:1-6:9`),
    )
    .action(async function (this: Command, set: string) {
      const [parsed] = await parseSets(this, [set]);
      writeOut(this, `${parsed!}\n`);
    });

  gtid
    .command("subtract")
    .argument("<a>", "GTID set, or - for stdin")
    .argument("<b>", "GTID set, or - for stdin")
    .description("print the transactions of <a> that are not in <b>, like GTID_SUBTRACT(a, b)")
    .addHelpText(
      "after",
      example(`  $ $CLI gtid subtract '${UUID_A}:1-57' '${UUID_A}:20-25'
  ${UUID_A}:1-19:26-57

  Errant transactions of a replica (should print an empty line):
  $ mysql -h replica -NBre 'SELECT @@GLOBAL.gtid_executed' | $CLI gtid subtract - "$PRIMARY_GTIDS"`),
    )
    .action(async function (this: Command, a: string, b: string) {
      const [setA, setB] = await parseSets(this, [a, b]);
      writeOut(this, `${setA!.subtract(setB!)}\n`);
    });

  gtid
    .command("subset")
    .argument("<a>", "GTID set, or - for stdin")
    .argument("<b>", "GTID set, or - for stdin")
    .description("print true when every transaction of <a> is also in <b>, else false; like GTID_SUBSET(a, b)")
    .addHelpText(
      "after",
      example(`  $ $CLI gtid subset '${UUID_A}:23-25' '${UUID_A}:21-57'
  true`),
    )
    .action(async function (this: Command, a: string, b: string) {
      const [setA, setB] = await parseSets(this, [a, b]);
      writeOut(this, `${setA!.isSubsetOf(setB!)}\n`);
    });

  gtid
    .command("count")
    .argument("<set>", "GTID set, or - for stdin")
    .description("print the number of transactions in a set")
    .addHelpText(
      "after",
      example(`  $ $CLI gtid count '${UUID_A}:1-5:11,
  ${UUID_A.replace("3e11", "4f22")}:tag_a:1-100'
  106`),
    )
    .action(async function (this: Command, set: string) {
      const [parsed] = await parseSets(this, [set]);
      writeOut(this, `${parsed!.count()}\n`);
    });
}

/** Prints `error: ...` and exits 2 through commander, so exitOverride() and tests see it. */
function fail(command: Command, message: string): never {
  const write = rootOf(command).configureOutput().writeErr ?? ((s: string) => process.stderr.write(s));
  write(`error: ${message}\n`);
  throw new CommanderError(2, "bloodraven.gtid.invalidSet", message);
}
