/**
 * One MySQL or MariaDB endpoint behind one connection, where every call has a hard deadline.
 *
 * A SIGSTOPped server still completes TCP handshakes in its kernel and then answers nothing; a
 * black-holed one may not even do that. mysql2's own timeouts (connectTimeout, the per-query
 * `timeout`) report such a hang but do not close the socket, and mysql2's destroy() only
 * half-closes it. So every wait also races an outer timer that destroys the socket itself:
 * a call costs at most its deadline, whatever the server does.
 *
 * Calls on one client run one at a time. Any error drops the connection, and the next call
 * reconnects and detects the flavor again (a site may come back as a different server).
 */

import net from "node:net";
import { performance } from "node:perf_hooks";
import mysql from "mysql2";
import type { Connection, QueryError } from "mysql2";
import { ServerError } from "./flavor.js";
import type { Flavor, QueryOptions, Row, Session } from "./flavor.js";
import type { FlavorName } from "../../shared/topology/site-observation.js";
import { mariadbFlavor } from "./mariadb-flavor.js";
import { mysqlFlavor } from "./mysql-flavor.js";

export interface SiteEndpoint {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
}

export interface SiteClientOptions {
  /** TCP connect, handshake, login and flavor detection together. */
  readonly connectTimeoutMs: number;
  /** One statement, unless the statement asks for its own limit (GTID waits). */
  readonly queryTimeoutMs: number;
}

/** The session handed to `run`: a flavor's Session plus what was detected on connect. */
export interface SiteSession extends Session {
  readonly flavor: Flavor;
  readonly serverVersion: string;
}

export function flavorFor(name: FlavorName): Flavor {
  return name === "mysql" ? mysqlFlavor : mariadbFlavor;
}

/** MariaDB's VERSION() says so ("10.11.19-MariaDB-0+deb12u1-log"); MySQL's never does. */
export function flavorOfVersion(version: string): FlavorName {
  return version.includes("MariaDB") ? "mariadb" : "mysql";
}

/**
 * A call ran out of time. Its connection, if it had one, was destroyed, but a statement already
 * sent may still run on the server later (a hung server executes it when it wakes up): re-read
 * state, never assume the statement failed.
 */
export class DeadlineExceeded extends Error {
  override readonly name = "DeadlineExceeded";

  constructor(
    readonly endpoint: string,
    readonly operation: string,
    /** What the call was doing: "connect", a statement's first words, or waiting for its turn. */
    readonly step: string,
    readonly deadlineMs: number,
  ) {
    super(`${endpoint}: ${operation} exceeded its ${Math.round(deadlineMs)} ms deadline during ${step}`);
  }
}

/** The connection could not be opened or was lost (refused, reset, closed by the server). */
export class ConnectionError extends Error {
  override readonly name = "ConnectionError";

