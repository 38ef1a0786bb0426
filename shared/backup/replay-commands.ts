/**
 * The two programs a point-in-time replay pipes together, per flavor: a binary log reader that
 * prints the archived files as SQL, each transaction with its GTID, from after the backup's
 * position up to the target time, and the server's command-line client that applies it. The
 * reader runs with TZ=UTC, so that the time reads as UTC.
 *
 * - MariaDB: `mariadb-binlog --start-position=<gtid_binlog_pos>` skips what the backup holds.
 * - MySQL: `mysqlbinlog --exclude-gtids=<GTID set>` leaves out what the backup holds (the server
 *   would skip a transaction whose GTID it has anyway); its `--stop-datetime` reads the same form.
 */
import type { FlavorName } from "../topology/site-observation.js";

export interface ReplayCommandsInput {
  /** The backup's position, in the flavor's form. */
  readonly fromGtid: string;
  /** Transactions stamped before this are replayed; undefined: everything. */
  readonly until?: Date;
  readonly paths: readonly string[];
  /** The client's defaults file with the login. */
  readonly defaultsFile: string;
}

export interface ReplayCommands {
  readonly reader: { readonly command: string; readonly args: string[] };
  readonly applier: { readonly command: string; readonly args: string[] };
}

/** `YYYY-MM-DD HH:MM:SS` in UTC, the form both readers take for --stop-datetime. */
function binlogTime(date: Date): string {
  return date.toISOString().slice(0, 19).replace("T", " ");
}

export function replayCommands(flavor: FlavorName, input: ReplayCommandsInput): ReplayCommands {
  const stop = input.until ? [`--stop-datetime=${binlogTime(input.until)}`] : [];
  const client = [`--defaults-extra-file=${input.defaultsFile}`, "--binary-mode", "--batch"];
  if (flavor === "mysql") {
    // A GTID set as MySQL prints it has a line break after each comma; the option takes it without.
    return { reader: { command: "mysqlbinlog", args: [`--exclude-gtids=${input.fromGtid.replace(/\s+/g, "")}`, ...stop, ...input.paths] }, applier: { command: "mysql", args: client } };
  }
  return { reader: { command: "mariadb-binlog", args: [`--start-position=${input.fromGtid}`, ...stop, ...input.paths] }, applier: { command: "mariadb", args: client } };
}
