import { agentUrls } from "../../shared/managed/sites.js";
import type { GroupContext } from "./context.js";
import { DONE, type ReconcileResult, type Reconciler } from "./reconciler.js";

/**
 * Keeps the group's agent token read while the group has agents, so that the status API can take
 * it from the group's own agents at /active-site (operator/http/status-server.ts) without a
 * Secret read per request: with a status token, that is how the managed sites' sidecars, whose
 * pods cannot mount the status token, are let in. Read as often as the credentials
 * (GroupContext.agentToken); it writes nothing.
 */
export class AgentTokenReconciler implements Reconciler {
  readonly name = "agent-token";

  constructor(private readonly ctx: GroupContext) {}

  async reconcile(): Promise<ReconcileResult> {
    const { ctx } = this;
    if (agentUrls(ctx.spec, ctx.name, ctx.namespace, ctx.deps.sidecar !== undefined).size > 0) await ctx.agentToken();
    return DONE;
  }
}
