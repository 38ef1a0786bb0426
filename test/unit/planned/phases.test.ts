import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { PLANNED_FAILOVER_PHASES } from "../../../shared/names.js";
import { PLANNED_HOLD_PHASES, PLANNED_PHASES } from "../../../shared/planned/phases.js";

const UNDO = { nothing: "nothing to undo", "unfence-source": "roll back: unfence the source", "forward-only": "none: only forward" } as const;

describe("the switchover's do-and-undo table", () => {
  it("has a row for every phase; the emergency core is held out exactly while servers change", () => {
    expect(Object.keys(PLANNED_PHASES).sort()).toEqual([...PLANNED_FAILOVER_PHASES].sort());
    expect(PLANNED_HOLD_PHASES).toEqual(["Draining", "WaitingForLag", "Promoting"]);
    // Every phase that changes servers can be undone, until the promotion makes it forward-only.
    for (const phase of PLANNED_HOLD_PHASES) expect(PLANNED_PHASES[phase].undo).toBe("unfence-source");
  });

  it("is the table in docs/failover.md, row by row", () => {
    const doc = readFileSync("docs/failover.md", "utf8");
    for (const [phase, p] of Object.entries(PLANNED_PHASES)) {
      const row = `| \`${phase}\` | ${p.persistedFirst} | ${p.work} | ${UNDO[p.undo]} | ${p.cancellable ? "yes" : "no"} | ${p.holdsEmergency ? "yes" : "no"} |`;
      expect(doc, phase).toContain(row);
    }
  });
});
