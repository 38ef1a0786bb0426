import type { MysqlFailoverGroupSpec } from "../../shared/api/index.js";
import { ignoredSpecFields } from "../../shared/api/ignored-fields.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { EVENT_REASONS } from "../../shared/names.js";
import type { GroupContext } from "./context.js";
import { DONE, type ReconcileResult, type Reconciler } from "./reconciler.js";

/** Says once per generation which spec fields the operator accepts but does not act on yet. */
export class SpecWarningsReconciler implements Reconciler {
  readonly name = "spec-warnings";
  private warnedGeneration: number | undefined;

  constructor(private readonly ctx: GroupContext) {}

  async reconcile(): Promise<ReconcileResult> {
    const { ctx } = this;
    const generation = ctx.group.metadata.generation ?? 0;
    if (generation === this.warnedGeneration) return DONE;
    this.warnedGeneration = generation;
    const fields = ignoredSpecFields(ctx.group.spec as MysqlFailoverGroupSpec);
    if (fields.length === 0) return DONE;
    ctx.log.warn(LOG_MESSAGES.ignoredSpecFields, { fields, generation });
    ctx.recordEvent({
      type: "Warning",
      reason: EVENT_REASONS.ignoredSpecFields,
      message: `${fields.join(", ")}: accepted but not acted on yet (the sidecar, ordered updates and the session drain are not implemented); see docs/crd-reference.md`,
    });
    return DONE;
  }
}
