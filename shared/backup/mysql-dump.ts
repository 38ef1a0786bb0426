/**
 * A backup of a MySQL site is MySQL Shell's `util.dumpInstance`: a consistent logical dump, many
 * files in one folder, which the backup Job packs into one tar stream as each file is finished
 * (operator/backup/take-dump.ts). Pinned here, as MySQL Shell 8.0 to 9.x writes a local dump:
 *
 * - a data chunk (`<schema>@<table>[@[@]<n>].tsv[.zst|.gz]`) is written under a name containing
 *   `.dumping` and renamed, closed, to its own name once complete;
 * - every other file (`@.json`, `@.sql`, `<schema>.json`, `<schema>@<table>.sql`, the chunks'
 *   `.idx` files ...) is written in place, so it is complete only when the dump is;
 * - `@.json`, written before any data, holds the position (`gtidExecuted`, `binlogFile`,
 *   `binlogPosition`) and whether it is exact (`consistent`, `gtidExecutedInconsistent`);
 * - `@.done.json` is the last file written.
 *
 * A folder unpacked from the tar stream without `@.done.json` is an incomplete dump, which
 * `util.loadDump` refuses: the packer writes that file last.
 */
import type { ParseResult as Parsed } from "../annotations.js";
import type { DUMP_COMPRESSIONS } from "../names.js";
import type { BackupPosition } from "./manifest.js";

export const DUMP_METADATA_FILE = "@.json";
export const DUMP_DONE_FILE = "@.done.json";
const IN_PROGRESS_MARK = ".dumping";
/** A data chunk's finished name; `.idx` files and metadata are not data chunks. */
const DATA_CHUNK = /\.(tsv|csv|txt)(\.(zst|gz))?$/;

export type DumpCompression = (typeof DUMP_COMPRESSIONS)[number];

export interface DumpSettings {
  readonly threads: number;
  /** MySQL Shell's size form: digits and an optional k, M or G. */
  readonly bytesPerChunk: string;
  readonly compression: DumpCompression;
}

export interface DumpProgramInput extends ServerWithAccountFiles {
  readonly outputDir: string;
  readonly settings: DumpSettings;
}

/**
 * The JavaScript MySQL Shell runs (`mysqlsh --no-wizard --js --file <it>`): connect with the
 * account read from its files, then a consistent dump. Every value is a JSON literal, so no name or path can change the program.
 * An exception ends mysqlsh with a non-zero status and its message on stderr.
 */
export function dumpProgram(input: DumpProgramInput): string {
  const { settings } = input;
  const options = { threads: settings.threads, bytesPerChunk: settings.bytesPerChunk, compression: settings.compression, consistent: true, showProgress: false };
  return [...connectWithAccountFiles(input), `util.dumpInstance(${JSON.stringify(input.outputDir)}, ${JSON.stringify(options)});`, ""].join("\n");
}

/** A server over TCP, and the account in two files (a mounted Secret) that MySQL Shell reads itself. */
export interface ServerWithAccountFiles {
  readonly host: string;
  readonly port: number;
  readonly userFile: string;
  readonly passwordFile: string;
}

/**
 * The lines that connect MySQL Shell to `server` with the account read from its files (one
 * trailing newline dropped, as the operator reads them): the password is never in the program.
 */
export function connectWithAccountFiles(server: ServerWithAccountFiles): string[] {
  const j = (v: unknown): string => JSON.stringify(v);
  return [
    "const chomp = (text) => text.replace(/\\r?\\n$/, '');",
    `const user = chomp(os.loadTextFile(${j(server.userFile)}));`,
    `const password = chomp(os.loadTextFile(${j(server.passwordFile)}));`,
    `shell.connect({ scheme: 'mysql', host: ${j(server.host)}, port: ${j(server.port)}, user: user, password: password });`,
  ];
}

/**
 * The files of the dump folder to pack now, given its listing: while the dump runs, the data
 * chunks renamed to their own names; once `@.done.json` is there, everything left, `@.done.json`
 * last. Names already packed are the caller's to leave out.
 */
export function filesToPack(names: readonly string[]): { readonly files: string[]; readonly finished: boolean } {
  const finished = names.includes(DUMP_DONE_FILE);
  if (!finished) return { files: names.filter((n) => !n.includes(IN_PROGRESS_MARK) && DATA_CHUNK.test(n)).sort(), finished };
  const rest = names.filter((n) => n !== DUMP_DONE_FILE).sort();
  return { files: [...rest, DUMP_DONE_FILE], finished };
}

/** A file still being written after the dump finished: MySQL Shell died mid-write, or the folder is not its. */
export function leftInProgress(names: readonly string[]): string[] {
  return names.filter((n) => n.includes(IN_PROGRESS_MARK));
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The dump's position from its `@.json`, refused unless exact: a dump that was not consistent, or
 * whose gtid_executed MySQL Shell could not pin (the account lacks BACKUP_ADMIN and RELOAD, so it
 * could take neither lock), names no position a replica or a replay could start from.
 */
export function dumpPosition(text: string): Parsed<BackupPosition> {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { ok: false, error: `${DUMP_METADATA_FILE} of the dump is not JSON` };
  }
  if (!isRecord(body)) return { ok: false, error: `${DUMP_METADATA_FILE} of the dump is not a JSON object` };
  if (body.consistent !== true) return { ok: false, error: `${DUMP_METADATA_FILE} says the dump is not consistent: it holds no single position` };
  if (body.gtidExecutedInconsistent !== false) {
    return { ok: false, error: `${DUMP_METADATA_FILE} says the dump's gtid_executed may not match its data: grant the operator account BACKUP_ADMIN and RELOAD, so that MySQL Shell can lock the instance for the backup` };
  }
  const { gtidExecuted, binlogFile, binlogPosition } = body;
  if (typeof gtidExecuted !== "string") return { ok: false, error: `${DUMP_METADATA_FILE} names no gtidExecuted: the source must run with gtid_mode=ON` };
  if (gtidExecuted.trim() === "") return { ok: false, error: `${DUMP_METADATA_FILE} has an empty gtidExecuted: the source has executed no transaction with a GTID, so the dump names no position to continue from` };
  if (typeof binlogFile !== "string" || binlogFile === "" || typeof binlogPosition !== "number" || !Number.isSafeInteger(binlogPosition) || binlogPosition < 0) {
    return { ok: false, error: `${DUMP_METADATA_FILE} names no binary log file and position: the source must run with log_bin` };
  }
  // MySQL prints a long GTID set over several lines.
  return { ok: true, value: { gtid: gtidExecuted.replace(/\s+/g, ""), binlogFile, binlogPosition } };
}
