/**
 * Contract tests of the programs a point-in-time replay pipes together
 * (shared/backup/replay-commands.ts). MariaDB's run for real in the e2e tests; MySQL's
 * (`mysqlbinlog`, `mysql`) cannot run here, so their arguments are spelled out literally.
 */
import { describe, expect, it } from "vitest";
import { replayCommands } from "../../../shared/backup/replay-commands.js";

const paths = ["/work/binlogs/binlog.000007", "/work/binlogs/binlog.000008"];
const until = new Date("2026-12-06T02:15:30.900+01:00");

describe("replay commands: contract", () => {
  it("MySQL: mysqlbinlog leaves out the backup's GTID set (its line breaks dropped) and stops at the UTC time; the mysql client applies it", () => {
    expect(replayCommands("mysql", { fromGtid: "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-100,\n8a94f357-aab4-11df-86ab-c80aa9429562:1-5", until, paths, defaultsFile: "/work/client.cnf" })).toEqual({
      reader: { command: "mysqlbinlog", args: ["--exclude-gtids=3e11fa47-71ca-11e1-9e33-c80aa9429562:1-100,8a94f357-aab4-11df-86ab-c80aa9429562:1-5", "--stop-datetime=2026-12-06 01:15:30", ...paths] },
      applier: { command: "mysql", args: ["--defaults-extra-file=/work/client.cnf", "--binary-mode", "--batch"] },
    });
  });

  it("MariaDB: mariadb-binlog starts after the backup's position; without a time, everything archived", () => {
    expect(replayCommands("mariadb", { fromGtid: "0-1-42", paths, defaultsFile: "/work/client.cnf" })).toEqual({
      reader: { command: "mariadb-binlog", args: ["--start-position=0-1-42", ...paths] },
      applier: { command: "mariadb", args: ["--defaults-extra-file=/work/client.cnf", "--binary-mode", "--batch"] },
    });
  });
});
