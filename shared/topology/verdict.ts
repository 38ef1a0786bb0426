import type { DecisionSite } from "./site-observation.js";

export const VERDICTS = ["Healthy", "Degraded", "SplitBrain", "NoPrimary", "TotalLoss"] as const;
export type Verdict = (typeof VERDICTS)[number];

export type SiteView = Pick<DecisionSite, "name" | "role" | "state">;

export interface TopologyVerdict {
  verdict: Verdict;
  /** The single writable primary candidate; "" whenever authority is ambiguous. */
  activeSite: string;
  /** Writable sites that may never be primary: always to be fenced. */
  writableNonPromotable: string[];
  writable: string[];
  unreachable: string[];
  message: string;
}

/**
 * Classifies one poll's site states. "Core" sites (primary candidates and dr-only) decide the
 * verdict; read-only-role sites only matter when they turn writable. Unknown (not yet polled)
 * counts as unreachable: it is not evidence of a healthy site.
 */
export function topologyVerdict(sites: readonly SiteView[]): TopologyVerdict {
  const core = sites.filter((s) => s.role !== "read-only");
  const writable = sites.filter((s) => s.state === "writable");
  const writableNonPromotable = writable.filter((s) => s.role !== "primary-candidate").map((s) => s.name);
  const coreWritable = core.filter((s) => s.state === "writable");
  const unreachable = core.filter((s) => s.state === "unreachable" || s.state === "unknown").map((s) => s.name);
  const base = { writableNonPromotable, writable: writable.map((s) => s.name), unreachable };
  const only = coreWritable.length === 1 ? coreWritable[0] : undefined;
  const activeSite = only && only.role === "primary-candidate" && writableNonPromotable.length === 0 ? only.name : "";

  if (writableNonPromotable.length > 0) {
    // Two writers, whichever their roles: a reader or dr-only site taking writes beside the
    // primary is the split brain it looks like. Alone, it is a site to fence.
    return { ...base, verdict: writable.length > 1 ? "SplitBrain" : "Degraded", activeSite, message: `writable site(s) that may not be primary: ${writableNonPromotable.join(", ")}; they must be fenced` };
  }
  if (core.length > 0 && unreachable.length === core.length) {
    return { ...base, verdict: "TotalLoss", activeSite, message: "all sites are unreachable" };
  }
  if (coreWritable.length > 1) {
    return { ...base, verdict: "SplitBrain", activeSite, message: `split brain: ${coreWritable.length} sites are writable (${coreWritable.map((s) => s.name).join(", ")})` };
  }
  if (coreWritable.length === 0) {
    const detail = unreachable.length > 0 ? `; unreachable: ${unreachable.join(", ")}` : "; every site is read-only";
    return { ...base, verdict: "NoPrimary", activeSite, message: `no writable site${detail}` };
  }
  if (unreachable.length > 0) {
    return { ...base, verdict: "Degraded", activeSite, message: `${unreachable.join(", ")} unreachable while ${activeSite} is primary` };
  }
  return { ...base, verdict: "Healthy", activeSite, message: `${activeSite} is primary; all sites reachable` };
}
