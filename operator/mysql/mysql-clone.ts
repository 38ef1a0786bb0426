/**
 * MySQL 8.4 / 9.x's clone plugin, run on the recipient by its agent: the server pulls a physical
 * copy of the donor itself, replaces its own data and restarts. No MySQL server runs in this
 * project's tests: test/unit/mysql/mysql-clone.contract.test.ts pins every statement.
 *
 * Both servers need the plugin loaded (`plugin-load-add=mysql_clone.so`); the donor's account
 * needs BACKUP_ADMIN, the recipient's CLONE_ADMIN. The copy keeps the donor's gtid_executed, so
 * the recipient needs no positioning before it replicates with auto-positioning.
 */
import mysql from "mysql2";
import { checkAccount, onlyRow, readNumber, readString, ServerError, type Row, type Session } from "./flavor.js";
import { ConnectionError } from "./site-client.js";

export interface CloneDonorAccount {
  host: string;
  port: number;
  user: string;
  password: string;
}

/**
 * How CLONE INSTANCE ended: the server restarts on the copy by itself (its connection dropped
 * under the statement), or it cloned but cannot restart itself (error 3707: no supervisor, as
 * for a server that is a container's first process) and must be shut down for its supervisor
 * to start it again.
 */
export type CloneInstanceOutcome = "restarting" | "restart-needed";

/** "Restart server failed": sent after a complete clone by a server without a supervisor. */
const RESTART_SERVER_FAILED = 3707;

export const CLONE_STATEMENTS = {
  donorList: "SET GLOBAL clone_valid_donor_list = ?",
  clone: "CLONE INSTANCE FROM ?@?:? IDENTIFIED BY ?",
  status:
    "SELECT STATE AS state, ERROR_NO AS error_no, ERROR_MESSAGE AS error_message, " +
    "(SELECT VARIABLE_VALUE FROM performance_schema.global_status WHERE VARIABLE_NAME = 'Uptime') AS uptime FROM performance_schema.clone_status",
  gtidExecuted: "SELECT @@GLOBAL.gtid_executed AS gtid_executed",
} as const;

/**
 * Replaces the server's data with a copy of `donor`'s. The session's deadline bounds the whole
 * copy. Throws a ServerError when the server refuses or the clone fails before it is complete.
 */
export async function cloneInstance(s: Session, donor: CloneDonorAccount): Promise<CloneInstanceOutcome> {
  checkAccount("clone donor", donor);
  await s.query(mysql.format(CLONE_STATEMENTS.donorList, [`${donor.host}:${donor.port}`]));
  try {
    await s.query(mysql.format(CLONE_STATEMENTS.clone, [donor.user, donor.host, donor.port, donor.password]));
  } catch (err) {
    if (err instanceof ConnectionError) return "restarting";
    if (err instanceof ServerError && err.errno === RESTART_SERVER_FAILED) return "restart-needed";
    throw err;
  }
  // A clone into the datadir always ends in a restart; a server that answered instead has not
  // restarted: restart it.
  return "restart-needed";
}

export interface CloneStatus {
  state: string;
  errorNo: number;
  errorMessage: string;
  /** How long the server has been up: a clone that restarted it is younger than the uptime. */
  uptimeSeconds: number;
}

/**
 * The last clone's outcome as the recipient records it (`Completed`, `Failed`, ...), and the
 * server's uptime; undefined when it never cloned.
 */
export async function cloneStatus(s: Session): Promise<CloneStatus | undefined> {
  const rows: Row[] = await s.query(CLONE_STATEMENTS.status);
  if (rows.length === 0) return undefined;
  const row = onlyRow(s, rows, "clone_status");
  return { state: readString(s, row, "state"), errorNo: Number(row.error_no ?? 0), errorMessage: String(row.error_message ?? ""), uptimeSeconds: readNumber(s, row, "uptime") };
}

export async function gtidExecuted(s: Session): Promise<string> {
  return readString(s, onlyRow(s, await s.query(CLONE_STATEMENTS.gtidExecuted), "gtid_executed"), "gtid_executed");
}
