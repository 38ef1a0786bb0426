/**
 * Failpoints: named places where the operator can be told to wait, so that an end-to-end test can
 * SIGKILL the real process at an exact point of a switchover (its phases follow one another within
 * milliseconds, too fast to hit from outside). Nothing is faked: the operator does its real work
 * and only pauses between two steps. Set through BLOODRAVEN_FAILPOINTS only, never a flag or the
 * chart, and the operator logs a warning at start while any is set.
 *
 * Grammar: `name=duration[,name=duration...]`, for example
 * `planned.after.drain=10s,planned.after.persist.Resuming=5s`.
 */
import { parseDuration } from "../shared/duration.js";
import { PLANNED_FAILOVER_PHASES } from "../shared/names.js";

export const FAILPOINTS_ENV = "BLOODRAVEN_FAILPOINTS";

/** Points in the planned-failover executor: after an action's work, or after a phase was persisted. */
export const FAILPOINT_NAMES: readonly string[] = [
  ...["drain", "waitForGtid", "promote", "unfence"].map((action) => `planned.after.${action}`),
  ...PLANNED_FAILOVER_PHASES.map((phase) => `planned.after.persist.${phase}`),
  // The planned promotion: the target writable, the failover record not yet written.
  "planned.before.record",
  // The emergency promotion: after its intent is recorded, and after the target is writable.
  "emergency.after.intent",
  "emergency.after.promote",
];

export type Failpoints = ReadonlyMap<string, number>;

export class FailpointError extends Error {}

export function parseFailpoints(text: string | undefined): Failpoints {
  const points = new Map<string, number>();
  for (const entry of (text ?? "").split(",").map((e) => e.trim()).filter((e) => e !== "")) {
    const [name = "", value = ""] = entry.split("=", 2).map((p) => p.trim());
    if (!FAILPOINT_NAMES.includes(name)) {
      throw new FailpointError(`${FAILPOINTS_ENV}: unknown failpoint ${JSON.stringify(name)} in ${JSON.stringify(entry)}; known: ${FAILPOINT_NAMES.join(", ")}`);
    }
    try {
      points.set(name, parseDuration(value));
    } catch (err) {
      throw new FailpointError(`${FAILPOINTS_ENV}: ${name} needs a duration such as 5s (${err instanceof Error ? err.message : String(err)})`);
    }
  }
  return points;
}

/** Waits as long as the failpoint says, after telling `reached`; returns at once when it is not set. */
export function pauseAt(points: Failpoints, name: string, reached: (ms: number) => void): Promise<void> {
  const ms = points.get(name);
  if (ms === undefined) return Promise.resolve();
  reached(ms);
  return new Promise((r) => setTimeout(r, ms));
}
