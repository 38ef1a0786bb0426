/**
 * The SQL contract between the operator and one MySQL-compatible server: one `Flavor` interface,
 * implemented for MySQL 8.4/9.x (mysql-flavor.ts) and MariaDB 10.11+ (mariadb-flavor.ts). The
 * statements behind each method follow section C of the project's platform notes
 * (reference/platform-notes.md).
 *
 * A flavor never connects by itself: it runs statements on a `Session`, which owns deadlines and
 * reconnects (site-client.ts). That keeps the statement sequences testable against a recording
 * fake, which is how the MySQL flavor is tested at all (no MySQL server can run here).
 *
 * Errors are returned to the caller, never logged here: a failover step decides what a failure
 * means.
 */

import mysql from "mysql2";
import type { FlavorName, ServerObservation } from "../../shared/topology/site-observation.js";


/** One result row, keyed by column name (`SHOW REPLICA STATUS` column order varies by version). */
export type Row = Readonly<Record<string, unknown>>;

export interface QueryOptions {
  /**
   * Limit for this statement instead of the session's default query timeout; still capped by
   * the caller's overall deadline. Only statements that wait on purpose (GTID waits) set it.
   */
  readonly timeoutMs?: number;
}

/** A connection as the flavors see it. */
export interface Session {
  /** `host:port`, for error messages. */
  readonly endpoint: string;
  /** Runs one statement. Resolves to the rows of a SELECT/SHOW and to [] for anything else. */
  query(sql: string, opts?: QueryOptions): Promise<Row[]>;
  /** Milliseconds left before the caller's deadline; Infinity when the caller set none. */
  remainingMs(): number;
}

export interface ReplicationSource {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
}

export interface RepointOptions {
  /**
   * The server was a primary (it has binlogged writes of its own). MariaDB then needs
   * MASTER_DEMOTE_TO_SLAVE=1 so that gtid_slave_pos takes in its own binlog; MySQL's
   * gtid_executed already holds them.
   */
  readonly formerPrimary: boolean;
  readonly heartbeatSeconds?: number;
  /** Seconds between IO-thread reconnect attempts; the servers default to 60. */
  readonly connectRetrySeconds?: number;
}

export interface Flavor {
  readonly name: FlavorName;

  /** One round of cheap reads for the poll: switches, GTID positions, replica threads. */
  observe(s: Session): Promise<ServerObservation>;

  /**
   * Makes the server read-only (MySQL: super_read_only too) and confirms it with a fresh read.
   * Taking the switch waits for the global read lock, for example behind another session's
   * LOCK TABLES ... WRITE, at most `lockWaitTimeoutSeconds`. Throws FenceFailed when the server
   * is still writable afterwards.
   *
   * After a DeadlineExceeded the statement may still take effect later (a hung server runs it
   * when it wakes up): re-read, never assume either outcome.
   */
  fence(s: Session, opts: { lockWaitTimeoutSeconds: number }): Promise<void>;

  /**
   * Makes the server writable and confirms it with a fresh read (WritableNotConfirmed
   * otherwise). May take effect after a DeadlineExceeded: re-read.
   */
  unfence(s: Session): Promise<void>;

  /**
   * KILL CONNECTION for every client session except this one, replication threads (source-side
   * dump threads and replica-side system threads), the event scheduler and `spareUsers`.
   * `only` restricts the pass to those session ids (the survivors of an earlier pass). Returns the
   * ids of the sessions killed; sessions that ended on their own meanwhile are not among them.
   */
  killApplicationConnections(s: Session, opts: { spareUsers: readonly string[]; only?: ReadonlySet<number> }): Promise<number[]>;

  /** START REPLICA SQL_THREAD: resumes applying the relay log. May take effect after a DeadlineExceeded. */
  startApplier(s: Session): Promise<void>;

  /**
   * Sets the configured apply delay (MASTER_DELAY / SOURCE_DELAY) to 0, keeping the relay log,
   * and restarts the applier only, so that everything received is applied now. May take effect
   * after a DeadlineExceeded.
   */
  removeApplyDelay(s: Session): Promise<void>;

  /** STOP REPLICA. A server without replication only gets a warning. May take effect after a DeadlineExceeded. */
  stopReplica(s: Session): Promise<void>;

  /**
   * RESET REPLICA ALL: forgets the source and deletes relay logs, so anything received but not
   * applied is lost. May take effect after a DeadlineExceeded.
   */
  resetReplica(s: Session): Promise<void>;

  /**
   * Stops and removes replication, records the executed GTIDs (before any write of its own can
   * land), makes the server writable and confirms it with a fresh read. Drain the relay log
   * first (waitForGtid on `replica.retrievedGtids`): RESET REPLICA ALL discards it. May take
   * effect, fully or in part, after a DeadlineExceeded: re-read.
   */
  promote(s: Session): Promise<{ gtidExecuted: string }>;

