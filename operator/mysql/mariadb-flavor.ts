/**
 * MariaDB 10.11+. Statement forms verified on 10.11.19 (platform-notes C): START/STOP/RESET/
 * SHOW REPLICA exist, but changing the source is still CHANGE MASTER (CHANGE REPLICATION
 * SOURCE is a syntax error), and SHOW REPLICA STATUS keeps the old column names.
 *
 * There is no super_read_only: read_only stops every account without READ ONLY ADMIN (which
 * GRANT ALL includes), and there is no SET PERSIST, so servers need read_only=1 in their
 * configuration to boot fenced.
 */

import mysql from "mysql2";
import { formatMariadbGtids, parseMariadbBinlogState, parseMariadbPosition } from "../../shared/gtid/mariadb-position.js";
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
import { mariadbFenceDeadline } from "./mariadb-fence-deadline.js";
import type { Flavor, ReplicationSource, RepointOptions, Row, Session } from "./flavor.js";
import type { ReplicaState, ServerObservation } from "../../shared/topology/site-observation.js";

const OBSERVE =
  "SELECT @@GLOBAL.server_id AS server_id, @@GLOBAL.read_only AS read_only, @@GLOBAL.gtid_binlog_pos AS gtid_binlog_pos, " +
  "@@GLOBAL.gtid_binlog_state AS gtid_binlog_state, @@GLOBAL.gtid_slave_pos AS gtid_slave_pos, " +
  "@@GLOBAL.gtid_current_pos AS gtid_current_pos, VERSION() AS version";
const READ_ONLY = "SELECT @@GLOBAL.read_only AS read_only";
const GTID_BINLOG_POS = "SELECT @@GLOBAL.gtid_binlog_pos AS gtid_binlog_pos";
// Replica-side replication threads run as 'system user'; source-side dump threads as the
// replication account, so they are recognised by command.
const LIST_SESSIONS =
  "SELECT ID AS id FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND USER NOT IN (?) " +
  "AND COMMAND NOT IN ('Binlog Dump', 'Daemon')";

function position(text: string): string {
  return formatMariadbGtids(parseMariadbPosition(text));
}

async function readReadOnly(s: Session): Promise<boolean> {
  return readSwitch(s, onlyRow(s, await s.query(READ_ONLY), "read_only"), "read_only");
}

function parseReplica(s: Session, row: Row): ReplicaState {
  const io = readThread(s, row, "Slave_IO_Running");
  return {
    ioRunning: io === "Yes",
    ioConnecting: io === "Connecting",
    sqlRunning: readThread(s, row, "Slave_SQL_Running") === "Yes",
    ioThreadState: readString(s, row, "Slave_IO_State"),
    sqlThreadState: readString(s, row, "Slave_SQL_Running_State"),
    secondsBehindSource: readNullableInteger(s, row, "Seconds_Behind_Master"),
    sourceHost: readString(s, row, "Master_Host"),
    sourcePort: readInteger(s, row, "Master_Port"),
    gtidAutoPosition: readString(s, row, "Using_Gtid") !== "No",
    retrievedGtids: position(readString(s, row, "Gtid_IO_Pos")),
    lastIoErrno: readInteger(s, row, "Last_IO_Errno"),
    lastIoError: readString(s, row, "Last_IO_Error"),
    lastSqlErrno: readInteger(s, row, "Last_SQL_Errno"),
    lastSqlError: readString(s, row, "Last_SQL_Error"),
    sqlDelay: readInteger(s, row, "SQL_Delay"),
    sourceServerId: readInteger(s, row, "Master_Server_Id"),
    receivedHeartbeats: readInteger(s, row, "Slave_received_heartbeats"),
    heartbeatPeriodSeconds: readNumber(s, row, "Slave_heartbeat_period"),
  };
}

async function makeWritable(s: Session): Promise<void> {
  await s.query("SET GLOBAL read_only = OFF");
  if (await readReadOnly(s)) throw new WritableNotConfirmed(s.endpoint, { readOnly: true, superReadOnly: true });
}

export const mariadbFlavor: Flavor = {
  name: "mariadb",

  async observe(s: Session): Promise<ServerObservation> {
    const row = onlyRow(s, await s.query(OBSERVE), "observe");
    // The ALL form is the one that carries the heartbeat columns; the default connection is ''.
    const replica = (await s.query("SHOW ALL REPLICAS STATUS")).find((r) => r.Connection_name === "");
    const readOnly = readSwitch(s, row, "read_only");
    return {
      flavor: "mariadb",
      version: readString(s, row, "version"),
      serverId: readInteger(s, row, "server_id"),
      readOnly,
      superReadOnly: readOnly,
      gtidExecuted: position(readString(s, row, "gtid_binlog_pos")),
      gtidBinlogState: formatMariadbGtids(parseMariadbBinlogState(readString(s, row, "gtid_binlog_state"))),
      gtidSlavePos: position(readString(s, row, "gtid_slave_pos")),
      gtidCurrentPos: position(readString(s, row, "gtid_current_pos")),
      replica: replica === undefined ? undefined : parseReplica(s, replica),
    };
  },

  ...commonOperations({
    listSessions: LIST_SESSIONS,
    fence: "SET GLOBAL read_only = ON",
    noApplyDelay: "CHANGE MASTER TO MASTER_DELAY = 0",
    readSwitches: async (s) => {
      const readOnly = await readReadOnly(s);
      return { readOnly, superReadOnly: readOnly };
    },
    readExecuted: async (s) => position(readString(s, onlyRow(s, await s.query(GTID_BINLOG_POS), "gtid_binlog_pos"), "gtid_binlog_pos")),
    makeWritable,
  }),

  async repoint(s: Session, source: ReplicationSource, opts: RepointOptions): Promise<void> {
    checkSource(source, opts);
    const clauses = [
      mysql.format("MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USER = ?, MASTER_PASSWORD = ?", [source.host, source.port, source.user, source.password]),
      // slave_pos, not current_pos: current_pos is deprecated (MDEV-20122), and a server with
      // errant transactions would ask the new source for GTIDs it never had (error 1236).
      "MASTER_USE_GTID = slave_pos",
    ];
    // Without it a former primary's gtid_slave_pos still stops where it last replicated, and
    // the new source would send the server's own writes back to it.
    if (opts.formerPrimary) clauses.push("MASTER_DEMOTE_TO_SLAVE = 1");
    if (opts.connectRetrySeconds !== undefined) clauses.push(mysql.format("MASTER_CONNECT_RETRY = ?", [opts.connectRetrySeconds]));
    if (opts.heartbeatSeconds !== undefined) clauses.push(mysql.format("MASTER_HEARTBEAT_PERIOD = ?", [opts.heartbeatSeconds]));
    await changeSource(s, `CHANGE MASTER TO ${clauses.join(", ")}`);
  },

  async waitForGtid(s: Session, gtid: string, timeoutSeconds: number): Promise<boolean> {
    const pos = position(gtid);
    const timeoutMs = gtidWaitLimitMs(s, timeoutSeconds);
    const rows = await s.query(mysql.format("SELECT MASTER_GTID_WAIT(?, ?) AS r", [pos, timeoutSeconds]), { timeoutMs });
    return readWaitResult(s, rows, "MASTER_GTID_WAIT", -1);
  },

  fenceDeadline: mariadbFenceDeadline,
};
