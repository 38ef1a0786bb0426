import { describe, expect, it } from "vitest";
import { artifactFolder, dataObjectName, manifestText, parseManifest, parsePosition, type BackupManifest } from "../../../shared/backup/manifest.js";
import { deriveKeys, newSalt } from "../../../shared/backup/sealing.js";

const keys = deriveKeys("s3cret passphrase", newSalt());
const base: Omit<BackupManifest, "signature"> = {
  format: 1,
  namespace: "shop",
  group: "orders",
  backup: "orders-nightly-1",
  profile: "nightly",
  flavor: "mariadb",
  method: "mariadb-backup",
  sourceSite: "pdx",
  startedAt: "2026-12-04T01:00:00.000Z",
  completedAt: "2026-12-04T01:04:00.000Z",
  position: { gtid: "0-1-42", binlogFile: "mysql-bin.000003", binlogPosition: 2796 },
  data: { object: "data.xbstream.sealed", bytes: 1234, sha256: "a".repeat(64) },
  encryption: { algorithm: "AES-256-GCM", kdf: "scrypt", salt: keys.salt.toString("base64") },
};
const keysFor = (salt: Buffer) => deriveKeys("s3cret passphrase", salt);

describe("backup manifest", () => {
  it("lays artifacts out under the prefix, namespace, group and backup", () => {
    expect(artifactFolder("/backups/prod/", { namespace: "shop", group: "orders", backup: "b1" })).toBe("backups/prod/shop/orders/b1");
    expect(artifactFolder("", { namespace: "shop", group: "orders", backup: "b1" })).toBe("shop/orders/b1");
    expect(dataObjectName("mariadb-backup", true)).toBe("data.xbstream.sealed");
    expect(dataObjectName("mariadb-backup", false)).toBe("data.xbstream");
    expect(dataObjectName("mysqlsh-dump", true)).toBe("data.tar.sealed");
    expect(dataObjectName("mysqlsh-dump", false)).toBe("data.tar");
  });

  it("reads the position from xtrabackup_binlog_info", () => {
    expect(parsePosition("mysql-bin.000003\t2796\t0-1-42\n")).toEqual({ ok: true, value: { gtid: "0-1-42", binlogFile: "mysql-bin.000003", binlogPosition: 2796 } });
    expect(parsePosition("mysql-bin.000003\t2796\n").ok).toBe(false);
    expect(parsePosition("mysql-bin.000003\tx\t0-1-42").ok).toBe(false);
  });

  it("round-trips a signed manifest and refuses any changed field or the wrong passphrase", () => {
    const text = manifestText(base, keys);
    const read = parseManifest(text, keysFor);
    expect(read.ok && read.value.manifest.position.gtid).toBe("0-1-42");
    const changed = text.replace('"gtid": "0-1-42"', '"gtid": "0-1-43"');
    expect(parseManifest(changed, keysFor)).toEqual({ ok: false, error: expect.stringMatching(/signature does not match/) });
    expect(parseManifest(text, (salt) => deriveKeys("wrong", salt))).toEqual({ ok: false, error: expect.stringMatching(/passphrase/) });
    expect(parseManifest(text)).toEqual({ ok: false, error: expect.stringMatching(/passphraseSecret/) });
  });

  it("refuses a signature on an unencrypted manifest, damage, and another format", () => {
    const { encryption: _e, ...plain } = base;
    expect(parseManifest(manifestText(plain)).ok).toBe(true);
    const forged = JSON.stringify({ ...plain, signature: "00" });
    expect(parseManifest(forged)).toEqual({ ok: false, error: expect.stringMatching(/tampered/) });
    expect(parseManifest("{not json")).toEqual({ ok: false, error: expect.stringMatching(/not JSON/) });
    expect(parseManifest(JSON.stringify({ ...plain, format: 2 }))).toEqual({ ok: false, error: expect.stringMatching(/format 2/) });
    expect(parseManifest(JSON.stringify({ ...plain, data: { object: "x", bytes: -1, sha256: "zz" }, sourceSite: "" }))).toEqual({ ok: false, error: expect.stringMatching(/sourceSite, data/) });
  });

  it("reads a MySQL Shell dump's manifest, and refuses a method with another flavor or an unknown method", () => {
    const { encryption: _e, ...plain } = base;
    const dump = { ...plain, flavor: "mysql", method: "mysqlsh-dump", position: { gtid: "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-100", binlogFile: "binlog.000002", binlogPosition: 157 }, data: { ...plain.data, object: "data.tar" } } as const;
    expect(parseManifest(manifestText(dump))).toEqual({ ok: true, value: { manifest: dump } });
    expect(parseManifest(JSON.stringify({ ...dump, flavor: "mariadb" }))).toEqual({ ok: false, error: expect.stringMatching(/malformed: flavor;/) });
    expect(parseManifest(JSON.stringify({ ...plain, flavor: "mysql" }))).toEqual({ ok: false, error: expect.stringMatching(/malformed: flavor;/) });
    expect(parseManifest(JSON.stringify({ ...plain, method: "toString" }))).toEqual({ ok: false, error: expect.stringMatching(/malformed: method;/) });
  });
});
