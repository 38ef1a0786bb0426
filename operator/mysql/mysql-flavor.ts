/**
 * MySQL 8.4 / 9.x. Only the REPLICA/SOURCE statement forms exist there (8.4 removed CHANGE
 * MASTER, START/STOP/SHOW SLAVE and MASTER_AUTO_POSITION). No MySQL server can run in this
 * project's tests, so test/unit/mysql/mysql-flavor.contract.test.ts pins every statement.
 *
 * Fencing persists, unfencing does not. `SET PERSIST super_read_only = ON` survives a restart,
 * so a fenced old primary that crashes comes back read-only instead of taking writes next to
 * the new primary. Making a server writable uses `SET GLOBAL` only: the persisted boot state
 * stays read-only once the server has been fenced, so a restarted primary waits for the
 * operator to grant writability again (as MariaDB servers do with read_only=1 in their config,
 * since MariaDB has no SET PERSIST).
 */

import mysql from "mysql2";
import { canonicalGtidSet, GtidSet } from "../../shared/gtid/gtid-set.js";
import {
  changeSource,
  checkSource,
  commonOperations,
  gtidWaitLimitMs,
  onlyRow,
  readInteger,
  readNullableInteger,
  readNumber,
  readString,
  readSwitch,
  readThread,
  readWaitResult,
  WritableNotConfirmed,
} from "./flavor.js";
import type { Flavor, ReplicationSource, RepointOptions, Row, Session, Switches } from "./flavor.js";
import type { ReplicaState, ServerObservation } from "../../shared/topology/site-observation.js";

const OBSERVE =
  "SELECT @@GLOBAL.server_id AS server_id, @@GLOBAL.server_uuid AS server_uuid, @@GLOBAL.read_only AS read_only, " +
  "@@GLOBAL.super_read_only AS super_read_only, @@GLOBAL.gtid_executed AS gtid_executed, VERSION() AS version";
const READ_SWITCHES = "SELECT @@GLOBAL.read_only AS read_only, @@GLOBAL.super_read_only AS super_read_only";
const GTID_EXECUTED = "SELECT @@GLOBAL.gtid_executed AS gtid_executed";
// performance_schema.processlist replaces the deprecated information_schema.PROCESSLIST in 8.4.
// Rows with a NULL USER (background threads) fall out of NOT IN as well.
const LIST_SESSIONS =
  "SELECT ID AS id FROM performance_schema.processlist WHERE ID <> CONNECTION_ID() AND USER NOT IN (?) " +
  "AND COMMAND NOT IN ('Binlog Dump', 'Binlog Dump GTID', 'Daemon')";
// Replication applier/receiver threads and the event scheduler.
// SHOW REPLICA STATUS has no heartbeat columns since 8.0; the default channel is ''.
const HEARTBEATS =
  "SELECT s.COUNT_RECEIVED_HEARTBEATS AS heartbeats, c.HEARTBEAT_INTERVAL AS period " +
  "FROM performance_schema.replication_connection_status s JOIN performance_schema.replication_connection_configuration c USING (CHANNEL_NAME) " +
  "WHERE CHANNEL_NAME = ''";

async function readSwitches(s: Session): Promise<Switches> {
  const row = onlyRow(s, await s.query(READ_SWITCHES), "read_only");
  return { readOnly: readSwitch(s, row, "read_only"), superReadOnly: readSwitch(s, row, "super_read_only") };
}

function parseReplica(s: Session, row: Row, heartbeat: Row): ReplicaState {
  const io = readThread(s, row, "Replica_IO_Running");
  return {
    ioRunning: io === "Yes",
    ioConnecting: io === "Connecting",
    sqlRunning: readThread(s, row, "Replica_SQL_Running") === "Yes",
    ioThreadState: readString(s, row, "Replica_IO_State"),
    sqlThreadState: readString(s, row, "Replica_SQL_Running_State"),
    secondsBehindSource: readNullableInteger(s, row, "Seconds_Behind_Source"),
    sourceHost: readString(s, row, "Source_Host"),
    sourcePort: readInteger(s, row, "Source_Port"),
    gtidAutoPosition: readInteger(s, row, "Auto_Position") === 1,
    retrievedGtids: canonicalGtidSet(readString(s, row, "Retrieved_Gtid_Set")),
    lastIoErrno: readInteger(s, row, "Last_IO_Errno"),
    lastIoError: readString(s, row, "Last_IO_Error"),
    lastSqlErrno: readInteger(s, row, "Last_SQL_Errno"),
    lastSqlError: readString(s, row, "Last_SQL_Error"),
    sqlDelay: readInteger(s, row, "SQL_Delay"),
    sourceServerId: readInteger(s, row, "Source_Server_Id"),
    receivedHeartbeats: readInteger(s, heartbeat, "heartbeats"),
    heartbeatPeriodSeconds: readNumber(s, heartbeat, "period"),
  };
}

