import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { waitFor } from "../../scripts/env/ports.js";
import { groupEvents, groupReader, namespaceWithOperator } from "../support/groups.js";

/**
 * Transactions that exist on a site other than the primary while it still replicates from it:
 * an errant write on a reader, and the acknowledged writes on the losing side of a split brain
 * that a person resolved by fencing that side. Both are reported with the set and the exact
 * count, and the site stays a replica.
 */
const ns = `errant-${randomBytes(3).toString("hex")}`;

describe("errant transactions on sites that replicate from the primary (real operator, API server and MariaDB)", () => {
  const { operator, freshGroup } = namespaceWithOperator(ns, "errant-op");
  const group = groupReader(ns);
  const site = async (name: string, s: string) => (await group(name)).status?.sites?.find((x) => x.name === s);

  it("an errant write on a reader: reported with its GTID and count, under a reason of its own", async () => {
    const sites = await freshGroup("reader");
    const [iad, sfo] = [sites.site("iad"), sites.site("sfo")];
    await iad.injectWrite("replicated", "app");
    await sfo.waitForGtid(await iad.gtidBinlogPos(), 10);
    // As root, which read_only does not stop.
    const errant = (await sfo.injectWrite("errant", "admin")).split(",").find((g) => g.startsWith("0-3-"));
    const s = await waitFor("sfo reported", async () => {
      const s = await site("reader", "sfo");
      return s?.recoveryState === "ErrantTransactions" ? s : undefined;
    }, 15_000, 200);
    expect(s).toMatchObject({ divergentGtid: errant, divergentTransactionCount: 1 });
    expect((await group("reader")).status?.conditions?.find((c) => c.type === "RecoveryPending")).toMatchObject({ status: "True", reason: "ReaderErrantTransactions" });
    const events = await groupEvents(ns, "reader");
    expect(events.filter((e) => e.reason === "ErrantTransactionsDetected").map((e) => e.message)).toEqual([expect.stringContaining(`sfo replicates from the primary but has 1 transaction(s) the primary never had (${errant})`)]);
    const metrics = await (await fetch(operator().url("metrics", "/metrics"))).text();
    expect(metrics).toContain(`bloodraven_divergent_transactions{namespace="${ns}",group="reader",site="sfo"} 1`);
    expect(await sfo.isReadOnly()).toBe(true);
  });

  it("a split brain resolved by fencing one side by hand: the writes only that side took are reported", async () => {
    const sites = await freshGroup("split");
    const [iad, pdx] = [sites.site("iad"), sites.site("pdx")];
    await iad.injectWrite("before", "app");
    await pdx.waitForGtid(await iad.gtidBinlogPos(), 10);
    await pdx.setReadOnly(false);
    await waitFor("split brain seen", async () => (await groupEvents(ns, "split")).some((e) => e.reason === "SplitBrainDetected"), 15_000, 200);
    for (let i = 0; i < 5; i++) await pdx.injectWrite(`acknowledged on pdx ${i}`, "app");
    await pdx.setReadOnly(true);
    const s = await waitFor("pdx reported", async () => {
      const s = await site("split", "pdx");
      return s?.recoveryState === "ErrantTransactions" ? s : undefined;
    }, 15_000, 200);
    expect(s?.divergentTransactionCount).toBe(5);
    expect(s?.divergentGtid).toMatch(/^0-2-\d+$/);
    expect((await group("split")).status?.conditions?.find((c) => c.type === "RecoveryPending")).toMatchObject({ status: "True", reason: "ErrantTransactions" });
  });
});
