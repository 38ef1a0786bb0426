import { describe, expect, it } from "vitest";
import { backupWithDefaults, type InitFromBackupSpec, type RestoreStatus } from "../../../shared/api/index.js";
import { initRestoreStep, restoreGate, type InitRestoreInput } from "../../../shared/backup/init-restore.js";
import { RESTART_LIMIT_MS } from "../../../shared/backup/staged-copy.js";
import type { ServerObservation } from "../../../shared/topology/site-observation.js";

const NOW = "2026-12-05T04:00:00Z";
const s3 = (bucket: string) => ({ s3: { bucket, credentialsSecret: { name: "s3" } } });
const backup = backupWithDefaults({ profiles: [{ name: "nightly", storage: s3("backups") }, { name: "wal", storage: s3("binlogs") }] });
const request = (over: Partial<InitFromBackupSpec> = {}): InitFromBackupSpec => ({
  profileName: "nightly",
  source: { group: "orders", backup: "orders-1" },
  pointInTime: { mode: "none" },
  timeout: "6h",
  ...over,
});
const empty: ServerObservation = { flavor: "mariadb", version: "10.11.19", serverId: 1, readOnly: true, superReadOnly: true, gtidExecuted: "" };
const running: RestoreStatus = { phase: "Running", site: "iad", backup: "shop/orders/orders-1", jobName: "mysql-copy-restore", restoreId: "mysql-copy-restore", copy: "staged", startTime: "2026-12-05T03:50:00Z" };
const staged: RestoreStatus = { ...running, stagedTime: "2026-12-05T03:58:00Z", gtid: "0-1-42", backupGtid: "0-1-40", userSchemas: 2 };

function input(over: Partial<InitRestoreInput> = {}): InitRestoreInput {
  return {
    group: { name: "copy", namespace: "shop", uid: "u-1" },
    request: request(),
    backup,
    sites: [
      { name: "dr", role: "dr-only" },
      { name: "iad", role: "primary-candidate" },
      { name: "pdx", role: "primary-candidate" },
    ],
    status: undefined,
    knownPrimary: undefined,
    target: empty,
    restarted: undefined,
    job: { state: "absent" },
    jobName: "mysql-copy-restore",
    jobsOff: undefined,
    now: NOW,
    ...over,
  };
}

const failure = (i: InitRestoreInput): string => {
  const step = initRestoreStep(i);
  return step.kind === "finish" && step.status.phase === "Failed" ? (step.status.message ?? "") : `not failed: ${step.kind}`;
};

