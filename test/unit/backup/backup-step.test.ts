import { describe, expect, it } from "vitest";
import { backupWithDefaults, type MysqlBackupStatus } from "../../../shared/api/index.js";
import { backupStep, parseResult, type BackupStepInput } from "../../../shared/backup/backup-step.js";

const profiles = backupWithDefaults({ profiles: [{ name: "nightly", storage: { s3: { bucket: "backups", credentialsSecret: { name: "s3" } } } }] }).profiles;
const site = (name: string, state: "writable" | "read-only", lag: number | null, role: "primary-candidate" | "read-only" = "primary-candidate") => ({ name, role, state, polledOk: true, secondsBehindSource: lag, agent: true });
const NOW = "2026-12-04T03:00:00.000Z";

function input(over: Partial<BackupStepInput> = {}): BackupStepInput {
  return {
    spec: { failoverGroupRef: { name: "orders" }, profileName: "nightly" },
    status: undefined,
    profiles,
    sites: [site("iad", "writable", null), site("pdx", "read-only", 2), site("dr", "read-only", 0, "read-only")],
    maxLagSeconds: 300,
    activeSite: "iad",
    job: { state: "absent" },
    jobName: "b1-backup",
    jobsOff: undefined,
    now: NOW,
    ...over,
  };
}

const running: MysqlBackupStatus = { phase: "Running", startTime: NOW, jobName: "b1-backup", attempt: 1, sourceSite: "pdx", sourceReason: "replica-preferred", activeSiteAtStart: "iad" };
const result = JSON.stringify({ phase: "Succeeded", location: "s3://backups/shop/orders/b1/manifest.json", bytes: 1234, gtid: "0-1-42", binlogFile: "mysql-bin.000003", binlogPosition: 2796 });

