import { selfFencedBy, type PeerReport } from "../../shared/agent/evidence.js";
import { parseDuration } from "../../shared/duration.js";
import type { DecisionInput } from "../../shared/failover/decide.js";
import { askPeer } from "../agent/ask.js";
import type { GroupContext } from "./context.js";

/** What the fence statement and its session kills may take after the lease ran out. */
export const SELF_FENCE_MARGIN_MS = 1_000;
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
  const withAgents = spec.sites.filter((s) => s.agentUrl !== undefined);
  const subject = withAgents.find((s) => s.name === primary);
  if (!spec.sidecar.awaitSelfFence || subject === undefined || ctx.states().get(subject.name) !== "unreachable") return undefined;
  const others = withAgents.filter((s) => s !== subject);
  const answers = await Promise.all(
    others.map(async (s) => {
      const asked = await askPeer(s.agentUrl ?? "", undefined, ASK_TIMEOUT_MS);
      return asked.ok ? [{ site: s.name, answeredAt: Date.now(), upMs: asked.value.upMs, ...(asked.value.askedBy[subject.name] !== undefined ? { askedAgoMs: asked.value.askedBy[subject.name] } : {}) } satisfies PeerReport] : [];
    }),
  );
  const evidence = selfFencedBy({
    subject: subject.name,
    groupSize: withAgents.length,
    leaseTimeoutMs: parseDuration(spec.sidecar.leaseTimeout),
    marginMs: SELF_FENCE_MARGIN_MS,
    operatorConfirmedAt: Math.max(ctx.watchingSince, ctx.agentConfirmedAt.get(subject.name) ?? -Infinity),
    reports: answers.flat(),
  });
  return { [subject.name]: "unproven" in evidence ? evidence : { safeAt: new Date(evidence.safeAt).toISOString(), basis: evidence.basis } };
}
