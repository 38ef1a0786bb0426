import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MysqlFailoverGroup } from "../../shared/api/index.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import type { MariaDbSites } from "../../scripts/env/mariadb-sites.js";
import { waitFor } from "../../scripts/env/ports.js";
import type { TestNetwork } from "../../scripts/env/test-network.js";
import { AgentProcess, AgentSet } from "../support/agent.js";
import { failoverGroup, namespaceWithCredentials, siteAt } from "../support/fixtures.js";
import { applyAll, groupReader } from "../support/groups.js";
import { kubectl } from "../support/kubectl.js";
import { readOnlySampler } from "../support/sampler.js";
import { OperatorProcess } from "../support/operator.js";
import { partitionableSites } from "../support/partitioned.js";

/**
 * The agents' self-fencing under real partitions: each site (server and agent) in its own network
 * namespace, the operator on the host. The sampler reads every site's read_only every 50 ms from
 * the observer address, which no cut touches, and counts every site, reachable by applications
 * or not: with agents, two writable sites must never exist at all.
 */
const ns = `selffence-${randomBytes(3).toString("hex")}`;
const GROUP = "orders";
const POLL_MS = 500;
const FAILURE_THRESHOLD = 2;
const PEER_CHECK = "1s";
const LEASE_MS = 3_000;
const AGENT_PORT = 8080;

