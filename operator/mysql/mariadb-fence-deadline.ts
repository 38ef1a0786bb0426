/**
 * MariaDB's fence deadline (Flavor.fenceDeadline): a one-row InnoDB table that holds the
 * deadline, and an event, created once, that reads it every second and fences the server when
 * the deadline passes unrenewed.
 *
 * Moving the deadline is a row update, never DDL: a backup's BACKUP STAGE BLOCK_DDL (held by
 * mariadb-backup for most of a copy) must not keep the agent from renewing it, or a healthy
 * primary would be fenced in the middle of a clone. Only the first arming on a server, or one
 * after someone dropped the objects, is DDL.
 *
 * In the mysql schema: no schema of the application's is touched, and none is added. With
 * sql_log_bin off around every statement and inside the event, nothing of it is a transaction of
 * the server's (an errant GTID otherwise). The row names the server (server_id and host name) it
 * was armed on and when, and the event ignores a row armed before the server started: a physical
 * copy of a datadir (a clone, a restored backup, even of this very server) never fences the server
 * it lands on, whose agent arms afresh once the server is writable.
 */

import mysql from "mysql2";
import { onlyRow, readInteger, readString, ServerError } from "./flavor.js";
import type { Flavor, Session } from "./flavor.js";

/** The table and the event, both in the mysql schema. */
export const FENCE_DEADLINE_OBJECT = "bloodraven_fence_deadline";
const TABLE = `mysql.${FENCE_DEADLINE_OBJECT}`;
/** Versioned: an event whose comment differs (an older body) is replaced. At most 64 characters. */
const EVENT_COMMENT = "bloodraven agent v3: fences the server at an unrenewed lease end";
const ER_NO_SUCH_TABLE = 1146;
const NOW_SECONDS = "UNIX_TIMESTAMP(NOW(6))";
/** Armed on this server since it started (uptime is whole seconds: a start rounds later, never earlier). */
const THIS_SERVER =
  "server_id = @@GLOBAL.server_id AND host = @@hostname AND armed >= " +
  "UNIX_TIMESTAMP(NOW(6)) - (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'UPTIME')";

const CREATE_TABLE =
  `CREATE TABLE IF NOT EXISTS ${TABLE} (id TINYINT UNSIGNED PRIMARY KEY, server_id INT UNSIGNED NOT NULL, ` +
  // Seconds since the epoch: a number means the same in every session, whatever its time zone.
  `host VARCHAR(255) NOT NULL, armed DECIMAL(17,6) NOT NULL, at DECIMAL(17,6) NULL) ENGINE = InnoDB COMMENT '${EVENT_COMMENT}'`;

const ARM =
  `INSERT INTO ${TABLE} (id, server_id, host, armed, at) VALUES (1, @@GLOBAL.server_id, @@hostname, ${NOW_SECONDS}, ${NOW_SECONDS} + ?) ` +
  "ON DUPLICATE KEY UPDATE server_id = VALUES(server_id), host = VALUES(host), armed = VALUES(armed), at = VALUES(at)";

const EVENT_STATE =
  "SELECT @@GLOBAL.event_scheduler AS scheduler, (SELECT COUNT(*) FROM information_schema.EVENTS " +
  "WHERE EVENT_SCHEMA = 'mysql' AND EVENT_NAME = ? AND EVENT_COMMENT = ? AND STATUS = 'ENABLED') AS current";

/**
 * The scheduler keeps whole seconds: each run looks one second ahead, sleeps until the deadline
 * itself, and fences unless the deadline was moved or removed meanwhile. It clears the deadline
 * after fencing, so that a server made writable later is not fenced again by it.
 */
function createEvent(lockWaitTimeoutSeconds: number): string {
  const deadline = `(SELECT at FROM ${TABLE} WHERE id = 1 AND ${THIS_SERVER})`;
  return (
    `CREATE OR REPLACE EVENT mysql.${FENCE_DEADLINE_OBJECT} ON SCHEDULE EVERY 1 SECOND ON COMPLETION PRESERVE ENABLE ` +
    `COMMENT '${EVENT_COMMENT}' DO BEGIN ` +
    "DECLARE deadline DECIMAL(17,6); " +
    "SET SESSION sql_log_bin = 0; " +
    `SET deadline = ${deadline}; ` +
    `IF @@GLOBAL.read_only = 0 AND deadline < ${NOW_SECONDS} + 1 THEN ` +
    `DO SLEEP(GREATEST(0, deadline - ${NOW_SECONDS})); ` +
    `IF ${deadline} <= ${NOW_SECONDS} THEN ` +
    `SET SESSION lock_wait_timeout = ${Math.max(1, Math.floor(lockWaitTimeoutSeconds))}; ` +
    "SET GLOBAL read_only = ON; " +
    `UPDATE ${TABLE} SET at = NULL WHERE id = 1; ` +
    "END IF; END IF; END"
  );
}

/** Runs `body` with sql_log_bin off and waits for locks bounded to a second. */
async function unlogged<T>(s: Session, body: () => Promise<T>): Promise<T> {
  await s.query("SET SESSION sql_log_bin = 0, lock_wait_timeout = 1, innodb_lock_wait_timeout = 1");
  try {
    return await body();
  } finally {
    await s.query("SET SESSION sql_log_bin = 1, lock_wait_timeout = DEFAULT, innodb_lock_wait_timeout = DEFAULT");
  }
}

const missingTable = (err: unknown) => err instanceof ServerError && err.errno === ER_NO_SUCH_TABLE;

export const mariadbFenceDeadline: NonNullable<Flavor["fenceDeadline"]> = {
  async arm(s: Session, inMs: number, lockWaitTimeoutSeconds: number): Promise<boolean> {
    const seconds = Math.max(0, Math.floor(inMs)) / 1000;
    return unlogged(s, async () => {
      try {
        await s.query(mysql.format(ARM, [seconds]));
      } catch (err) {
        if (!missingTable(err)) throw err;
        await s.query(CREATE_TABLE);
        await s.query(mysql.format(ARM, [seconds]));
      }
      const row = onlyRow(s, await s.query(mysql.format(EVENT_STATE, [FENCE_DEADLINE_OBJECT, EVENT_COMMENT])), "fence deadline event");
      if (readInteger(s, row, "current") === 0) await s.query(createEvent(lockWaitTimeoutSeconds));
      return readString(s, row, "scheduler") === "ON";
    });
  },

  async remove(s: Session): Promise<void> {
    await unlogged(s, async () => {
      try {
        await s.query(`UPDATE ${TABLE} SET at = NULL WHERE id = 1`);
      } catch (err) {
        if (!missingTable(err)) throw err;
      }
    });
  },
};