async function makeWritable(s: Session): Promise<void> {
  // super_read_only first: read_only cannot go OFF while super_read_only is ON.
  await s.query("SET GLOBAL super_read_only = OFF");
  await s.query("SET GLOBAL read_only = OFF");
  const state = await readSwitches(s);
  if (state.readOnly || state.superReadOnly) throw new WritableNotConfirmed(s.endpoint, state);
}

export const mysqlFlavor: Flavor = {
  name: "mysql",

  async observe(s: Session): Promise<ServerObservation> {
    const row = onlyRow(s, await s.query(OBSERVE), "observe");
    const [replica] = await s.query("SHOW REPLICA STATUS");
    return {
      flavor: "mysql",
      version: readString(s, row, "version"),
      serverId: readInteger(s, row, "server_id"),
      serverUuid: readString(s, row, "server_uuid"),
      readOnly: readSwitch(s, row, "read_only"),
      superReadOnly: readSwitch(s, row, "super_read_only"),
      gtidExecuted: canonicalGtidSet(readString(s, row, "gtid_executed")),
      replica: replica === undefined ? undefined : parseReplica(s, replica, onlyRow(s, await s.query(HEARTBEATS), "replication_connection_status")),
    };
  },

  ...commonOperations({
    listSessions: LIST_SESSIONS,
    // super_read_only=ON implies read_only=ON; the persisted value makes a restart boot fenced.
    fence: "SET PERSIST super_read_only = ON",
    noApplyDelay: "CHANGE REPLICATION SOURCE TO SOURCE_DELAY = 0",
    readSwitches,
    readExecuted: async (s) => canonicalGtidSet(readString(s, onlyRow(s, await s.query(GTID_EXECUTED), "gtid_executed"), "gtid_executed")),
    makeWritable,
  }),

  async repoint(s: Session, source: ReplicationSource, opts: RepointOptions): Promise<void> {
    checkSource(source, opts);
    const clauses = [
      mysql.format("SOURCE_HOST = ?, SOURCE_PORT = ?, SOURCE_USER = ?, SOURCE_PASSWORD = ?", [source.host, source.port, source.user, source.password]),
      "SOURCE_AUTO_POSITION = 1",
      // caching_sha2_password (the 8.4 default) refuses a non-TLS replica without the key.
      "GET_SOURCE_PUBLIC_KEY = 1",
    ];
    if (opts.connectRetrySeconds !== undefined) clauses.push(mysql.format("SOURCE_CONNECT_RETRY = ?", [opts.connectRetrySeconds]));
    if (opts.heartbeatSeconds !== undefined) clauses.push(mysql.format("SOURCE_HEARTBEAT_PERIOD = ?", [opts.heartbeatSeconds]));
    await changeSource(s, `CHANGE REPLICATION SOURCE TO ${clauses.join(", ")}`);
  },

  async waitForGtid(s: Session, gtid: string, timeoutSeconds: number): Promise<boolean> {
    // Parsing first rejects a malformed set before it reaches the server; one line reads better in logs.
    const set = GtidSet.parse(gtid).toString().replaceAll(",\n", ",");
    const timeoutMs = gtidWaitLimitMs(s, timeoutSeconds);
    const rows = await s.query(mysql.format("SELECT WAIT_FOR_EXECUTED_GTID_SET(?, ?) AS r", [set, timeoutSeconds]), { timeoutMs });
    return readWaitResult(s, rows, "WAIT_FOR_EXECUTED_GTID_SET", 1);
  },
};