  /**
   * Replicates from `source` with GTID auto-positioning. Fence a former primary first. Keeps
   * settings not named here (a configured delay stays). May take effect after a
   * DeadlineExceeded: re-read.
   */
  repoint(s: Session, source: ReplicationSource, opts: RepointOptions): Promise<void>;

  /**
   * Waits until the server has applied `gtid` (a MySQL GTID set or a MariaDB position), at
   * most `timeoutSeconds`; false on timeout. MariaDB counts replicated transactions only
   * (gtid_slave_pos), so a server's own writes never satisfy the wait. The session needs at
   * least timeoutSeconds + GTID_WAIT_GRACE_MS of its deadline left, or this throws RangeError
   * without sending anything.
   */
  waitForGtid(s: Session, gtid: string, timeoutSeconds: number): Promise<boolean>;

  /**
   * The server's own fence deadline, where it is built (MariaDB): the server fences itself
   * `inMs` from now unless the deadline is armed again or removed first, so that a server stays
   * writable no longer than its agent's lease even when the agent hangs. Arming is a row update,
   * not DDL (a backup holding DDL back must not fence a healthy primary); nothing of it is
   * binary-logged. `arm` answers false when the server's event scheduler is off: the deadline
   * would never be acted on.
   */
  readonly fenceDeadline?: {
    arm(s: Session, inMs: number, lockWaitTimeoutSeconds: number): Promise<boolean>;
    remove(s: Session): Promise<void>;
  };
}

/** What a GTID wait statement may take beyond its own timeout: a round trip and a busy server. */
export const GTID_WAIT_GRACE_MS = 2_000;

/** The server refused a statement; errno and sqlState are the server's. */
export class ServerError extends Error {
  override readonly name = "ServerError";

  constructor(
    readonly endpoint: string,
    /** The statement's first words, never its values (they may hold a password). */
    readonly statement: string,
    readonly errno: number,
    readonly sqlState: string,
    readonly code: string,
    serverMessage: string,
  ) {
    super(`${endpoint}: ${statement}: ${serverMessage} (errno ${errno}, SQLSTATE ${sqlState})`);
  }
}

/** The server is still writable after a fence attempt. */
export class FenceFailed extends Error {
  override readonly name = "FenceFailed";

  constructor(
    readonly endpoint: string,
    readonly state: { readOnly: boolean; superReadOnly: boolean },
    cause?: unknown,
  ) {
    super(
      `${endpoint}: fence failed, the server is still writable ` +
        `(read_only=${Number(state.readOnly)}, super_read_only=${Number(state.superReadOnly)})` +
        (cause instanceof Error ? `: ${cause.message}` : ""),
      { cause },
    );
  }
}

/** The server still reads as read-only after it was made writable. */
export class WritableNotConfirmed extends Error {
  override readonly name = "WritableNotConfirmed";

  constructor(
    readonly endpoint: string,
    readonly state: { readOnly: boolean; superReadOnly: boolean },
  ) {
    super(
      `${endpoint}: the server still reads as read-only after being made writable ` +
        `(read_only=${Number(state.readOnly)}, super_read_only=${Number(state.superReadOnly)})`,
    );
  }
}

/** A read returned something this code cannot interpret; nothing is guessed. */
export class UnexpectedResult extends Error {
  override readonly name = "UnexpectedResult";

  constructor(
    readonly endpoint: string,
    detail: string,
  ) {
    super(`${endpoint}: unexpected result: ${detail}`);
  }
}

// Helpers shared by the two implementations. Reads go by column name and refuse what they
// cannot interpret: a poll that guesses "writable" or "not replicating" would drive a failover.

/** MySQL and MariaDB: ER_NO_SUCH_THREAD, a KILL target that has already gone. */
const ER_NO_SUCH_THREAD = 1094;

export function onlyRow(s: Session, rows: readonly Row[], statement: string): Row {
  const [row] = rows;
  if (row === undefined || rows.length !== 1) {
    throw new UnexpectedResult(s.endpoint, `${statement} returned ${rows.length} rows, expected 1`);
  }
  return row;
}

function column(s: Session, row: Row, name: string): unknown {
  if (!(name in row)) throw new UnexpectedResult(s.endpoint, `column ${name} is missing`);
  return row[name];
}

