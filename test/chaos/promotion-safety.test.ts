import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { MariaDbSites} from "../../scripts/env/mariadb-sites.js";
import { type MariaDbSite } from "../../scripts/env/mariadb-sites.js";
import { waitFor } from "../../scripts/env/ports.js";
import { groupEvents, groupReader, namespaceWithOperator } from "../support/groups.js";
import { kubectl } from "../support/kubectl.js";
import { ledgerLoad, missingOn, sampled } from "../support/ledger.js";

/**
 * What an emergency promotion does with the candidate's relay log: a candidate whose applier was
 * stopped, or held back by a delay, applies everything it received before it becomes writable;
 * one whose applier failed is not promoted unless the spec accepts the loss, and then the loss is
 * recorded exactly. The ledger stops and the candidate has received every acknowledged write
 * before the primary is killed, so any missing write was discarded by the promotion.
 */
const ns = `relay-${randomBytes(3).toString("hex")}`;

describe("emergency promotion and the candidate's relay log (real operator, API server and MariaDB)", () => {
  const { operator, freshGroup: fresh } = namespaceWithOperator(ns, "relay-op");

  const group = groupReader(ns);

  const freshGroup = (name: string, emergencyFailover: Record<string, unknown> = {}): Promise<MariaDbSites> =>
    fresh(name, { emergencyFailover: { relayLogApplyTimeout: "5s", ...emergencyFailover } });

  /** Kills iad and waits until the group names pdx its primary. */
  async function primaryDiesAndPdxTakesOver(sites: MariaDbSites, name: string): Promise<void> {
    await sites.site("iad").kill9();
    await waitFor("pdx promoted", async () => (await group(name)).status?.activeSite === "pdx", 30_000, 200);
  }

  /** Writes under the ledger for a moment, then waits until `candidate` has received (not necessarily applied) all of it. */
  async function writeAndReceive(sites: MariaDbSites, candidate: MariaDbSite, prefix: string): Promise<string[]> {
    const load = ledgerLoad([sites.site("iad")], prefix, 2);
    await new Promise((r) => setTimeout(r, 1_500));
    const acked = await load.stop();
    const pos = await sites.site("iad").gtidBinlogPos();
    await waitFor(`${candidate.name} received ${pos}`, async () => (await candidate.query<{ Gtid_IO_Pos: string }[]>("SHOW REPLICA STATUS"))[0]?.Gtid_IO_Pos === pos, 10_000, 50);
    expect(acked.length).toBeGreaterThan(20);
    return acked;
  }

  it("a candidate whose applier was stopped by hand applies everything it received before it is promoted", async () => {
    const sites = await freshGroup("stopped");
    await sampled(sites.sites, async () => {
      const pdx = sites.site("pdx");
      await pdx.query("STOP REPLICA SQL_THREAD");
      const acked = await writeAndReceive(sites, pdx, "stopped");
      await primaryDiesAndPdxTakesOver(sites, "stopped");
      expect(await missingOn(pdx, acked, "stopped")).toEqual([]);
      const g = await group("stopped");
      expect(g.status?.lastFailoverLostGtid).toBe("");
      // The reader holds nothing the new primary lacks: it must not be called divergent.
      expect(g.status?.sites?.find((s) => s.name === "sfo")?.recoveryState ?? "").toBe("");
      expect(operator().lines.some((l) => l.msg === "applier started before promotion" && l.site === "pdx")).toBe(true);
    });
  });

  it("a candidate behind a reader catches up from the reader before it is promoted", async () => {
    const sites = await freshGroup("behind");
    await sampled(sites.sites, async () => {
      const [pdx, sfo] = [sites.site("pdx"), sites.site("sfo")];
      await pdx.query("STOP REPLICA IO_THREAD");
      const acked = await writeAndReceive(sites, sfo, "behind");
      expect(await sfo.waitForGtid(await sites.site("iad").gtidBinlogPos(), 10)).toBe(true);
      await primaryDiesAndPdxTakesOver(sites, "behind");
      expect(await missingOn(pdx, acked, "behind")).toEqual([]);
      expect(operator().lines.some((l) => l.msg === "candidate catching up before promotion" && l.site === "pdx" && l.donor === "sfo")).toBe(true);
      // The reader holds nothing the new primary lacks, so it rejoins instead of being reported.
      await new Promise((r) => setTimeout(r, 2_000));
      expect((await group("behind")).status?.sites?.find((x) => x.name === "sfo")?.recoveryState ?? "").toBe("");
    });
  });

  it("a candidate held back by MASTER_DELAY has the delay removed and applies everything before it is promoted", async () => {
    const sites = await freshGroup("delayed");
    await sampled(sites.sites, async () => {
      const pdx = sites.site("pdx");
      await pdx.setReplicationDelay(3600);
      const acked = await writeAndReceive(sites, pdx, "delayed");
      await primaryDiesAndPdxTakesOver(sites, "delayed");
      expect(await missingOn(pdx, acked, "delayed")).toEqual([]);
      expect(operator().lines.some((l) => l.msg === "apply delay removed before promotion" && l.site === "pdx")).toBe(true);
    });
  });

  it("a candidate whose applier failed is not promoted; allowing the loss promotes it and records exactly what was discarded", async () => {
    const sites = await freshGroup("broken");
    await sampled(sites.sites, async () => {
      const [iad, pdx] = [sites.site("iad"), sites.site("pdx")];
      // A row only pdx has (not binlogged): iad's insert of the same key stops pdx's applier on a duplicate key.
      await iad.injectWrite("seed");
      await pdx.waitForGtid(await iad.gtidBinlogPos(), 10);
      const next = (await iad.query<{ next: number }[]>("SELECT MAX(id) + 1 AS next FROM bloodraven_test.writes"))[0]?.next;
      const conn = await pdx.connect("admin");
      await conn.query("SET SESSION sql_log_bin = 0");
      await conn.query("INSERT INTO bloodraven_test.writes (id, site, note) VALUES (?, 'pdx', 'local')", [next]);
      await conn.end();
      const acked = await writeAndReceive(sites, pdx, "broken");
      await waitFor("pdx's applier stopped on the duplicate", async () => (await pdx.replicaStatus())?.sqlRunning === "No", 10_000, 50);
      await iad.kill9();

      await waitFor(
        "the promotion refused",
        async () => (await (await fetch(operator().url("metrics", "/metrics"))).text()).includes(`bloodraven_failover_failures_total{namespace="${ns}",group="broken",reason="relay_log_not_applied"}`),
        30_000,
        200,
      );
      expect(await pdx.isReadOnly()).toBe(true);
      expect((await group("broken")).status?.lastFailover).toBeUndefined();

      const r = await kubectl(["patch", "mfg", "broken", "-n", ns, "--type=merge", "-p", JSON.stringify({ spec: { emergencyFailover: { allowReceivedTransactionLoss: true } } })]);
      expect(r.code, r.stderr).toBe(0);
      await waitFor("pdx promoted", async () => (await group("broken")).status?.activeSite === "pdx", 30_000, 200);
      const g = await group("broken");
      const lost = await missingOn(pdx, acked, "broken");
      expect(lost.length).toBeGreaterThan(0);
      expect(g.status?.lastFailoverLostTransactionCount).toBe(lost.length);
      expect(g.status?.lastFailoverLostGtid).toMatch(/^0-1-\d+$/);
      expect((await groupEvents(ns, "broken")).some((e) => e.reason === "DataLossDetected" && e.message.includes(`discarding ${lost.length} received`))).toBe(true);
      const metrics = await (await fetch(operator().url("metrics", "/metrics"))).text();
      expect(metrics).toContain(`bloodraven_failover_lost_transactions_total{namespace="${ns}",group="broken",site="pdx"} ${lost.length}`);
    });
  });
});
