import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MariaDbSites, TEST_USERS } from "../../scripts/env/mariadb-sites.js";
import { createBucket, startS3Store, type S3Store } from "../../scripts/env/s3-store.js";
import { BinlogArchiver, MYSQL_NOT_ARCHIVED } from "../../operator/agent/archiver.js";
import { S3ObjectStore } from "../../operator/backup/object-store.js";
import { createLogger } from "../../operator/log.js";
import { SiteClient } from "../../operator/mysql/site-client.js";

/**
 * The archive knows MariaDB's binary log format and GTIDs only: beside a MySQL server the
 * archiver refuses at every scan, saying so in its status, and stores nothing. No MySQL server
 * runs here; a real MariaDB started with `--version=8.4.3` answers VERSION() as MySQL does, which
 * is all the flavor detection reads, so the refusal is reached through the real connection.
 */
describe("binary log archive beside a MySQL server (real MariaDB reporting a MySQL version, real MinIO)", () => {
  let sites: MariaDbSites;
  let store: S3Store;
  let s3: S3ObjectStore;

  beforeAll(async () => {
    [sites, store] = await Promise.all([MariaDbSites.start({ names: ["iad"] }), startS3Store()]);
    await createBucket(store, "archive");
    s3 = new S3ObjectStore({ bucket: "archive", region: store.region, endpoint: store.endpoint, credentials: { accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey } });
  });

  afterAll(async () => {
    s3?.destroy();
    await Promise.all([sites?.teardown(), store?.stop()]);
  });

  it("refuses at every scan, the reason in its status, nothing stored; the same server reporting MariaDB is archived", async () => {
    const iad = sites.site("iad");
    const lines: string[] = [];
    const archiverOn = (client: SiteClient): BinlogArchiver =>
      new BinlogArchiver({ store: s3, prefix: "prod", pollIntervalMs: 60_000, site: "iad", group: "orders", namespace: "shop" }, () => client, createLogger({ level: "warn", write: (line) => lines.push(line) }));
    const connect = (): SiteClient => new SiteClient({ host: iad.host, port: iad.port, ...TEST_USERS.admin }, { connectTimeoutMs: 5_000, queryTimeoutMs: 10_000 });

    await iad.restart({ reportVersion: "8.4.3" });
    const asMysql = connect();
    try {
      const archiver = archiverOn(asMysql);
      for (let scan = 0; scan < 2; scan++) await archiver.scan();
      expect(archiver.status()).toMatchObject({ lastError: MYSQL_NOT_ARCHIVED, filesArchived: 0, backlogFiles: 0 });
      expect(lines.filter((l) => l.includes(MYSQL_NOT_ARCHIVED.slice(0, 40)))).toHaveLength(2);
      expect(await s3.list("prod/", AbortSignal.timeout(10_000))).toEqual([]);
    } finally {
      asMysql.close();
    }

    // The control: the same server, reporting its own version, has its sealed files archived (a restart seals the open one).
    await iad.restart();
    const asMariadb = connect();
    try {
      const archiver = archiverOn(asMariadb);
      await archiver.scan();
      expect(archiver.status().lastError).toBeUndefined();
      const files = archiver.status().filesArchived;
      expect(files).toBeGreaterThan(0);
      // Each file, and the manifest.
      expect(await s3.list("prod/", AbortSignal.timeout(10_000))).toHaveLength(files + 1);
    } finally {
      asMariadb.close();
    }
  }, 90_000);
});
