/**
 * Pins what a MySQL site's restore does to the site's running server, as MySQL 8.4 and 9.x take
 * it: `RESET BINARY LOGS AND GTIDS` (8.4's name; RESET MASTER is gone), the REPLICA statement
 * forms, `super_read_only` lifted with `read_only` kept, and the order (`super_read_only` off
 * before anything it refuses, the schemas dropped unlogged before the GTIDs are reset).
 */
import { describe, expect, it } from "vitest";
import { clearStatements, gtidModeRefusal, identifier, LOADED_POSITION, refenceStatements, TARGET_IDENTITY, TARGET_SETTINGS, targetRefusal, USER_SCHEMAS } from "../../../shared/backup/mysql-site-load.js";

describe("a MySQL site's load into its running server", () => {
  const fenced = { readOnly: true, version: "8.4.3" };

  it("touches only a fenced MySQL 8.4 or later with GTIDs on, saying why not and that nothing changed", () => {
    expect(targetRefusal("iad", fenced)).toBeUndefined();
    expect(targetRefusal("iad", { ...fenced, version: "9.1.0-commercial" })).toBeUndefined();
    expect(targetRefusal("iad", { ...fenced, version: "8.0.40" })).toBe("site iad's server is 8.0.40: a MySQL Shell dump loads into MySQL 8.4 or later, nothing was changed");
    expect(targetRefusal("iad", { ...fenced, version: "10.11.9-MariaDB-0+deb12u1" })).toMatch(/^site iad's server is 10.11.9-MariaDB/);
    expect(targetRefusal("iad", { ...fenced, readOnly: false })).toBe("site iad's server is writable: a restore loads only into a server the operator fenced, nothing was changed");
    expect(gtidModeRefusal("iad", "ON")).toBeUndefined();
    expect(gtidModeRefusal("iad", "OFF_PERMISSIVE")).toMatch(/^site iad's server has gtid_mode OFF_PERMISSIVE: .* nothing was changed$/);
    // The identity first: its query runs on any server; the settings' only on MySQL (MariaDB has no gtid_mode).
    expect(TARGET_IDENTITY).toBe("SELECT VERSION() AS version, @@GLOBAL.read_only AS read_only");
    expect(TARGET_SETTINGS).toBe("SELECT @@GLOBAL.gtid_mode AS gtid_mode, @@GLOBAL.local_infile AS local_infile");
  });

  it("empties the server in one session: super_read_only lifted first (it refuses DROP DATABASE to everyone), drops unlogged, replication forgotten, GTIDs reset", () => {
    expect(clearStatements(["shop", "odd`name"])).toEqual([
      "SET SESSION sql_log_bin = 0",
      "SET GLOBAL super_read_only = OFF",
      "STOP REPLICA",
      "RESET REPLICA ALL",
      "DROP DATABASE `shop`",
      "DROP DATABASE `odd``name`",
      "RESET BINARY LOGS AND GTIDS",
      "SET GLOBAL local_infile = ON",
    ]);
    expect(identifier("a`b")).toBe("`a``b`");
  });

  it("fences it again afterwards with local_infile as it was", () => {
    expect(refenceStatements(false)).toEqual(["SET GLOBAL local_infile = OFF", "SET GLOBAL super_read_only = ON"]);
    expect(refenceStatements(true)[0]).toBe("SET GLOBAL local_infile = ON");
  });

  it("leaves the server's own schemas out of what it drops and counts", () => {
    for (const text of [USER_SCHEMAS, LOADED_POSITION]) expect(text).toContain("SCHEMA_NAME NOT IN ('mysql', 'sys', 'performance_schema', 'information_schema')");
    expect(LOADED_POSITION).toMatch(/^SELECT @@GLOBAL.gtid_executed AS gtid, /);
  });
});