describe("backupStep", () => {
  it("starts a new backup on the freshest replica within the lag limit, never a read-only-role site, Running written with its source", () => {
    const step = backupStep(input());
    expect(step).toMatchObject({ kind: "start", source: "pdx", status: { ...running, message: "copying from pdx (replica-preferred)" } });
  });

  it("falls back to the primary when no replica qualifies, and honours an override", () => {
    expect(backupStep(input({ sites: [site("iad", "writable", null), site("pdx", "read-only", 900)] }))).toMatchObject({ kind: "start", source: "iad", status: { sourceReason: "primary-fallback" } });
    expect(backupStep(input({ spec: { failoverGroupRef: { name: "orders" }, profileName: "nightly", sourceSiteOverride: "iad" } }))).toMatchObject({ kind: "start", source: "iad", status: { sourceReason: "override" } });
  });

  it("fails a request that can never run, naming the field: no spec.backup, an unknown profile, an unknown or read-only-role override", () => {
    const failed = (message: unknown) => ({ kind: "finish", status: { phase: "Failed", message } });
    expect(backupStep(input({ profiles: undefined }))).toMatchObject(failed("spec.profileName: the group orders has no spec.backup.profiles: add a profile named nightly first (docs/backups.md)"));
    expect(backupStep(input({ spec: { failoverGroupRef: { name: "orders" }, profileName: "weekly" } }))).toMatchObject(failed("spec.profileName: weekly is not a profile of the group orders; its profiles: nightly"));
    expect(backupStep(input({ spec: { failoverGroupRef: { name: "orders" }, profileName: "nightly", sourceSiteOverride: "nyc" } }))).toMatchObject(failed(expect.stringMatching(/^spec.sourceSiteOverride: nyc is not a site of the group orders; its sites: /)));
    expect(backupStep(input({ spec: { failoverGroupRef: { name: "orders" }, profileName: "nightly", sourceSiteOverride: "dr" } }))).toMatchObject(failed(expect.stringMatching(/^spec.sourceSiteOverride: dr is a read-only-role site/)));
  });

  it("waits Pending, with the reason written once, while no site can serve or no Job can be made", () => {
    const down = input({ sites: [{ ...site("iad", "writable", null), polledOk: false }] });
    const step = backupStep(down);
    expect(step).toMatchObject({ kind: "pending", status: { phase: "Pending", message: expect.stringMatching(/no site can serve/) as unknown } });
    expect(backupStep({ ...down, status: step.kind === "pending" ? step.status : undefined })).toEqual({ kind: "none" });
    expect(backupStep(input({ jobsOff: "no image" }))).toEqual({ kind: "pending", status: { phase: "Pending", message: "no image" } });
  });

  it("waits for the Secret the chosen source's Job mounts: the agent token for a MariaDB site, the operator account for a MySQL one", () => {
    const missingSecret = { agent: "no agent token", dump: "no operator account" };
    expect(backupStep(input({ missingSecret }))).toEqual({ kind: "pending", status: { phase: "Pending", message: "no agent token" } });
    const mysql = [site("iad", "writable", null), site("pdx", "read-only", 2)].map((s) => ({ ...s, agent: false, flavor: "mysql" as const }));
    expect(backupStep(input({ sites: mysql, missingSecret }))).toEqual({ kind: "pending", status: { phase: "Pending", message: "no operator account" } });
    expect(backupStep(input({ sites: mysql, missingSecret: { agent: "no agent token" } }))).toMatchObject({ kind: "start", source: "pdx" });
  });

  it("makes the Job again when Running without one (the operator stopped between the two), and waits while it runs", () => {
    expect(backupStep(input({ status: running }))).toMatchObject({ kind: "recreate", source: "pdx" });
    expect(backupStep(input({ status: running, job: { state: "running" } }))).toEqual({ kind: "none" });
  });

  it("records a succeeded Job's result, and a primary change meanwhile as an in-flight failover", () => {
    const done = backupStep(input({ status: running, job: { state: "finished", succeeded: true, result } }));
    expect(done).toEqual({
      kind: "finish",
      inFlightFailover: false,
      status: { ...running, phase: "Succeeded", message: "", completionTime: NOW, location: "s3://backups/shop/orders/b1/manifest.json", sizeBytes: 1234, gtidExecuted: "0-1-42", binlogFile: "mysql-bin.000003", binlogPosition: 2796 },
    });
    expect(backupStep(input({ status: running, activeSite: "pdx", job: { state: "finished", succeeded: true, result } }))).toMatchObject({ inFlightFailover: true, status: { phase: "Succeeded" } });
  });

  it("records a failed Job with its own message, or why there is none; never Succeeded without a whole result", () => {
    const failed = (job: Parameters<typeof backupStep>[0]["job"]) => backupStep(input({ status: running, job }));
    expect(failed({ state: "finished", succeeded: false, result: JSON.stringify({ phase: "Failed", message: "store unreachable" }) })).toMatchObject({ status: { phase: "Failed", message: "store unreachable" } });
    expect(failed({ state: "finished", succeeded: false, result: undefined, reason: "DeadlineExceeded Job was active longer than specified deadline" })).toMatchObject({
      status: { phase: "Failed", message: "the Job b1-backup failed without a result (DeadlineExceeded Job was active longer than specified deadline): see its pod's log" },
    });
    expect(failed({ state: "finished", succeeded: true, result: JSON.stringify({ phase: "Succeeded", location: "x" }) })).toMatchObject({ status: { phase: "Failed", message: expect.stringMatching(/succeeded but its result is unreadable/) as unknown } });
    expect(failed({ state: "finished", succeeded: false, result })).toMatchObject({ status: { phase: "Failed" } });
  });

  it("leaves a finished backup alone", () => {
    for (const phase of ["Succeeded", "Failed"] as const) expect(backupStep(input({ status: { ...running, phase } }))).toEqual({ kind: "none" });
  });
});

describe("parseResult", () => {
  it("reads the command's line and refuses anything else, quoting it", () => {
    expect(parseResult(result)).toMatchObject({ phase: "Succeeded", bytes: 1234 });
    expect(parseResult("")).toEqual({ phase: "unreadable", error: "no termination message" });
    expect(parseResult("oops")).toMatchObject({ phase: "unreadable", error: expect.stringMatching(/no JSON: "oops"/) as unknown });
    expect(parseResult(JSON.stringify({ phase: "Succeeded", location: "x", bytes: -1, gtid: "0-1-1", binlogFile: "f", binlogPosition: 4 }))).toMatchObject({ phase: "unreadable" });
  });
});
