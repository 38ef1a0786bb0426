/**
 * The clone of a site, one cycle at a time: whether a reclone request or an empty site starts
 * one, and how a running one moves through its phases. Pure; the operator's clone reconciler
 * (operator/group/clone.ts) runs what this decides.
 *
 * A clone is recorded in status.bootstrap before anything is asked of an agent, and from then on
 * the record drives it, not the annotation: an operator that restarts follows the same job on the
 * recipient's agent (same cloneId), and an agent that lost its job (it restarted) is sent it
 * again. The annotation is removed when the attempt ends, Done or Failed.
 *
 * Phases: Cloning (the recipient's agent receives and prepares the copy) -> WaitingForRestart
 * (its server restarts on the copy) -> SetupReplication (the operator points it at the primary,
 * once the primary holds everything the copy has) -> Done, or Failed at any step.
 *
 * The donor is the confirmed active primary. The recipient is never the active primary, never a
 * writable server, and never a site without an agent. While a clone runs, the decision core
 * leaves the recipient alone (no repoint, no promotion: DurableRecord.cloning).
 */
import type { CloneJob } from "../agent/clone.js";
import { parseRecloneSite, validateRecloneRequest } from "../annotations.js";
import type { BootstrapStatus } from "../api/index.js";
import { contains, type ServerPosition } from "../failover/gtid-compare.js";
import type { BootstrapPhase, BootstrapSource, SiteRole } from "../names.js";

const ACTIVE: readonly BootstrapPhase[] = ["Cloning", "WaitingForRestart", "SetupReplication"];

/**
 * A recipient agent silent this long ends the attempt: the site stays as the agent left it
 * (fenced), and waiting on forever would hold the annotation and the site's repointing hostage.
 * Longer than anything the agent does without answering (it answers from memory while it works).
 */
export const AGENT_SILENCE_MS = 300_000;

/** An empty site whose auto-clone failed is tried again after this long. */
export const AUTO_CLONE_RETRY_MS = 300_000;

/** The site a clone is running on, if one is. */
export function cloneInFlight(record: BootstrapStatus | undefined): string | undefined {
  return record && ACTIVE.includes(record.phase) ? record.site : undefined;
}

export interface CloneSiteView {
  name: string;
  role: SiteRole;
  /** Its agent's base URL; undefined when it runs none. */
  agentUrl?: string;
  /** This cycle's poll; undefined when it failed. */
  polled?: { readOnly: boolean; position: ServerPosition; replicatingFrom?: string; replicationRunning: boolean };
  /** status.sites[].divergentGtid */
  divergentGtid?: string;
}

export interface CloneCycleInput {
  group: string;
  now: string;
  record?: BootstrapStatus;
  /** The reclone-site annotation's value, if set. */
  request?: string;
  /** The confirmed active primary: the site the group stands behind, seen writable and alone; "" when none. */
  primary: string;
  /** In spec order. */
  sites: readonly CloneSiteView[];
  replicationCredentials: boolean;
  /** The recipient agent's answer about the running clone: undefined when not asked. */
  job?: { ok: true; job: CloneJob | null } | { ok: false; error: string };
  /** How long the recipient's agent has not answered about this clone (0 when it just did). */
  agentSilentMs?: number;
  /** The id a clone started this cycle gets. */
  cloneId: string;
  /** Sites a restore in place left to reclone from the primary (shared/backup/restore-in-place.ts): copied like empty sites, whatever they hold. */
  mustClone?: readonly string[];
}

export type CloneDecision =
  | { kind: "none" }
  /** A request that cannot run: RecloneRejected, and the annotation is removed. */
  | { kind: "reject"; request: string; site: string; code: string; reason: string }
  /** A request that may run later (no primary yet, the recipient not answering): kept. */
  | { kind: "wait"; reason: string }
  /** Record, then send the job to the recipient's agent. */
  | { kind: "start"; record: BootstrapStatus }
  /** The agent does not know the recorded job (it restarted): send it again. */
  | { kind: "send"; record: BootstrapStatus }
  /** Record where the clone stands (nothing else to do this cycle). */
  | { kind: "progress"; record: BootstrapStatus }
  /** Point the recipient at the primary (CHANGE SOURCE ... auto-position, START). */
  | { kind: "repoint"; record: BootstrapStatus; source: string }
  /** The attempt ended: remove its annotation, then record it. */
  | { kind: "finish"; record: BootstrapStatus };

