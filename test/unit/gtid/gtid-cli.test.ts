import { Command, CommanderError } from "commander";
import { describe, expect, it } from "vitest";
import { registerGtidCommands } from "../../../cli/commands/gtid.js";

const A = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
const B = "8a94f357-aab4-11df-86ab-c80aa9429562";

interface Run {
  out: string;
  err: string;
  exitCode: number;
  stdinReads: number;
}

async function run(args: string[], stdin = ""): Promise<Run> {
  const result: Run = { out: "", err: "", exitCode: 0, stdinReads: 0 };
  // Commander copies exitOverride and output settings to subcommands when they are created, so
  // configure the program first, as the CLI entry point must too.
  const program = new Command("bloodraven")
    .exitOverride()
    .configureOutput({ writeOut: (s) => (result.out += s), writeErr: (s) => (result.err += s) });
  registerGtidCommands(program, {
    readStdin: async () => {
      result.stdinReads++;
      return stdin;
    },
  });
  try {
    await program.parseAsync(args, { from: "user" });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    result.exitCode = err.exitCode;
  }
  return result;
}

describe("gtid commands", () => {
  it("normalize prints the canonical text and a newline", async () => {
    const r = await run(["gtid", "normalize", `${B.toUpperCase()}:4-6:1-3, ${A}:t:1:2`]);
    expect(r).toMatchObject({ out: `${A}:t:1-2,\n${B}:1-6\n`, err: "", exitCode: 0 });
  });

  it("normalize of an empty set prints an empty line", async () => {
    expect((await run(["gtid", "normalize", ""])).out).toBe("\n");
  });

  it("subtract is GTID_SUBTRACT(a, b)", async () => {
    const r = await run(["gtid", "subtract", `${A}:21-57`, `${A}:23-24`]);
    expect(r.out).toBe(`${A}:21-22:25-57\n`);
    expect((await run(["gtid", "subtract", `${A}:1-5`, `${A}:1-10`])).out).toBe("\n");
  });

  it("subset is GTID_SUBSET(a, b)", async () => {
    expect((await run(["gtid", "subset", `${A}:23-25`, `${A}:21-57`])).out).toBe("true\n");
    expect((await run(["gtid", "subset", `${A}:20-25`, `${A}:21-57`])).out).toBe("false\n");
    expect((await run(["gtid", "subset", `${A}:20-25`, `${A}:21-57`])).exitCode).toBe(0);
  });

  it("count prints the number of transactions, exactly", async () => {
    expect((await run(["gtid", "count", `${A}:1-5:11,${B}:x:1-100`])).out).toBe("106\n");
    expect((await run(["gtid", "count", `${A}:1-9223372036854775806`])).out).toBe("9223372036854775806\n");
  });

  it("reads a set given as - from stdin, e.g. a pasted multi-line @@gtid_executed", async () => {
    const r = await run(["gtid", "subtract", "-", `${A}:1-10`], `${A}:1-12,\n${B}:1-3\n`);
    expect(r.out).toBe(`${A}:11-12,\n${B}:1-3\n`);
    expect(r.stdinReads).toBe(1);
  });

  it("does not touch stdin otherwise", async () => {
    expect((await run(["gtid", "count", `${A}:1`])).stdinReads).toBe(0);
  });

  it("exits 2 with error: and the parser's message on a malformed set", async () => {
    const r = await run(["gtid", "subtract", `${A}:1-5`, `${A}:0-3`]);
    expect(r.exitCode).toBe(2);
    expect(r.out).toBe("");
    expect(r.err).toBe(
      `error: malformed GTID set: sequence number 0 is not allowed at offset 37 in "…-11e1-9e33-c80aa9429562:0-3" (sequence numbers start at 1)\n`,
    );
  });

  it.each([
    ["normalize", "not-a-set"],
    ["count", `${A}:`],
    ["subset", `${A}:1`, "x"],
  ])("exits 2 on malformed input to %s", async (...args) => {
    const r = await run(["gtid", ...args]);
    expect(r.exitCode).toBe(2);
    expect(r.err).toMatch(/^error: malformed GTID set: /);
  });

  it("exits 2 on malformed stdin", async () => {
    const r = await run(["gtid", "normalize", "-"], "garbage");
    expect(r.exitCode).toBe(2);
    expect(r.err).toMatch(/^error: malformed GTID set: "garbage" is not a UUID/);
  });

  it("refuses to read stdin for two arguments", async () => {
    const r = await run(["gtid", "subtract", "-", "-"], `${A}:1`);
    expect(r.exitCode).toBe(2);
    expect(r.err).toBe('error: only one argument can be "-" (stdin)\n');
  });

  it("leaves a missing argument to commander", async () => {
    const r = await run(["gtid", "subtract", `${A}:1`]);
    expect(r.exitCode).toBe(1);
    expect(r.err).toMatch(/missing required argument 'b'/);
  });

  it("shows a description and an example in each subcommand's help", async () => {
    for (const command of ["normalize", "subtract", "subset", "count"]) {
      const r = await run(["gtid", command, "--help"]);
      expect(r.exitCode).toBe(0);
      expect(r.out).toMatch(/Example:\n {2}\$ bloodraven gtid /);
    }
    expect((await run(["gtid", "subtract", "--help"])).out).toMatch(/like GTID_SUBTRACT\(a, b\)/);
    expect((await run(["gtid", "--help"])).out).toMatch(/Give "-" instead of a set to read it\s+from stdin/);
  });
});
