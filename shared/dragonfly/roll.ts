/**
 * Updating the cache servers the operator runs (a new image, flags or memory) one at a time,
 * without losing a session: their StatefulSets use the OnDelete strategy, and this decides which
 * pod to restart on the new template and when. Replicas go first; the master goes last, and only
 * after the decision (decide.ts, told which server is being updated) has handed the master to an
 * up-to-date replica by a takeover. A server counts as updated once it runs the new template and
 * replicates from the master again, caught up. Pure: operator/group/dragonfly.ts reads the pods
 * and runs the restarts.
 */

import { dragonflyNames, type ExistingCacheObjects } from "./objects.js";

/** A server the operator runs, as its StatefulSet and pod show it. */
export interface CacheServerPod {
  site: string;
  /** The pod's name and uid; undefined while the StatefulSet has none. */
  pod?: { name: string; uid: string };
  /** The pod runs the StatefulSet's current template (its revision is the update revision). */
  current: boolean;
}

export interface RollInput {
  servers: readonly CacheServerPod[];
  /** The site being updated (from the previous step), if any. */
  rolling?: string;
  /** The master now (the decision's). */
  master?: string;
  /** Sites whose server answers, replicates from the master, caught up (linked, not loading). */
  inSync: ReadonlySet<string>;
  /** Pods restarted already (uids): never deleted twice while they come back. */
  restarted: ReadonlySet<string>;
}

export type RollStep =
  | { kind: "idle" }
  /** Wait: the site being updated (if any yet) is not back, not caught up, or still the master. */
  | { kind: "wait"; rolling?: string; why: string }
  | { kind: "restart"; rolling: string; pod: { name: string; uid: string } };

export function nextRollStep(input: RollInput): RollStep {
  const rolling = input.servers.find((s) => s.site === input.rolling);
  const updated = (s: CacheServerPod) => s.current && (input.inSync.has(s.site) || s.site === input.master);
  if (rolling !== undefined && !updated(rolling)) {
    if (rolling.current) return { kind: "wait", rolling: rolling.site, why: `${rolling.site} runs the new template and catches up with ${input.master ?? "the master"}` };
    // A lone server cannot hand the master over: it restarts as the master (what it held is gone).
    if (rolling.site === input.master && input.servers.length > 1) return { kind: "wait", rolling: rolling.site, why: `the master moves off ${rolling.site} before it restarts` };
    if (rolling.pod === undefined || input.restarted.has(rolling.pod.uid)) return { kind: "wait", rolling: rolling.site, why: `${rolling.site} restarts on the new template` };
    return { kind: "restart", rolling: rolling.site, pod: rolling.pod };
  }
  const outdated = input.servers.filter((s) => !s.current);
  if (outdated.length === 0) return { kind: "idle" };
  // The next one starts only while every server is in place: a master, the others caught up.
  const behind = input.servers.filter((s) => s.site !== input.master && !input.inSync.has(s.site)).map((s) => s.site);
  if (input.master === undefined) return { kind: "wait", why: "no cache master answers" };
  if (behind.length > 0) return { kind: "wait", why: `${behind.join(", ")} not caught up with ${input.master}` };
  const next = outdated.find((s) => s.site !== input.master) ?? outdated[0]!;
  return nextRollStep({ ...input, rolling: next.site });
}

/**
 * The servers of `sites` as their objects show them: a pod is current when the template it was
 * made from is the StatefulSet's update revision. A site whose StatefulSet does not exist yet is
 * left out; one without a pod (being made again) is not current.
 */
export function cacheServerPods(group: string, sites: readonly string[], existing: ExistingCacheObjects): CacheServerPod[] {
  return sites.flatMap((site) => {
    const statefulSet = existing.statefulSets.find((s) => s.name === dragonflyNames.site(group, site));
    if (statefulSet === undefined) return [];
    const pod = existing.pods.find((p) => p.name === dragonflyNames.pod(group, site));
    const current = pod !== undefined && statefulSet.updateRevision !== undefined && pod.revision === statefulSet.updateRevision;
    return [{ site, current, ...(pod ? { pod: { name: pod.name, uid: pod.uid } } : {}) }];
  });
}