const MIB = 1024 * 1024;
const STAYS_FENCED = "The site stays fenced, on its previous data unless the swap happened; the active primary was not touched.";

function phase(record: BootstrapStatus, next: BootstrapPhase, now: string, message: string, extra: Partial<BootstrapStatus> = {}): BootstrapStatus {
  return { ...record, ...extra, phase: next, message, phaseTime: record.phase === next ? (record.phaseTime ?? now) : now };
}

function finished(record: BootstrapStatus, result: "Done" | "Failed", now: string, message: string): CloneDecision {
  return { kind: "finish", record: { ...phase(record, result, now, message), completionTime: now } };
}

/** The end of an attempt whose recipient agent refused the job for good (a wrong token, clone off). */
export function refusedByAgent(record: BootstrapStatus, error: string, now: string): BootstrapStatus {
  return {
    ...phase(record, "Failed", now, `${source(record)} failed: its agent refused the clone (${error}); give it --datadir and the group's agent token (docs/agent.md), then request it again`),
    completionTime: now,
  };
}

export function cloneStep(input: CloneCycleInput): CloneDecision {
  const { record } = input;
  if (record && cloneInFlight(record)) return follow(input, record);
  if (input.request !== undefined) return startReclone(input, input.request);
  return autoClone(input);
}

/** What to do about a running clone. */
function follow(input: CloneCycleInput, record: BootstrapStatus): CloneDecision {
  const { now } = input;
  const recipient = input.sites.find((s) => s.name === record.site);
  if (!recipient) return finished(record, "Failed", now, `${record.site} left spec.sites during the clone`);
  if (record.phase === "SetupReplication") return setupReplication(input, record, recipient);

  const answer = input.job;
  if (answer === undefined || !answer.ok) {
    const why = answer === undefined ? "no agent to ask" : answer.error;
    if ((input.agentSilentMs ?? 0) >= AGENT_SILENCE_MS) {
      return finished(
        record,
        "Failed",
        now,
        `${source(record)} failed: ${record.site}'s agent has not answered for ${Math.round(AGENT_SILENCE_MS / 60_000)} minutes (${why}). ${STAYS_FENCED} Bring the agent back (docs/agent.md), then request it again (kubectl bloodraven reclone ${input.group} ${record.site})`,
      );
    }
    return { kind: "progress", record: phase(record, record.phase, now, `${source(record)}: waiting for ${record.site}'s agent to answer (${why})`) };
  }
  const job = answer.job;
  if (job === null || job.id !== record.cloneId) {
    if (job && job.phase !== "Ready" && job.phase !== "Failed") {
      return { kind: "progress", record: phase(record, record.phase, now, `${source(record)}: ${record.site}'s agent is busy with clone ${job.id}; waiting`) };
    }
    // The agent does not know this job (it restarted, or the operator stopped before sending it).
    return { kind: "send", record: phase(record, "Cloning", now, `${source(record)}: sending the clone to ${record.site}'s agent`) };
  }
  switch (job.phase) {
    case "Cloning":
      return { kind: "progress", record: phase(record, "Cloning", now, `${source(record)}: receiving the copy from ${record.donor}`, { bytes: job.bytes }) };
    case "Preparing":
      return { kind: "progress", record: phase(record, "Cloning", now, `${source(record)}: preparing the copy (${Math.round(job.bytes / MIB)} MiB received)`, { bytes: job.bytes }) };
    case "WaitingForRestart":
      return {
        kind: "progress",
        record: phase(record, "WaitingForRestart", now, `${source(record)}: ${record.site}'s server restarts on the copy`, { bytes: job.bytes, ...(job.gtid ? { gtid: job.gtid } : {}) }),
      };
    case "Ready":
      return {
        kind: "progress",
        record: phase(record, "SetupReplication", now, `${source(record)}: ${record.site} runs on the copy; setting up replication`, { bytes: job.bytes, ...(job.gtid ? { gtid: job.gtid } : {}) }),
      };
    case "Failed":
      return finished(
        record,
        "Failed",
        now,
        `${source(record)} failed: ${job.error ?? "the agent gave no reason"}. ${STAYS_FENCED} Fix the cause, then request it again (kubectl bloodraven reclone ${input.group} ${record.site})`,
      );
  }
}

