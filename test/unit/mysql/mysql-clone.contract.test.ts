/**
 * Contract tests of MySQL's clone statements (operator/mysql/mysql-clone.ts): no MySQL server
 * runs here, so the statements are written out literally, never imported.
 */
import { describe, expect, it } from "vitest";
import { cloneInstance, cloneStatus, gtidExecuted } from "../../../operator/mysql/mysql-clone.js";
import { ConnectionError } from "../../../operator/mysql/site-client.js";
import { RecordingSession, refusal } from "./recording-session.js";

const DONOR = { host: "mysql-orders-iad.shop.svc", port: 3306, user: "bloodraven", password: "it's secret" };
const CLONE = "CLONE INSTANCE FROM 'bloodraven'@'mysql-orders-iad.shop.svc':3306 IDENTIFIED BY 'it\\'s secret'";

describe("MySQL clone: statement contract", () => {
  it("names the donor as the only valid one, then clones from it with the account quoted", async () => {
    const s = new RecordingSession({ CLONE: new ConnectionError("db-0.example:3306", "clone", "CLONE INSTANCE", new Error("Connection lost: The server closed the connection.")) });
    expect(await cloneInstance(s, DONOR)).toBe("restarting");
    expect(s.statements).toEqual(["SET GLOBAL clone_valid_donor_list = 'mysql-orders-iad.shop.svc:3306'", CLONE]);
  });

  it("a complete clone on a server that cannot restart itself (3707) needs a restart; so does one that answered", async () => {
    expect(await cloneInstance(new RecordingSession({ CLONE: refusal("CLONE INSTANCE FROM", 3707, "ER_CLONE_RESTART_SERVER_FAILED") }), DONOR)).toBe("restart-needed");
    expect(await cloneInstance(new RecordingSession(), DONOR)).toBe("restart-needed");
  });

  it("any other refusal fails the clone, and a bad donor is refused before anything is sent", async () => {
    const denied = refusal("CLONE INSTANCE FROM", 1227, "ER_SPECIFIC_ACCESS_DENIED_ERROR");
    await expect(cloneInstance(new RecordingSession({ CLONE: denied }), DONOR)).rejects.toBe(denied);
    for (const bad of [{ ...DONOR, host: " " }, { ...DONOR, port: 0 }, { ...DONOR, user: "" }]) {
      const s = new RecordingSession();
      await expect(cloneInstance(s, bad)).rejects.toThrow(/clone donor (host|port|user)/);
      expect(s.statements).toEqual([]);
    }
  });

  it("reads the last clone's outcome and the copy's GTID set", async () => {
    const STATUS =
      "SELECT STATE AS state, ERROR_NO AS error_no, ERROR_MESSAGE AS error_message, " +
      "(SELECT VARIABLE_VALUE FROM performance_schema.global_status WHERE VARIABLE_NAME = 'Uptime') AS uptime FROM performance_schema.clone_status";
    const s = new RecordingSession({
      [STATUS]: [{ state: "Completed", error_no: 0, error_message: "", uptime: "12" }],
      "SELECT @@GLOBAL.gtid_executed": [{ gtid_executed: "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-100" }],
    });
    expect(await cloneStatus(s)).toEqual({ state: "Completed", errorNo: 0, errorMessage: "", uptimeSeconds: 12 });
    expect(await gtidExecuted(s)).toBe("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-100");
    expect(s.statements).toEqual([STATUS, "SELECT @@GLOBAL.gtid_executed AS gtid_executed"]);
    expect(await cloneStatus(new RecordingSession())).toBeUndefined();
    // No uptime is no proof of a restart.
    await expect(cloneStatus(new RecordingSession({ [STATUS]: [{ state: "Completed", error_no: 0, error_message: "", uptime: null }] }))).rejects.toThrow(/uptime/);
  });
});
