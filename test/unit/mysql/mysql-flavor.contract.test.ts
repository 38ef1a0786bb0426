/**
 * Contract tests: the exact statements each Flavor method sends, in order, against a recording
 * fake session with canned rows. For MySQL this is the only test there is (no server can run
 * here), so the expected SQL is written out literally, never imported from the implementation.
 * MariaDB's sequences are pinned the same way; its behaviour is tested for real in
 * test/integration/mysql/.
 */
import { describe, expect, it } from "vitest";
import { GtidSetParseError } from "../../../shared/gtid/gtid-set.js";
import { MariadbGtidParseError } from "../../../shared/gtid/mariadb-position.js";
import { FenceFailed, GTID_WAIT_GRACE_MS, UnexpectedResult, WritableNotConfirmed } from "../../../operator/mysql/flavor.js";
import type { Row } from "../../../operator/mysql/flavor.js";
import { RecordingSession, refusal } from "./recording-session.js";
import { mariadbFlavor } from "../../../operator/mysql/mariadb-flavor.js";
import { mysqlFlavor } from "../../../operator/mysql/mysql-flavor.js";
import { flavorFor, flavorOfVersion } from "../../../operator/mysql/site-client.js";

const LOCK_WAIT_TIMEOUT = refusal("SET GLOBAL read_only", 1205, "ER_LOCK_WAIT_TIMEOUT");

const UUID_A = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
const UUID_B = "73f86016-978b-11ee-ade5-8d2a2a562feb";

