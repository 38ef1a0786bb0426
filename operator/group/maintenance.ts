import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { maintenanceState, parseMaintenance } from "../../shared/maintenance.js";
import { ANNOTATIONS, EVENT_REASONS } from "../../shared/names.js";
import type { GroupContext } from "./context.js";
import { DONE, type GroupCycle, type ReconcileResult, type Reconciler } from "./reconciler.js";

/**
 * Reads the maintenance annotation each cycle (it expires by itself), reports changes as events
 * and the gauge. An unreadable annotation does not pause anything: it is reported instead.
 */
export class MaintenanceReconciler implements Reconciler {
  readonly name = "maintenance";
  /** Last state seen, for MaintenanceStarted/Ended events; undefined before the first cycle. */
  private active: boolean | undefined;
  private invalidValue: string | undefined;

  constructor(private readonly ctx: GroupContext) {}

  async reconcile(cycle: GroupCycle): Promise<ReconcileResult> {
    const { ctx } = this;
    const raw = ctx.annotations[ANNOTATIONS.maintenance];
    const parsed = raw === undefined ? undefined : parseMaintenance(raw);
    const invalid = parsed && !parsed.ok ? parsed.error : undefined;
    if (invalid && raw !== this.invalidValue) {
      ctx.recordEvent({ type: "Warning", reason: EVENT_REASONS.maintenanceInvalid, message: `${invalid}; automatic failover stays on` });
    }
    this.invalidValue = invalid ? raw : undefined;
    const state = maintenanceState(parsed?.ok ? parsed.value : undefined, Date.parse(cycle.now));
    if (this.active !== undefined && state.active !== this.active) {
      const event = state.active
        ? { type: "Normal" as const, reason: EVENT_REASONS.maintenanceStarted, message: `automatic failover paused until ${state.maintenance.until}${state.maintenance.reason ? `: ${state.maintenance.reason}` : ""}` }
        : { type: "Normal" as const, reason: EVENT_REASONS.maintenanceEnded, message: state.expired ? `maintenance expired at ${state.expired.until}; automatic failover is on` : "maintenance turned off; automatic failover is on" };
      ctx.recordEvent(event);
      ctx.log.info(state.active ? LOG_MESSAGES.maintenanceStarted : LOG_MESSAGES.maintenanceEnded);
    } else if (this.active === undefined && state.active) {
      ctx.log.info(LOG_MESSAGES.maintenanceStarted, { until: state.maintenance.until });
    }
    this.active = state.active;
    ctx.deps.metrics.setMaintenance(ctx.namespace, ctx.name, state.active);
    cycle.maintenance = invalid ? { state, invalid } : { state };
    return DONE;
  }
}
