import type { MysqlFailoverGroup, MysqlFailoverGroupStatus } from "../../shared/api/index.js";
import type { Blocked } from "../../shared/failover/decide.js";
import type { MaintenanceState } from "../../shared/maintenance.js";
import type { ManagedInventory } from "../../shared/managed/inventory.js";
import type { UpdateDecision } from "../../shared/managed/updates.js";
import type { CycleResult, SitePoll } from "../../shared/topology/cycle.js";
import type { ServerObservation } from "../../shared/topology/site-observation.js";
import type { TopologyStatus } from "../../shared/topology/status.js";

/**
 * One cycle of one group: what the reconcilers before have found, for the ones after. Filled in
 * list order (reconcilers.ts); a reconciler whose input is missing (an earlier one failed) does
 * nothing this cycle.
 */
export interface GroupCycle {
  readonly now: string;
  /** The polls count toward the debounce thresholds (not a cycle started early). */
  readonly counted: boolean;
  /** observe: this cycle's polls, what they showed, the debounced result and the status it implies. */
  polls?: SitePoll[];
  observations?: ReadonlyMap<string, ServerObservation | undefined>;
  topology?: CycleResult;
  observed?: TopologyStatus;
  /** The written status `observed` was built on (the status reconciler rebuilds only if it changed since). */
  observedOn?: MysqlFailoverGroupStatus;
  /** managed-sites: what exists for the managed sites (StatefulSets, claims, pods), read at most every MANAGED_READ_MS. */
  managed?: ManagedInventory;
  /** maintenance: whether automatic failover is paused, and an unreadable annotation. */
  maintenance?: { state: MaintenanceState; invalid?: string };
  /** clone: the empty sites waiting for their clone while another runs; the decision core leaves them alone. */
  cloneQueue?: readonly string[];
  /** planned, restore-in-place: a switchover or a restore is changing the servers; the emergency core stays out. */
  holdEmergency?: boolean;
  /** restore-in-place: why no site may be promoted now (the other sites hold what the restore discarded). */
  failoverPaused?: string;
  /** restore-in-place: the sites to clone from the restored primary (the clone reconciler copies them like empty sites). */
  restoreReclones?: readonly string[];
  /** failover: the primary the group stands behind after this cycle, the one it just promoted, and why a wanted promotion did not happen. */
  primary?: string;
  promoted?: { site: string; decidedAt: number };
  blocked?: Blocked;
  /** updates: where rolling a new template onto the managed sites' pods stands. */
  update?: UpdateDecision;
  /** followers: whether DNS and taints point at `primary`. */
  routing?: { site: string; error?: string };
}

/** Done; again after `afterMs` (0: at once, sooner than the poll interval); or failed with `error`. */
export type ReconcileResult = { kind: "done" } | { kind: "requeue"; afterMs: number } | { kind: "error"; error: string };

export const DONE: ReconcileResult = { kind: "done" };
export const requeue = (afterMs: number): ReconcileResult => ({ kind: "requeue", afterMs });
export const failed = (error: string): ReconcileResult => ({ kind: "error", error });

/** One concern of a group, run once per cycle in list order. */
export interface Reconciler {
  /** Names the reconciler in logs and in bloodraven_reconcile_errors_total. */
  readonly name: string;
  /** Runs also once the group is being deleted; every other reconciler then stops. */
  readonly whileDeleting?: boolean;
  reconcile(cycle: GroupCycle): Promise<ReconcileResult>;
  /** A new version of the object was stored in the context (`previous` is the one before). */
  updated?(previous: MysqlFailoverGroup): void;
  /** The group is no longer managed here. */
  stop?(): void;
}
