import { describe, expect, it } from "vitest";
import type { BootstrapStatus } from "../../../shared/api/index.js";
import { AGENT_SILENCE_MS, AUTO_CLONE_RETRY_MS, awaitingClone, cloneStep, type CloneCycleInput, type CloneSiteView } from "../../../shared/reclone/step.js";

const NOW = "2026-12-03T12:00:00.000Z";
const at = (flavor: "mariadb", gtidExecuted: string) => ({ flavor, gtidExecuted });
const iad: CloneSiteView = { name: "iad", role: "primary-candidate", agentUrl: "http://iad:8080", polled: { readOnly: false, position: at("mariadb", "0-1-100"), replicationRunning: false } };
const pdx: CloneSiteView = { name: "pdx", role: "primary-candidate", agentUrl: "http://pdx:8080", polled: { readOnly: true, position: at("mariadb", "0-1-100"), replicatingFrom: "iad", replicationRunning: true } };

function input(over: Partial<CloneCycleInput> = {}): CloneCycleInput {
  return { group: "orders", now: NOW, primary: "iad", sites: [iad, pdx], replicationCredentials: true, cloneId: "clone-1", ...over };
}

const running = (phase: BootstrapStatus["phase"], extra: Partial<BootstrapStatus> = {}): BootstrapStatus => ({
  site: "pdx", source: "reclone", phase, donor: "iad", cloneId: "clone-1", request: "pdx", startTime: NOW, phaseTime: NOW, ...extra,
});