function setupReplication(input: CloneCycleInput, record: BootstrapStatus, recipient: CloneSiteView): CloneDecision {
  const { now, primary } = input;
  const wait = (why: string): CloneDecision => ({ kind: "progress", record: phase(record, "SetupReplication", now, `${source(record)}: ${why}`) });
  if (primary === "") return wait("waiting for a confirmed primary to replicate from");
  const p = input.sites.find((s) => s.name === primary)?.polled;
  const r = recipient.polled;
  if (!p || !r) return wait(`waiting for ${r ? primary : record.site} to answer`);
  if (r.replicatingFrom === primary) {
    if (r.replicationRunning) return finished(record, "Done", now, `${source(record)} done: ${record.site} replicates from ${primary}`);
    return wait(`${record.site} connects to ${primary}`);
  }
  let held: boolean;
  try {
    held = contains(p.position, r.position);
  } catch {
    return wait(`cannot compare the positions of ${primary} and ${record.site} yet`);
  }
  if (!held) {
    return finished(
      record,
      "Failed",
      now,
      `${source(record)} failed: the copy holds transactions ${primary} lacks (the primary changed during the clone); request the reclone again (kubectl bloodraven reclone ${input.group} ${record.site})`,
    );
  }
  return { kind: "repoint", record: phase(record, "SetupReplication", now, `${source(record)}: pointing ${record.site} at ${primary}`), source: primary };
}

function source(record: BootstrapStatus): string {
  return `${record.source} of ${record.site} from ${record.donor}`;
}

/** The reclone-site annotation: rejected, kept waiting, or started. */
function startReclone(input: CloneCycleInput, request: string): CloneDecision {
  const parsed = parseRecloneSite(request);
  if (!parsed.ok) return { kind: "reject", request, site: "", code: "InvalidAnnotation", reason: `reclone-site=${JSON.stringify(request)}: ${parsed.error}` };
  const { site } = parsed.value;
  const reject = (code: string, reason: string): CloneDecision => ({ kind: "reject", request, site, code, reason });
  const verdict = validateRecloneRequest(parsed.value, {
    group: input.group,
    activeSite: input.primary,
    sites: input.sites.map((s) => (s.divergentGtid ? { name: s.name, divergentGtid: s.divergentGtid } : { name: s.name })),
  });
  if (!verdict.accept) return reject(verdict.code, verdict.reason);
  const recipient = input.sites.find((s) => s.name === site);
  if (!recipient?.agentUrl) return reject("NoAgent", `${site} runs no agent (spec.sites[].agentUrl, or the managed sites' sidecar): nothing can replace its data; see docs/agent.md`);
  if (!input.replicationCredentials) return reject("NoReplicationCredentials", `the replication account's Secret cannot be read: a clone would leave ${site} unable to replicate`);
  if (input.primary === "") return { kind: "wait", reason: `reclone of ${site} waits for a confirmed active primary to copy from` };
  const donor = input.sites.find((s) => s.name === input.primary);
  if (!donor?.agentUrl) return reject("NoAgent", `the active primary ${input.primary} runs no agent to stream the copy from; see docs/agent.md`);
  if (!recipient.polled) return { kind: "wait", reason: `reclone of ${site} waits for its server to answer (the agent clones only over a server it has checked is read-only)` };
  if (!recipient.polled.readOnly) return { kind: "wait", reason: `reclone of ${site} waits: its server is writable and must be fenced first` };
  return { kind: "start", record: newRecord(input, site, "reclone", request) };
}

