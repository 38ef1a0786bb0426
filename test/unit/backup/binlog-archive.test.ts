import { describe, expect, it } from "vitest";
import { archiveFolder, archiveObject, archiveText, nextGeneration, parseArchive, resetProbe, sealedToArchive, serverWasReset, type ArchiveManifest } from "../../../shared/backup/binlog-archive.js";
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

  it("tells a server whose binary logs started again (a clone, a restore) by the start of a file archived under the same name, or by its numbering", () => {
    const at = (file: string, startState: string, firstGtid: string) => ({ ...entry(file), startState, firstGtid });
    const archived: ArchiveManifest = { ...manifest, files: [at("mysql-bin.000001", "", "0-1-1"), at("mysql-bin.000002", "0-1-10", "0-1-11")] };
    const logs = ["mysql-bin.000001", "mysql-bin.000002", "mysql-bin.000003"];
    expect(resetProbe(logs, archived)).toBe("mysql-bin.000002");
    expect(resetProbe(logs, undefined)).toBeUndefined();
    // The same file: same start; the head read may end before its first transaction.
    expect(serverWasReset(logs, archived, { file: "mysql-bin.000002", startState: "0-1-10", firstGtid: "0-1-11" })).toBe(false);
    expect(serverWasReset(logs, archived, { file: "mysql-bin.000002", startState: "0-1-10" })).toBe(false);
    // Another file of that name: positioned at a copy, or a first transaction of its own.
    expect(serverWasReset(logs, archived, { file: "mysql-bin.000002", startState: "0-2-500" })).toBe(true);
    expect(serverWasReset(logs, archived, { file: "mysql-bin.000002", startState: "0-1-10", firstGtid: "0-2-11" })).toBe(true);
    // No name in common: numbered below what was archived means started again; above, purged meanwhile.
    expect(serverWasReset(["mysql-bin.000001"], archived, undefined)).toBe(true);
    expect(serverWasReset(["mysql-bin.000004", "mysql-bin.000005"], archived, undefined)).toBe(false);
    expect(serverWasReset(["mysql-bin.000002"], { ...archived, files: [], prunedThrough: "mysql-bin.000003" }, undefined)).toBe(true);
    expect(serverWasReset(logs, undefined, undefined)).toBe(false);
  });

  it("archives a reset server's files again in a new generation, under objects of their own, with nothing of it pruned", () => {
    const old: ArchiveManifest = { ...manifest, files: [entry("mysql-bin.000001"), entry("mysql-bin.000002")], prunedThrough: "mysql-bin.000001" };
    const next = nextGeneration(old);
    expect(next.generation).toBe(1);
    expect(next.prunedThrough).toBeUndefined();
    expect(next.files).toEqual(old.files);
    expect(sealedToArchive(["mysql-bin.000001", "mysql-bin.000002", "mysql-bin.000003"], next)).toEqual(["mysql-bin.000001", "mysql-bin.000002"]);
    const taken = { ...next, files: [...next.files, { ...entry("mysql-bin.000001"), generation: 1 }] };
    expect(sealedToArchive(["mysql-bin.000001", "mysql-bin.000002", "mysql-bin.000003"], taken)).toEqual(["mysql-bin.000002"]);
    expect(resetProbe(["mysql-bin.000001", "mysql-bin.000002"], taken)).toBe("mysql-bin.000001");
    expect(archiveObject("mysql-bin.000001", 0, ".sealed")).toBe("mysql-bin.000001.sealed");
    expect(archiveObject("mysql-bin.000001", 2, undefined)).toBe("mysql-bin.000001.g2");
    expect(parseArchive(archiveText(taken, keys), keysFor)).toEqual({ ok: true, value: expect.objectContaining({ generation: 1 }) });
    expect(parseArchive(JSON.stringify({ ...taken, encryption: undefined, generation: -1 }))).toEqual({ ok: false, error: expect.stringMatching(/malformed generation/) });
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