export function readString(s: Session, row: Row, name: string): string {
  const value = column(s, row, name);
  if (value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number") return String(value);
  throw new UnexpectedResult(s.endpoint, `column ${name} is ${typeof value}, expected text`);
}

export function readNullableInteger(s: Session, row: Row, name: string): number | null {
  const value = column(s, row, name);
  if (value === null) return null;
  const n = typeof value === "number" ? value : typeof value === "string" && /^-?\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw new UnexpectedResult(s.endpoint, `column ${name} is ${String(value)}, expected an integer`);
  return n;
}

export function readInteger(s: Session, row: Row, name: string): number {
  const n = readNullableInteger(s, row, name);
  if (n === null) throw new UnexpectedResult(s.endpoint, `column ${name} is NULL, expected an integer`);
  return n;
}

const SWITCH_OFF = new Set<unknown>([0, "0", "OFF"]);
const SWITCH_ON = new Set<unknown>([1, "1", "ON"]);

/** A boolean server variable; an unknown value throws rather than reading as either state. */
export function readSwitch(s: Session, row: Row, name: string): boolean {
  const value = column(s, row, name);
  if (SWITCH_OFF.has(value)) return false;
  if (SWITCH_ON.has(value)) return true;
  throw new UnexpectedResult(s.endpoint, `column ${name} is ${String(value)}, expected ON or OFF`);
}

/** A non-negative number column (DECIMAL arrives as text). */
export function readNumber(s: Session, row: Row, name: string): number {
  const value = column(s, row, name);
  const n = typeof value === "number" ? value : typeof value === "string" && /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(n)) throw new UnexpectedResult(s.endpoint, `column ${name} is ${String(value)}, expected a number`);
  return n;
}

/** "Yes" / "No" / "Connecting" of the replica thread columns. */
export function readThread(s: Session, row: Row, name: string): "Yes" | "No" | "Connecting" {
  const value = readString(s, row, name);
  if (value === "Yes" || value === "No" || value === "Connecting") return value;
  throw new UnexpectedResult(s.endpoint, `column ${name} is ${JSON.stringify(value)}, expected Yes, No or Connecting`);
}

export function checkLockWaitSeconds(seconds: number): number {
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 31_536_000) {
    throw new RangeError(`lockWaitTimeoutSeconds must be an integer from 1 to 31536000, got ${seconds}`);
  }
  return seconds;
}

/** A server to log in to (a replication source, a clone donor): host, port and user all set. */
export function checkAccount(what: string, account: { host: string; port: number; user: string }): void {
  if (account.host.trim() === "") throw new RangeError(`${what} host must not be empty`);
  if (!Number.isInteger(account.port) || account.port < 1 || account.port > 65_535) {
    throw new RangeError(`${what} port must be an integer from 1 to 65535, got ${account.port}`);
  }
  if (account.user === "") throw new RangeError(`${what} user must not be empty`);
}

export function checkSource(source: ReplicationSource, opts: RepointOptions): void {
  checkAccount("replication source", source);
  const { heartbeatSeconds, connectRetrySeconds } = opts;
  if (heartbeatSeconds !== undefined && !(Number.isFinite(heartbeatSeconds) && heartbeatSeconds >= 0 && heartbeatSeconds <= 4_294_967)) {
    throw new RangeError(`heartbeatSeconds must be from 0 to 4294967, got ${heartbeatSeconds}`);
  }
  if (connectRetrySeconds !== undefined && !(Number.isInteger(connectRetrySeconds) && connectRetrySeconds >= 1)) {
    throw new RangeError(`connectRetrySeconds must be a positive integer, got ${connectRetrySeconds}`);
  }
}

/** Checks the wait fits the session's deadline and returns the statement's own limit. */
export function gtidWaitLimitMs(s: Session, timeoutSeconds: number): number {
  if (!(Number.isFinite(timeoutSeconds) && timeoutSeconds > 0)) {
    throw new RangeError(`waitForGtid timeoutSeconds must be a positive number, got ${timeoutSeconds}`);
  }
  const needed = timeoutSeconds * 1000 + GTID_WAIT_GRACE_MS;
  const left = s.remainingMs();
  if (left < needed) {
    throw new RangeError(
      `${s.endpoint}: waitForGtid(${timeoutSeconds} s) needs ${needed} ms of the deadline, only ${Math.floor(left)} ms are left`,
    );
  }
  return needed;
}

/**
 * Runs `attempt`, then reads the resulting state whether or not the server accepted it: a
 * refusal (say, a lock wait timeout) still leaves a state to report, and a concurrent change
 * may have done the job. A timeout or a lost connection propagates as it is; the session is
 * gone, so there is nothing to read.
 */
export async function attemptThenRead<T>(attempt: () => Promise<unknown>, read: () => Promise<T>): Promise<{ state: T; refusal?: ServerError }> {
  let refusal: ServerError | undefined;
  try {
    await attempt();
  } catch (err) {
    if (!(err instanceof ServerError)) throw err;
    refusal = err;
  }
  return { state: await read(), refusal };
}

