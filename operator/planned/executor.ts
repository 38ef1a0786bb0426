import { randomUUID } from "node:crypto";
import type { PlannedFailoverStatus } from "../../shared/api/index.js";
import { contains } from "../../shared/failover/gtid-compare.js";
import { PLANNED_HOLD_PHASES, PLANNED_PHASES } from "../../shared/planned/phases.js";
import { plannedStep, type PlannedAction, type PlannedInput, type PlannedWork, type SeenRequest } from "../../shared/planned/step.js";
import type { PlannedFailoverResult } from "../../shared/names.js";
import type { TopologyEvent } from "../../shared/topology/cycle.js";
import type { FailoverRecord } from "../failover/executor.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { errorText } from "../../shared/errors.js";
import type { Logger } from "../log.js";
import { GTID_WAIT_GRACE_MS } from "../mysql/flavor.js";
import type { SiteSession } from "../mysql/site-client.js";

export interface PlannedExecutorDeps {
  log: Logger;
  withSite<T>(site: string, operation: string, fn: (s: SiteSession) => Promise<T>, deadlineMs: number): Promise<T>;
  /** Users whose sessions survive the drain: the operator's and the replication account. */
  readonly spareUsers: string[];
  /** Awaited write of status.plannedFailover (the whole block; absent fields are removed). */
  persistBlock(block: PlannedFailoverStatus, previous: PlannedFailoverStatus | undefined): Promise<void>;
  /** Writes the generated request id next to the request. */
  setRequestId(requestId: string): Promise<void>;
  /** Removes the request annotations if they still read as `seen` (conditional write). */
  clearRequest(seen: SeenRequest): Promise<void>;
  /** The anti-flap record, awaited: the cooldown applies to planned failovers too. */
  persistFailover(record: FailoverRecord): Promise<void>;
  recordEvent(event: TopologyEvent): void;
  recordResult(target: string, result: PlannedFailoverResult): void;
  /** bloodraven_failovers_total{kind="planned"}: the target is writable. */
  recordPromotion(target: string): void;
  /** bloodraven_planned_failover_duration_seconds: request picked up (startTime) → Succeeded. */
  observeDuration(seconds: number): void;
  /** bloodraven_planned_failover_lag_wait_seconds: time spent in WaitingForLag. */
  observeLagWait(seconds: number): void;
  markWritable(site: string): void;
  markReadOnly(site: string): void;
  /** Publishes the promoted target on the status API at once (the source is fenced, both confirmed). */
  announce(site: string): void;
  /** Failpoints (operator/failpoints.ts): resolves at once unless a test set `point`. */
  pause(point: string): Promise<void>;
}

export interface PlannedTimings {
  fenceLockWaitSeconds: number;
  fenceDeadlineMs: number;
  promoteDeadlineMs: number;
}

export const DEFAULT_PLANNED_TIMINGS: PlannedTimings = { fenceLockWaitSeconds: 2, fenceDeadlineMs: 5_000, promoteDeadlineMs: 10_000 };

/** The block after a step, and whether the step moved the switchover on (a new phase, or its work done). */
export interface PlannedStepResult {
  /** The emergency decision core must stay out this cycle. */
  holdEmergency: boolean;
  block: PlannedFailoverStatus | undefined;
  progressed: boolean;
  /**
   * The next step needs nothing but the result of the work just done (the fence's GTIDs, the
   * target caught up): it may be taken at once, without a poll of every site first.
   */
  continueNow: boolean;
}

/** Work whose result is all the next step needs (see PlannedStepResult.continueNow). */
const SELF_CONTAINED: ReadonlySet<PlannedAction["kind"]> = new Set(["drain", "killSessions", "waitForGtid"]);

/**
 * Carries out the planned-failover state machine (shared/planned/step.ts): persists the block the
 * machine returns, awaited, before any of its work; then runs the work and remembers its result
 * (in memory) for the next step. A failed status write skips the work: the step is retried.
 */
export class PlannedExecutor {
  private lastWork: PlannedWork | undefined;

  constructor(
    private readonly deps: PlannedExecutorDeps,
    private readonly timings: PlannedTimings = DEFAULT_PLANNED_TIMINGS,
  ) {}

