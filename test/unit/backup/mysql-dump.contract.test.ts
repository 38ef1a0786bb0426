/**
 * Contract tests of the MySQL Shell dump a MySQL site's backup is (shared/backup/mysql-dump.ts):
 * no MySQL Shell runs here, so the program and the files it writes are spelled out literally.
 */
import { describe, expect, it } from "vitest";
import { dumpPosition, dumpProgram, filesToPack, leftInProgress } from "../../../shared/backup/mysql-dump.js";

const GTIDS = "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-100,\n8a94f357-aab4-11df-86ab-c80aa9429562:1-5";
/** `@.json` as MySQL Shell 8.4 writes it for a consistent dump, the fields the backup reads among the others. */
const METADATA = {
  dumper: "mysqlsh Ver 8.4.3 for Linux on x86_64 - for MySQL 8.4.3 (MySQL Community Server (GPL))",
  version: "2.0.1",
  origin: "dumpInstance",
  options: { threads: 4, bytesPerChunk: "64M", compression: "zstd", consistent: true },
  schemas: ["shop"],
  basenames: { shop: "shop" },
  users: ["'bloodraven'@'%'"],
  defaultCharacterSet: "utf8mb4",
  tzUtc: true,
  bytesPerChunk: 64000000,
  user: "bloodraven",
  hostname: "mysql-orders-pdx-0",
  server: "mysql-orders-pdx-0",
  serverVersion: "8.4.3",
  binlogFile: "binlog.000002",
  binlogPosition: 157,
  gtidExecuted: GTIDS,
  gtidExecutedInconsistent: false,
  consistent: true,
  begin: "2026-12-06 02:00:00",
};
const meta = (over: Record<string, unknown>): string => JSON.stringify({ ...METADATA, ...over });

describe("MySQL Shell dump: contract", () => {
  it("the program reads the account from its files and runs one consistent dumpInstance, every value a JSON literal", () => {
    const program = dumpProgram({
      outputDir: "/work/backup/dump",
      host: "mysql-orders-pdx.shop.svc",
      port: 3306,
      userFile: "/etc/bloodraven/operator/username",
      passwordFile: "/etc/bloodraven/operator/password",
      settings: { threads: 4, bytesPerChunk: "64M", compression: "zstd" },
    });
    expect(program).toBe(
      [
        "const chomp = (text) => text.replace(/\\r?\\n$/, '');",
        'const user = chomp(os.loadTextFile("/etc/bloodraven/operator/username"));',
        'const password = chomp(os.loadTextFile("/etc/bloodraven/operator/password"));',
        "shell.connect({ scheme: 'mysql', host: \"mysql-orders-pdx.shop.svc\", port: 3306, user: user, password: password });",
        'util.dumpInstance("/work/backup/dump", {"threads":4,"bytesPerChunk":"64M","compression":"zstd","consistent":true,"showProgress":false});',
        "",
      ].join("\n"),
    );
    // A quote in a path ends no string.
    expect(dumpProgram({ outputDir: '/w/"); util.dropSchema("x', host: "h", port: 1, userFile: "u", passwordFile: "p", settings: { threads: 8, bytesPerChunk: "128M", compression: "none" } })).toContain(
      'util.dumpInstance("/w/\\"); util.dropSchema(\\"x", {"threads":8,"bytesPerChunk":"128M","compression":"none","consistent":true,"showProgress":false});',
    );
  });

  it("packs finished data chunks while the dump runs, and everything else once @.done.json is written, it last", () => {
    const running = ["@.json", "@.sql", "shop.json", "shop.sql", "shop@orders.json", "shop@orders.sql", "shop@orders@0.tsv.zst", "shop@orders@0.tsv.zst.idx", "shop@orders@1.tsv.zst.dumping", "shop@items.tsv.gz", "shop@notes@@2.csv"];
    expect(filesToPack(running)).toEqual({ files: ["shop@items.tsv.gz", "shop@notes@@2.csv", "shop@orders@0.tsv.zst"], finished: false });
    const done = ["@.post.sql", "@.done.json", "@.json", "shop@orders@@1.tsv.zst.idx", "shop@orders@@1.tsv.zst"];
    expect(filesToPack(done)).toEqual({ files: ["@.json", "@.post.sql", "shop@orders@@1.tsv.zst", "shop@orders@@1.tsv.zst.idx", "@.done.json"], finished: true });
    expect(leftInProgress(["@.done.json", "shop@orders@1.tsv.zst.dumping"])).toEqual(["shop@orders@1.tsv.zst.dumping"]);
  });

  it("reads the position of a consistent dump from @.json, the GTID set on one line", () => {
    expect(dumpPosition(meta({}))).toEqual({ ok: true, value: { gtid: "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-100,8a94f357-aab4-11df-86ab-c80aa9429562:1-5", binlogFile: "binlog.000002", binlogPosition: 157 } });
  });

  it("refuses a dump whose position is not exact, saying what to fix", () => {
    expect(dumpPosition(meta({ gtidExecutedInconsistent: true }))).toEqual({ ok: false, error: expect.stringMatching(/BACKUP_ADMIN and RELOAD/) });
    expect(dumpPosition(meta({ consistent: false }))).toEqual({ ok: false, error: expect.stringMatching(/not consistent/) });
    expect(dumpPosition(meta({ gtidExecuted: undefined }))).toEqual({ ok: false, error: expect.stringMatching(/gtid_mode=ON/) });
    expect(dumpPosition(meta({ gtidExecuted: "" }))).toEqual({ ok: false, error: expect.stringMatching(/empty gtidExecuted/) });
    expect(dumpPosition(meta({ binlogFile: undefined, binlogPosition: undefined }))).toEqual({ ok: false, error: expect.stringMatching(/log_bin/) });
    expect(dumpPosition(meta({ binlogPosition: -1 }))).toEqual({ ok: false, error: expect.stringMatching(/log_bin/) });
    expect(dumpPosition("{")).toEqual({ ok: false, error: expect.stringMatching(/not JSON/) });
    expect(dumpPosition("[]")).toEqual({ ok: false, error: expect.stringMatching(/not a JSON object/) });
  });
});