  constructor(
    readonly endpoint: string,
    readonly operation: string,
    readonly step: string,
    cause: unknown,
  ) {
    super(`${endpoint}: ${operation} failed during ${step}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

interface Wire {
  readonly conn: Connection;
  readonly socket: net.Socket;
  broken: boolean;
}

interface Link extends Wire {
  readonly flavor: Flavor;
  readonly version: string;
}

interface Call {
  readonly operation: string;
  readonly deadlineMs: number | undefined;
  /** performance.now() time; Infinity without an overall deadline. */
  readonly deadlineAt: number;
  step: string;
  /** Settled or expired: nothing more may be sent for it. */
  over: boolean;
  wire?: Wire;
}

const MYSQL2_TIMEOUT_CODES = new Set(["ETIMEDOUT", "PROTOCOL_SEQUENCE_TIMEOUT"]);

function within<T>(work: Promise<T>, ms: number, onExpiry: () => Error): Promise<T> {
  // setTimeout would turn Infinity into 1 ms.
  if (!Number.isFinite(ms)) return work;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onExpiry()), Math.max(0, ms));
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/** The first words of a statement: enough to say what hung, never the values (passwords). */
function statementLabel(sql: string): string {
  return sql.trim().split(/\s+/, 3).join(" ");
}

/** mysql2's shape of an error packet sent by the server. */
interface ServerRefusal extends Error {
  errno: number;
  sqlState: string;
  code: string;
  sqlMessage?: string;
}

function isServerRefusal(err: unknown): err is ServerRefusal {
  const e = err as Partial<ServerRefusal> | null;
  return err instanceof Error && typeof e?.sqlState === "string" && typeof e.errno === "number";
}

/**
 * The server refused the account at login: ER_ACCESS_DENIED_ERROR (1045) or
 * ER_ACCESS_DENIED_NO_PASSWORD_ERROR (1698). Nothing of the operation was sent.
 */
export function isAuthenticationFailure(err: unknown): boolean {
  return err instanceof ServerError && err.statement === "connect" && (err.errno === 1045 || err.errno === 1698);
}

export class SiteClient {
  readonly endpoint: string;
  private link: Link | undefined;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  /**
   * `allowed` runs before each connection and each statement and throws to refuse it (the
   * operator's leadership guard): nothing is sent by a process that may no longer act.
   */
  constructor(
    private readonly target: SiteEndpoint,
    private readonly options: SiteClientOptions,
    private readonly allowed: () => void = () => undefined,
  ) {
    for (const [name, value] of Object.entries(options)) {
      if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`SiteClient ${name} must be a positive number of milliseconds, got ${value}`);
    }
    this.endpoint = `${target.host}:${target.port}`;
  }

  /**
   * Runs `fn` with a session on this endpoint. With `deadlineMs` the whole call (waiting for
   * an earlier call, connecting, every statement) is bounded by it; without, each step is
   * bounded by connectTimeoutMs or queryTimeoutMs. On expiry the promise rejects with
   * DeadlineExceeded and the connection is destroyed; statements `fn` tries afterwards are
   * refused without being sent.
   */
  run<T>(operation: string, fn: (session: SiteSession) => Promise<T>, deadlineMs?: number): Promise<T> {
    if (deadlineMs !== undefined && !(Number.isFinite(deadlineMs) && deadlineMs > 0)) {
      return Promise.reject(new RangeError(`deadlineMs must be a positive number, got ${deadlineMs}`));
    }
    const call: Call = {
      operation,
      deadlineMs,
      deadlineAt: deadlineMs === undefined ? Infinity : performance.now() + deadlineMs,
      step: "waiting for an earlier call on this client",
      over: false,
    };
    const previous = this.queue;
    const work = previous.then(async () => {
      // Expired while waiting: the deadline timer has already answered the caller.
      if (call.over) throw new Error("expired before its turn");
      if (this.closed) throw new ConnectionError(this.endpoint, operation, "start", new Error("the client is closed"));
      this.allowed();
      const link = await this.open(call);
      return fn(this.session(link, call));
    });
    const bounded = deadlineMs === undefined ? work : within(work, deadlineMs, () => this.expire(call, deadlineMs));
    const result = bounded.then(
      (value) => {
        call.over = true;
        return value;
      },
      (err: unknown) => {
        call.over = true;
        if (call.wire !== undefined) this.drop(call.wire);
        throw err;
      },
    );
    // The next call starts once this one is answered and every earlier one is, even if `fn`
    // itself never returns.
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    this.queue = Promise.all([previous, settled]).then(() => undefined);
    return result;
  }

  /** Ends the connection; calls still queued fail with ConnectionError. Never waits. */
  close(): void {
    this.closed = true;
    const link = this.link;
    if (link === undefined) return;
    if (link.broken) {
      this.drop(link);
      return;
    }
    this.link = undefined;
    link.broken = true;
    // COM_QUIT rather than a reset: servers count and log dropped clients (Aborted_clients).
    // A hung server never answers it, so the socket is destroyed later regardless and never
    // holds the process open meanwhile.
    link.conn.end();
    link.socket.unref();
    setTimeout(() => link.socket.destroy(), this.options.connectTimeoutMs).unref();
  }

  private session(link: Link, call: Call): SiteSession {
    return {
      endpoint: this.endpoint,
      flavor: link.flavor,
      serverVersion: link.version,
      remainingMs: () => call.deadlineAt - performance.now(),
      query: (sql: string, opts?: QueryOptions) => this.query(link, call, sql, opts),
    };
  }

  private query(link: Link, call: Call, sql: string, opts: QueryOptions | undefined): Promise<Row[]> {
    const label = statementLabel(sql);
    if (call.over) {
      return Promise.reject(new ConnectionError(this.endpoint, call.operation, label, new Error("the call has already ended; statement not sent")));
    }
    if (link.broken) return Promise.reject(new ConnectionError(this.endpoint, call.operation, label, new Error("the connection is gone")));
    try {
      this.allowed();
    } catch (err) {
      return Promise.reject(err);
    }
    const limitMs = Math.min(opts?.timeoutMs ?? this.options.queryTimeoutMs, call.deadlineAt - performance.now());
    // Only the overall deadline can run out; its timer may just not have fired yet.
    if (limitMs <= 0) {
      call.step = label;
      return Promise.reject(this.expire(call, call.deadlineMs ?? 0));
    }
    return this.statement(link, call, sql, limitMs);
  }

  private statement(wire: Wire, call: Call, sql: string, limitMs: number): Promise<Row[]> {
    const label = statementLabel(sql);
    call.step = label;
    const done = new Promise<Row[]>((resolve, reject) => {
      wire.conn.query({ sql, timeout: Math.max(1, Math.ceil(limitMs)) }, (err: QueryError | null, result: unknown) => {
        if (err) reject(err);
        else resolve(Array.isArray(result) ? (result as Row[]) : []);
      });
    });
    return within(done, limitMs, () => this.expire(call, limitMs)).catch((err: unknown) => {
      throw this.failure(err, call, label, limitMs);
    });
  }

  private async open(call: Call): Promise<Link> {
    if (this.link !== undefined && !this.link.broken) {
      call.wire = this.link;
      return this.link;
    }
    this.link = undefined;
    call.step = "connect";
    const limitMs = Math.min(this.options.connectTimeoutMs, call.deadlineAt - performance.now());
    const phaseEnd = performance.now() + limitMs;
    const { host, port, user, password } = this.target;
    const socket = net.connect({ host, port, noDelay: true });
    const conn = mysql.createConnection({
      stream: socket,
      user,
      password,
      connectTimeout: Math.max(1, Math.ceil(limitMs)),
      multipleStatements: false,
      // mysql2 preallocates its prepared-statement cache (16,000 entries, about 0.5 MB per
      // connection by default); the operator sends plain queries and keeps thousands of connections.
      maxPreparedStatements: 1,
    });
    const wire: Wire = { conn, socket, broken: false };
    call.wire = wire;
    // Without a listener a server-side close of an idle connection would be an uncaught 'error'.
    conn.on("error", () => {
      wire.broken = true;
    });
    socket.on("close", () => {
      wire.broken = true;
    });

    const handshake = new Promise<void>((resolve, reject) => {
      conn.once("connect", () => resolve());
      conn.once("error", reject);
    });
    await within(handshake, limitMs, () => this.expire(call, limitMs)).catch((err: unknown) => {
      throw this.failure(err, call, "connect", limitMs);
    });

    const [row] = await this.statement(wire, call, "SELECT VERSION() AS version, @@SESSION.sql_mode AS sql_mode", phaseEnd - performance.now());
    const version = String(row?.version ?? "");
    const modes = String(row?.sql_mode ?? "").split(",");
    // mysql2's format() escapes with backslashes, as the default sql_mode expects; under
    // NO_BACKSLASH_ESCAPES an escaped password would reach CHANGE MASTER altered.
    if (modes.includes("NO_BACKSLASH_ESCAPES")) {
      const kept = modes.filter((m) => m !== "NO_BACKSLASH_ESCAPES").join(",");
      await this.statement(wire, call, mysql.format("SET SESSION sql_mode = ?", [kept]), phaseEnd - performance.now());
    }
    const link: Link = Object.assign(wire, { flavor: flavorFor(flavorOfVersion(version)), version });
    this.link = link;
    return link;
  }

  private expire(call: Call, limitMs: number): DeadlineExceeded {
    call.over = true;
    if (call.wire !== undefined) this.drop(call.wire);
    return new DeadlineExceeded(this.endpoint, call.operation, call.step, limitMs);
  }

  /** Destroying the socket also fails mysql2's pending command, so nothing waits on it. */
  private drop(wire: Wire): void {
    wire.broken = true;
    wire.socket.destroy();
    if (this.link === wire) this.link = undefined;
  }

  private failure(err: unknown, call: Call, step: string, limitMs: number): Error {
    if (err instanceof DeadlineExceeded) return err;
    if (isServerRefusal(err)) return new ServerError(this.endpoint, step, err.errno, err.sqlState, String(err.code), err.sqlMessage ?? err.message);
    const code = (err as { code?: unknown } | null)?.code;
    if (typeof code === "string" && MYSQL2_TIMEOUT_CODES.has(code)) return this.expire(call, limitMs);
    return new ConnectionError(this.endpoint, call.operation, step, err);
  }
}
