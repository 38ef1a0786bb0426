import { selfFencedBy, type PeerReport } from "../../shared/agent/evidence.js";
import { parseDuration } from "../../shared/duration.js";
import type { DecisionInput } from "../../shared/failover/decide.js";
import { agentUrls } from "../../shared/managed/sites.js";
import { askPeer } from "../agent/ask.js";
import type { GroupContext } from "./context.js";

/** What the fence statement and its session kills may take after the lease ran out. */
const SELF_FENCE_MARGIN_MS = 1_000;
/** Each agent's answer; the emergency path waits at most this long for them. */
const ASK_TIMEOUT_MS = 1_000;

/**
 * Evidence for the decision core (`selfFence` of decide()): when the recorded primary is
 * unreachable, runs an agent, and spec.sidecar.awaitSelfFence is on, asks every other site's
 * agent how long ago the primary's agent last reached it, and turns that and the operator's own
 * answers into the moment the primary's agent has surely fenced its server
 * (shared/agent/evidence.ts). Nothing is asked while the primary answers.
 */
export async function selfFenceEvidence(ctx: GroupContext, primary: string | undefined): Promise<DecisionInput["selfFence"]> {
  const { spec } = ctx;
  const urls = agentUrls(spec, ctx.name, ctx.namespace, ctx.deps.sidecar !== undefined);
  if (!spec.sidecar.awaitSelfFence || primary === undefined || !urls.has(primary) || ctx.states().get(primary) !== "unreachable") return undefined;
  const others = [...urls].filter(([site]) => site !== primary);
  const answers = await Promise.all(
    others.map(async ([site, url]) => {
      const asked = await askPeer(url, undefined, ASK_TIMEOUT_MS);
      return asked.ok ? [{ site, answeredAt: Date.now(), upMs: asked.value.upMs, ...(asked.value.reachedWhileWritable[primary] !== undefined ? { askedAgoMs: asked.value.reachedWhileWritable[primary] } : {}) } satisfies PeerReport] : [];
    }),
  );
  const evidence = selfFencedBy({
    subject: primary,
    groupSize: urls.size,
    leaseTimeoutMs: parseDuration(spec.sidecar.leaseTimeout),
    marginMs: SELF_FENCE_MARGIN_MS,
    operatorConfirmedAt: Math.max(ctx.watchingSince, ctx.agentConfirmedAt.get(primary) ?? -Infinity),
    reports: answers.flat(),
  });
  return { [primary]: "unproven" in evidence ? evidence : { safeAt: new Date(evidence.safeAt).toISOString(), basis: evidence.basis } };
}