const group = (): Promise<MysqlFailoverGroup> => groupReader(ns)(GROUP);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("self-fencing under network partitions (agents and servers in network namespaces, real operator)", () => {
  let net: TestNetwork;
  let sites: MariaDbSites;
  let teardown: (() => Promise<void>) | undefined;
  let operator: OperatorProcess;
  const agents = new AgentSet();

  beforeAll(async () => {
    ({ net, sites, teardown } = await partitionableSites());
    const urls = Object.fromEntries(sites.sites.map((s) => [s.name, `http://${s.host}:${AGENT_PORT}`]));
    // The agents reach the operator's status API on the bridge's operator address.
    operator = await OperatorProcess.start({ identity: "selffence-op", args: [`--namespaces=${ns}`, "--no-leader-election", "--bind-address=0.0.0.0"] });
    await applyAll([
      ...namespaceWithCredentials(ns),
      failoverGroup(ns, GROUP, {
        pollInterval: `${POLL_MS}ms`,
        failureThreshold: FAILURE_THRESHOLD,
        recoveryThreshold: 2,
        failoverCooldown: "1s",
        sidecar: { peerCheckInterval: PEER_CHECK, leaseTimeout: `${LEASE_MS}ms` },
        sites: sites.sites.map((s) => ({ ...siteAt(s, { role: s.name === "sfo" ? "read-only" : "primary-candidate" }), agentUrl: urls[s.name] })),
      }),
    ]);
    await waitFor("iad is the primary", async () => (await group()).status?.activeSite === "iad", 20_000, 200);
    const operatorUrl = `http://${net.address("operator")}:${operator.ports.status}`;
    await Promise.all(
      sites.sites.map(async (s) => {
        const peers = Object.fromEntries(Object.entries(urls).filter(([name]) => name !== s.name));
        const network = net.site(s.name);
        agents.set(s.name, await AgentProcess.start({ site: s.name, group: GROUP, namespace: ns, server: s, operatorUrl, port: AGENT_PORT, peers, netns: network.netns, bindAddress: network.address, peerCheckInterval: PEER_CHECK, leaseTimeout: `${LEASE_MS}ms` }));
      }),
    );
    await agents.of("iad").waitForLog(LOG_MESSAGES.selfFenceArmed, 10_000);

    expect(await sites.site("iad").isReadOnly()).toBe(false);
  });

  afterAll(async () => {
    await Promise.all([...agents.values()].map((a) => a.stop("SIGKILL")));
    await operator?.stop("SIGKILL");
    await teardown?.();
    await kubectl(["delete", "namespace", ns, "--wait=false"]);
  });

  it("primary cut from the operator and from sfo, pdx still reached: it stays writable on its majority, and nothing is promoted", async () => {
    const sampler = readOnlySampler(sites.sites);
    net.cut("iad", ["operator", "sfo"]);
    await sleep(4 * LEASE_MS);
    const { samples, twoWritable } = await sampler.stop();
    expect(twoWritable).toEqual([]);
    expect(samples).toBeGreaterThan(50);
    expect(agents.of("iad").logged(LOG_MESSAGES.selfFencing)).toEqual([]);
    expect(await sites.site("iad").isReadOnly()).toBe(false);
    // The operator lost iad, but pdx still replicates from it: no promotion.
    expect(operator.logged(LOG_MESSAGES.failoverBlocked).map((l) => l.reason)).toContain("PrimaryReachableByReplicas");
    net.heal("iad");
    await waitFor("iad the active site again", async () => (await group()).status?.activeSite === "iad", 10_000, 100);
    expect((await group()).status?.lastFailover).toBeUndefined();
  });

  it("primary cut from the operator and its peers: its agent fences it within the lease, the operator promotes pdx only after that, and two sites are never writable", async () => {
    await waitFor("iad healthy again", async () => (await group()).status?.sites?.find((s) => s.name === "iad")?.state === "writable", 10_000, 100);
    const sampler = readOnlySampler(sites.sites);
    const cutAt = Date.now();
    net.isolate("iad");
    const fenced = await agents.of("iad").waitForLog(LOG_MESSAGES.selfFenced, 3 * LEASE_MS);
    const promoted = await waitFor("pdx promoted", async () => ((await group()).status?.activeSite === "pdx" ? Date.now() : undefined), 30_000, 50);
    const { samples, twoWritable } = await sampler.stop();
    expect(twoWritable).toEqual([]);
    expect(samples).toBeGreaterThan(50);
    expect(agents.of("iad").logged(LOG_MESSAGES.selfFencing)[0]).toMatchObject({ rule: "lease" });
    const fencedAt = Date.parse(String(fenced.time));
    // The lease counts from the last renewal, at most one check before the cut.
    expect(fencedAt - cutAt).toBeLessThanOrEqual(LEASE_MS + 500);
    // Detection (failureThreshold polls), then the rest of the lease and the 1 s margin.
    const detection = (FAILURE_THRESHOLD + 1) * POLL_MS;
    expect(promoted - cutAt).toBeLessThanOrEqual(detection + LEASE_MS + 1_000 + 1_000);
    expect(operator.logged(LOG_MESSAGES.failoverBlocked).some((l) => l.reason === "AwaitingSelfFence")).toBe(true);
    process.stdout.write(`self-fence: fenced ${fencedAt - cutAt} ms and promoted ${promoted - cutAt} ms after the cut; ${samples} samples\n`);
    net.heal();
    await waitFor("iad rejoined read-only", async () => (await sites.site("iad").isReadOnly()) && (await group()).status?.sites?.find((s) => s.name === "iad")?.state === "read-only", 20_000, 200);
  });

  it("primary isolated while its agent hangs: the server's own deadline fences it, the operator promotes after the lease, and two sites are never writable", async () => {
    // pdx is the primary since the test before; iad, the other candidate, is its replica.
    await waitFor("pdx healthy, iad replicating", async () => {
      const g = await group();
      return g.status?.activeSite === "pdx" && g.status.sites?.find((s) => s.name === "iad")?.state === "read-only";
    }, 20_000, 200);
    await agents.of("pdx").waitForLog(LOG_MESSAGES.fenceDeadlineArmed, 10_000);
    const sampler = readOnlySampler(sites.sites);
    const cutAt = Date.now();
    agents.of("pdx").freeze();
    try {
      net.isolate("pdx");
      const promoted = await waitFor("iad promoted", async () => ((await group()).status?.activeSite === "iad" ? Date.now() : undefined), 30_000, 50);
      const { samples, twoWritable } = await sampler.stop();
      expect(twoWritable).toEqual([]);
      expect(samples).toBeGreaterThan(50);
      // Nobody but the server itself fenced pdx: its agent never ran.
      expect(await sites.site("pdx").isReadOnly()).toBe(true);
      expect(agents.of("pdx").logged(LOG_MESSAGES.selfFencing)).toEqual([]);
      const detection = (FAILURE_THRESHOLD + 1) * POLL_MS;
      expect(promoted - cutAt).toBeLessThanOrEqual(detection + LEASE_MS + 1_000 + 1_000);
      process.stdout.write(`fence deadline: iad promoted ${promoted - cutAt} ms after pdx's agent froze and pdx was cut; ${samples} samples\n`);
    } finally {
      agents.of("pdx").thaw();
      net.heal();
    }
    await waitFor("pdx rejoined read-only", async () => (await sites.site("pdx").isReadOnly()) && (await group()).status?.sites?.find((s) => s.name === "pdx")?.state === "read-only", 30_000, 200);
  });
});
