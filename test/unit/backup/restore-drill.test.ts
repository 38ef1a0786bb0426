import { describe, expect, it } from "vitest";
import type { MysqlBackup, MysqlBackupVerification, MysqlFailoverGroupSpec } from "../../../shared/api/index.js";
import { planRestoreDrill, type DrillRequest } from "../../../shared/backup/restore-drill.js";

const storage = { size: "1Gi" };
const profile = (name: string) => ({ name, storage: { s3: { bucket: "backups", credentialsSecret: { name: "s3" } } } });
const source: { name: string; spec: MysqlFailoverGroupSpec } = {
  name: "orders",
  spec: {
    image: "mariadb:10.11",
    credentials: { operator: { secretName: "orders-operator" } },
    mysqlConf: { max_connections: "500" },
    dns: { hostname: "orders.db.example.com" },
    sites: [
      { name: "iad", storage, lbIP: "10.0.0.1", taintNodeSelector: { zone: "iad" } },
      { name: "pdx", storage, zone: "us-west" },
      { name: "dc3", endpoint: { host: "db.dc3", port: 3306 } },
    ],
    backup: {
      profiles: [{ ...profile("nightly"), verification: { schedule: "0 4 * * *" } }, profile("archive")],
      schedules: [{ name: "n", profileName: "nightly", schedule: "0 3 * * *" }],
      pitr: { enabled: true, profileName: "archive" },
    },
  } as MysqlFailoverGroupSpec,
};
const backup = (over: Partial<MysqlBackup["status"]> = {}, group = "orders"): MysqlBackup => ({
  apiVersion: "shipstream.io/v1alpha1",
  kind: "MysqlBackup",
  metadata: { name: "b1", namespace: "shop" },
  spec: { failoverGroupRef: { name: group }, profileName: "nightly" },
  status: { phase: "Succeeded", ...over },
});
const verified: MysqlBackupVerification = {
  apiVersion: "shipstream.io/v1alpha1",
  kind: "MysqlBackupVerification",
  metadata: { name: "v1", namespace: "shop" },
  spec: { failoverGroupRef: { name: "orders" }, profileName: "nightly" },
  status: { phase: "Succeeded", backupName: "b1" },
};
const request = (over: Partial<DrillRequest> = {}): DrillRequest => ({ group: "orders-drill", pointInTime: { mode: "none" }, unverified: false, ...over });

describe("a restore drill's new group", () => {
  it("copies the managed sites and settings, and leaves out what production owns", () => {
    const plan = planRestoreDrill(source, backup(), [verified], request());
    expect(plan.ok).toBe(true);
    if (!plan.ok) return;
    expect(plan.verifiedBy).toBe("v1");
    // The copy runs only on nodes labelled for it: production's taint selector would put its read-only taint on production's nodes.
    expect(plan.spec.sites).toEqual([
      { name: "iad", storage, taintNodeSelector: { "shipstream.io/site.orders-drill": "iad" } },
      { name: "pdx", storage, zone: "us-west" },
    ]);
    expect(plan.spec).toMatchObject({ image: "mariadb:10.11", credentials: { operator: { secretName: "orders-operator" } }, mysqlConf: { max_connections: "500" } });
    expect(plan.spec.dns).toBeUndefined();
    expect(plan.spec.backup).toEqual({ profiles: [profile("nightly"), profile("archive")] });
    expect(plan.spec.initFromBackup).toEqual({ profileName: "nightly", source: { group: "orders", backup: "b1" }, pointInTime: { mode: "none" } });
    expect(plan.leftOut).toEqual(["dns", "sites[dc3] (external)", "sites[iad].lbIP", "backup.schedules", "backup.pitr", "backup.profiles[nightly].verification"]);
  });

  it("replays the group's archive through its own profile, and restores a chosen candidate first", () => {
    const plan = planRestoreDrill(source, backup(), [verified], request({ pointInTime: { mode: "timestamp", timestamp: "2026-12-04T09:30:00Z" }, site: "pdx" }));
    expect(plan.ok && plan.spec.initFromBackup).toEqual({ profileName: "nightly", source: { group: "orders", backup: "b1" }, pointInTime: { mode: "timestamp", timestamp: "2026-12-04T09:30:00Z" }, archiveProfileName: "archive", site: "pdx" });
  });

  it("restores an unverified backup only when asked to", () => {
    expect(planRestoreDrill(source, backup(), [], request())).toMatchObject({ ok: false, error: expect.stringContaining("no MysqlBackupVerification has Succeeded on b1") });
    const failedVerification = { ...verified, status: { phase: "Failed" as const, backupName: "b1" } };
    expect(planRestoreDrill(source, backup(), [failedVerification], request()).ok).toBe(false);
    const plan = planRestoreDrill(source, backup(), [], request({ unverified: true }));
    expect(plan.ok && plan.verifiedBy).toBe(undefined);
    expect(plan.ok).toBe(true);
  });

  it.each([
    ["another group's backup", backup({}, "billing"), request(), "is a backup of group billing"],
    ["a backup that did not succeed", backup({ phase: "Failed" }), request(), "is Failed, not Succeeded"],
    ["the group's own name", backup(), request({ group: "orders" }), "another name than orders"],
    ["a candidate that is not one", backup(), request({ site: "dc3" }), "--site: dc3 is not a managed primary-candidate"],
  ])("refuses %s, naming why", (_what, b, r, message) => {
    expect(planRestoreDrill(source, b, [verified], r)).toEqual({ ok: false, error: expect.stringContaining(message) });
  });

  it("refuses a replay without an archive, a profile the group lost, and a group without managed sites", () => {
    const noPitr = { ...source, spec: { ...source.spec, backup: { profiles: [profile("nightly")] } } };
    expect(planRestoreDrill(noPitr, backup(), [verified], request({ pointInTime: { mode: "latest" } }))).toEqual({ ok: false, error: expect.stringContaining("--point-in-time: group orders has no binary log archive") });
    const noProfile = { ...source, spec: { ...source.spec, backup: { profiles: [profile("weekly")] } } };
    expect(planRestoreDrill(noProfile, backup(), [verified], request())).toEqual({ ok: false, error: expect.stringContaining("profile nightly, which group orders no longer has") });
    const external = { ...source, spec: { ...source.spec, sites: [{ name: "dc3", endpoint: { host: "db.dc3", port: 3306 } }] } };
    expect(planRestoreDrill(external, backup(), [verified], request())).toEqual({ ok: false, error: expect.stringContaining("no managed site") });
  });
});
