import { parseDuration } from "../../shared/duration.js";
import { errorText } from "../../shared/errors.js";
import { decide } from "../../shared/failover/decide.js";
import { decisionSites, durableRecord } from "../../shared/failover/decision-input.js";
import { annotatedIntent, annotatedRecord, newerRecord } from "../../shared/failover/record.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { ANNOTATIONS, EVENT_REASONS } from "../../shared/names.js";
import type { ServerObservation } from "../../shared/topology/site-observation.js";
import { FailoverExecutor } from "../failover/executor.js";
import type { GroupContext } from "./context.js";
import type { ObserveReconciler } from "./observe.js";
import { selfFenceEvidence } from "./self-fence.js";
import { DONE, requeue, type GroupCycle, type ReconcileResult, type Reconciler } from "./reconciler.js";

/** Actions that leave the primary as it is: the primary can be announced before they run. */
const CONVERGING: ReadonlySet<string> = new Set(["repoint", "recordDivergence", "clearRecovery"]);

/**
 * The emergency and topology core: runs the decision core (shared/failover/decide.ts) once per
 * settled cycle and hands its actions to the executor; keeps the failover record and an open
 * promotion intent settled. Sets the cycle's primary, the site it promoted, and why a wanted
 * promotion did not happen.
 */
export class FailoverReconciler implements Reconciler {
  readonly name = "failover";
  private readonly executor: FailoverExecutor;
  private lastBlocked = "";
  /** Decision.ahead of the last cycle (an errant set is reported once two cycles in a row show it). */
  private ahead: Record<string, string> = {};

  constructor(
    private readonly ctx: GroupContext,
    private readonly observe: ObserveReconciler,
    /**
     * Publishes the primary as soon as it is known, before the work that does not change it
     * (repointing replicas, DNS, taints), so that clients of the status API are not kept waiting.
     */
    private readonly announce: (cycle: GroupCycle, primary: string) => void,
  ) {
    const { deps } = ctx;
    const metrics = (): [string, string] => [ctx.namespace, ctx.name];
    this.executor = new FailoverExecutor({
      log: ctx.log,
      withSite: (site, operation, fn, deadlineMs) => ctx.withSite(site, operation, fn, deadlineMs),
      replicationSource: (site) => ctx.replicationSource(site),
      get spareUsers() {
        return ctx.spareUsers();
      },
      persistFailover: (record) => ctx.store.persistFailover(record),
      persistIntent: (intent) => ctx.store.persistIntent(intent),
      pause: (point) => deps.pause(point),
      persistRecovery: (site, record) => ctx.store.persistRecovery(site, record),
      recoveryOf: (site) => ctx.store.recoveryOf(site),
      recordFailover: (site, seconds) => {
        deps.metrics.recordFailover(...metrics(), site, "emergency");
        deps.metrics.observeFailover(...metrics(), "writable", seconds.toWritable);
      },
      recordFailure: (reason) => deps.metrics.recordFailoverFailure(...metrics(), reason),
      recordLostTransactions: (site, count) => deps.metrics.recordLostTransactions(...metrics(), site, count),
      relayLogPolicy: () => ({
        applyTimeoutSeconds: parseDuration(ctx.spec.emergencyFailover.relayLogApplyTimeout) / 1000,
        allowReceivedTransactionLoss: ctx.spec.emergencyFailover.allowReceivedTransactionLoss,
      }),
      recordEvent: (event) => ctx.recordEvent(event),
      markWritable: (site) => ctx.markState(site, "writable"),
      markReadOnly: (site) => ctx.markState(site, "read-only"),
    });
  }

