/**
 * A small MySQL Shell dump as a backup artifact in a store, for tests that cannot run MySQL Shell:
 * the folder written as MySQL Shell writes one (shared/backup/mysql-dump.ts pins how), packed by
 * the product's own packer, with its manifest, unencrypted, as `takeBackup` stores one.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { measuring, streamToStore } from "../../operator/backup/artifact-streams.js";
import type { ObjectStore } from "../../operator/backup/object-store.js";
import { packDump } from "../../operator/backup/take-dump.js";
import { manifestText } from "../../shared/backup/manifest.js";
import { DUMP_DONE_FILE } from "../../shared/backup/mysql-dump.js";

export const DUMP_GTIDS = "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-100";

/** What `backupManifest` leaves to the caller: the backup's name and its data object. */
export const DUMP_MANIFEST = {
  format: 1,
  namespace: "shop",
  group: "orders",
  backup: "",
  profile: "nightly",
  flavor: "mysql",
  method: "mysqlsh-dump",
  sourceSite: "pdx",
  startedAt: "2026-12-06T02:00:00.000Z",
  completedAt: "2026-12-06T02:10:00.000Z",
  position: { gtid: DUMP_GTIDS, binlogFile: "binlog.000002", binlogPosition: 157 },
} as const;

/** MySQL Shell's `@.json` of a consistent dump at DUMP_GTIDS. */
export const DUMP_METADATA = JSON.stringify({
  dumper: "mysqlsh Ver 8.4.3",
  origin: "dumpInstance",
  schemas: ["shop"],
  binlogFile: "binlog.000002",
  binlogPosition: 157,
  gtidExecuted: DUMP_GTIDS,
  gtidExecutedInconsistent: false,
  consistent: true,
});

/** Stores a whole dump of shop.orders as `<prefix>/shop/orders/<backup>/`. */
export async function storeDumpArtifact(store: ObjectStore, prefix: string, backup: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "bloodraven-dump-"));
  try {
    writeFileSync(join(dir, "@.json"), DUMP_METADATA);
    writeFileSync(join(dir, "shop@orders@0.tsv"), randomBytes(5000));
    writeFileSync(join(dir, DUMP_DONE_FILE), "{}");
    const signal = AbortSignal.timeout(30_000);
    const measure = measuring();
    const folder = `${prefix}/shop/orders/${backup}`;
    await streamToStore([Readable.from(packDump(dir, Promise.resolve(), signal, () => undefined)), measure.stream], store, `${folder}/data.tar`, signal, "the dump broke off");
    await store.putText(`${folder}/manifest.json`, manifestText({ ...DUMP_MANIFEST, backup, data: { object: "data.tar", ...measure.result() } }), AbortSignal.timeout(10_000));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