describe("initFromBackup's step", () => {
  it("starts on the first primary-candidate's empty server, Running written before the Job", () => {
    expect(initRestoreStep(input())).toEqual({
      kind: "start",
      status: { ...running, startTime: NOW, message: "restoring shop/orders/orders-1 beside site iad's datadir in Job mysql-copy-restore" },
      run: { site: "iad", restoreId: "mysql-copy-restore", source: { namespace: "shop", group: "orders", backup: "orders-1" }, profile: backup.profiles[0], pointInTime: "none", timeout: "6h", copy: "staged" },
    });
  });

  it("loads the dump into an empty MySQL target's running server, and succeeds once the server holds exactly the copy", () => {
    const uuid = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
    const mysql: ServerObservation = { ...empty, flavor: "mysql", version: "8.4.3" };
    expect(initRestoreStep(input({ target: mysql }))).toMatchObject({
      kind: "start",
      status: { copy: "loaded", message: "restoring shop/orders/orders-1 into site iad's server in Job mysql-copy-restore" },
      run: { site: "iad", copy: "loaded" },
    });
    const loading: RestoreStatus = { ...running, copy: "loaded" };
    // The Job gone before it finished: made again as a load, whatever the target answers now.
    expect(initRestoreStep(input({ status: loading, target: undefined }))).toMatchObject({ kind: "recreate", run: { copy: "loaded" } });
    const result = JSON.stringify({ phase: "Succeeded", gtid: `${uuid}:1-42`, backupGtid: `${uuid}:1-40`, userSchemas: 2 });
    expect(initRestoreStep(input({ status: loading, job: { state: "finished", succeeded: true, result } }))).toMatchObject({
      kind: "staged",
      status: { stagedTime: NOW, gtid: `${uuid}:1-42`, message: `the copy (${uuid}:1-42) is loaded into site iad's server` },
    });
    const loaded: RestoreStatus = { ...loading, stagedTime: NOW, gtid: `${uuid}:1-42`, backupGtid: `${uuid}:1-40`, userSchemas: 2 };
    expect(initRestoreStep(input({ status: loaded, restarted: { binlogPos: `${uuid}:1-42`, startedAfterStaging: false, userSchemas: 2 } }))).toMatchObject({ kind: "finish", status: { phase: "Succeeded" } });
    expect(failure(input({ status: loaded, restarted: { binlogPos: `${uuid}:1-43`, startedAfterStaging: false, userSchemas: 2 } }))).toMatch(/after the load, the copy at .*: something changed it since$/);
  });

  it("restores the site named, from another namespace, to a whole second rounded up, with the archive's profile", () => {
    const step = initRestoreStep(
      input({ request: request({ site: "pdx", source: { namespace: "prod", group: "orders", backup: "b" }, pointInTime: { mode: "timestamp", timestamp: "2026-12-05T01:00:00.2Z" }, archiveProfileName: "wal" }) }),
    );
    expect(step).toMatchObject({ kind: "start", run: { site: "pdx", source: { namespace: "prod" }, archive: backup.profiles[1], pointInTime: "2026-12-05T01:00:01Z" } });
    expect(initRestoreStep(input({ request: request({ pointInTime: { mode: "latest" } }) }))).toMatchObject({ run: { archive: backup.profiles[0], pointInTime: "latest" } });
  });

  it("waits, with a Warning once per reason, for a server that does not answer or a Job image", () => {
    expect(initRestoreStep(input({ target: undefined }))).toEqual({ kind: "pending", status: { phase: "Pending", message: "waiting for site iad's server to answer" }, event: "RestoreTargetUnavailable" });
    expect(initRestoreStep(input({ target: undefined, status: { phase: "Pending", message: "waiting for site iad's server to answer" } }))).toEqual({ kind: "none" });
    expect(initRestoreStep(input({ jobsOff: "no image" }))).toMatchObject({ kind: "pending", event: "RestoreBuildFailed" });
    expect(initRestoreStep(input({ request: request({ profileName: "weekly" }) }))).toMatchObject({
      kind: "pending",
      status: { message: "spec.initFromBackup.profileName: the group has no profile weekly in spec.backup.profiles" },
      event: "RestoreBuildFailed",
    });
  });

  it("never overwrites data: a group that had a primary, a site with transactions", () => {
    expect(failure(input({ knownPrimary: "pdx" }))).toBe("spec.initFromBackup: the group already had a primary (pdx); a restore only fills a new group's empty sites");
    expect(failure(input({ target: { ...empty, gtidExecuted: "0-1-5" } }))).toBe("site iad already holds transactions (0-1-5): initFromBackup only fills an empty site");
  });

  it("follows the Job: remade when gone, Failed with its message, staged with the copy's position", () => {
    expect(initRestoreStep(input({ status: running, job: { state: "running" } }))).toEqual({ kind: "none" });
    expect(initRestoreStep(input({ status: running }))).toMatchObject({ kind: "recreate", run: { restoreId: "mysql-copy-restore" } });
    expect(failure(input({ status: running, job: { state: "finished", succeeded: false, result: '{"phase":"Failed","message":"the artifact is damaged"}' } }))).toBe("the artifact is damaged");
    const result = JSON.stringify({ phase: "Succeeded", gtid: "0-1-42", backupGtid: "0-1-40", userSchemas: 2, replayedToTime: "2026-12-05T03:00:00.000Z" });
    expect(initRestoreStep(input({ status: running, job: { state: "finished", succeeded: true, result } }))).toEqual({
      kind: "staged",
      status: { ...staged, stagedTime: NOW, replayedToTime: "2026-12-05T03:00:00.000Z", message: "the copy (0-1-42) is staged; site iad's server restarts on it" },
    });
  });

  it("restarts the server onto the copy, positions it, and succeeds only at the copy's position", () => {
    const server = (over: object) => ({ binlogPos: "", startedAfterStaging: true, userSchemas: 2, ...over });
    expect(initRestoreStep(input({ status: staged, restarted: server({ startedAfterStaging: false }) }))).toEqual({ kind: "restart", site: "iad" });
    expect(initRestoreStep(input({ status: staged, restarted: server({}) }))).toMatchObject({ kind: "position", site: "iad", gtid: "0-1-42", status: { phase: "Succeeded" } });
    expect(initRestoreStep(input({ status: staged, restarted: server({ binlogPos: "0-1-42" }) }))).toMatchObject({ kind: "finish", status: { phase: "Succeeded", message: "site iad runs on the restored copy at 0-1-42" } });
    expect(failure(input({ status: staged, restarted: server({ userSchemas: 0 }) }))).toMatch(/holds 0 schemas of its own, the copy 2: the staged copy was not swapped in/);
    expect(failure(input({ status: staged, restarted: server({ binlogPos: "0-2-1" }) }))).toMatch(/wrote 0-2-1 after it restarted on the copy/);
  });

  it("waits for a restarting server, and gives up after the limit", () => {
    expect(initRestoreStep(input({ status: staged }))).toEqual({ kind: "none" });
    const late = new Date(Date.parse(staged.stagedTime ?? "") + RESTART_LIMIT_MS + 1000).toISOString();
    expect(failure(input({ status: staged, now: late }))).toMatch(/did not come back on the staged copy within 10 minutes/);
  });

  it("does nothing once ended, or without a request", () => {
    expect(initRestoreStep(input({ status: { ...staged, phase: "Succeeded" } }))).toEqual({ kind: "none" });
    expect(initRestoreStep(input({ status: { phase: "Failed", message: "x" } }))).toEqual({ kind: "none" });
    expect(initRestoreStep(input({ request: undefined }))).toEqual({ kind: "none" });
  });
});

describe("restoreGate", () => {
  it("holds the first primary until the restore succeeded, then names the restored site", () => {
    expect(restoreGate(undefined, undefined)).toBeUndefined();
    expect(restoreGate(request(), undefined)).toEqual({ wait: "waiting for the restore of spec.initFromBackup" });
    expect(restoreGate(request(), { phase: "Failed", message: "damaged" })).toEqual({ wait: "initFromBackup failed, so the group gets no primary: damaged (recreate the group to try again)" });
    expect(restoreGate(request(), { ...staged, phase: "Succeeded" })).toEqual({ restored: { site: "iad", gtid: "0-1-42" } });
  });
});
