/**
 * A MySQL site's restore (spec.initFromBackup, spec.restoreInPlace) loads the dump into the site's
 * running server, which the operator has fenced, where a MariaDB site's restarts onto a staged
 * datadir: the official MySQL images have no step at their start that would swap one in.
 * operator/backup/load-restore.ts runs what is decided here. Pinned as MySQL 8.4 and 9.x behave:
 *
 * - nothing is touched unless the server is MySQL 8.4 or later, fenced (`read_only` ON: the
 *   operator's fence, which nothing but the operator lifts) and has `gtid_mode` ON (the dump's
 *   position is a GTID set);
 * - `super_read_only` OFF with `read_only` kept ON: the restore's sessions, as the operator account
 *   (which has `CONNECTION_ADMIN`), may write, applications may not. MySQL Shell does not lift
 *   `super_read_only` itself, and the operator's persisted `super_read_only` still fences a server
 *   that restarts meanwhile;
 * - replication is stopped and forgotten, and every schema of the site's own dropped, not
 *   binary-logged: what the group held beyond the backup is discarded (the restore's status
 *   records from where, `discardedFrom`);
 * - `RESET BINARY LOGS AND GTIDS` (8.4's name for RESET MASTER): `util.loadDump`'s `updateGtidSet:
 *   "replace"` needs an empty `gtid_executed` and `gtid_purged`;
 * - `local_infile` ON for the load, which MySQL Shell refuses without it;
 * - afterwards `local_infile` as it was, and `super_read_only` ON again: the operator makes the
 *   site writable when the restore resumes it.
 */

/** What the load sees of the server first: whether it is a fenced MySQL at all. */
export const TARGET_IDENTITY = "SELECT VERSION() AS version, @@GLOBAL.read_only AS read_only";
/** Then, on a MySQL server only (MariaDB has no gtid_mode): its settings the load depends on. */
export const TARGET_SETTINGS = "SELECT @@GLOBAL.gtid_mode AS gtid_mode, @@GLOBAL.local_infile AS local_infile";

/** The server's own schemas, which a restore neither drops nor counts. */
const SYSTEM_SCHEMAS = ["mysql", "sys", "performance_schema", "information_schema"];
const NOT_SYSTEM = `SCHEMA_NAME NOT IN (${SYSTEM_SCHEMAS.map((s) => `'${s}'`).join(", ")})`;

/** The schemas a restore drops before the load, and counts after it. */
export const USER_SCHEMAS = `SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA WHERE ${NOT_SYSTEM} ORDER BY SCHEMA_NAME`;

/** The server's position after the load and the replay: the restore's result. */
export const LOADED_POSITION = `SELECT @@GLOBAL.gtid_executed AS gtid, (SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE ${NOT_SYSTEM}) AS user_schemas`;

/** Why the load must not touch `site`'s server, by TARGET_IDENTITY; undefined when it may. */
export function targetRefusal(site: string, identity: { readonly version: string; readonly readOnly: boolean }): string | undefined {
  const [major = 0, minor = 0] = (/^(\d+)\.(\d+)/.exec(identity.version) ?? []).slice(1).map(Number);
  if (/mariadb/i.test(identity.version) || major < 8 || (major === 8 && minor < 4)) {
    return `site ${site}'s server is ${identity.version}: a MySQL Shell dump loads into MySQL 8.4 or later, nothing was changed`;
  }
  if (!identity.readOnly) return `site ${site}'s server is writable: a restore loads only into a server the operator fenced, nothing was changed`;
  return undefined;
}

/** Why the load must not touch `site`'s server, by TARGET_SETTINGS' gtid_mode; undefined when it may. */
export function gtidModeRefusal(site: string, gtidMode: string): string | undefined {
  return gtidMode === "ON" ? undefined : `site ${site}'s server has gtid_mode ${gtidMode}: the dump's position is a GTID set, which needs ON; nothing was changed`;
}

/** A schema name as an identifier: backquoted, a backquote doubled. */
export const identifier = (name: string): string => `\`${name.replaceAll("`", "``")}\``;

/**
 * From a fenced server holding `schemas` to an empty one the load may write (run in one session).
 * `super_read_only` goes first: it refuses DROP DATABASE even to the operator account.
 */
export function clearStatements(schemas: readonly string[]): string[] {
  return [
    "SET SESSION sql_log_bin = 0",
    "SET GLOBAL super_read_only = OFF",
    "STOP REPLICA",
    "RESET REPLICA ALL",
    ...schemas.map((s) => `DROP DATABASE ${identifier(s)}`),
    "RESET BINARY LOGS AND GTIDS",
    "SET GLOBAL local_infile = ON",
  ];
}

/** After the load and the replay, whatever their outcome: fenced again, `local_infile` as it was. */
export function refenceStatements(localInfileWas: boolean): string[] {
  return [`SET GLOBAL local_infile = ${localInfileWas ? "ON" : "OFF"}`, "SET GLOBAL super_read_only = ON"];
}
