import { describe, expect, it } from "vitest";
import { archiveFolder, archiveText, parseArchive, sealedToArchive, type ArchiveManifest } from "../../../shared/backup/binlog-archive.js";
import { deriveKeys, newSalt } from "../../../shared/backup/sealing.js";

const keys = deriveKeys("archive passphrase", newSalt());
const keysFor = (salt: Buffer) => deriveKeys("archive passphrase", salt);
const entry = (file: string) => ({ file, object: `${file}.sealed`, bytes: 10, sha256: "0".repeat(64), archivedAt: "2026-12-04T00:00:00Z", startState: "", transactions: 1, firstGtid: "0-1-1", lastGtid: "0-1-1", firstTime: 1, lastTime: 1 });
const manifest: ArchiveManifest = {
  format: 1,
  namespace: "shop",
  group: "orders",
  site: "iad",
  encryption: { algorithm: "AES-256-GCM", kdf: "scrypt", salt: keys.salt.toString("base64") },
  files: [entry("mysql-bin.000001")],
};

describe("the binary log archive", () => {
  it("keeps each site's files in a folder of its own", () => {
    expect(archiveFolder("prod/", { namespace: "shop", group: "orders", site: "iad" })).toBe("prod/shop/orders/binlogs/iad");
  });

  it("archives every sealed file not archived yet, never the one the server still writes", () => {
    const logs = ["mysql-bin.000001", "mysql-bin.000002", "mysql-bin.000003"];
    expect(sealedToArchive(logs, undefined)).toEqual(["mysql-bin.000001", "mysql-bin.000002"]);
    expect(sealedToArchive(logs, manifest)).toEqual(["mysql-bin.000002"]);
    expect(sealedToArchive(["mysql-bin.000001"], undefined)).toEqual([]);
    expect(sealedToArchive(["../../etc/passwd", "mysql-bin.000002"], undefined)).toEqual([]);
    // Pruned files the server still has are not archived again.
    const pruned = { ...manifest, files: [entry("mysql-bin.000003")], prunedThrough: "mysql-bin.000002" };
    expect(sealedToArchive(["mysql-bin.000001", "mysql-bin.000002", "mysql-bin.000003", "mysql-bin.000004", "mysql-bin.000005"], pruned)).toEqual(["mysql-bin.000004"]);
    expect(parseArchive(JSON.stringify({ ...pruned, encryption: undefined, prunedThrough: "../x" }))).toEqual({ ok: false, error: expect.stringMatching(/malformed prunedThrough/) });
  });

  it("round-trips a signed manifest and refuses a changed one or the wrong passphrase", () => {
    const text = archiveText(manifest, keys);
    expect(parseArchive(text, keysFor)).toEqual({ ok: true, value: expect.objectContaining({ site: "iad", files: [expect.objectContaining({ file: "mysql-bin.000001" })] }) });
    expect(parseArchive(text.replace('"lastGtid": "0-1-1"', '"lastGtid": "0-1-9"'), keysFor)).toEqual({ ok: false, error: expect.stringMatching(/signature does not match/) });
    expect(parseArchive(text, (salt) => deriveKeys("other", salt))).toEqual({ ok: false, error: expect.stringMatching(/signature/) });
    expect(parseArchive(text)).toEqual({ ok: false, error: expect.stringMatching(/no passphrase/) });
  });

  it("reads an unencrypted manifest and refuses damage", () => {
    const { encryption: _e, ...plain } = manifest;
    expect(parseArchive(archiveText(plain)).ok).toBe(true);
    expect(parseArchive("[]")).toEqual({ ok: false, error: expect.stringMatching(/not a format-1/) });
    expect(parseArchive(JSON.stringify({ ...plain, files: [{ file: "x" }] }))).toEqual({ ok: false, error: expect.stringMatching(/entry 0/) });
  });
});
