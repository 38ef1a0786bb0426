import type { BootstrapStatus } from "../../shared/api/index.js";
import { errorText } from "../../shared/errors.js";
import { decisionSites } from "../../shared/failover/decision-input.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { AGENT_TOKEN_KEY } from "../../shared/managed/objects.js";
import { agentUrls, managedNames } from "../../shared/managed/sites.js";
import { ANNOTATIONS, EVENT_REASONS } from "../../shared/names.js";
import { awaitingClone, cloneInFlight, cloneStep, refusedByAgent, type CloneCycleInput, type CloneSiteView } from "../../shared/reclone/step.js";
import type { ServerObservation } from "../../shared/topology/site-observation.js";
import type { GroupContext } from "./context.js";
import { DONE, requeue, type GroupCycle, type ReconcileResult, type Reconciler } from "./reconciler.js";

/** A running clone is followed this often (the agent answers from memory). */
const FOLLOW_MS = 2_000;
/** Bytes received alone are written to status at most this often. */
const BYTES_WRITE_MS = 10_000;
const REPOINT_DEADLINE_MS = 15_000;

/**
 * Clones of a site (shared/reclone/step.ts): starts one for a valid reclone-site annotation or an
 * empty site, records every step in status.bootstrap before it runs, drives the recipient's
 * agent, sets up replication once the server runs on the copy, and ends with the annotation
 * removed and the outcome recorded. Runs before the decision core, whose primary it does not
 * need: it copies only from the recorded primary seen writable and alone in this cycle's polls.
 */
export class CloneReconciler implements Reconciler {
  readonly name = "clone";
  private lastWait = "";
  private bytesWrittenAt = 0;
  /** Since when the recipient's agent has not answered about which clone (in memory: a restart starts the count again). */
  private silence: { cloneId: string; since: number } | undefined;

  constructor(private readonly ctx: GroupContext) {}

  async reconcile(cycle: GroupCycle): Promise<ReconcileResult> {
    const { ctx } = this;
    const observations = cycle.observations;
    if (!observations) return DONE;
    const written = ctx.store.written ?? ctx.group.status;
    const record = written?.bootstrap;
    const request = ctx.annotations[ANNOTATIONS.recloneSite];
    const running = cloneInFlight(record) !== undefined;
    const token = await ctx.agentToken();
    if (token === undefined) {
      const reason = `the group has no agent token (Secret ${ctx.namespace}/${managedNames.agentToken(ctx.name)}, key ${AGENT_TOKEN_KEY}) and this operator none of its own (BLOODRAVEN_AGENT_TOKEN), so no agent can be asked to clone; see docs/agent.md`;
      if (request !== undefined) await this.reject(request, "", "CloneOff", reason);
      return DONE;
    }
    const clones = ctx.deps.clones;
    // A switchover changes the primary under a clone's feet; maintenance pauses what is automatic.
    if (!running && (cycle.holdEmergency || (request === undefined && cycle.maintenance?.state.active))) return DONE;

    const urls = agentUrls(ctx.spec, ctx.name, ctx.namespace, ctx.deps.sidecar !== undefined);
    const recipientUrl = record ? urls.get(record.site) : undefined;
    const job = running && record && record.phase !== "SetupReplication" ? (recipientUrl ? await clones.job(recipientUrl, token) : undefined) : undefined;
    const agentSilentMs = running && record && record.phase !== "SetupReplication" ? this.silentFor(record.cloneId, job?.ok === true) : 0;
    const input: CloneCycleInput = {
      group: ctx.name,
      now: cycle.now,
      ...(record ? { record } : {}),
      ...(request !== undefined ? { request } : {}),
      primary: this.confirmedPrimary(observations, written?.lastKnownPrimary || written?.activeSite || ""),
      sites: this.sites(observations, urls),
      replicationCredentials: ctx.credentials?.replication !== undefined,
      ...(job ? { job: job.ok ? { ok: true, job: job.value } : { ok: false, error: job.error } } : {}),
      agentSilentMs,
      cloneId: `clone-${Date.now().toString(36)}`,
      ...(cycle.restoreReclones?.length ? { mustClone: cycle.restoreReclones } : {}),
    };
    const decision = cloneStep(input);
    // A clone started now counts already: the decision core runs later in this same cycle.
    cycle.cloneQueue = awaitingClone(decision.kind === "start" ? { ...input, record: decision.record } : input);

    if (decision.kind !== "wait") this.lastWait = "";
    switch (decision.kind) {
      case "none":
        return DONE;
      case "wait":
        if (decision.reason !== this.lastWait) ctx.log.info(LOG_MESSAGES.cloneWaiting, { reason: decision.reason });
        this.lastWait = decision.reason;
        return DONE;
      case "reject":
        await this.reject(decision.request, decision.site, decision.code, decision.reason);
        return DONE;
      case "start":
        await this.start(decision.record, token);
        return requeue(FOLLOW_MS);
      case "send":
        await this.record(decision.record);
        await this.send(decision.record, token);
        return requeue(FOLLOW_MS);
      case "progress":
        await this.record(decision.record);
        return requeue(FOLLOW_MS);
      case "repoint":
        await this.record(decision.record);
        await this.repoint(decision.record, decision.source);
        return requeue(FOLLOW_MS);
      case "finish":
        await this.finish(decision.record, request);
        return DONE;
    }
  }

