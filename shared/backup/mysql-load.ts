/**
 * A verification of a MySQL site's dump loads it into a throwaway MySQL server with MySQL Shell's
 * `util.loadDump` (operator/backup/verify-backup.ts), and a site's restore into the site's own
 * server (operator/backup/load-restore.ts). Pinned here, as MySQL 8.0 to 9.x and MySQL Shell 8.0
 * to 9.x behave:
 *
 * - `mysqld --initialize-insecure` makes an empty datadir whose `root@localhost` has no password,
 *   reached over the server's socket;
 * - `util.loadDump` refuses a server whose `local_infile` is OFF (it loads data chunks with
 *   `LOAD DATA LOCAL INFILE`);
 * - `updateGtidSet: "replace"` sets `gtid_purged` to the dump's `gtidExecuted` (`SET GLOBAL
 *   GTID_PURGED`, which needs `gtid_mode=ON`), and refuses a server whose own GTIDs intersect it;
 *   a fresh server (or one whose binary logs and GTIDs were reset) has none, so afterwards the
 *   server's `gtid_executed` is exactly the dump's position;
 * - `skipBinlog` keeps the load out of the server's binary log; `loadUsers: false` (the default)
 *   leaves the dump's accounts out: a verification does not need them, and a site keeps its own
 *   (this group's accounts, whose passwords differ from the source group's); `progressFile: ""`
 *   writes no progress file into the dump folder.
 */

import { connectWithAccountFiles, type ServerWithAccountFiles } from "./mysql-dump.js";

/** Threads of `util.loadDump`: the dump's default, enough for the two or four cores of a Job. */
export const LOAD_THREADS = 4;

export interface ScratchMysqldFiles {
  /** The empty folder the server is initialized in. */
  readonly datadir: string;
  /** Holds the socket, pid and error log. */
  readonly socket: string;
  readonly pidFile: string;
  readonly errorLog: string;
  readonly port: number;
}

/** mysqld refuses to run as root unless told to; a Job's pod may run as root. */
const asRoot = (root: boolean): string[] => (root ? ["--user=root"] : []);

/** No server-side file import or export; see mysqldScratchArgs. The initialization checks it too. */
const NO_FILE_ACCESS = "--secure-file-priv=NULL";

/** Makes an empty datadir: system tables, and `root@localhost` without a password. */
export function mysqldInitializeArgs(files: ScratchMysqldFiles, root: boolean): string[] {
  return ["--no-defaults", "--initialize-insecure", `--datadir=${files.datadir}`, `--log-error=${files.errorLog}`, NO_FILE_ACCESS, ...asRoot(root)];
}

/**
 * The throwaway server: loopback only, no configuration file, no binary log (the load is not
 * replicated anywhere), GTIDs on (the load sets `gtid_purged`), `local_infile` on (the load needs
 * it), no X Protocol listener (nothing uses it, and its port could clash), no Performance Schema
 * (a few hundred MiB of memory the Job's limit is better spent on), no server-side file import or
 * export (`secure_file_priv` NULL: the load reads its files client-side, and a package's default
 * folder, which the server refuses to start without, need not exist in the image).
 */
export function mysqldScratchArgs(files: ScratchMysqldFiles, root: boolean): string[] {
  return [
    "--no-defaults",
    `--datadir=${files.datadir}`,
    `--socket=${files.socket}`,
    `--pid-file=${files.pidFile}`,
    `--log-error=${files.errorLog}`,
    "--bind-address=127.0.0.1",
    `--port=${files.port}`,
    "--skip-name-resolve",
    "--mysqlx=OFF",
    "--disable-log-bin",
    "--gtid-mode=ON",
    "--enforce-gtid-consistency=ON",
    "--local-infile=ON",
    "--performance-schema=OFF",
    NO_FILE_ACCESS,
    ...asRoot(root),
  ];
}

/** The throwaway server's root over its socket, or a site's server with the operator account's files. */
export type LoadTarget = { readonly socket: string } | ServerWithAccountFiles;

/**
 * The JavaScript MySQL Shell runs (`mysqlsh --no-wizard --js --file <it>`): connect (as the fresh
 * server's root over its socket, or to a site's server), then load the dump. Every value is a
 * JSON literal, so no path can change the program. An exception ends mysqlsh with a non-zero
 * status and its message on stderr.
 */
export function loadProgram(input: { readonly dumpDir: string; readonly target: LoadTarget }): string {
  const options = { threads: LOAD_THREADS, updateGtidSet: "replace", skipBinlog: true, loadUsers: false, showProgress: false, progressFile: "" };
  const j = (v: unknown): string => JSON.stringify(v);
  const { target } = input;
  const connect = "socket" in target ? [`shell.connect({ scheme: 'mysql', user: 'root', password: '', socket: ${j(target.socket)} });`] : connectWithAccountFiles(target);
  return [...connect, `util.loadDump(${j(input.dumpDir)}, ${j(options)});`, ""].join("\n");
}
