/**
 * A throwaway server for a verification or a restore's replay: loopback only, no configuration
 * file, with an account of its own (a random password) that every later connection uses.
 *
 * - MariaDB runs on a restored copy. The copy's own accounts and passwords are unknown here, so
 *   the server starts without its grant tables, loads them again at once (account statements in a
 *   replayed binary log need them) and makes its account. Nothing of this is binary-logged, so a
 *   server that records GTIDs (`binlogDir`) records only what is replayed onto it.
 * - MySQL starts empty (`mysqld --initialize-insecure`, shared/backup/mysql-load.ts), for a dump
 *   to be loaded into; its root has no password over the socket, which makes the account.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import mysql from "mysql2/promise";
import { mysqldInitializeArgs, mysqldScratchArgs } from "../../shared/backup/mysql-load.js";
import { errorText } from "../../shared/errors.js";
import type { Login } from "./option-file.js";
import { runTool } from "./run-tool.js";

export type ScratchBinary = { readonly flavor: "mariadb"; readonly mariadbd: string } | { readonly flavor: "mysql"; readonly mysqld: string };

export interface ScratchServerOptions {
  /** MariaDB: the prepared copy the server runs on. MySQL: an absent or empty folder, initialized here. */
  readonly datadir: string;
  /** Holds the socket, pid and error log. */
  readonly runDir: string;
  readonly port: number;
  readonly binary: ScratchBinary;
  /** How long the server may take to accept connections (crash recovery of a big copy takes a while). */
  readonly startTimeoutMs: number;
  readonly signal: AbortSignal;
  /**
   * MariaDB: writes a binary log into this folder (never the copy's), so that @@gtid_binlog_pos
   * tracks what a replay applies; without it the server keeps no GTID state of what it is given.
   */
  readonly binlogDir?: string;
}

const ACCOUNT = "bloodraven_verify";
/** Between connection attempts while the server starts. */
const RETRY_MS = 250;
/** A clean shutdown flushes InnoDB; past this the server is killed (a kept copy then recovers from its redo log when it next starts). */
const STOP_TIMEOUT_MS = 60_000;
const runsAsRoot = (): boolean => process.getuid?.() === 0;

/** How one flavor's server is started and reached the first time, to make the account. */
interface Recipe {
  readonly command: string;
  readonly args: string[];
  /** A run to completion before the server starts. */
  readonly initialize?: string[];
  readonly first: mysql.ConnectionOptions;
  /** The statements, before the grant, that make the account with this password. */
  readonly bootstrap: (password: string) => [string, string[]][];
}

/** The server's socket, pid file and error log, named after it: `mariadbd.err`, `mysqld.err`. */
function runFiles(opts: ScratchServerOptions) {
  const name = opts.binary.flavor === "mysql" ? "mysqld" : "mariadbd";
  return { socket: join(opts.runDir, `${name}.sock`), pidFile: join(opts.runDir, `${name}.pid`), errorLog: join(opts.runDir, `${name}.err`) };
}

function recipe(opts: ScratchServerOptions): Recipe {
  const { socket, pidFile, errorLog } = runFiles(opts);
  const { binary } = opts;
  if (binary.flavor === "mysql") {
    const files = { datadir: opts.datadir, socket, pidFile, errorLog, port: opts.port };
    return {
      command: binary.mysqld,
      args: mysqldScratchArgs(files, runsAsRoot()),
      initialize: mysqldInitializeArgs(files, runsAsRoot()),
      first: { socketPath: socket, user: "root" },
      bootstrap: (password) => [["CREATE USER ?@'127.0.0.1' IDENTIFIED BY ?", [ACCOUNT, password]]],
    };
  }
  return {
    command: binary.mariadbd,
    args: [
      "--no-defaults",
      `--datadir=${opts.datadir}`,
      `--socket=${socket}`,
      `--pid-file=${pidFile}`,
      `--log-error=${errorLog}`,
      "--bind-address=127.0.0.1",
      `--port=${opts.port}`,
      "--skip-name-resolve",
      "--skip-grant-tables",
      ...(opts.binlogDir !== undefined ? [`--log-bin=${join(opts.binlogDir, "scratch-bin")}`, "--server-id=1"] : []),
      // mariadbd refuses to run as root unless told to; a pod may run as root.
      ...(runsAsRoot() ? ["--user=root"] : []),
    ],
    first: { host: "127.0.0.1", port: opts.port, user: "root" },
    bootstrap: (password) => [
      ["FLUSH PRIVILEGES", []],
      ["CREATE OR REPLACE USER ?@'127.0.0.1' IDENTIFIED BY ?", [ACCOUNT, password]],
    ],
  };
}