describe("MySQL flavor: statement contract", () => {
  const OBSERVE =
    "SELECT @@GLOBAL.server_id AS server_id, @@GLOBAL.server_uuid AS server_uuid, @@GLOBAL.read_only AS read_only, " +
    "@@GLOBAL.super_read_only AS super_read_only, @@GLOBAL.gtid_executed AS gtid_executed, VERSION() AS version";
  const SWITCHES = "SELECT @@GLOBAL.read_only AS read_only, @@GLOBAL.super_read_only AS super_read_only";
  const HEARTBEATS =
    "SELECT s.COUNT_RECEIVED_HEARTBEATS AS heartbeats, c.HEARTBEAT_INTERVAL AS period " +
    "FROM performance_schema.replication_connection_status s JOIN performance_schema.replication_connection_configuration c USING (CHANNEL_NAME) " +
    "WHERE CHANNEL_NAME = ''";
  const server = (over: Row = {}): Row => ({
    server_id: 11,
    server_uuid: UUID_A,
    read_only: 0,
    super_read_only: 0,
    gtid_executed: `${UUID_B.toUpperCase()}:1-3,\n${UUID_A}:1-5:8,\n${UUID_A}:6-7`,
    version: "8.4.3",
    ...over,
  });
  // A replica whose source went away: column names as MySQL 8.4 prints them.
  const replicaRow: Row = {
    Replica_IO_State: "Reconnecting after a failed source event read",
    Source_Host: "mysql-fg-iad-internal.db.svc.cluster.local",
    Source_User: "repl",
    Source_Port: 3306,
    Connect_Retry: 1,
    Source_Log_File: "binlog.000007",
    Read_Source_Log_Pos: 927,
    Relay_Log_File: "relay.000002",
    Relay_Log_Pos: 1145,
    Relay_Source_Log_File: "binlog.000007",
    Replica_IO_Running: "Connecting",
    Replica_SQL_Running: "Yes",
    Last_Errno: 0,
    Last_Error: "",
    Exec_Source_Log_Pos: 927,
    Seconds_Behind_Source: null,
    Last_IO_Errno: 2003,
    Last_IO_Error: "error reconnecting to source 'repl@iad:3306' - retry-time: 1 retries: 4",
    Last_SQL_Errno: 0,
    Last_SQL_Error: "",
    Source_Server_Id: 1,
    Source_UUID: UUID_B,
    SQL_Delay: 0,
    SQL_Remaining_Delay: null,
    Replica_SQL_Running_State: "Replica has read all relay log; waiting for more updates",
    Retrieved_Gtid_Set: `${UUID_B}:1-3`,
    Executed_Gtid_Set: `${UUID_B}:1-3`,
    Auto_Position: 1,
    Channel_Name: "",
  };

  it("observe on a primary: two reads, canonical gtid_executed, no replica", async () => {
    const s = new RecordingSession({ [OBSERVE]: [server()], "SHOW REPLICA STATUS": [] });
    const seen = await mysqlFlavor.observe(s);
    expect(s.statements).toEqual([OBSERVE, "SHOW REPLICA STATUS"]);
    expect(seen).toEqual({
      flavor: "mysql",
      version: "8.4.3",
      serverId: 11,
      serverUuid: UUID_A,
      readOnly: false,
      superReadOnly: false,
      gtidExecuted: `${UUID_A}:1-8,\n${UUID_B}:1-3`,
      replica: undefined,
    });
  });

  it("observe on a replica parses SHOW REPLICA STATUS by column name", async () => {
    const s = new RecordingSession({ [OBSERVE]: [server({ read_only: 1, super_read_only: "ON" })], "SHOW REPLICA STATUS": [replicaRow], [HEARTBEATS]: [{ heartbeats: 42, period: "30.000" }] });
    const seen = await mysqlFlavor.observe(s);
    expect(s.statements).toEqual([OBSERVE, "SHOW REPLICA STATUS", HEARTBEATS]);
    expect(seen).toMatchObject({ readOnly: true, superReadOnly: true });
    expect(seen.replica).toEqual({
      ioRunning: false,
      ioConnecting: true,
      sqlRunning: true,
      ioThreadState: "Reconnecting after a failed source event read",
      sqlThreadState: "Replica has read all relay log; waiting for more updates",
      secondsBehindSource: null,
      sourceHost: "mysql-fg-iad-internal.db.svc.cluster.local",
      sourcePort: 3306,
      gtidAutoPosition: true,
      retrievedGtids: `${UUID_B}:1-3`,
      lastIoErrno: 2003,
      lastIoError: "error reconnecting to source 'repl@iad:3306' - retry-time: 1 retries: 4",
      lastSqlErrno: 0,
      lastSqlError: "",
      sqlDelay: 0,
      sourceServerId: 1,
      receivedHeartbeats: 42,
      heartbeatPeriodSeconds: 30,
    });
  });

  it("observe refuses what it cannot interpret instead of guessing", async () => {
    await expect(mysqlFlavor.observe(new RecordingSession({ [OBSERVE]: [server({ read_only: "MAYBE" })] }))).rejects.toThrow(UnexpectedResult);
    const { Auto_Position: _dropped, ...withoutAutoPosition } = replicaRow;
    await expect(
      mysqlFlavor.observe(new RecordingSession({ [OBSERVE]: [server()], "SHOW REPLICA STATUS": [withoutAutoPosition], [HEARTBEATS]: [{ heartbeats: 0, period: 30 }] })),
    ).rejects.toThrow(/column Auto_Position is missing/);
    await expect(mysqlFlavor.observe(new RecordingSession({ [OBSERVE]: [] }))).rejects.toThrow(/returned 0 rows/);
    await expect(mysqlFlavor.observe(new RecordingSession({ [OBSERVE]: [server({ gtid_executed: `${UUID_A}:0` })] }))).rejects.toThrow(GtidSetParseError);
  });

  describe("fence", () => {
    const FENCE = ["SET SESSION lock_wait_timeout = 3", "SET PERSIST super_read_only = ON", SWITCHES];

    it("persists super_read_only under a short lock wait, confirms, restores the lock wait", async () => {
      const s = new RecordingSession({ [SWITCHES]: [{ read_only: 1, super_read_only: 1 }] });
      await mysqlFlavor.fence(s, { lockWaitTimeoutSeconds: 3 });
      expect(s.statements).toEqual([...FENCE, "SET SESSION lock_wait_timeout = DEFAULT"]);
    });

    it("a lock wait timeout that leaves the server writable is FenceFailed, with the refusal as cause", async () => {
      const s = new RecordingSession({ "SET PERSIST": LOCK_WAIT_TIMEOUT, [SWITCHES]: [{ read_only: 0, super_read_only: 0 }] });
      const err = await mysqlFlavor.fence(s, { lockWaitTimeoutSeconds: 3 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FenceFailed);
      expect((err as FenceFailed).cause).toBe(LOCK_WAIT_TIMEOUT);
      expect((err as FenceFailed).message).toContain("db-0.example:3306: fence failed");
      expect(s.statements).toEqual(FENCE);
    });

    it("read_only without super_read_only is not a fence", async () => {
      const s = new RecordingSession({ [SWITCHES]: [{ read_only: 1, super_read_only: 0 }] });
      await expect(mysqlFlavor.fence(s, { lockWaitTimeoutSeconds: 3 })).rejects.toThrow(FenceFailed);
    });

    it("a refusal is fine when the re-read shows the server fenced anyway", async () => {
      const s = new RecordingSession({ "SET PERSIST": LOCK_WAIT_TIMEOUT, [SWITCHES]: [{ read_only: 1, super_read_only: 1 }] });
      await mysqlFlavor.fence(s, { lockWaitTimeoutSeconds: 3 });
      expect(s.statements).toEqual([...FENCE, "SET SESSION lock_wait_timeout = DEFAULT"]);
    });

    it("a lost connection propagates as it is, without a re-read", async () => {
      const lost = new Error("connection lost");
      const s = new RecordingSession({ "SET PERSIST": lost });
      await expect(mysqlFlavor.fence(s, { lockWaitTimeoutSeconds: 3 })).rejects.toBe(lost);
      expect(s.statements).toEqual(FENCE.slice(0, 2));
    });

    it("refuses a lock wait that is not a whole number of seconds, before sending anything", async () => {
      const s = new RecordingSession();
      await expect(mysqlFlavor.fence(s, { lockWaitTimeoutSeconds: 0.5 })).rejects.toThrow(RangeError);
      await expect(mysqlFlavor.fence(s, { lockWaitTimeoutSeconds: 0 })).rejects.toThrow(RangeError);
      expect(s.statements).toEqual([]);
    });
  });

  it("unfence clears super_read_only, then read_only, then confirms", async () => {
    const s = new RecordingSession({ [SWITCHES]: [{ read_only: 0, super_read_only: 0 }] });
    await mysqlFlavor.unfence(s);
    expect(s.statements).toEqual(["SET GLOBAL super_read_only = OFF", "SET GLOBAL read_only = OFF", SWITCHES]);
    const stuck = new RecordingSession({ [SWITCHES]: [{ read_only: 1, super_read_only: 0 }] });
    await expect(mysqlFlavor.unfence(stuck)).rejects.toThrow(WritableNotConfirmed);
  });

  describe("killApplicationConnections", () => {
    const LIST =
      "SELECT ID AS id FROM performance_schema.processlist WHERE ID <> CONNECTION_ID() " +
      "AND USER NOT IN ('system user', 'event_scheduler', 'bloodraven', 'o\\'brien') " +
      "AND COMMAND NOT IN ('Binlog Dump', 'Binlog Dump GTID', 'Daemon')";

    it("lists client sessions, escaping spared users, and kills each; a session already gone is not counted", async () => {
      const s = new RecordingSession({
        "SELECT ID": [{ id: 17 }, { id: 23 }, { id: 42 }],
        "KILL CONNECTION 23": refusal("KILL CONNECTION 23", 1094, "ER_NO_SUCH_THREAD"),
      });
      expect(await mysqlFlavor.killApplicationConnections(s, { spareUsers: ["bloodraven", "o'brien"] })).toEqual([17, 42]);
      expect(s.statements).toEqual([LIST, "KILL CONNECTION 17", "KILL CONNECTION 23", "KILL CONNECTION 42"]);
    });

    it("any other refusal stops the pass", async () => {
      const denied = refusal("KILL CONNECTION 17", 1095, "ER_KILL_DENIED_ERROR");
      const s = new RecordingSession({ "SELECT ID": [{ id: 17 }, { id: 23 }], "KILL CONNECTION 17": denied });
      await expect(mysqlFlavor.killApplicationConnections(s, { spareUsers: [] })).rejects.toBe(denied);
      expect(s.statements).toHaveLength(2);
      expect(s.statements[0]).toContain("USER NOT IN ('system user', 'event_scheduler')");
    });

    it("with `only`, kills just the listed sessions that are still open", async () => {
      const s = new RecordingSession({ "SELECT ID": [{ id: 17 }, { id: 23 }, { id: 42 }] });
      expect(await mysqlFlavor.killApplicationConnections(s, { spareUsers: [], only: new Set([23, 99]) })).toEqual([23]);
      expect(s.statements.slice(1)).toEqual(["KILL CONNECTION 23"]);
    });
  });

  it("stopReplica and resetReplica", async () => {
    const s = new RecordingSession();
    await mysqlFlavor.stopReplica(s);
    await mysqlFlavor.resetReplica(s);
    expect(s.statements).toEqual(["STOP REPLICA", "RESET REPLICA ALL"]);
  });

  it("startApplier and removeApplyDelay (before an emergency promotion applies the relay log)", async () => {
    const s = new RecordingSession({ "SHOW REPLICA STATUS": [{ ...replicaRow, Relay_Log_File: "relay.000002", Relay_Log_Pos: 1145 }] });
    await mysqlFlavor.startApplier(s);
    await mysqlFlavor.removeApplyDelay(s);
    expect(s.statements).toEqual([
      "START REPLICA SQL_THREAD",
      "STOP REPLICA",
      "SHOW REPLICA STATUS",
      "CHANGE REPLICATION SOURCE TO SOURCE_DELAY = 0, RELAY_LOG_FILE = 'relay.000002', RELAY_LOG_POS = 1145",
      "START REPLICA SQL_THREAD",
    ]);
  });

  describe("promote", () => {
    it("stops and resets replication, records gtid_executed before writability, confirms writable", async () => {
      const s = new RecordingSession({
        "SELECT @@GLOBAL.gtid_executed": [{ gtid_executed: `${UUID_A}:1-9,\n${UUID_B}:1-3` }],
        [SWITCHES]: [{ read_only: 0, super_read_only: 0 }],
      });
      expect(await mysqlFlavor.promote(s)).toEqual({ gtidExecuted: `${UUID_A}:1-9,\n${UUID_B}:1-3` });
      expect(s.statements).toEqual([
        "STOP REPLICA",
        "RESET REPLICA ALL",
        "SELECT @@GLOBAL.gtid_executed AS gtid_executed",
        "SET GLOBAL super_read_only = OFF",
        "SET GLOBAL read_only = OFF",
        SWITCHES,
      ]);
    });

    it("a server that still reads read-only is WritableNotConfirmed", async () => {
      const s = new RecordingSession({
        "SELECT @@GLOBAL.gtid_executed": [{ gtid_executed: "" }],
        [SWITCHES]: [{ read_only: 1, super_read_only: 1 }],
      });
      await expect(mysqlFlavor.promote(s)).rejects.toThrow(WritableNotConfirmed);
    });
  });

  describe("repoint", () => {
    const source = { host: "mysql-fg-pdx-internal.db.svc", port: 3306, user: "repl", password: "pa'ss\\word" };

    it("CHANGE REPLICATION SOURCE with auto-position and the public key, values escaped", async () => {
      const s = new RecordingSession();
      await mysqlFlavor.repoint(s, source, { formerPrimary: false });
      expect(s.statements).toEqual([
        "STOP REPLICA",
        "CHANGE REPLICATION SOURCE TO SOURCE_HOST = 'mysql-fg-pdx-internal.db.svc', SOURCE_PORT = 3306, SOURCE_USER = 'repl', " +
          "SOURCE_PASSWORD = 'pa\\'ss\\\\word', SOURCE_AUTO_POSITION = 1, GET_SOURCE_PUBLIC_KEY = 1",
        "START REPLICA",
      ]);
    });

    it("a former primary gets the same statements; retry and heartbeat when asked", async () => {
      const s = new RecordingSession();
      await mysqlFlavor.repoint(s, source, { formerPrimary: true, connectRetrySeconds: 1, heartbeatSeconds: 0.5 });
      expect(s.statements[1]).toBe(
        "CHANGE REPLICATION SOURCE TO SOURCE_HOST = 'mysql-fg-pdx-internal.db.svc', SOURCE_PORT = 3306, SOURCE_USER = 'repl', " +
          "SOURCE_PASSWORD = 'pa\\'ss\\\\word', SOURCE_AUTO_POSITION = 1, GET_SOURCE_PUBLIC_KEY = 1, " +
          "SOURCE_CONNECT_RETRY = 1, SOURCE_HEARTBEAT_PERIOD = 0.5",
      );
    });

    it("an injection attempt stays inside its string literal", async () => {
      const s = new RecordingSession();
      await mysqlFlavor.repoint(s, { ...source, host: "h', SOURCE_PORT = 1; DROP DATABASE app; --" }, { formerPrimary: false });
      expect(s.statements[1]).toContain("SOURCE_HOST = 'h\\', SOURCE_PORT = 1; DROP DATABASE app; --', SOURCE_PORT = 3306");
    });

    it("refuses a bad source before sending anything", async () => {
      const s = new RecordingSession();
      await expect(mysqlFlavor.repoint(s, { ...source, port: 70_000 }, { formerPrimary: false })).rejects.toThrow(RangeError);
      await expect(mysqlFlavor.repoint(s, { ...source, host: " " }, { formerPrimary: false })).rejects.toThrow(RangeError);
      await expect(mysqlFlavor.repoint(s, source, { formerPrimary: false, heartbeatSeconds: -1 })).rejects.toThrow(RangeError);
      expect(s.statements).toEqual([]);
    });
  });

  describe("waitForGtid", () => {
    const WAIT = `SELECT WAIT_FOR_EXECUTED_GTID_SET('${UUID_A}:1-9,${UUID_B}:1-3', 30) AS r`;

    it("sends the canonical set on one line with a statement limit above the server-side timeout", async () => {
      const s = new RecordingSession({ "SELECT WAIT_FOR": [{ r: 0 }] });
      expect(await mysqlFlavor.waitForGtid(s, `${UUID_B}:1-3,${UUID_A.toUpperCase()}:1-9`, 30)).toBe(true);
      expect(s.statements).toEqual([WAIT]);
      expect(s.timeouts).toEqual([30_000 + GTID_WAIT_GRACE_MS]);
    });

    it("1 means timed out; anything else is unexpected", async () => {
      expect(await mysqlFlavor.waitForGtid(new RecordingSession({ "SELECT WAIT_FOR": [{ r: 1 }] }), `${UUID_A}:1`, 1)).toBe(false);
      await expect(mysqlFlavor.waitForGtid(new RecordingSession({ "SELECT WAIT_FOR": [{ r: null }] }), `${UUID_A}:1`, 1)).rejects.toThrow(UnexpectedResult);
    });

    it("refuses a malformed set or a deadline too short for the wait, before sending anything", async () => {
      const s = new RecordingSession({}, 30_000);
      await expect(mysqlFlavor.waitForGtid(s, `${UUID_A}:0`, 1)).rejects.toThrow(GtidSetParseError);
      await expect(mysqlFlavor.waitForGtid(s, `${UUID_A}:1`, 30)).rejects.toThrow(/needs 32000 ms of the deadline, only 30000 ms are left/);
      await expect(mysqlFlavor.waitForGtid(s, `${UUID_A}:1`, 0)).rejects.toThrow(RangeError);
      expect(s.statements).toEqual([]);
    });
  });
});

describe("MariaDB flavor: statement contract", () => {
  const OBSERVE =
    "SELECT @@GLOBAL.server_id AS server_id, @@GLOBAL.read_only AS read_only, @@GLOBAL.gtid_binlog_pos AS gtid_binlog_pos, " +
    "@@GLOBAL.gtid_binlog_state AS gtid_binlog_state, @@GLOBAL.gtid_slave_pos AS gtid_slave_pos, " +
    "@@GLOBAL.gtid_current_pos AS gtid_current_pos, VERSION() AS version";
  const READ_ONLY = "SELECT @@GLOBAL.read_only AS read_only";
  const server: Row = {
    server_id: 3,
    read_only: 1,
    gtid_binlog_pos: "0-1-12",
    gtid_binlog_state: "0-3-13,0-1-12",
    gtid_slave_pos: "0-1-12",
    gtid_current_pos: "0-1-12",
    version: "10.11.19-MariaDB-0+deb12u1-log",
  };
  // Column names as 10.11.19 prints them (recorded from the integration servers).
  const replicaRow: Row = {
    Connection_name: "",
    Slave_IO_State: "Waiting for master to send event",
    Master_Host: "127.0.0.1",
    Master_User: "repl",
    Master_Port: 38241,
    Connect_Retry: 1,
    Slave_IO_Running: "Yes",
    Slave_SQL_Running: "No",
    Last_Errno: 1950,
    Last_Error: "An attempt was made to binlog GTID 0-1-13 which would create an out-of-order sequence number",
    Seconds_Behind_Master: null,
    Last_IO_Errno: 0,
    Last_IO_Error: "",
    Last_SQL_Errno: 1950,
    Last_SQL_Error: "An attempt was made to binlog GTID 0-1-13 which would create an out-of-order sequence number",
    Master_Server_Id: 1,
    Using_Gtid: "Slave_Pos",
    Gtid_IO_Pos: "0-1-14",
    SQL_Delay: 30,
    SQL_Remaining_Delay: null,
    Slave_SQL_Running_State: "",
    Slave_received_heartbeats: 17,
    Slave_heartbeat_period: "1.000",
  };

  it("observe: positions validated and canonical, superReadOnly mirrors read_only, replica by old column names", async () => {
    // A second, named connection (multi-source) is not the group's replication.
    const s = new RecordingSession({ [OBSERVE]: [server], "SHOW ALL REPLICAS STATUS": [{ ...replicaRow, Connection_name: "reporting", Master_Server_Id: 99 }, replicaRow] });
    const seen = await mariadbFlavor.observe(s);
    expect(s.statements).toEqual([OBSERVE, "SHOW ALL REPLICAS STATUS"]);
    expect(seen).toEqual({
      flavor: "mariadb",
      version: "10.11.19-MariaDB-0+deb12u1-log",
      serverId: 3,
      readOnly: true,
      superReadOnly: true,
      gtidExecuted: "0-1-12",
      gtidBinlogState: "0-1-12,0-3-13",
      gtidSlavePos: "0-1-12",
      gtidCurrentPos: "0-1-12",
      replica: {
        ioRunning: true,
        ioConnecting: false,
        sqlRunning: false,
        ioThreadState: "Waiting for master to send event",
        sqlThreadState: "",
        secondsBehindSource: null,
        sourceHost: "127.0.0.1",
        sourcePort: 38241,
        gtidAutoPosition: true,
        retrievedGtids: "0-1-14",
        lastIoErrno: 0,
        lastIoError: "",
        lastSqlErrno: 1950,
        lastSqlError: "An attempt was made to binlog GTID 0-1-13 which would create an out-of-order sequence number",
        sqlDelay: 30,
        sourceServerId: 1,
        receivedHeartbeats: 17,
        heartbeatPeriodSeconds: 1,
      },
    });
  });

  it("observe: no replication configured, and garbage positions refused", async () => {
    const seen = await mariadbFlavor.observe(new RecordingSession({ [OBSERVE]: [{ ...server, read_only: 0 }] }));
    expect(seen).toMatchObject({ readOnly: false, superReadOnly: false, replica: undefined });
    await expect(mariadbFlavor.observe(new RecordingSession({ [OBSERVE]: [{ ...server, gtid_binlog_pos: "0-1" }] }))).rejects.toThrow(MariadbGtidParseError);
    const noGtid = { ...replicaRow, Using_Gtid: "No" };
    const plain = await mariadbFlavor.observe(new RecordingSession({ [OBSERVE]: [server], "SHOW ALL REPLICAS STATUS": [noGtid] }));
    expect(plain.replica?.gtidAutoPosition).toBe(false);
  });

  describe("fence", () => {
    const FENCE = ["SET SESSION lock_wait_timeout = 2", "SET GLOBAL read_only = ON", READ_ONLY];

    it("read_only under a short lock wait, confirmed, lock wait restored", async () => {
      const s = new RecordingSession({ [READ_ONLY]: [{ read_only: 1 }] });
      await mariadbFlavor.fence(s, { lockWaitTimeoutSeconds: 2 });
      expect(s.statements).toEqual([...FENCE, "SET SESSION lock_wait_timeout = DEFAULT"]);
    });

    it("blocked by a lock: FenceFailed after the re-read", async () => {
      const s = new RecordingSession({ "SET GLOBAL read_only = ON": LOCK_WAIT_TIMEOUT, [READ_ONLY]: [{ read_only: 0 }] });
      const err = await mariadbFlavor.fence(s, { lockWaitTimeoutSeconds: 2 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FenceFailed);
      expect((err as FenceFailed).state).toEqual({ readOnly: false, superReadOnly: false });
      expect(s.statements).toEqual(FENCE);
    });
  });

  it("unfence: read_only OFF, confirmed", async () => {
    const s = new RecordingSession({ [READ_ONLY]: [{ read_only: 0 }] });
    await mariadbFlavor.unfence(s);
    expect(s.statements).toEqual(["SET GLOBAL read_only = OFF", READ_ONLY]);
    await expect(mariadbFlavor.unfence(new RecordingSession({ [READ_ONLY]: [{ read_only: 1 }] }))).rejects.toThrow(WritableNotConfirmed);
  });

  it("killApplicationConnections reads information_schema and spares dump threads by command", async () => {
    const s = new RecordingSession({ "SELECT ID": [{ id: 8 }] });
    expect(await mariadbFlavor.killApplicationConnections(s, { spareUsers: ["bloodraven"] })).toEqual([8]);
    expect(s.statements).toEqual([
      "SELECT ID AS id FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() " +
        "AND USER NOT IN ('system user', 'event_scheduler', 'bloodraven') AND COMMAND NOT IN ('Binlog Dump', 'Daemon')",
      "KILL CONNECTION 8",
    ]);
  });

  it("startApplier and removeApplyDelay", async () => {
    const s = new RecordingSession({ "SHOW REPLICA STATUS": [{ Relay_Log_File: "mariadbd-relay-bin.000002", Relay_Log_Pos: 670 }] });
    await mariadbFlavor.startApplier(s);
    await mariadbFlavor.removeApplyDelay(s);
    expect(s.statements).toEqual([
      "START REPLICA SQL_THREAD",
      "STOP REPLICA",
      "SHOW REPLICA STATUS",
      "CHANGE MASTER TO MASTER_DELAY = 0, RELAY_LOG_FILE = 'mariadbd-relay-bin.000002', RELAY_LOG_POS = 670",
      "START REPLICA SQL_THREAD",
    ]);
  });

  it("stopReplica, resetReplica and promote", async () => {
    const s = new RecordingSession({ "SELECT @@GLOBAL.gtid_binlog_pos": [{ gtid_binlog_pos: "0-2-14" }], [READ_ONLY]: [{ read_only: 0 }] });
    await mariadbFlavor.stopReplica(s);
    await mariadbFlavor.resetReplica(s);
    expect(await mariadbFlavor.promote(s)).toEqual({ gtidExecuted: "0-2-14" });
    expect(s.statements).toEqual([
      "STOP REPLICA",
      "RESET REPLICA ALL",
      "STOP REPLICA",
      "RESET REPLICA ALL",
      "SELECT @@GLOBAL.gtid_binlog_pos AS gtid_binlog_pos",
      "SET GLOBAL read_only = OFF",
      READ_ONLY,
    ]);
  });

  it("repoint: CHANGE MASTER with slave_pos; MASTER_DEMOTE_TO_SLAVE only for a former primary", async () => {
    const source = { host: "10.0.0.7", port: 3307, user: "repl", password: "s3cr'et" };
    const replica = new RecordingSession();
    await mariadbFlavor.repoint(replica, source, { formerPrimary: false });
    expect(replica.statements).toEqual([
      "STOP REPLICA",
      "CHANGE MASTER TO MASTER_HOST = '10.0.0.7', MASTER_PORT = 3307, MASTER_USER = 'repl', MASTER_PASSWORD = 's3cr\\'et', MASTER_USE_GTID = slave_pos",
      "START REPLICA",
    ]);
    const former = new RecordingSession();
    await mariadbFlavor.repoint(former, source, { formerPrimary: true, connectRetrySeconds: 1, heartbeatSeconds: 1 });
    expect(former.statements[1]).toBe(
      "CHANGE MASTER TO MASTER_HOST = '10.0.0.7', MASTER_PORT = 3307, MASTER_USER = 'repl', MASTER_PASSWORD = 's3cr\\'et', " +
        "MASTER_USE_GTID = slave_pos, MASTER_DEMOTE_TO_SLAVE = 1, MASTER_CONNECT_RETRY = 1, MASTER_HEARTBEAT_PERIOD = 1",
    );
  });

  it("waitForGtid: MASTER_GTID_WAIT, -1 means timed out", async () => {
    const s = new RecordingSession({ "SELECT MASTER_GTID_WAIT": [[{ r: 0 }], [{ r: -1 }]] });
    expect(await mariadbFlavor.waitForGtid(s, "0-1-12, 1-2-3", 5)).toBe(true);
    expect(await mariadbFlavor.waitForGtid(s, "0-1-12", 0.5)).toBe(false);
    expect(s.statements).toEqual(["SELECT MASTER_GTID_WAIT('0-1-12,1-2-3', 5) AS r", "SELECT MASTER_GTID_WAIT('0-1-12', 0.5) AS r"]);
    expect(s.timeouts).toEqual([5_000 + GTID_WAIT_GRACE_MS, 500 + GTID_WAIT_GRACE_MS]);
    await expect(mariadbFlavor.waitForGtid(s, "0-1-12,0-2-13", 5)).rejects.toThrow(MariadbGtidParseError);
  });
});

describe("flavor selection", () => {
  it("VERSION() with MariaDB in it is MariaDB; anything else is MySQL", () => {
    expect(flavorOfVersion("10.11.19-MariaDB-0+deb12u1-log")).toBe("mariadb");
    expect(flavorOfVersion("5.5.5-10.11.19-MariaDB")).toBe("mariadb");
    expect(flavorOfVersion("8.4.3")).toBe("mysql");
    expect(flavorOfVersion("9.1.0-commercial")).toBe("mysql");
    expect(flavorFor("mysql")).toBe(mysqlFlavor);
    expect(flavorFor("mariadb")).toBe(mariadbFlavor);
  });
});
