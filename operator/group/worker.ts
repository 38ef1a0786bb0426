import type { MysqlFailoverGroup } from "../../shared/api/index.js";
import { withDefaults } from "../../shared/api/index.js";
import { parseDuration } from "../../shared/duration.js";
import { errorText } from "../../shared/errors.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { agentUrls } from "../../shared/managed/sites.js";
import type { GroupStatusMessage } from "../../shared/status-message.js";
import type { AgentSettings } from "../http/status-server.js";
import { GroupContext, type GroupDeps } from "./context.js";
import { groupReconcilers } from "./reconcilers.js";
import type { GroupCycle, Reconciler, ReconcileResult } from "./reconciler.js";
import type { StatusReconciler } from "./report.js";

/** Back-to-back cycles at most (a switchover takes about 7); then one poll interval passes. */
const MAX_EXPEDITED = 10;
/**
 * A reconciler that takes longer holds up every one after it (failover included): said in the
 * log, so that a stalled group shows where it stalls.
 */
const SLOW_RECONCILE_MS = 10_000;

/**
 * Runs one MysqlFailoverGroup: a cycle every pollInterval in which each reconciler
 * (reconcilers.ts) does its part, in order. Retries, error logging and metrics, and starting
 * the next cycle early live here and nowhere else.
 */
export class GroupWorker {
  private readonly ctx: GroupContext;
  private readonly reconcilers: Reconciler[];
  private readonly status: StatusReconciler;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** Start of the last cycle whose polls counted toward the debounce thresholds. */
  private lastCountedAt = 0;
  /** Cycles started back to back; bounded by MAX_EXPEDITED. */
  private expedited = 0;
  /** A cycle is wanted as soon as the one running ends. */
  private nudged = false;

  constructor(group: MysqlFailoverGroup, deps: GroupDeps) {
    this.ctx = new GroupContext(group, deps);
    this.ctx.nudge = () => this.nudge();
    ({ reconcilers: this.reconcilers, status: this.status } = groupReconcilers(this.ctx));
  }

  /** The message of the last cycle, for the status API. */
  snapshot(): GroupStatusMessage | undefined {
    return this.status.snapshot();
  }

  /** An agent of `site` asked /active-site; returns its group's lease and the other sites' agents. */
  /** The token this group's agents may present to /active-site, as last read. */
  agentToken(): string | undefined {
    return this.ctx.knownAgentToken();
  }

  agentAsked(site: string, confirmed: boolean): AgentSettings {
    const { ctx } = this;
    if (confirmed) ctx.agentConfirmedAt.set(site, Date.now());
    const peers = [...agentUrls(ctx.spec, ctx.name, ctx.namespace, ctx.deps.sidecar !== undefined)].filter(([name]) => name !== site);
    return { leaseTimeoutMs: parseDuration(ctx.spec.sidecar.leaseTimeout), peers: Object.fromEntries(peers), ...(ctx.archiveFloor === undefined ? {} : { archiveFloor: ctx.archiveFloor }) };
  }

  start(): void {
    this.ctx.log.info(LOG_MESSAGES.managerStarted, { sites: this.ctx.spec.sites.map((s) => s.name) });
    this.schedule(0);
  }

  /** A new version of the object (spec change, annotations, our own status write). */
  update(group: MysqlFailoverGroup): void {
    const previous = this.ctx.group;
    this.ctx.group = group;
    const reconfigured = group.metadata.generation !== previous.metadata.generation;
    if (reconfigured) this.ctx.spec = withDefaults(group.spec);
    for (const r of this.reconcilers) r.updated?.(previous);
    if (reconfigured) this.ctx.log.info(LOG_MESSAGES.managerReconfigured, { generation: group.metadata.generation });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    await this.ctx.store.idle();
    for (const r of this.reconcilers) r.stop?.();
    this.ctx.deps.metrics.forgetGroup(this.ctx.namespace, this.ctx.name);
    this.ctx.log.info(LOG_MESSAGES.managerStopped);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const started = Date.now();
      const interval = this.ctx.pollIntervalMs();
      // Polls sooner than half an interval after the last counted one do not count (nextSiteTracker).
      const counted = started - this.lastCountedAt >= interval / 2;
      if (counted) this.lastCountedAt = started;
      this.running = this.cycle({ now: new Date(started).toISOString(), counted }).then((requeueMs) => {
        this.ctx.deps.metrics.observeCycle((Date.now() - started) / 1000);
        // A switchover that moved on takes its next step at once: each step waits on the one
        // before, and every poll interval between them would be write unavailability.
        const again = (requeueMs === 0 || this.nudged) && this.expedited < MAX_EXPEDITED;
        this.nudged = false;
        this.expedited = again ? this.expedited + 1 : 0;
        // Fixed rate otherwise: a slow cycle eats into the wait, it does not push the next poll back.
        const wait = Math.max(0, interval - (Date.now() - started));
        this.schedule(again ? 0 : Math.min(wait, requeueMs ?? wait));
      });
    }, delayMs);
  }

  /** Runs a cycle now, or right after the one running. */
  private nudge(): void {
    if (this.stopped) return;
    if (this.timer === undefined) {
      this.nudged = true;
      return;
    }
    clearTimeout(this.timer);
    this.schedule(0);
  }

  /** One cycle: every reconciler in order; returns the soonest requeue any of them asked for. */
  private async cycle(cycle: GroupCycle): Promise<number | undefined> {
    let soonest: number | undefined;
    const deleting = this.ctx.group.metadata.deletionTimestamp !== undefined;
    for (const r of this.reconcilers) {
      if (this.stopped) return undefined;
      if (deleting && !r.whileDeleting) continue;
      let result: ReconcileResult;
      const started = performance.now();
      try {
        result = await r.reconcile(cycle);
      } catch (err) {
        result = { kind: "error", error: errorText(err) };
      }
      const tookMs = Math.round(performance.now() - started);
      if (tookMs > SLOW_RECONCILE_MS) this.ctx.log.warn(LOG_MESSAGES.reconcileSlow, { reconciler: r.name, ms: tookMs });
      if (result.kind === "requeue") soonest = Math.min(soonest ?? result.afterMs, result.afterMs);
      if (result.kind === "error") {
        this.ctx.log.error(LOG_MESSAGES.reconcileFailed, { reconciler: r.name, error: result.error });
        this.ctx.deps.metrics.recordReconcileError(this.ctx.namespace, this.ctx.name, r.name);
      }
    }
    this.ctx.endCycle();
    return soonest;
  }
}