  async step(input: Omit<PlannedInput, "lastWork" | "newRequestId">): Promise<PlannedStepResult> {
    const r = plannedStep({ ...input, lastWork: this.lastWork, newRequestId: randomUUID() });
    let block = input.current;
    let progressed = false;
    const holdBefore = block !== undefined && block.phase !== undefined && PLANNED_HOLD_PHASES.includes(block.phase);
    const entering = r.status !== undefined && r.status.phase !== block?.phase ? r.status : undefined;
    // A phase the table (phases.ts) lets go unwritten before its work: the work runs first, and
    // when its result moves the switchover on at once, the next step's block (written before its
    // own work, and holding everything this one would) supersedes it unwritten.
    let done: { progressed: boolean; continueNow: boolean } | undefined;
    if (entering && !PLANNED_PHASES[entering.phase].writtenBeforeWork) {
      done = await this.runAll(r.actions, entering);
      if (done.continueNow) {
        this.entered(block, entering);
        return { holdEmergency: r.holdEmergency, block: entering, progressed: true, continueNow: true };
      }
    }
    if (r.status) {
      try {
        await this.deps.persistBlock(r.status, block);
      } catch (err) {
        this.deps.log.warn(LOG_MESSAGES.statusPatchFailed, { record: "plannedFailover", error: errorText(err) });
        return { holdEmergency: r.holdEmergency || holdBefore, block, progressed: false, continueNow: false };
      }
      if (entering) {
        this.entered(block, entering);
        progressed = true;
        await this.deps.pause(`planned.after.persist.${entering.phase}`);
      }
      block = r.status;
    }
    done ??= await this.runAll(r.actions, block);
    return { holdEmergency: r.holdEmergency, block, progressed: progressed || done.progressed, continueNow: done.continueNow };
  }

  private entered(previous: PlannedFailoverStatus | undefined, next: PlannedFailoverStatus): void {
    this.deps.log.info(LOG_MESSAGES.plannedFailoverPhase, { phase: next.phase, reason: next.reason, target: next.target });
    this.observeTransition(previous, next);
  }

  private async runAll(actions: readonly PlannedAction[], block: PlannedFailoverStatus | undefined): Promise<{ progressed: boolean; continueNow: boolean }> {
    let progressed = false;
    let continueNow = false;
    for (const action of actions) {
      if (!(await this.run(action, block))) continue;
      progressed = true;
      if (SELF_CONTAINED.has(action.kind)) continueNow = true;
    }
    return { progressed, continueNow };
  }

  /**
   * Times a persisted phase change from the block's own timestamps, so a switchover that an
   * operator restart interrupted is still timed from its start.
   */
  private observeTransition(previous: PlannedFailoverStatus | undefined, next: PlannedFailoverStatus): void {
    const seconds = (from: string | undefined, to: string | undefined): number | undefined => {
      const ms = Date.parse(to ?? "") - Date.parse(from ?? "");
      return Number.isNaN(ms) ? undefined : Math.max(0, ms) / 1000;
    };
    if (previous?.phase === "WaitingForLag" && previous.requestId === next.requestId) {
      const waited = seconds(previous.phaseTime, next.phaseTime);
      if (waited !== undefined) this.deps.observeLagWait(waited);
    }
    if (next.phase === "Succeeded") {
      const took = seconds(next.startTime, next.completionTime ?? next.phaseTime);
      if (took !== undefined) this.deps.observeDuration(took);
    }
  }