  private silentFor(cloneId: string, answered: boolean): number {
    if (answered) {
      this.silence = undefined;
      return 0;
    }
    if (this.silence?.cloneId !== cloneId) this.silence = { cloneId, since: Date.now() };
    return Date.now() - this.silence.since;
  }

  /** The recorded primary, when this cycle's polls show it writable and every other site read-only. */
  private confirmedPrimary(observations: ReadonlyMap<string, ServerObservation | undefined>, recorded: string): string {
    if (recorded === "" || observations.get(recorded)?.readOnly !== false || this.ctx.states().get(recorded) !== "writable") return "";
    for (const [site, o] of observations) if (site !== recorded && o?.readOnly !== true) return "";
    return recorded;
  }

  private sites(observations: ReadonlyMap<string, ServerObservation | undefined>, urls: ReadonlyMap<string, string>): CloneSiteView[] {
    const { ctx } = this;
    const divergent = new Map((ctx.store.written?.sites ?? []).map((s) => [s.name, s.divergentGtid]));
    return decisionSites({ spec: ctx.spec, states: ctx.states(), observations, addresses: ctx.addresses() }).map((d) => {
      const o = observations.get(d.name);
      const url = urls.get(d.name);
      const gtid = divergent.get(d.name);
      return {
        name: d.name,
        role: d.role,
        ...(url ? { agentUrl: url } : {}),
        ...(gtid ? { divergentGtid: gtid } : {}),
        ...(o && d.position
          ? { polled: { readOnly: o.readOnly, position: d.position, ...(d.replicatingFrom ? { replicatingFrom: d.replicatingFrom } : {}), replicationRunning: o.replica?.ioRunning === true && o.replica.sqlRunning } }
          : {}),
      };
    });
  }

  private async reject(request: string, site: string, code: string, reason: string): Promise<void> {
    const { ctx } = this;
    ctx.log.warn(LOG_MESSAGES.recloneRejected, { request, code, reason });
    ctx.recordEvent({ type: "Warning", reason: EVENT_REASONS.recloneRejected, message: `${code}: ${reason}. The annotation was removed; nothing was cloned.` });
    if (site !== "" && ctx.spec.sites.some((s) => s.name === site)) ctx.deps.metrics.recordReclone(ctx.namespace, ctx.name, site, "rejected");
    await this.removeAnnotation(request);
  }

  /** Removes the reclone-site annotation if it still holds `value` (a newer request is left alone). */
  private async removeAnnotation(value: string | undefined): Promise<void> {
    const { ctx } = this;
    if (value === undefined || ctx.annotations[ANNOTATIONS.recloneSite] !== value) return;
    try {
      await ctx.deps.patchAnnotations(ctx.namespace, ctx.name, { [ANNOTATIONS.recloneSite]: null }, ctx.group.metadata.resourceVersion);
    } catch (err) {
      // A changed object (409) is read again and decided again next cycle.
      ctx.log.warn(LOG_MESSAGES.statusPatchFailed, { error: `removing ${ANNOTATIONS.recloneSite}: ${errorText(err)}` });
    }
  }

