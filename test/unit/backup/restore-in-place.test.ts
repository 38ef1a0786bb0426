import { describe, expect, it } from "vitest";
import { backupWithDefaults, type BootstrapStatus, type RestoreInPlaceSpec, type RestoreInPlaceStatus } from "../../../shared/api/index.js";
import { restoreHoldsEmergency, restoreInPlaceStep, restorePausesFailover, restoreReclones, type InPlaceSite, type RestoreInPlaceInput } from "../../../shared/backup/restore-in-place.js";

const NOW = "2026-12-05T04:00:00Z";
const CONFIRM = "2026-12-05T03:59:00Z";
const backup = backupWithDefaults({ profiles: [{ name: "nightly", storage: { s3: { bucket: "b", credentialsSecret: { name: "s3" } } } }] });
const request = (over: Partial<RestoreInPlaceSpec> = {}): RestoreInPlaceSpec => ({ profileName: "nightly", source: { group: "orders", backup: "b1" }, pointInTime: { mode: "none" }, timeout: "6h", confirm: CONFIRM, ...over });
const site = (name: string, readOnly: boolean, replicating = false, gtidExecuted = "0-1-90"): InPlaceSite => ({ name, role: "primary-candidate", polled: { readOnly, replicating, gtidExecuted, flavor: "mariadb" } });
const healthy = [site("iad", false), site("pdx", true, true), site("sfo", true, true)];
const running: RestoreInPlaceStatus = { phase: "Running", confirm: CONFIRM, site: "iad", backup: "shop/orders/b1", jobName: "mysql-orders-restore", restoreId: "mysql-orders-restore", copy: "staged", startTime: NOW };
const fenced: RestoreInPlaceStatus = { ...running, fencedTime: NOW, discardedFrom: "0-1-90" };
const staged: RestoreInPlaceStatus = { ...fenced, stagedTime: NOW, gtid: "0-1-40", backupGtid: "0-1-40", userSchemas: 1 };
const resumed: RestoreInPlaceStatus = { ...staged, resumedTime: NOW, recloning: ["pdx", "sfo"] };

function input(over: Partial<RestoreInPlaceInput> = {}): RestoreInPlaceInput {
  return {
    namespace: "shop",
    request: request(),
    backup,
    sites: healthy,
    status: undefined,
    activeSite: "iad",
    busy: undefined,
    jobsOff: undefined,
    job: { state: "absent" },
    jobName: "mysql-orders-restore",
    restarted: undefined,
    clone: undefined,
    now: NOW,
    ...over,
  };
}
const pendingMessage = (i: RestoreInPlaceInput): string => {
  const step = restoreInPlaceStep(i);
  return step.kind === "pending" ? (step.status.message ?? "") : `not pending: ${step.kind}`;
};

