import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MariaDbSites, TEST_USERS, type MariaDbSite } from "../../scripts/env/mariadb-sites.js";
import { runLoadRestoreJob } from "../../operator/backup/job.js";
import type { LoadRestoreJobConfig } from "../../operator/backup/job-config.js";
import { VolumeObjectStore } from "../../operator/backup/object-store.js";
import { parseStageResult } from "../../shared/backup/staged-copy.js";
import { storeDumpArtifact } from "../support/mysql-dump-artifact.js";

/**
 * A MySQL site's restore Job (`bloodraven load-restore`) against a real server and a real store
 * folder, up to what this machine can run: no MySQL server or MySQL Shell is here, so the test
 * server is MariaDB, also started reporting a MySQL version (all the load's version check reads).
 * Every refusal must come before the server is changed, say so in the Job's result
 * (`serverChanged: false`, which the operator reads to give the site back), and leave the
 * server's data and the work folder as they were. The load itself is pinned by
 * test/unit/backup/mysql-site-load.contract.test.ts and mysql-load.contract.test.ts.
 */
describe("bloodraven load-restore: refusals before the server is touched (real MariaDB, real store folder)", () => {
  let sites: MariaDbSites;
  let iad: MariaDbSite;
  let dir: string;

  beforeAll(async () => {
    sites = await MariaDbSites.start({ names: ["iad"] });
    iad = sites.site("iad");
    dir = await mkdtemp(join(tmpdir(), "load-restore-"));
    await storeDumpArtifact(new VolumeObjectStore(join(dir, "store")), "prod", "d1");
    await writeFile(join(dir, "username"), `${TEST_USERS.operator.user}\n`, { mode: 0o600 });
    await writeFile(join(dir, "password"), `${TEST_USERS.operator.password}\n`, { mode: 0o600 });
    await iad.query("CREATE DATABASE shop");
    await iad.query("CREATE TABLE shop.orders (id INT PRIMARY KEY)");
    await iad.query("INSERT INTO shop.orders VALUES (1), (2), (3)");
  }, 60_000);

  afterAll(async () => {
    await sites?.teardown();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Runs the Job's entry point once; its one-line result as the operator reads it. */
  const load = async (): Promise<Record<string, unknown>> => {
    const resultFile = join(dir, "result");
    const config: LoadRestoreJobConfig = {
      namespace: "shop",
      group: "orders",
      backup: "d1",
      prefix: "prod",
      storage: { kind: "volume", path: join(dir, "store") },
      timeoutMs: 60_000,
      resultFile,
      logLevel: "error",
      site: "iad",
      target: { host: iad.host, port: iad.port, ...TEST_USERS.operator, userFile: join(dir, "username"), passwordFile: join(dir, "password") },
      mysqlsh: "mysqlsh",
      pointInTime: "none",
      workDir: join(dir, "work"),
    };
    expect(await runLoadRestoreJob(config, AbortSignal.timeout(90_000))).toBe(1);
    return JSON.parse(await readFile(resultFile, "utf8")) as Record<string, unknown>;
  };

  /** What must not change: the server's data, its GTIDs, its fence; and nothing left in the work folder. */
  const unchanged = async (readOnly: boolean, gtid: string): Promise<void> => {
    expect(await iad.query("SELECT id FROM shop.orders ORDER BY id")).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    expect(await iad.variable("gtid_binlog_pos")).toBe(gtid);
    expect(await iad.isReadOnly()).toBe(readOnly);
    expect(await readdir(dir)).not.toContain("work");
  };

  it("refuses a MariaDB server, a writable one and one without gtid_mode, each saying nothing was changed", async () => {
    const gtid = await iad.variable("gtid_binlog_pos");
    expect(gtid).not.toBe("");

    const mariadb = await load();
    expect(mariadb).toEqual({ phase: "Failed", message: expect.stringMatching(/^site iad's server is 10\.11\.\d+-MariaDB\S*: a MySQL Shell dump loads into MySQL 8\.4 or later, nothing was changed$/), serverChanged: false });
    await unchanged(false, gtid);

    await iad.restart({ reportVersion: "8.4.3" });
    const writable = await load();
    expect(writable).toEqual({ phase: "Failed", message: "site iad's server is writable: a restore loads only into a server the operator fenced, nothing was changed", serverChanged: false });
    await unchanged(false, gtid);

    // Fenced, reporting MySQL: its settings are read next, and a server without gtid_mode fails there, untouched.
    await iad.setReadOnly(true);
    const noGtidMode = await load();
    expect(noGtidMode).toMatchObject({ phase: "Failed", message: expect.stringMatching(/gtid_mode/), serverChanged: false });
    await unchanged(true, gtid);

    // The operator reads each as a failure that left the server as it was.
    for (const result of [mariadb, writable, noGtidMode]) expect(parseStageResult(JSON.stringify(result))).toMatchObject({ phase: "Failed", serverChanged: false });
  }, 120_000);
});