describe("cloneStep: starting", () => {
  it("starts a cold reclone of a healthy replica by its bare name, recording it first", () => {
    const d = cloneStep(input({ request: "pdx" }));
    expect(d).toMatchObject({ kind: "start", record: { site: "pdx", source: "reclone", phase: "Cloning", donor: "iad", cloneId: "clone-1", request: "pdx" } });
  });

  it.each([
    ["iad", "ActivePrimary"],
    ["lax", "UnknownSite"],
    ["pdx:", "InvalidAnnotation"],
  ])("rejects %s (%s)", (request, code) => {
    expect(cloneStep(input({ request }))).toMatchObject({ kind: "reject", code });
  });

  it("rejects a site or primary without an agent, and a group without replication credentials", () => {
    expect(cloneStep(input({ request: "pdx", sites: [iad, { ...pdx, agentUrl: undefined } as CloneSiteView] }))).toMatchObject({ kind: "reject", code: "NoAgent" });
    const { agentUrl: _a, ...bare } = iad;
    expect(cloneStep(input({ request: "pdx", sites: [bare, pdx] }))).toMatchObject({ kind: "reject", code: "NoAgent" });
    expect(cloneStep(input({ request: "pdx", replicationCredentials: false }))).toMatchObject({ kind: "reject", code: "NoReplicationCredentials" });
  });

  it("waits without a confirmed primary, or while the recipient is silent or writable", () => {
    expect(cloneStep(input({ request: "pdx", primary: "" }))).toMatchObject({ kind: "wait" });
    const { polled: _p, ...silent } = pdx;
    expect(cloneStep(input({ request: "pdx", sites: [iad, silent] }))).toMatchObject({ kind: "wait" });
    expect(cloneStep(input({ request: "pdx", sites: [iad, { ...pdx, polled: { ...pdx.polled!, readOnly: false } }] }))).toMatchObject({ kind: "wait" });
  });

  it("auto-clones an empty read-only site beside a primary with data, and retries a failed one only after the pause", () => {
    const empty: CloneSiteView = { ...pdx, polled: { readOnly: true, position: at("mariadb", ""), replicationRunning: false } };
    expect(cloneStep(input({ sites: [iad, empty] }))).toMatchObject({ kind: "start", record: { site: "pdx", source: "auto-clone" } });
    const failed = running("Failed", { source: "auto-clone", completionTime: NOW });
    expect(cloneStep(input({ sites: [iad, empty], record: failed }))).toEqual({ kind: "none" });
    const later = new Date(Date.parse(NOW) + AUTO_CLONE_RETRY_MS).toISOString();
    expect(cloneStep(input({ sites: [iad, empty], record: failed, now: later }))).toMatchObject({ kind: "start" });
    // Nothing to copy from an empty primary, and nothing automatic without an agent.
    expect(cloneStep(input({ sites: [{ ...iad, polled: { ...iad.polled!, position: at("mariadb", "") } }, empty] }))).toEqual({ kind: "none" });
    expect(cloneStep(input({ sites: [iad, { ...empty, agentUrl: undefined } as CloneSiteView] }))).toEqual({ kind: "none" });
  });

  it("while one clone runs, the other empty sites wait for theirs (candidates first); a failed one waits for its retry; none wait without a donor", () => {
    const empty = (name: string, role: CloneSiteView["role"]): CloneSiteView => ({ ...pdx, name, role, polled: { readOnly: true, position: at("mariadb", ""), replicationRunning: false } });
    const sites = [iad, empty("pdx", "primary-candidate"), empty("sfo", "read-only"), empty("ord", "primary-candidate")];
    expect(awaitingClone(input({ sites, record: running("Cloning") }))).toEqual(["ord", "sfo"]);
    // The recipient's restart unconfirms the primary for a while: they still wait.
    expect(awaitingClone(input({ sites, record: running("WaitingForRestart"), primary: "" }))).toEqual(["ord", "sfo"]);
    // None runs: auto-clone starts the first this cycle, or the failed one waits for its retry.
    expect(awaitingClone(input({ sites, record: running("Failed", { source: "auto-clone", completionTime: NOW }) }))).toEqual(["pdx", "ord", "sfo"]);
    expect(cloneStep(input({ sites, record: running("Failed", { site: "pdx", source: "auto-clone", completionTime: NOW }) }))).toMatchObject({ kind: "start", record: { site: "ord" } });
    // Nothing to copy from: the decision core may repoint them.
    expect(awaitingClone(input({ sites, primary: "" }))).toEqual([]);
    expect(awaitingClone(input({ sites, replicationCredentials: false }))).toEqual([]);
    expect(awaitingClone(input({ sites: sites.map((s) => (s.name === "iad" ? { ...iad, polled: { ...iad.polled!, position: at("mariadb", "") } } : s)) }))).toEqual([]);
  });
});

describe("cloneStep: the sites a restore in place left", () => {
  it("clones them from the restored primary whatever they hold, before empty sites, and keeps the decision core off them meanwhile", () => {
    const ahead: CloneSiteView = { ...pdx, polled: { readOnly: true, position: at("mariadb", "0-1-180"), replicatingFrom: "iad", replicationRunning: false } };
    const sfo: CloneSiteView = { ...pdx, name: "sfo", polled: { readOnly: true, position: at("mariadb", ""), replicationRunning: false } };
    expect(cloneStep(input({ sites: [iad, ahead, sfo], mustClone: ["pdx"] }))).toMatchObject({ kind: "start", record: { site: "pdx", source: "restore-in-place", donor: "iad" } });
    expect(awaitingClone(input({ sites: [iad, ahead, sfo], mustClone: ["pdx"] }))).toEqual(["pdx", "sfo"]);
    // Not while it is writable, and a failed one waits for its retry like an auto-clone.
    expect(cloneStep(input({ sites: [iad, { ...ahead, polled: { ...ahead.polled!, readOnly: false } }], mustClone: ["pdx"] }))).toEqual({ kind: "none" });
    expect(cloneStep(input({ sites: [iad, ahead], mustClone: ["pdx"], record: running("Failed", { source: "restore-in-place", completionTime: NOW }) }))).toEqual({ kind: "none" });
    // Without the restore's list, a site that holds more than the primary is not the clone's to take.
    expect(cloneStep(input({ sites: [iad, ahead] }))).toEqual({ kind: "none" });
  });
});

