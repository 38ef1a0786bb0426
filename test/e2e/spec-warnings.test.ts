import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { waitFor } from "../../scripts/env/ports.js";
import { EVENT_REASONS } from "../../shared/names.js";
import { groupEvents, groupReader, namespaceWithOperator } from "../support/groups.js";
import { kubectl } from "../support/kubectl.js";

/** Spec fields accepted but not acted on yet are named in a Warning event, once per generation. */
const ns = `ignored-${randomBytes(3).toString("hex")}`;

describe("fields the operator does not act on yet (real operator, API server and MariaDB)", () => {
  const { freshGroup } = namespaceWithOperator(ns, "ignored-op");
  const group = groupReader(ns);
  const warnings = async (): Promise<string[]> => (await groupEvents(ns, "orders")).filter((e) => e.reason === EVENT_REASONS.ignoredSpecFields).map((e) => e.message);

  it("names them in an IgnoredSpecFields event, and again with the new list after a spec change", { timeout: 90_000 }, async () => {
    await freshGroup("orders", { connectionDrainTimeout: "10s", mysqlConf: { max_connections: "300" } });
    await waitFor("the warning", async () => (await warnings()).length > 0, 10_000, 200);
    expect(await warnings()).toEqual([expect.stringMatching(/^spec\.mysqlConf, spec\.connectionDrainTimeout: accepted but not acted on yet/)]);

    const r = await kubectl(["patch", "mfg", "orders", "-n", ns, "--type=merge", "-p", JSON.stringify({ spec: { connectionDrainTimeout: "30s" } })]);
    expect(r.code, r.stderr).toBe(0);
    await waitFor("generation 2 seen", async () => (await group("orders")).status?.observedGeneration === 2, 10_000, 200);
    await waitFor("the warning for generation 2", async () => (await warnings()).some((m) => m.startsWith("spec.mysqlConf: ")), 10_000, 200);
    expect(await warnings()).toHaveLength(2);
  });
});