function newRecord(input: CloneCycleInput, site: string, src: BootstrapSource, request?: string): BootstrapStatus {
  return {
    site,
    source: src,
    phase: "Cloning",
    donor: input.primary,
    cloneId: input.cloneId,
    ...(request !== undefined ? { request } : {}),
    message: `${src} of ${site} from ${input.primary}: sending the clone to ${site}'s agent`,
    startTime: input.now,
    phaseTime: input.now,
    bytes: 0,
  };
}

/**
 * An empty site (a new one, a lost volume) beside a primary that has data: cloned without being
 * asked, candidates first, one at a time; replaying the primary's whole history instead may be
 * impossible (purged binary logs) and is slower. Only between sites with agents; a site whose
 * auto-clone failed is tried again after AUTO_CLONE_RETRY_MS.
 */
function autoClone(input: CloneCycleInput): CloneDecision {
  const donor = autoCloneDonor(input);
  if (donor === undefined) return { kind: "none" };
  const { record } = input;
  const retryAt = (site: string): number =>
    record?.site === site && record.phase === "Failed" && record.source !== "reclone" ? Date.parse(record.completionTime ?? record.startTime) + AUTO_CLONE_RETRY_MS : -Infinity;
  const restored = restoreSites(input, donor);
  const site = [...restored, ...emptySites(input, donor)].find((s) => retryAt(s) <= Date.parse(input.now));
  if (site === undefined) return { kind: "none" };
  return { kind: "start", record: newRecord(input, site, restored.includes(site) ? "restore-in-place" : "auto-clone") };
}

/** The sites a restore in place left to reclone, that can be now: an agent, seen read-only. */
function restoreSites(input: CloneCycleInput, donor: string): string[] {
  const must = new Set(input.mustClone);
  return input.sites.filter((s) => must.has(s.name) && s.name !== donor && s.agentUrl && s.polled?.readOnly === true).map((s) => s.name);
}

/** The confirmed primary, when auto-clone can copy it: it runs an agent and has data. */
function autoCloneDonor(input: CloneCycleInput): string | undefined {
  const donor = input.sites.find((s) => s.name === input.primary);
  return input.replicationCredentials && donor?.agentUrl && donor.polled && donor.polled.position.gtidExecuted !== "" ? donor.name : undefined;
}

/**
 * The empty sites that wait for their clone: those queued behind a running clone, and one whose
 * auto-clone failed until it is tried again. The decision core leaves them alone
 * (DecisionInput.awaitingClone), so that each gets a copy rather than replaying the primary's
 * history. Judged against the running clone's donor, not this cycle's confirmed primary: the
 * recipient's restart alone unconfirms the primary for a while.
 */
export function awaitingClone(input: CloneCycleInput): string[] {
  const running = cloneInFlight(input.record);
  const donor = running !== undefined ? input.record?.donor : autoCloneDonor(input);
  if (donor === undefined || !input.replicationCredentials) return [];
  return [...new Set([...restoreSites(input, donor), ...emptySites(input, donor)])].filter((s) => s !== running);
}

/** The sites auto-clone would copy `donor` onto, in the order it would. */
function emptySites(input: CloneCycleInput, donor: string): string[] {
  const order = (role: SiteRole): number => ({ "primary-candidate": 0, "dr-only": 1, "read-only": 2 })[role];
  return input.sites
    .filter((s) => s.name !== donor && s.agentUrl && s.polled?.readOnly === true && s.polled.position.gtidExecuted === "" && !(s.polled.replicatingFrom === donor && s.polled.replicationRunning))
    .sort((a, b) => order(a.role) - order(b.role))
    .map((s) => s.name);
}
