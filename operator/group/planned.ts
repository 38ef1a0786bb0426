import type { MysqlFailoverGroup } from "../../shared/api/index.js";
import { parseDuration } from "../../shared/duration.js";
import { errorText } from "../../shared/errors.js";
import { decisionSites } from "../../shared/failover/decision-input.js";
import { annotatedRecord, newerRecord, statusRecord } from "../../shared/failover/record.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { cloneInFlight } from "../../shared/reclone/step.js";
import { ANNOTATIONS } from "../../shared/names.js";
import { PLANNED_HOLD_PHASES } from "../../shared/planned/phases.js";
import type { PlannedSite, SeenRequest } from "../../shared/planned/step.js";
import { PlannedExecutor, type PlannedStepResult } from "../planned/executor.js";
import type { GroupContext } from "./context.js";
import { DONE, requeue, type GroupCycle, type ReconcileResult, type Reconciler } from "./reconciler.js";

/** Steps taken at once after the first in one cycle: kill passes, the lag wait, the promotion. */
const CHAINED_STEPS_MAX = 4;

/** Opening the target's connection ahead of the fence; a failure only means the wait opens it. */
const CONNECT_DEADLINE_MS = 2_000;

const requestOf = (g: MysqlFailoverGroup): string => JSON.stringify([g.metadata.annotations?.[ANNOTATIONS.plannedFailover], g.metadata.annotations?.[ANNOTATIONS.plannedFailoverRequestId]]);

/**
 * The planned failover (switchover): one step of its state machine (shared/planned/step.ts) per
 * cycle, carried out by operator/planned/executor.ts. While it changes servers the emergency core
 * stays out; a step that moved the switchover on asks for the next cycle at once.
 */
export class PlannedReconciler implements Reconciler {
  readonly name = "planned";
  private readonly executor: PlannedExecutor;
  /** The cycle being reconciled, for `announce`. */
  private cycle: GroupCycle | undefined;

  constructor(
    private readonly ctx: GroupContext,
    /** Publishes a target this switchover just promoted (the status reconciler's announceOwn). */
    announce: (cycle: GroupCycle, primary: string) => void,
  ) {
    const { deps } = ctx;
    const metrics = (): [string, string] => [ctx.namespace, ctx.name];
    this.executor = new PlannedExecutor({
      log: ctx.log,
      withSite: (site, operation, fn, deadlineMs) => ctx.withSite(site, operation, fn, deadlineMs),
      get spareUsers() {
        return ctx.spareUsers();
      },
      persistBlock: (block, previous) => ctx.store.persistPlanned(block, previous),
      setRequestId: (requestId) => deps.patchAnnotations(ctx.namespace, ctx.name, { [ANNOTATIONS.plannedFailoverRequestId]: requestId }),
      clearRequest: (seen) => this.clearRequest(seen),
      persistFailover: (record) => ctx.store.persistFailover(record),
      recordEvent: (event) => ctx.recordEvent(event),
      recordResult: (target, result) => deps.metrics.recordPlannedFailover(...metrics(), target, result),
      recordPromotion: (target) => deps.metrics.recordFailover(...metrics(), target, "planned"),
      observeDuration: (seconds) => deps.metrics.observePlannedFailover(...metrics(), seconds),
      observeLagWait: (seconds) => deps.metrics.observePlannedLagWait(...metrics(), seconds),
      markWritable: (site) => ctx.markState(site, "writable"),
      markReadOnly: (site) => ctx.markState(site, "read-only"),
      announce: (site) => {
        if (this.cycle) announce(this.cycle, site);
      },
      pause: (point) => deps.pause(point),
    });
  }

  /** A switchover request (or its withdrawal) is picked up now rather than at the next poll. */
  updated(previous: MysqlFailoverGroup): void {
    if (requestOf(previous) !== requestOf(this.ctx.group)) this.ctx.nudge();
  }