  /** Runs one action; returns whether it was work on a server that moved the switchover on. */
  private async run(action: PlannedAction, block: PlannedFailoverStatus | undefined): Promise<boolean> {
    const requestId = block?.requestId ?? "";
    const phase = block?.phase ?? "Pending";
    try {
      switch (action.kind) {
        case "drain": {
          const { gtid, open } = await this.drain(action.site);
          this.lastWork = { requestId, phase, ok: true, gtidAtFence: gtid, openSessions: open };
          return await this.afterWork(action.kind, true);
        }
        case "killSessions": {
          const open = await this.killSessions(action.site, action.only && new Set(action.only));
          if (this.lastWork?.requestId === requestId && this.lastWork.phase === phase) this.lastWork = { ...this.lastWork, openSessions: open };
          return true;
        }
        case "waitForGtid": {
          const caughtUp = await this.deps.withSite(action.site, "planned lag wait", (s) => s.flavor.waitForGtid(s, action.gtid, action.seconds), action.seconds * 1000 + GTID_WAIT_GRACE_MS + 2_000);
          this.lastWork = { requestId, phase, ok: true, caughtUp };
          return await this.afterWork(action.kind, caughtUp);
        }
        case "promote":
          await this.promote(action.site, action.gtid);
          this.lastWork = { requestId, phase, ok: true };
          return await this.afterWork(action.kind, true);
        case "record":
          await this.deps.persistFailover({ lastFailover: new Date().toISOString(), lastFailoverTarget: action.site, promotionGtidExecuted: action.gtid });
          return false;
        case "unfence":
          await this.deps.withSite(action.site, "planned rollback unfence", (s) => s.flavor.unfence(s), this.timings.fenceDeadlineMs);
          this.deps.markWritable(action.site);
          this.deps.log.warn(LOG_MESSAGES.plannedFailoverRolledBack, { site: action.site, reason: block?.reason });
          return await this.afterWork(action.kind, true);
        case "setRequestId":
          await this.deps.setRequestId(action.requestId);
          return false;
        case "clearAnnotation":
          await this.deps.clearRequest(action.seen);
          return false;
        case "event":
          this.deps.recordEvent({ type: action.type, reason: action.reason, message: action.message });
          return false;
        case "metric":
          this.deps.recordResult(action.target, action.result);
          return false;
      }
    } catch (err) {
      this.deps.log.warn(LOG_MESSAGES.plannedFailoverActionFailed, { action: action.kind, error: errorText(err) });
      if (action.kind === "drain" || action.kind === "promote" || action.kind === "waitForGtid") {
        this.lastWork = { requestId, phase, ok: false, error: errorText(err) };
      }
      return false;
    }
  }

  private async afterWork(kind: PlannedAction["kind"], progressed: boolean): Promise<boolean> {
    await this.deps.pause(`planned.after.${kind}`);
    return progressed;
  }

  /** Fences, reads the executed GTIDs at the fence, then kills the application sessions (the first pass). */
  private async drain(site: string): Promise<{ gtid: string; open: number[] | "all" }> {
    const gtid = await this.deps.withSite(
      site,
      "planned fence",
      async (s) => {
        await s.flavor.fence(s, { lockWaitTimeoutSeconds: this.timings.fenceLockWaitSeconds });
        return (await s.flavor.observe(s)).gtidExecuted;
      },
      this.timings.fenceDeadlineMs,
    );
    this.deps.markReadOnly(site);
    return { gtid, open: await this.killSessions(site, undefined) };
  }

  /**
   * One kill pass; returns the sessions it found (and killed) among `only`, or every application
   * session without `only`. A failed pass leaves them open ("all": none is known): the next cycle
   * tries again.
   */
  private async killSessions(site: string, only: ReadonlySet<number> | undefined): Promise<number[] | "all"> {
    try {
      return await this.deps.withSite(site, "planned drain", (s) => s.flavor.killApplicationConnections(s, { spareUsers: this.deps.spareUsers, ...(only ? { only } : {}) }), this.timings.fenceDeadlineMs);
    } catch (err) {
      this.deps.log.warn(LOG_MESSAGES.plannedFailoverActionFailed, { action: "kill sessions", site, error: errorText(err) });
      return only ? [...only] : "all";
    }
  }

  /** Promotes only a target that provably holds the fenced source's transactions, then records the failover. */
  private async promote(site: string, gtid: string): Promise<void> {
    const { gtidExecuted } = await this.deps.withSite(
      site,
      "planned promote",
      async (s) => {
        const o = await s.flavor.observe(s);
        const position = { flavor: o.flavor, gtidExecuted: o.gtidExecuted, ...(o.gtidBinlogState ? { gtidBinlogState: o.gtidBinlogState } : {}) };
        if (!contains(position, { flavor: o.flavor, gtidExecuted: gtid })) throw new Error(`${site} does not hold the fenced source's transactions (${gtid}); not promoting`);
        return s.flavor.promote(s);
      },
      this.timings.promoteDeadlineMs,
    );
    const writableAt = new Date().toISOString();
    this.deps.markWritable(site);
    this.deps.announce(site);
    this.deps.recordPromotion(site);
    await this.deps.pause("planned.before.record");
    await this.deps.persistFailover({ lastFailover: writableAt, lastFailoverTarget: site, promotionGtidExecuted: gtidExecuted });
  }
}