describe("restoreInPlace's step", () => {
  it("starts a confirmed request on the active primary once every site answers: Running written before anything is fenced", () => {
    expect(restoreInPlaceStep(input())).toEqual({ kind: "start", status: { ...running, message: "restoring shop/orders/b1 onto site iad in place: fencing every site" } });
  });

  it("runs once per confirm: a request whose confirm is not newer than the last handled one does nothing, a newer one starts again", () => {
    for (const phase of ["Succeeded", "Failed"] as const) {
      expect(restoreInPlaceStep(input({ status: { ...resumed, phase } }))).toEqual({ kind: "none" });
      expect(restoreInPlaceStep(input({ status: { ...resumed, phase }, request: request({ confirm: "2026-12-05T03:59:30Z" }) })).kind).toBe("start");
    }
    expect(restoreInPlaceStep(input({ request: undefined }))).toEqual({ kind: "none" });
  });

  it("waits, saying why, for a confirm from the future, another site than the primary, a busy group, a silent site, or a missing profile", () => {
    expect(pendingMessage(input({ request: request({ confirm: "2026-12-05T05:00:00Z" }) }))).toMatch(/^spec.restoreInPlace.confirm 2026-12-05T05:00:00Z is in the future/);
    expect(pendingMessage(input({ request: request({ site: "pdx" }) }))).toBe("spec.restoreInPlace.site pdx is not the active primary (iad): switch over to it first, or leave the field out");
    expect(pendingMessage(input({ activeSite: "" }))).toBe("spec.restoreInPlace waits for an active primary to restore");
    expect(pendingMessage(input({ busy: "a switchover is in progress" }))).toBe("spec.restoreInPlace waits: a switchover is in progress");
    expect(pendingMessage(input({ sites: [healthy[0] as InPlaceSite, { name: "pdx", role: "primary-candidate" }] }))).toBe("spec.restoreInPlace waits for pdx to answer: every site is fenced before the restore");
    expect(pendingMessage(input({ request: request({ profileName: "weekly" }) }))).toBe("spec.restoreInPlace.profileName: the group has no profile weekly in spec.backup.profiles");
    // The same wait is written once.
    const waiting: RestoreInPlaceStatus = { phase: "Pending", confirm: CONFIRM, message: "spec.restoreInPlace waits: a switchover is in progress" };
    expect(restoreInPlaceStep(input({ busy: "a switchover is in progress", status: waiting }))).toEqual({ kind: "none" });
  });

  it("fences every writable site and stops the others' replication, then records the primary's position and makes the Job", () => {
    expect(restoreInPlaceStep(input({ status: running }))).toEqual({ kind: "fence", site: "iad", fence: ["iad"], stopReplication: ["pdx", "sfo"] });
    const quiet = [site("iad", true), site("pdx", true), site("sfo", true)];
    expect(restoreInPlaceStep(input({ status: running, sites: quiet }))).toMatchObject({
      kind: "fenced",
      status: { fencedTime: NOW, discardedFrom: "0-1-90" },
      run: { site: "iad", source: { namespace: "shop", group: "orders", backup: "b1" }, pointInTime: "none" },
    });
  });

  it("gives the primary back on its own data when the Job fails before staging; after staging, everything stays fenced", () => {
    const job = { state: "finished" as const, succeeded: false, result: undefined, reason: "BackoffLimitExceeded" };
    const before = restoreInPlaceStep(input({ status: fenced, job }));
    expect(before).toMatchObject({ kind: "finish", unfence: "iad", status: { phase: "Failed", message: expect.stringMatching(/site iad was made writable again on its own data, nothing lost$/) } });
    const after = restoreInPlaceStep(input({ status: staged, restarted: { binlogPos: "0-1-7", startedAfterStaging: true, userSchemas: 1 } }));
    expect(after).toMatchObject({ kind: "finish", status: { phase: "Failed", message: expect.stringMatching(/every site stays fenced/) } });
    expect(after).not.toHaveProperty("unfence");
  });

  it("loads a MySQL primary's copy into its running server: the Job is planned as a load, the loaded server resumed once it holds exactly the copy", () => {
    const uuid = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
    const mysql = (name: string, readOnly: boolean, replicating = false): InPlaceSite => ({ name, role: "primary-candidate", polled: { readOnly, replicating, gtidExecuted: `${uuid}:1-90`, flavor: "mysql" } });
    const sites = [mysql("iad", false), mysql("pdx", true, true)];
    expect(restoreInPlaceStep(input({ sites }))).toMatchObject({ kind: "start", status: { phase: "Running", copy: "loaded" } });
    const loading: RestoreInPlaceStatus = { ...running, copy: "loaded" };
    expect(restoreInPlaceStep(input({ status: loading, sites: [mysql("iad", true), mysql("pdx", true)] }))).toMatchObject({
      kind: "fenced",
      status: { message: expect.stringMatching(/restoring shop\/orders\/b1 into its server in Job/) },
      run: { site: "iad", copy: "loaded" },
    });
    const loaded: RestoreInPlaceStatus = { ...loading, fencedTime: NOW, discardedFrom: `${uuid}:1-90`, stagedTime: NOW, gtid: `${uuid}:1-40`, backupGtid: `${uuid}:1-40`, userSchemas: 1 };
    // No restart and no positioning: the load left the server at the copy's GTIDs.
    const server = (binlogPos: string, userSchemas = 1) => ({ binlogPos, startedAfterStaging: false, userSchemas });
    expect(restoreInPlaceStep(input({ status: loaded, sites, restarted: server(`${uuid}:1-40`) }))).toMatchObject({ kind: "resume", site: "iad", status: { recloning: ["pdx"] } });
    expect(restoreInPlaceStep(input({ status: loaded, sites, restarted: server(`${uuid}:1-41`) }))).toMatchObject({
      kind: "finish",
      status: { phase: "Failed", message: expect.stringMatching(/is at .*:1-41 after the load, the copy at .*:1-40: something changed it since; every site stays fenced/) },
    });
    expect(restoreInPlaceStep(input({ status: loaded, sites, restarted: server(`${uuid}:1-40`, 0) }))).toMatchObject({ kind: "finish", status: { phase: "Failed" } });
  });

  it("gives a MySQL primary back only when its loading Job says it failed before changing the server; any other failure keeps every site fenced", () => {
    const loading: RestoreInPlaceStatus = { ...fenced, copy: "loaded" };
    const failedJob = (result: string | undefined) => ({ state: "finished" as const, succeeded: false, result, reason: "BackoffLimitExceeded" });
    const untouched = restoreInPlaceStep(input({ status: loading, job: failedJob('{"phase":"Failed","message":"site iad\'s server is writable","serverChanged":false}') }));
    expect(untouched).toMatchObject({ kind: "finish", unfence: "iad", status: { message: expect.stringMatching(/^site iad's server is writable; site iad was made writable again on its own data/) } });
    for (const result of ['{"phase":"Failed","message":"site iad\'s server was emptied for the load, which then failed: x"}', undefined]) {
      const kept = restoreInPlaceStep(input({ status: loading, job: failedJob(result) }));
      expect(kept).toMatchObject({ kind: "finish", status: { phase: "Failed", message: expect.stringMatching(/every site stays fenced/) } });
      expect(kept).not.toHaveProperty("unfence");
    }
    // A staging Job never touches the server: its failure gives the primary back whatever its result.
    expect(restoreInPlaceStep(input({ status: fenced, job: failedJob(undefined) }))).toMatchObject({ kind: "finish", unfence: "iad" });
    // The Job gone while a load may have run, and the request removed: it cannot be made again, and the server may be emptied.
    expect(restoreInPlaceStep(input({ status: loading, request: undefined }))).not.toHaveProperty("unfence");
  });

  it("restarts and positions the primary on the copy, then writes the sites to reclone before it makes the primary writable", () => {
    expect(restoreInPlaceStep(input({ status: staged, restarted: { binlogPos: "0-1-90", startedAfterStaging: false, userSchemas: 1 } }))).toEqual({ kind: "restart", site: "iad" });
    expect(restoreInPlaceStep(input({ status: staged, restarted: { binlogPos: "", startedAfterStaging: true, userSchemas: 1 } }))).toEqual({ kind: "position", site: "iad", gtid: "0-1-40" });
    expect(restoreInPlaceStep(input({ status: staged, restarted: { binlogPos: "0-1-40", startedAfterStaging: true, userSchemas: 1 } }))).toMatchObject({
      kind: "resume",
      site: "iad",
      status: { resumedTime: NOW, recloning: ["pdx", "sfo"] },
    });
  });

  it("after the resume: makes the primary writable again if it reads fenced, follows the reclones, and Succeeds when none is left", () => {
    const writableAgain = [site("iad", false), site("pdx", true), site("sfo", true)];
    expect(restoreInPlaceStep(input({ status: resumed, sites: [site("iad", true), ...writableAgain.slice(1)] }))).toEqual({ kind: "resume", site: "iad", status: resumed });
    const done = (name: string, startTime = NOW): BootstrapStatus => ({ site: name, source: "restore-in-place", phase: "Done", donor: "iad", cloneId: "c", startTime });
    expect(restoreInPlaceStep(input({ status: resumed, sites: writableAgain, clone: done("pdx") }))).toMatchObject({ kind: "progress", status: { recloning: ["sfo"] } });
    // A clone from before the resume does not count.
    expect(restoreInPlaceStep(input({ status: resumed, sites: writableAgain, clone: done("pdx", "2026-12-05T03:00:00Z") }))).toMatchObject({ kind: "progress", status: { recloning: ["pdx", "sfo"] } });
    const failed: BootstrapStatus = { ...done("sfo"), phase: "Failed", message: "donor gone" };
    expect(restoreInPlaceStep(input({ status: { ...resumed, recloning: ["sfo"] }, sites: writableAgain, clone: failed }))).toMatchObject({ kind: "progress", status: { message: expect.stringMatching(/last attempt on sfo failed and is tried again: donor gone/) } });
    expect(restoreInPlaceStep(input({ status: { ...resumed, recloning: ["sfo"] }, sites: writableAgain, clone: done("sfo") }))).toMatchObject({ kind: "finish", status: { phase: "Succeeded", recloning: [] } });
  });

  it("holds the core until the primary is writable again, pauses failover and names the sites to reclone while it runs", () => {
    expect([running, fenced, staged].map(restoreHoldsEmergency)).toEqual([true, true, true]);
    expect(restoreHoldsEmergency(resumed)).toBe(false);
    expect(restorePausesFailover(resumed)).toBe("a restore in place of iad is running (spec.restoreInPlace)");
    expect(restorePausesFailover({ ...resumed, phase: "Succeeded" })).toBeUndefined();
    expect(restoreReclones(resumed)).toEqual(["pdx", "sfo"]);
    expect(restoreReclones(staged)).toEqual([]);
  });
});