export class ScratchServer {
  private constructor(
    private readonly child: ChildProcess,
    private readonly exited: Promise<void>,
    /** The server's own account, with every privilege. */
    readonly login: Login,
    /** Its socket, where a MySQL server's root needs no password. */
    readonly socket: string,
    readonly errorLog: string,
  ) {}

  static async start(opts: ScratchServerOptions): Promise<ScratchServer> {
    const { socket, errorLog } = runFiles(opts);
    const how = recipe(opts);
    if (how.initialize) {
      await mkdir(opts.datadir, { recursive: true, mode: 0o700 });
      await runTool(how.command, how.initialize, opts.signal).catch(async (err: unknown) => {
        throw await withLogTail(new Error(`cannot initialize an empty MySQL server: ${errorText(err)}`), errorLog);
      });
    }
    const child = spawn(how.command, how.args, { stdio: "ignore" });
    const exited = once(child, "close").then(() => undefined);
    let failed: Error | undefined;
    child.once("error", (err) => (failed = new Error(`cannot run ${how.command}: ${err.message}`)));
    void exited.then(() => (failed ??= new Error(`${how.command} exited while starting (exit code ${child.exitCode ?? "none"}): see ${errorLog}`)));
    const password = randomBytes(18).toString("base64url");
    const login = { host: "127.0.0.1", port: opts.port, user: ACCOUNT, password };
    const deadline = Date.now() + opts.startTimeoutMs;
    try {
      for (;;) {
        if (failed) throw failed;
        opts.signal.throwIfAborted();
        const conn = await mysql.createConnection({ ...how.first, connectTimeout: 5_000 }).catch((err: unknown) => {
          if (Date.now() >= deadline) throw new Error(`the throwaway server did not accept connections within ${opts.startTimeoutMs / 1000}s: ${errorText(err)} (see ${errorLog})`);
          return undefined;
        });
        if (!conn) {
          await new Promise((r) => setTimeout(r, RETRY_MS));
          continue;
        }
        try {
          // Not binary-logged, and on MySQL no GTID: the server's GTIDs are only what it is given.
          await conn.query("SET SESSION sql_log_bin = 0");
          for (const [sql, params] of how.bootstrap(password)) await conn.query(sql, params);
          await conn.query("GRANT ALL ON *.* TO ?@'127.0.0.1' WITH GRANT OPTION", [ACCOUNT]);
        } finally {
          await conn.end();
        }
        return new ScratchServer(child, exited, login, socket, errorLog);
      }
    } catch (err) {
      child.kill("SIGKILL");
      await exited;
      throw await withLogTail(err, errorLog);
    }
  }

  connect(): Promise<mysql.Connection> {
    return mysql.createConnection({ ...this.login, connectTimeout: 10_000 });
  }

  /** Statements (SQL, or SQL and its parameters) in order on a connection of their own; the rows of the last. */
  async run(...statements: (string | [string, (string | number)[]])[]): Promise<Record<string, unknown>[]> {
    const conn = await this.connect();
    try {
      let rows: unknown = [];
      for (const statement of statements) [rows] = typeof statement === "string" ? await conn.query(statement) : await conn.query(...statement);
      return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : [];
    } finally {
      await conn.end();
    }
  }

  /** Removes the server's own account from the copy, which is kept (a restore), not thrown away. */
  async dropAccount(): Promise<void> {
    // Not binary-logged: the copy's position is what was replayed, nothing of this server's own.
    await this.run("SET SESSION sql_log_bin = 0", [`DROP USER ?@'127.0.0.1'`, [ACCOUNT]]);
  }

  /** Shuts the server down: SIGTERM, then SIGKILL after STOP_TIMEOUT_MS. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }
}

/** The log is often in a folder removed right after: its last lines go with the error. */
async function withLogTail(err: unknown, errorLog: string): Promise<unknown> {
  const tail = await readFile(errorLog, "utf8").then((text) => text.trim().split("\n").slice(-5).join(" | "), () => "");
  return tail ? new Error(`${errorText(err)}; its last lines: ${tail}`) : err;
}