/** KILL CONNECTION for each id; a session that ended in between is not an error. Returns the ids killed. */
export async function killEach(s: Session, ids: readonly number[], format: (id: number) => string): Promise<number[]> {
  const killed: number[] = [];
  for (const id of ids) {
    try {
      await s.query(format(id));
      killed.push(id);
    } catch (err) {
      if (!(err instanceof ServerError && err.errno === ER_NO_SUCH_THREAD)) throw err;
    }
  }
  return killed;
}

/** Interprets the 0 / timeout answers of WAIT_FOR_EXECUTED_GTID_SET and MASTER_GTID_WAIT. */
export function readWaitResult(s: Session, rows: readonly Row[], statement: string, timedOut: number): boolean {
  const result = readNullableInteger(s, onlyRow(s, rows, statement), "r");
  if (result === 0) return true;
  if (result === timedOut) return false;
  throw new UnexpectedResult(s.endpoint, `${statement} returned ${String(result)}, expected 0 or ${timedOut}`);
}

/** Accounts of the server's own threads; their sessions are never killed. */
const SYSTEM_USERS = ["system user", "event_scheduler"];

/** read_only and super_read_only as read back (MariaDB has only the first: both carry it). */
export interface Switches {
  readOnly: boolean;
  superReadOnly: boolean;
}

/** What differs between the servers in the operations whose sequence is the same. */
export interface FlavorStatements {
  /** One parameter: the users to spare. */
  listSessions: string;
  /** The statement that fences. */
  fence: string;
  /** The change-source statement that sets the apply delay to 0. */
  noApplyDelay: string;
  readSwitches(s: Session): Promise<Switches>;
  /** The executed GTIDs in the flavor's canonical text. */
  readExecuted(s: Session): Promise<string>;
  /** Makes the server writable and confirms it (WritableNotConfirmed otherwise). */
  makeWritable(s: Session): Promise<void>;
}

/**
 * The operations whose sequence is the same on both servers (MariaDB 10.5+ knows the REPLICA
 * words); `statements` supplies what differs.
 */
export function commonOperations(statements: FlavorStatements): Pick<Flavor, "fence" | "unfence" | "killApplicationConnections" | "startApplier" | "removeApplyDelay" | "stopReplica" | "resetReplica" | "promote"> {
  return {
    async fence(s, opts) {
      const seconds = checkLockWaitSeconds(opts.lockWaitTimeoutSeconds);
      await s.query(mysql.format("SET SESSION lock_wait_timeout = ?", [seconds]));
      const { state, refusal } = await attemptThenRead(() => s.query(statements.fence), () => statements.readSwitches(s));
      // On failure the session keeps the short lock wait; SiteClient drops a session after any error.
      if (!state.readOnly || !state.superReadOnly) throw new FenceFailed(s.endpoint, state, refusal);
      await s.query("SET SESSION lock_wait_timeout = DEFAULT");
    },
    unfence: (s) => statements.makeWritable(s),
    async killApplicationConnections(s, opts) {
      const rows = await s.query(mysql.format(statements.listSessions, [[...SYSTEM_USERS, ...opts.spareUsers]]));
      const ids = rows.map((row) => readInteger(s, row, "id")).filter((id) => opts.only === undefined || opts.only.has(id));
      return killEach(s, ids, (id) => mysql.format("KILL CONNECTION ?", [id]));
    },
    async startApplier(s) {
      await s.query("START REPLICA SQL_THREAD");
    },
    async removeApplyDelay(s) {
      await s.query("STOP REPLICA");
      // Without an explicit relay log position, changing the source deletes the relay log:
      // exactly the received transactions this is meant to apply.
      const row = onlyRow(s, await s.query("SHOW REPLICA STATUS"), "SHOW REPLICA STATUS");
      const at = [readString(s, row, "Relay_Log_File"), readInteger(s, row, "Relay_Log_Pos")];
      await s.query(mysql.format(`${statements.noApplyDelay}, RELAY_LOG_FILE = ?, RELAY_LOG_POS = ?`, at));
      // The receiver stays stopped: its source is the failed primary. (MariaDB also turns GTID
      // positioning off once a relay log position is given; the promotion resets replication.)
      await s.query("START REPLICA SQL_THREAD");
    },
    async stopReplica(s) {
      await s.query("STOP REPLICA");
    },
    async resetReplica(s) {
      await s.query("RESET REPLICA ALL");
    },
    async promote(s) {
      await s.query("STOP REPLICA");
      await s.query("RESET REPLICA ALL");
      // Read before the server is writable, so no write of its own is counted.
      const gtidExecuted = await statements.readExecuted(s);
      await statements.makeWritable(s);
      return { gtidExecuted };
    },
  };
}

/** Replaces the replication source: STOP REPLICA, the flavor's change statement, START REPLICA. */
export async function changeSource(s: Session, statement: string): Promise<void> {
  await s.query("STOP REPLICA");
  await s.query(statement);
  await s.query("START REPLICA");
}
