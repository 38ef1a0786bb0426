import type { Condition } from "../api/index.js";
import { CONDITION_TYPES } from "../names.js";
import type { ReplicationHealth, ReplicationIssues } from "./replication-health.js";
import type { TopologyVerdict } from "./verdict.js";

export type ConditionUpdate = Omit<Condition, "lastTransitionTime">;

/**
 * Sets one condition following the Kubernetes conventions: lastTransitionTime moves only when
 * the status flips, so "since when" stays meaningful while reason and message follow the latest
 * poll. Other condition types are kept as they are.
 */
export function setCondition(conditions: readonly Condition[] | undefined, update: ConditionUpdate, now: string): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === update.type);
  const prev = i >= 0 ? list[i] : undefined;
  const next: Condition = { ...update, lastTransitionTime: prev && prev.status === update.status ? prev.lastTransitionTime : now };
  if (i >= 0) list[i] = next;
  else list.push(next);
  return list;
}

const issueText = (issues: ReplicationIssues): { broken: string; lagging: string } => ({
  broken: issues.broken.map((b) => `${b.site}: ${b.reason}`).join("; "),
  lagging: issues.lagging.map((l) => `${l.site} is ${l.seconds}s behind`).join("; "),
});

/** ReadersReady: the replication of the `read-only` readers, which never makes the group Degraded. */
function readersCondition(readers: ReplicationIssues, generation: number): ConditionUpdate {
  const { broken, lagging } = issueText(readers);
  const base = { type: CONDITION_TYPES.readersReady, observedGeneration: generation };
  if (broken) return { ...base, status: "False", reason: "ReaderReplicationBroken", message: broken };
  if (lagging) return { ...base, status: "False", reason: "ReaderReplicationLagging", message: lagging };
  return { ...base, status: "True", reason: "Replicating", message: "every reachable reader replicates within replication.maxLagSeconds" };
}

/** Ready and Degraded from the verdict and the core sites' replication health; ReadersReady from the readers'. */
export function topologyConditions(
  conditions: readonly Condition[] | undefined,
  verdict: TopologyVerdict,
  health: ReplicationHealth,
  generation: number,
  now: string,
): Condition[] {
  const { broken, lagging } = issueText(health);
  let degraded: { status: "True" | "False"; reason: string; message: string };
  if (verdict.verdict !== "Healthy") degraded = { status: "True", reason: verdict.verdict, message: verdict.message };
  else if (broken) degraded = { status: "True", reason: "ReplicationBroken", message: broken };
  else if (lagging) degraded = { status: "True", reason: "ReplicationLagging", message: lagging };
  else degraded = { status: "False", reason: "Healthy", message: verdict.message };

  const ready = verdict.verdict === "Healthy" && !broken;
  let out = setCondition(conditions, { type: CONDITION_TYPES.degraded, observedGeneration: generation, ...degraded }, now);
  out = setCondition(out, readersCondition(health.readers, generation), now);
  out = setCondition(
    out,
    {
      type: CONDITION_TYPES.ready,
      observedGeneration: generation,
      status: ready ? "True" : "False",
      reason: ready ? "Healthy" : degraded.reason,
      message: ready ? verdict.message : degraded.message,
    },
    now,
  );
  return out;
}
