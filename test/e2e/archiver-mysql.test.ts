import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MariaDbSites, TEST_USERS } from "../../scripts/env/mariadb-sites.js";
import { createBucket, startS3Store, type S3Store } from "../../scripts/env/s3-store.js";
import { BinlogArchiver } from "../../operator/agent/archiver.js";
import { S3ObjectStore } from "../../operator/backup/object-store.js";
import { createLogger } from "../../operator/log.js";
import { SiteClient } from "../../operator/mysql/site-client.js";

/**
 * The archiver reads a server's binary logs the way its flavor writes them, and one archive holds
 * one flavor's files. No MySQL server runs here; a real MariaDB started with `--version=8.4.3`
 * answers VERSION() as MySQL does, which is all the flavor detection reads: its files, MariaDB's,
 * are then read as MySQL's and refused (no Previous_gtids event), and an archive of its MariaDB
 * self is refused to it. How a MySQL file reads is pinned by test/unit/backup/mysql-binlog.contract.test.ts.
 */
describe("binary log archive: the server's flavor decides (real MariaDB, also reporting a MySQL version, real MinIO)", () => {
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

  it("reads the files as the reported flavor's: MariaDB's files refused as MySQL's, nothing recorded; archived as MariaDB's; that archive refused to a MySQL server", async () => {
    const iad = sites.site("iad");
    const scanAs = async (reportVersion?: string) => {
      await iad.restart(reportVersion === undefined ? {} : { reportVersion });
      const client = new SiteClient({ host: iad.host, port: iad.port, ...TEST_USERS.admin }, { connectTimeoutMs: 5_000, queryTimeoutMs: 10_000 });
      try {
        const archiver = new BinlogArchiver({ store: s3, prefix: "prod", pollIntervalMs: 60_000, site: "iad", group: "orders", namespace: "shop" }, () => client, createLogger({ level: "error" }));
        await archiver.scan();
        return archiver.status();
      } finally {
        client.close();
      }
    };
    const manifest = "prod/shop/orders/binlogs/iad/manifest.json";
    const stored = async () => (await s3.list("prod/", AbortSignal.timeout(10_000))).map((o) => o.key);

    const asMysql = await scanAs("8.4.3");
    expect(asMysql).toMatchObject({ filesArchived: 0, uploadFailures: 1, lastError: expect.stringMatching(/has no Previous_gtids event: it is not a MySQL server's binary log/) });
    expect(await stored()).not.toContain(manifest);

    const asMariadb = await scanAs();
    expect(asMariadb.lastError).toBeUndefined();
    expect(asMariadb.filesArchived).toBeGreaterThan(0);
    expect(await stored()).toContain(manifest);
    expect(await s3.getText(manifest, AbortSignal.timeout(10_000))).not.toContain('"flavor"');

    const again = await scanAs("8.4.3");
    expect(again.lastError).toMatch(/manifest.json holds a mariadb server's binary logs, and this server runs mysql: archive it under another prefix/);
  }, 90_000);
});
