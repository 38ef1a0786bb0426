/**
 * The Bootstrapping condition while a site is cloned: True with the phase as reason while the
 * clone runs, False with Done or Failed after. Managed sites that are still starting (their own
 * Bootstrapping=True, shared/managed/status.ts) win over a finished clone's False.
 */
import type { BootstrapStatus } from "../api/index.js";
import { BOOTSTRAP_PHASES, CONDITION_TYPES } from "../names.js";
import { setCondition } from "../topology/conditions.js";
import type { TopologyStatus } from "../topology/status.js";
import { cloneInFlight } from "./step.js";

export function withClone(status: TopologyStatus, record: BootstrapStatus | undefined, generation: number, now: string): TopologyStatus {
  if (!record) return status;
  const running = cloneInFlight(record) !== undefined;
  const current = status.conditions?.find((c) => c.type === CONDITION_TYPES.bootstrapping);
  // A True left by this clone itself (still in the status being built) is replaced.
  if (!running && current?.status === "True" && !(BOOTSTRAP_PHASES as readonly string[]).includes(current.reason)) return status;
  const message = record.message ?? `${record.source} of ${record.site} from ${record.donor}`;
  const conditions = setCondition(status.conditions, { type: CONDITION_TYPES.bootstrapping, status: running ? "True" : "False", reason: record.phase, message, observedGeneration: generation }, now);
  return { ...status, conditions };
}