  async reconcile(cycle: GroupCycle): Promise<ReconcileResult> {
    this.cycle = cycle;
    const phase = this.ctx.store.written?.plannedFailover?.phase;
    cycle.holdEmergency = phase !== undefined && PLANNED_HOLD_PHASES.includes(phase);
    if (!cycle.topology?.settled) return DONE;
    try {
      await this.connectTarget();
      let r = await this.step(cycle);
      // The fence and the lag wait hand their result straight to the next step (each still
      // persisted before its work); the promotion's successor waits for the next cycle's polls.
      for (let i = 0; i < CHAINED_STEPS_MAX && r.continueNow; i++) {
        // From the block the last step left, which may not be written yet (phases.ts).
        const next = await this.step(cycle, r.block);
        r = { ...next, progressed: r.progressed || next.progressed };
      }
      cycle.holdEmergency = r.holdEmergency;
      return r.progressed ? requeue(0) : DONE;
    } catch (err) {
      this.ctx.log.warn(LOG_MESSAGES.plannedFailoverActionFailed, { action: "step", error: errorText(err) });
      return DONE;
    }
  }

  /**
   * Before the source is fenced, the target's connection is opened (it serves the cycle's lag
   * wait and promotion): a connection set up after the fence would add to the write window.
   */
  private async connectTarget(): Promise<void> {
    const block = this.ctx.store.written?.plannedFailover;
    if (block?.phase !== "Draining" || block.rollingBack || !block.target) return;
    await this.ctx.withSite(block.target, "connect before the fence", async () => undefined, CONNECT_DEADLINE_MS).catch(() => undefined);
  }

  private async step(cycle: GroupCycle, current = this.ctx.store.written?.plannedFailover): Promise<PlannedStepResult> {
    const { ctx } = this;
    const written = ctx.store.written;
    const annotations = ctx.annotations;
    if (current === undefined && annotations[ANNOTATIONS.plannedFailover] === undefined) return { holdEmergency: false, block: undefined, progressed: false, continueNow: false };
    const base = decisionSites({ spec: ctx.spec, states: ctx.states(), observations: cycle.observations ?? new Map(), addresses: ctx.addresses() });
    const sites: PlannedSite[] = base.map((d) => {
      const r = cycle.observations?.get(d.name)?.replica;
      const recoveryState = written?.sites?.find((x) => x.name === d.name)?.recoveryState;
      const cloning = cloneInFlight(written?.bootstrap) === d.name;
      return { ...d, replicating: r !== undefined && r.ioRunning && r.sqlRunning, ...(recoveryState ? { recoveryState } : {}), ...(cloning ? { cloning } : {}) };
    });
    return this.executor.step({
      now: new Date().toISOString(),
      annotation: annotations[ANNOTATIONS.plannedFailover],
      requestId: annotations[ANNOTATIONS.plannedFailoverRequestId],
      current,
      sites,
      activeSite: written?.lastKnownPrimary || written?.activeSite || undefined,
      lastFailover: newerRecord(statusRecord(written), annotatedRecord(annotations))?.at,
      cooldownMs: parseDuration(ctx.spec.failoverCooldown),
      defaults: ctx.spec.plannedFailover,
    });
  }

  /**
   * Removes the request annotations of a finished request, only while they still read as the step
   * saw them: the write is conditional on the resourceVersion of a fresh read, so a request posted
   * after the terminal status was written is never wiped. A conflict is retried next cycle (the
   * state machine clears a finished request's leftover annotations).
   */
  private async clearRequest(seen: SeenRequest): Promise<void> {
    const { ctx } = this;
    const g = await ctx.deps.readGroup(ctx.namespace, ctx.name);
    const a = g.metadata.annotations ?? {};
    const request = a[ANNOTATIONS.plannedFailover];
    const requestId = a[ANNOTATIONS.plannedFailoverRequestId];
    if (request !== seen.request || requestId !== seen.requestId || (request === undefined && requestId === undefined)) return;
    await ctx.deps.patchAnnotations(ctx.namespace, ctx.name, { [ANNOTATIONS.plannedFailover]: null, [ANNOTATIONS.plannedFailoverRequestId]: null }, g.metadata.resourceVersion);
  }
}