  async reconcile(cycle: GroupCycle): Promise<ReconcileResult> {
    const { ctx } = this;
    const store = ctx.store;
    await store.flushFailoverRecord();
    const observations = cycle.observations;
    if (cycle.holdEmergency || !cycle.topology?.settled || observations === undefined || cycle.observed === undefined) return DONE;
    const annotations = ctx.annotations;
    await this.settleIntent(observations).catch((err: unknown) => ctx.log.error(LOG_MESSAGES.statusPatchFailed, { record: "failover intent", error: errorText(err) }));
    if (!store.recordPending) {
      await store.repairRecordCopies(annotatedRecord(annotations)).catch((err: unknown) => ctx.log.error(LOG_MESSAGES.statusPatchFailed, { record: "failover copies", error: errorText(err) }));
    }
    // Built after the settling above: it may have written the record this decision needs.
    const status = { ...store.written, ...cycle.observed, sites: cycle.observed.sites };
    const record = durableRecord(status, this.openAnnotations());
    const selfFence = await selfFenceEvidence(ctx, record.activeSite);
    const decidedAt = Date.now();
    const decision = decide({
      now: new Date(decidedAt).toISOString(),
      settled: true,
      sites: decisionSites({ spec: ctx.spec, states: ctx.states(), observations, contacts: this.observe.contacts, addresses: ctx.addresses() }),
      record,
      aheadLastCycle: this.ahead,
      ...(selfFence ? { selfFence } : {}),
      // A site a restore in place left holds what the restore discarded: never repointed, only recloned.
      ...(cycle.cloneQueue?.length || cycle.restoreReclones?.length ? { awaitingClone: [...new Set([...(cycle.cloneQueue ?? []), ...(cycle.restoreReclones ?? [])])] } : {}),
      policy: {
        failoverCooldownMs: parseDuration(ctx.spec.failoverCooldown),
        sitePriorities: ctx.spec.splitBrainPolicy?.sitePriorities ?? [],
        automaticFailover: !cycle.maintenance?.state.active && cycle.failoverPaused === undefined,
        ...(cycle.failoverPaused !== undefined ? { pausedBy: cycle.failoverPaused } : {}),
      },
    });
    this.ahead = decision.ahead ?? {};
    const blocked = decision.blocked ? `${decision.blocked.reason}: ${decision.blocked.message}` : "";
    if (blocked !== this.lastBlocked) {
      if (decision.blocked && !this.lastBlocked.startsWith(`${decision.blocked.reason}:`)) ctx.deps.metrics.recordFailoverBlocked(ctx.namespace, ctx.name, decision.blocked.reason);
      this.lastBlocked = blocked;
      if (decision.blocked) {
        ctx.log.warn(LOG_MESSAGES.failoverBlocked, { reason: decision.blocked.reason, detail: decision.blocked.message });
        ctx.recordEvent({ type: "Warning", reason: EVENT_REASONS.failoverBlocked, message: decision.blocked.message });
      }
    }
    if (decision.primary && decision.actions.every((a) => CONVERGING.has(a.kind))) this.announce(cycle, decision.primary);
    // A repoint writes the replication account into a replica: read from the Secret now.
    if (decision.actions.some((a) => a.kind === "repoint")) await ctx.loadCredentials(true);
    const { promoted } = decision.actions.length > 0 ? await this.executor.run(decision.actions, decidedAt) : {};
    if (promoted) {
      this.announce(cycle, promoted);
      cycle.promoted = { site: promoted, decidedAt };
    }
    // The decision's primary, not the verdict's activeSite: the verdict may name a writable site
    // that is being fenced right now (an old primary back while the new one is down). After a
    // promotion the verdict still shows the old topology; the promoted site is the primary.
    const primary = promoted ?? decision.primary;
    if (primary) cycle.primary = primary;
    if (decision.blocked) cycle.blocked = decision.blocked;
    // Waiting out an unreachable primary's lease: decide again the moment it has run out.
    if (decision.blocked?.reason === "AwaitingSelfFence" && decision.blocked.retryAt) return requeue(Math.max(0, Date.parse(decision.blocked.retryAt) - Date.now()));
    return DONE;
  }

  /** The annotations without an intent the store has already closed (the informer's copy may lag behind our own write). */
  private openAnnotations(): Readonly<Record<string, string>> {
    const annotations = this.ctx.annotations;
    const intent = annotatedIntent(annotations);
    if (intent === undefined || !this.ctx.store.isClosed(intent)) return annotations;
    const { [ANNOTATIONS.failoverIntent]: _closed, ...rest } = annotations;
    return rest;
  }

  /**
   * Settles an open emergency-promotion intent (either copy) from this cycle's polls: its target
   * writable means the promotion happened, and the failover record is written from the intent
   * (after a crash, a lost API server or lost leadership in between); read-only means it did
   * not, and the intent goes. Unreachable: it stays open, and no other promotion starts.
   */
  private async settleIntent(observations: ReadonlyMap<string, ServerObservation | undefined>): Promise<void> {
    const { ctx } = this;
    const store = ctx.store;
    const full = store.written?.failoverIntent;
    const intent = newerRecord(full ? { target: full.target, at: full.startedAt } : undefined, annotatedIntent(ctx.annotations));
    if (intent === undefined || store.isClosed(intent)) return;
    const o = observations.get(intent.target);
    if (o === undefined) return;
    if (o.readOnly) {
      await store.dropIntent(intent);
      ctx.log.warn(LOG_MESSAGES.failoverIntentDropped, { site: intent.target, startedAt: intent.at });
      return;
    }
    const gtid = full?.target === intent.target ? full.gtidExecuted : undefined;
    await store.persistFailover({ lastFailover: intent.at, lastFailoverTarget: intent.target, promotionGtidExecuted: gtid ?? "" });
    if (store.recordPending) return;
    ctx.log.warn(LOG_MESSAGES.failoverIntentSettled, { site: intent.target, startedAt: intent.at, promotionGtidExecuted: gtid });
    ctx.recordEvent({
      type: "Normal",
      reason: EVENT_REASONS.failoverExecuted,
      message: `promoted ${intent.target} (started ${intent.at}); recorded after an interruption, from the intent written before the promotion`,
    });
  }
}
