import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MysqlFailoverGroup } from "../../shared/api/index.js";
import type { MariaDbSite, MariaDbSites } from "../../scripts/env/mariadb-sites.js";
import { waitFor } from "../../scripts/env/ports.js";
import type { TestNetwork } from "../../scripts/env/test-network.js";
import { failoverGroup, namespaceWithCredentials, siteAt } from "../support/fixtures.js";
import { applyAll, groupEvents, groupReader } from "../support/groups.js";
import { kubectl } from "../support/kubectl.js";
import { missingOn, underLoad } from "../support/ledger.js";
import { OperatorProcess } from "../support/operator.js";
import { partitionableSites } from "../support/partitioned.js";

/**
 * Partial failures, with every site in its own network namespace: the operator, the applications
 * (a write ledger on the application account) and the test's observer (a sampler that reads every
 * site's read_only every 50 ms) reach the sites from three different addresses, so a test can cut
 * one path and leave the others. Each test asserts what the operator did and what it did not: no
 * acknowledged write lost, never two writable sites that applications can reach.
 */
const ns = `chaos-${randomBytes(3).toString("hex")}`;
const GROUP = "orders";
const POLL_MS = 500;
const FAILURE_THRESHOLD = 2;

const readGroup = groupReader(ns);
const group = (): Promise<MysqlFailoverGroup> => readGroup(GROUP);

const condition = (g: MysqlFailoverGroup, type: string) => g.status?.conditions?.find((c) => c.type === type);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("partial failures (sites in network namespaces, real operator, API server and MariaDB)", () => {
  let net: TestNetwork;
  let sites: MariaDbSites;
  let teardown: (() => Promise<void>) | undefined;
  let operator: OperatorProcess;
  /** Sites the applications cannot reach: they take no writes, so they do not count as a second writer. */
  const cutFromApps = new Set<string>();
  const appsReach = (s: MariaDbSite): boolean => !cutFromApps.has(s.name);

  const writableSites = async (): Promise<string[]> => {
    const out: string[] = [];
    for (const s of sites.sites) if (!(await s.isReadOnly())) out.push(s.name);
    return out;
  };

  beforeAll(async () => {
    ({ net, sites, teardown } = await partitionableSites());
    await applyAll([
      ...namespaceWithCredentials(ns),
      failoverGroup(ns, GROUP, {
        pollInterval: `${POLL_MS}ms`,
        failureThreshold: FAILURE_THRESHOLD,
        recoveryThreshold: 2,
        failoverCooldown: "1s",
        sites: sites.sites.map((s) => siteAt(s, { role: s.name === "sfo" ? "read-only" : "primary-candidate" })),
      }),
    ]);
    operator = await OperatorProcess.start({ identity: "chaos-op", args: [`--namespaces=${ns}`, "--no-leader-election"] });
    await waitFor("iad is the primary", async () => condition(await group(), "Ready")?.status === "True" && (await group()).status?.activeSite === "iad", 20_000, 200);
  });

  afterAll(async () => {
    await operator?.stop("SIGKILL");
    await teardown?.();
    await kubectl(["delete", "namespace", ns, "--wait=false"]);
  });

  it("operator cut from a healthy primary: no failover; the condition, event and metric say the replicas still reach it", async () => {
    const { missing } = await underLoad(sites.sites, "opcut", async () => {
      net.cut("iad", ["operator"]);
      await waitFor(
        "the veto on the Ready condition",
        async () => condition(await group(), "Ready")?.reason === "PrimaryReachableByReplicas",
        15_000,
        200,
      );
      // Far beyond failureThreshold and the witnesses' heartbeat window: still no promotion.
      await sleep(6 * FAILURE_THRESHOLD * POLL_MS + 3_000);
      expect(await writableSites()).toEqual(["iad"]);
      const g = await group();
      expect(g.status?.lastFailover).toBeUndefined();
      expect(condition(g, "Ready")?.message).toMatch(/operator cannot reach the primary iad; replicas can/);
      const blocked = (await groupEvents(ns, GROUP)).filter((e) => e.reason === "FailoverBlocked");
      expect(blocked.map((e) => e.message).join("\n")).toMatch(/operator cannot reach the primary iad; replicas can \((pdx, sfo|sfo, pdx|pdx|sfo) still receive/);
      const metrics = await (await fetch(operator.url("metrics", "/metrics"))).text();
      expect(metrics).toContain(`bloodraven_failover_blocked_total{namespace="${ns}",group="${GROUP}",reason="PrimaryReachableByReplicas"} 1`);
      net.heal();
      await waitFor("the group healthy again", async () => condition(await group(), "Ready")?.status === "True", 15_000, 200);
      return "iad";
    }, appsReach);
    expect(missing, "acknowledged writes missing on the primary").toEqual([]);
    expect(operator.lines.filter((l) => l.msg === "failover")).toEqual([]);
  });

  it("primary cut from the candidate only: the operator reaches the primary, so nothing moves", async () => {
    const { missing } = await underLoad(sites.sites, "pcut", async () => {
      net.cut("iad", ["pdx"]);
      await sleep(4_000);
      expect(await writableSites()).toEqual(["iad"]);
      expect((await group()).status?.activeSite).toBe("iad");
      net.heal();
      const pos = await sites.site("iad").gtidBinlogPos();
      expect(await sites.site("pdx").waitForGtid(pos, 20)).toBe(true);
      return "iad";
    }, appsReach);
    expect(missing).toEqual([]);
    expect((await group()).status?.lastFailover).toBeUndefined();
  });

  it("primary isolated from everyone but the observer: its replicas lose it too, pdx is promoted, iad is fenced on return and nothing acknowledged is discarded", async () => {
    let missingOnPdx: string[] = [];
    const { acked } = await underLoad(sites.sites, "iso", async () => {
      cutFromApps.add("iad");
      net.isolate("iad");
      await waitFor("pdx promoted", async () => (await group()).status?.activeSite === "pdx", 30_000, 200);
      expect((await group()).status?.lastFailoverTarget).toBe("pdx");
      // iad never saw its fence and is still writable. The operator's path heals first here: with
      // the applications' path first, they could write to it until the operator fences it (the
      // per-site agent's self-fencing closes that window; docs/failover.md, failure modes).
      net.reconnect("iad", ["operator"]);
      await waitFor("iad fenced", async () => sites.site("iad").isReadOnly(), 10_000, 50);
      net.heal();
      cutFromApps.delete("iad");
      return "pdx";
    }, appsReach);
    missingOnPdx = await missingOn(sites.site("pdx"), acked, "iso");
    if (missingOnPdx.length > 0) {
      // Acknowledged by iad and not yet replicated when it was cut: kept on iad, and reported.
      expect(await missingOn(sites.site("iad"), missingOnPdx, "iso")).toEqual([]);
      await waitFor(
        "iad's divergence reported",
        async () => (await group()).status?.sites?.find((s) => s.name === "iad")?.recoveryState === "RecoveryBlocked",
        15_000,
        200,
      );
    } else {
      await waitFor("iad rejoined as a replica of pdx", async () => (await sites.site("iad").replicaStatus())?.ioRunning === "Yes", 15_000, 200);
    }
  });
});