  private async start(record: BootstrapStatus, token: string): Promise<void> {
    const { ctx } = this;
    await ctx.store.persistBootstrap(record);
    ctx.log.info(LOG_MESSAGES.cloneStarting, { site: record.site, source: record.source, donor: record.donor, cloneId: record.cloneId });
    if (record.source === "reclone") {
      ctx.recordEvent({ type: "Normal", reason: EVENT_REASONS.recloneRequested, message: `reclone of ${record.site} from ${record.donor} started (${record.request ?? ""}); progress in the Bootstrapping condition` });
    }
    await this.send(record, token);
  }

  private async send(record: BootstrapStatus, token: string): Promise<void> {
    const { ctx } = this;
    const urls = agentUrls(ctx.spec, ctx.name, ctx.namespace, ctx.deps.sidecar !== undefined);
    const recipient = urls.get(record.site);
    const donor = urls.get(record.donor);
    if (!recipient || !donor) return;
    // The donor's server address is what MySQL's recipient clones from (CLONE INSTANCE).
    const sent = await ctx.deps.clones.send(recipient, token, { id: record.cloneId, donor: { site: record.donor, url: donor, mysql: ctx.address(record.donor) } });
    if (sent.ok) return;
    ctx.log.warn(LOG_MESSAGES.cloneSendFailed, { site: record.site, error: sent.error });
    // Refused for good: a wrong token, or clone switched off on that agent.
    if (sent.status === 401 || sent.status === 403) {
      await this.finish(refusedByAgent(record, sent.error, new Date().toISOString()), ctx.annotations[ANNOTATIONS.recloneSite]);
    }
  }

  private async repoint(record: BootstrapStatus, source: string): Promise<void> {
    const { ctx } = this;
    try {
      await ctx.withSite(record.site, "clone repoint", (s) => s.flavor.repoint(s, ctx.replicationSource(source), { formerPrimary: false, heartbeatSeconds: 1 }), REPOINT_DEADLINE_MS);
      ctx.log.info(LOG_MESSAGES.cloneRepointed, { site: record.site, source });
    } catch (err) {
      ctx.log.warn(LOG_MESSAGES.cloneWaiting, { reason: `repointing ${record.site} onto ${source} failed, retried next cycle: ${errorText(err)}` });
    }
  }

  /** Writes the record when its phase or message changed, or its byte count after BYTES_WRITE_MS. */
  private async record(record: BootstrapStatus): Promise<void> {
    const { ctx } = this;
    const before = ctx.store.written?.bootstrap;
    const moved = before?.phase !== record.phase || before.message !== record.message || before.gtid !== record.gtid;
    if (!moved && (before?.bytes === record.bytes || Date.now() - this.bytesWrittenAt < BYTES_WRITE_MS)) return;
    await ctx.store.persistBootstrap(record);
    this.bytesWrittenAt = Date.now();
    if (before?.phase !== record.phase) ctx.log.info(LOG_MESSAGES.clonePhase, { site: record.site, phase: record.phase, message: record.message });
  }

  /**
   * The attempt ended. The annotation goes first: an operator that stops before recording the
   * end still finds the clone running in status, follows it again and ends it again.
   */
  private async finish(record: BootstrapStatus, request: string | undefined): Promise<void> {
    const { ctx } = this;
    if (record.request !== undefined && request === record.request) await this.removeAnnotation(request);
    const done = record.phase === "Done";
    if (done && ctx.store.recoveryOf(record.site)) await ctx.store.persistRecovery(record.site, undefined);
    await ctx.store.persistBootstrap(record);
    ctx.deps.metrics.recordReclone(ctx.namespace, ctx.name, record.site, done ? "success" : "failed");
    if (done) {
      ctx.log.info(LOG_MESSAGES.cloneCompleted, { site: record.site, source: record.source, donor: record.donor, bytes: record.bytes });
      ctx.recordEvent({ type: "Normal", reason: EVENT_REASONS.cloneCompleted, message: record.message ?? `${record.site} cloned` });
    } else {
      ctx.log.error(LOG_MESSAGES.cloneAttemptFailed, { site: record.site, source: record.source, error: record.message });
      ctx.recordEvent({ type: "Warning", reason: EVENT_REASONS.cloneFailed, message: record.message ?? `${record.site}: clone failed` });
    }
  }
}