describe("cloneStep: following", () => {
  const job = (phase: "Cloning" | "Preparing" | "WaitingForRestart" | "Ready" | "Failed", extra = {}) => ({
    ok: true as const,
    job: { id: "clone-1", donor: { site: "iad", url: "http://iad:8080" }, phase, startedAt: NOW, bytes: 5_000_000, ...extra },
  });

  it("follows the agent's phases onto the record, and sends the job again to an agent that lost it", () => {
    expect(cloneStep(input({ record: running("Cloning"), job: job("Preparing") }))).toMatchObject({ kind: "progress", record: { phase: "Cloning", bytes: 5_000_000 } });
    expect(cloneStep(input({ record: running("Cloning"), job: job("WaitingForRestart", { gtid: "0-1-100" }) }))).toMatchObject({ kind: "progress", record: { phase: "WaitingForRestart", gtid: "0-1-100" } });
    expect(cloneStep(input({ record: running("WaitingForRestart"), job: job("Ready", { gtid: "0-1-100" }) }))).toMatchObject({ kind: "progress", record: { phase: "SetupReplication" } });
    expect(cloneStep(input({ record: running("Cloning"), job: { ok: true, job: null } }))).toMatchObject({ kind: "send" });
    expect(cloneStep(input({ record: running("Cloning"), job: { ok: false, error: "refused" } }))).toMatchObject({ kind: "progress", record: { phase: "Cloning" } });
  });

  it("ends Failed with what to do when the agent's job failed", () => {
    const d = cloneStep(input({ record: running("Cloning"), job: job("Failed", { error: "mbstream failed" }) }));
    expect(d).toMatchObject({ kind: "finish", record: { phase: "Failed", completionTime: NOW } });
    expect(d.kind === "finish" ? d.record.message : "").toContain("kubectl bloodraven reclone orders pdx");
  });

  it("waits for a silent recipient agent, and ends Failed once it has been silent for AGENT_SILENCE_MS", () => {
    const silent = (ms: number) => cloneStep(input({ record: running("WaitingForRestart"), job: { ok: false, error: "connect ECONNREFUSED" }, agentSilentMs: ms }));
    expect(silent(AGENT_SILENCE_MS - 1)).toMatchObject({ kind: "progress", record: { phase: "WaitingForRestart" } });
    const d = silent(AGENT_SILENCE_MS);
    expect(d).toMatchObject({ kind: "finish", record: { phase: "Failed", completionTime: NOW } });
    expect(d.kind === "finish" ? d.record.message : "").toMatch(/pdx's agent has not answered for 5 minutes \(connect ECONNREFUSED\).*stays fenced.*kubectl bloodraven reclone orders pdx/);
    // An answer, even one about another job, is no silence.
    expect(cloneStep(input({ record: running("Cloning"), job: { ok: true, job: null }, agentSilentMs: 0 }))).toMatchObject({ kind: "send" });
  });

  it("sets up replication only onto a primary that holds the copy, and is done once it runs", () => {
    const copy: CloneSiteView = { ...pdx, polled: { readOnly: true, position: at("mariadb", "0-1-90"), replicationRunning: false } };
    expect(cloneStep(input({ record: running("SetupReplication"), sites: [iad, copy] }))).toMatchObject({ kind: "repoint", source: "iad" });
    const ahead: CloneSiteView = { ...copy, polled: { ...copy.polled!, position: at("mariadb", "0-1-120") } };
    expect(cloneStep(input({ record: running("SetupReplication"), sites: [iad, ahead] }))).toMatchObject({ kind: "finish", record: { phase: "Failed" } });
    expect(cloneStep(input({ record: running("SetupReplication") }))).toMatchObject({ kind: "finish", record: { phase: "Done" } });
  });
});
