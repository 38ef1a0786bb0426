/**
 * A throwaway MariaDB server on a restored copy, for a verification or a restore's replay:
 * loopback only, no configuration file. The copy's own accounts and passwords are unknown here,
 * so the server starts without its grant tables, loads them again at once (account statements in
 * a replayed binary log need them) and makes an account of its own with a random password; every
 * later connection uses that account. Nothing of this is binary-logged, so a server that records
 * GTIDs (`binlogDir`) records only what is replayed onto it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import mysql from "mysql2/promise";
import { errorText } from "../../shared/errors.js";
import type { Login } from "./option-file.js";

export interface ScratchServerOptions {
  /** The prepared copy the server runs on. */
  readonly datadir: string;
  /** Holds the socket, pid and error log. */
  readonly runDir: string;
  readonly port: number;
  /** The server binary. */
  readonly mariadbd: string;
  /** How long the server may take to accept connections (crash recovery of a big copy takes a while). */
  readonly startTimeoutMs: number;
  readonly signal: AbortSignal;
  /**
   * Writes a binary log into this folder (never the copy's), so that @@gtid_binlog_pos tracks
   * what a replay applies; without it the server keeps no GTID state of what it is given.
   */
  readonly binlogDir?: string;
}

const ACCOUNT = "bloodraven_verify";
/** Between connection attempts while the server starts. */
const RETRY_MS = 250;
/** A clean shutdown flushes InnoDB; past this the server is killed (a kept copy then recovers from its redo log when it next starts). */
const STOP_TIMEOUT_MS = 60_000;

export class ScratchServer {
  private constructor(
    private readonly child: ChildProcess,
    private readonly exited: Promise<void>,
    /** The server's own account, with every privilege. */
    readonly login: Login,
    readonly errorLog: string,
  ) {}

  static async start(opts: ScratchServerOptions): Promise<ScratchServer> {
    const errorLog = join(opts.runDir, "mariadbd.err");
    const args = [
      "--no-defaults",
      `--datadir=${opts.datadir}`,
      `--socket=${join(opts.runDir, "mariadbd.sock")}`,
      `--pid-file=${join(opts.runDir, "mariadbd.pid")}`,
      `--log-error=${errorLog}`,
      "--bind-address=127.0.0.1",
      `--port=${opts.port}`,
      "--skip-name-resolve",
      "--skip-grant-tables",
      ...(opts.binlogDir !== undefined ? [`--log-bin=${join(opts.binlogDir, "scratch-bin")}`, "--server-id=1"] : []),
      // mariadbd refuses to run as root unless told to; a pod may run as root.
      ...(process.getuid?.() === 0 ? ["--user=root"] : []),
    ];
    const child = spawn(opts.mariadbd, args, { stdio: "ignore" });
    const exited = once(child, "close").then(() => undefined);
    let failed: Error | undefined;
    child.once("error", (err) => (failed = err));
    void exited.then(() => (failed ??= new Error(`mariadbd exited while starting (exit code ${child.exitCode ?? "none"}): see ${errorLog}`)));
    const password = randomBytes(18).toString("base64url");
    const login = { host: "127.0.0.1", port: opts.port, user: ACCOUNT, password };
    const deadline = Date.now() + opts.startTimeoutMs;
    try {
      for (;;) {
        if (failed) throw failed;
        opts.signal.throwIfAborted();
        const conn = await mysql.createConnection({ host: login.host, port: login.port, user: "root", connectTimeout: 5_000 }).catch((err: unknown) => {
          if (Date.now() >= deadline) throw new Error(`the server on the restored copy did not accept connections within ${opts.startTimeoutMs / 1000}s: ${errorText(err)} (see ${errorLog})`);
          return undefined;
        });
        if (!conn) {
          await new Promise((r) => setTimeout(r, RETRY_MS));
          continue;
        }
        try {
          await conn.query("SET SESSION sql_log_bin = 0");
          await conn.query("FLUSH PRIVILEGES");
          await conn.query("CREATE OR REPLACE USER ?@'127.0.0.1' IDENTIFIED BY ?", [ACCOUNT, password]);
          await conn.query("GRANT ALL ON *.* TO ?@'127.0.0.1' WITH GRANT OPTION", [ACCOUNT]);
        } finally {
          await conn.end();
        }
        return new ScratchServer(child, exited, login, errorLog);
      }
    } catch (err) {
      child.kill("SIGKILL");
      await exited;
      // The log is often in a folder removed right after: its last lines go with the error.
      const tail = await readFile(errorLog, "utf8").then((text) => text.trim().split("\n").slice(-5).join(" | "), () => "");
      throw tail ? new Error(`${errorText(err)}; its last lines: ${tail}`) : err;
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
