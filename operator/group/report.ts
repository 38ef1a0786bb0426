import { withManagedSites } from "../../shared/managed/status.js";
import { withClone } from "../../shared/reclone/condition.js";
import type { GroupStatusMessage } from "../../shared/status-message.js";
import { applyAuthority, statusMessage, topologyStatus, withFailoverBlocked, withMaintenance, withRouting, type TopologyStatus } from "../../shared/topology/status.js";
import { topologyVerdict } from "../../shared/topology/verdict.js";
import type { GroupContext } from "./context.js";
import { DONE, type GroupCycle, type ReconcileResult, type Reconciler } from "./reconciler.js";

/**
 * Last in the list: turns what the cycle found into the group's status (written when it changed
 * materially, status-store.ts) and into the status API's message.
 */
export class StatusReconciler implements Reconciler {
  readonly name = "status";
  private latest: GroupStatusMessage | undefined;
  /** The cycle in which announceOwn published: its polls predate the promotion, so its end does not publish them. */
  private ownIn: GroupCycle | undefined;

  constructor(private readonly ctx: GroupContext) {}

  /** The message of the last cycle, for the status API. */
  snapshot(): GroupStatusMessage | undefined {
    return this.latest;
  }

  /** Publishes a new primary that this cycle's polls confirm at once; the complete message follows at the end of the cycle. */
  announce(cycle: GroupCycle, primary: string): void {
    if (this.latest?.activeSite === primary || !cycle.observed) return;
    const early = this.decorate(applyAuthority(cycle.observed, primary), cycle);
    if (early.activeSite === primary) this.publish(early, cycle);
  }

  /**
   * Publishes a primary that our own switchover just made writable, confirmed by a re-read, while
   * the source it replaces was fenced (confirmed by a re-read too): the site states come from
   * what those actions set, not from this cycle's polls, which predate them. Published only when
   * those states leave `primary` the single writable site.
   */
  announceOwn(cycle: GroupCycle, primary: string): void {
    const { observed, topology } = cycle;
    if (!observed || !topology || this.latest?.activeSite === primary) return;
    const states = this.ctx.states();
    const sites = observed.sites.map((s) => ({ ...s, state: states.get(s.name) ?? s.state }));
    const roles = new Map(this.ctx.spec.sites.map((s) => [s.name, s.role]));
    const verdict = topologyVerdict(sites.map((s) => ({ name: s.name, role: roles.get(s.name) ?? "primary-candidate", state: s.state })));
    if (verdict.activeSite !== primary) return;
    this.publish(this.decorate({ ...observed, sites, activeSite: primary, lastKnownPrimary: primary }, cycle), cycle, verdict.verdict);
    this.ownIn = cycle;
  }

  async reconcile(cycle: GroupCycle): Promise<ReconcileResult> {
    const { ctx } = this;
    const { topology, polls, observed } = cycle;
    if (!topology || !polls || !observed) return DONE;
    // The reconcilers before may have persisted recovery fields or a failover record: then the
    // status is built again on what is written now, or this write would put back what they replaced.
    const base = ctx.store.written === cycle.observedOn ? observed : topologyStatus(ctx.store.written, topology, polls, ctx.spec.replication.maxLagSeconds, ctx.group.metadata.generation ?? 0, cycle.now);
    const status = withRouting(withFailoverBlocked(this.decorate(applyAuthority(base, cycle.primary), cycle), cycle.blocked, cycle.now), cycle.routing, ctx.group.metadata.generation ?? 0, cycle.now);
    // A site without a debounced state yet (the first polls after an operator start or a leader
    // change) would flip conditions that are in fact unchanged, and move their lastTransitionTime.
    const warming = [...topology.states.values()].some((t) => t.state === "unknown");
    if (!warming) ctx.store.report(status);
    // From the recorded recovery fields, every cycle: a restarted operator or a new leader exports
    // what is still unresolved, and a healthy site reads 0 (an alert on it must not clear by itself).
    for (const s of status.sites) ctx.deps.metrics.setDivergent(ctx.namespace, ctx.name, s.name, s.divergentGtid ? (s.divergentTransactionCount ?? 1) : 0);
    if (this.ownIn !== cycle) this.publish(status, cycle);
    return DONE;
  }

  private decorate(status: TopologyStatus, cycle: GroupCycle): TopologyStatus {
    const m = cycle.maintenance;
    const generation = this.ctx.group.metadata.generation ?? 0;
    const maintained = m ? withMaintenance(status, m.state, m.invalid, generation, cycle.now) : status;
    const managed = withManagedSites(maintained, this.ctx.spec.sites, cycle.managed, cycle.update, generation, cycle.now);
    return withClone(managed, this.ctx.store.written?.bootstrap, generation, cycle.now);
  }

  private publish(status: TopologyStatus, cycle: GroupCycle, verdict = cycle.topology?.verdict.verdict ?? "Unknown"): void {
    const { ctx } = this;
    const roles = new Map(ctx.spec.sites.map((s) => [s.name, s.role]));
    this.latest = statusMessage(ctx.namespace, ctx.name, status, roles, verdict, ctx.group.status ?? {}, cycle.now);
    if (cycle.maintenance?.state.active) this.latest.maintenance = cycle.maintenance.state.maintenance;
    const cache = ctx.store.written?.dragonfly;
    if (cache) this.latest.dragonfly = { phase: cache.phase, ...(cache.activeSite ? { activeSite: cache.activeSite } : {}) };
    ctx.deps.publish(this.latest);
  }
}
