import { describe, expect, it } from "vitest";
import { defaultBackupName, describeBackup, planBackup } from "../../../cli/commands/backup.js";
import type { MysqlBackup, MysqlFailoverGroup } from "../../../shared/api/index.js";

const NOW = Date.parse("2026-12-04T03:00:07Z");
const group = (backup?: MysqlFailoverGroup["spec"]["backup"]): MysqlFailoverGroup => ({
  apiVersion: "shipstream.io/v1alpha1",
  kind: "MysqlFailoverGroup",
  metadata: { name: "orders", namespace: "shop" },
  spec: {
    sites: [
      { name: "iad", endpoint: { host: "iad.db", port: 3306 } },
      { name: "sfo", role: "read-only", endpoint: { host: "sfo.db", port: 3306 } },
    ],
    ...(backup ? { backup } : {}),
  },
});
const withProfiles = group({ profiles: [{ name: "nightly", storage: { pvc: { claimName: "backups" } } }, { name: "s3", storage: { pvc: { claimName: "other" } } }] });

describe("backup command", () => {
  it("creates a manual MysqlBackup named after the group, the profile and the time", () => {
    expect(defaultBackupName("orders", "nightly", NOW)).toBe("orders-nightly-20261204-030007");
    expect(planBackup(withProfiles, "shop", { profile: "nightly", sourceSite: "iad" }, NOW)).toEqual({
      ok: true,
      backup: {
        apiVersion: "shipstream.io/v1alpha1",
        kind: "MysqlBackup",
        metadata: { name: "orders-nightly-20261204-030007", namespace: "shop", labels: { "shipstream.io/failover-group": "orders" } },
        spec: { failoverGroupRef: { name: "orders" }, profileName: "nightly", triggeredBy: "manual", sourceSiteOverride: "iad" },
      },
    });
  });

  it("refuses what the operator would refuse, naming the flag and the choices", () => {
    const refused = (g: MysqlFailoverGroup, flags: Parameters<typeof planBackup>[2]) => {
      const plan = planBackup(g, "shop", flags, NOW);
      return plan.ok ? "" : plan.error;
    };
    expect(refused(group(), { profile: "nightly" })).toBe("--profile: the group shop/orders has no spec.backup.profiles: add a profile named nightly first (docs/backups.md)");
    expect(refused(withProfiles, { profile: "weekly" })).toBe("--profile: weekly is not a profile of the group shop/orders; its profiles: nightly, s3");
    expect(refused(withProfiles, { profile: "nightly", sourceSite: "nyc" })).toBe("--source-site: nyc is not a site of the group shop/orders; its sites: iad, sfo");
    expect(refused(withProfiles, { profile: "nightly", sourceSite: "sfo" })).toMatch(/^--source-site: sfo is a read-only-role site, which never serves backups/);
    expect(refused(withProfiles, { profile: "nightly", name: "Before_Migration" })).toMatch(/^--name: "Before_Migration" is not a Kubernetes object name/);
  });

  it("says where the backup stands in one line per phase", () => {
    const b = (status?: MysqlBackup["status"]): MysqlBackup => ({ apiVersion: "shipstream.io/v1alpha1", kind: "MysqlBackup", metadata: { name: "b1" }, spec: { failoverGroupRef: { name: "orders" }, profileName: "nightly" }, ...(status ? { status } : {}) });
    expect(describeBackup(b())).toBe("Pending: created, not picked up by the operator yet");
    expect(describeBackup(b({ phase: "Pending", message: "pdx's agent streams backup b0 now" }))).toBe("Pending: pdx's agent streams backup b0 now");
    expect(describeBackup(b({ phase: "Running", message: "copying from pdx (replica-preferred)" }))).toBe("Running: copying from pdx (replica-preferred)");
    expect(describeBackup(b({ phase: "Succeeded", sizeBytes: 3 * 1024 * 1024, gtidExecuted: "0-1-42", sourceSite: "pdx", location: "s3://backups/prod/shop/orders/b1/manifest.json" }))).toBe(
      "Succeeded: 3.0 MiB at GTID 0-1-42 from pdx, in s3://backups/prod/shop/orders/b1/manifest.json",
    );
    expect(describeBackup(b({ phase: "Failed", message: "the store refused" }))).toBe("Failed: the store refused");
  });
});
