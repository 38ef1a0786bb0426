import { EVENT_REASONS, type SiteState } from "../names.js";
import type { ReplicaView } from "./replication-health.js";
import type { DecisionSite } from "./site-observation.js";
import { INITIAL_TRACKER, nextSiteTracker, type SiteTracker, type Thresholds } from "./site-state.js";
import { topologyVerdict, type TopologyVerdict, type Verdict } from "./verdict.js";

/** One site's poll result, before debouncing gives it a state: the parts of DecisionSite it has, and the raw answer. */
export type SitePoll = Pick<DecisionSite, "name" | "role" | "readOnly"> & {
  ok: boolean;
  error?: string;
  gtidExecuted?: string;
  replica?: ReplicaView & { sourceHost: string };
};

export interface GroupMemory {
  trackers: ReadonlyMap<string, SiteTracker>;
  /** Verdict of the last settled cycle; undefined until the first one. */
  verdict?: Verdict;
}

export interface StateTransition {
  site: string;
  from: SiteState;
  to: SiteState;
}

export interface TopologyEvent {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

export interface CycleResult {
  memory: GroupMemory;
  states: Map<string, SiteTracker>;
  verdict: TopologyVerdict;
  /** False while some core site has never been seen: verdict events and decisions wait. */
  settled: boolean;
  transitions: StateTransition[];
  events: TopologyEvent[];
}

export const EMPTY_MEMORY: GroupMemory = { trackers: new Map() };

/**
 * Advances every site's debounced state and derives the verdict and the events it implies.
 * `counted: false` for a poll that came sooner than the poll interval (see nextSiteTracker).
 */
export function topologyCycle(memory: GroupMemory, polls: readonly SitePoll[], thresholds: Thresholds, now: string, counted = true): CycleResult {
  const states = new Map<string, SiteTracker>();
  const transitions: StateTransition[] = [];
  const events: TopologyEvent[] = [];
  for (const poll of polls) {
    const prev = memory.trackers.get(poll.name) ?? INITIAL_TRACKER;
    const outcome = poll.ok ? { ok: true as const, readOnly: poll.readOnly ?? true } : { ok: false as const };
    const next = nextSiteTracker(prev, outcome, poll.role, thresholds, now, counted);
    states.set(poll.name, next);
    if (next.state !== prev.state) {
      transitions.push({ site: poll.name, from: prev.state, to: next.state });
      if (next.state === "unreachable") {
        events.push({ type: "Warning", reason: EVENT_REASONS.siteUnreachable, message: `site ${poll.name} is unreachable after ${thresholds.failureThreshold} failed polls${poll.error ? `: ${poll.error}` : ""}` });
      }
    }
  }
  const verdict = topologyVerdict(polls.map((p) => ({ name: p.name, role: p.role, state: states.get(p.name)?.state ?? "unknown" })));
  const settled = polls.every((p) => p.role === "read-only" || states.get(p.name)?.state !== "unknown");
  if (settled && verdict.verdict !== memory.verdict) events.push(...verdictEvents(memory.verdict, verdict));
  return {
    memory: { trackers: states, verdict: settled ? verdict.verdict : memory.verdict },
    states,
    verdict,
    settled,
    transitions,
    events,
  };
}

function verdictEvents(prev: Verdict | undefined, next: TopologyVerdict): TopologyEvent[] {
  switch (next.verdict) {
    case "SplitBrain":
      return [{ type: "Warning", reason: EVENT_REASONS.splitBrainDetected, message: next.message }];
    case "NoPrimary":
      return [{ type: "Warning", reason: EVENT_REASONS.noPrimaryDetected, message: next.message }];
    case "TotalLoss":
      return [{ type: "Warning", reason: EVENT_REASONS.totalLossDetected, message: next.message }];
    case "Healthy":
      return prev === undefined ? [] : [{ type: "Normal", reason: EVENT_REASONS.siteRecovered, message: `topology is healthy again: ${next.message}` }];
    case "Degraded":
      return [];
  }
}
