/**
 * npm run bench:self-fence: the trade-off of spec.sidecar.awaitSelfFence, measured. Each round
 * starts three MariaDB sites and their agents in network namespaces, a group over them (poll
 * 500 ms, threshold 2, agents every 2 s with a 6 s lease, longer than the detection so that the
 * difference shows), then cuts the primary from the operator and both peers (it still reaches
 * nothing else) and measures, from the cut:
 *   detected      the group's status says iad is unreachable (the operator's detection)
 *   fenced        the primary's agent has fenced it (its log line)
 *   promoted      the operator names pdx active (status polled every 50 ms)
 *   two_writable  how long a 50 ms sampler of every site's read_only saw two writable sites
 * with awaitSelfFence on (the default) and off (the original's behaviour), in the same run.
 * Target (issue 16): on, two_writable 0 in every round, and in every round promoted within
 * detected + lease + 1 s.
 */
import { execFileSync, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ControlPlane } from "../../scripts/env/control-plane.js";
import { waitFor } from "../../scripts/env/ports.js";
import { spawnAgent } from "../support/agent-spawn.js";
import { asList, failoverGroup, namespaceWithCredentials, siteAt } from "../support/fixtures.js";
import { partitionableSites } from "../support/partitioned.js";
import { readOnlySampler } from "../support/sampler.js";
import { startBenchOperator } from "./bench-operator.js";
import { machineInfo, percentiles, stopChild } from "./bench-util.js";

const ROUNDS = Number(process.env.SELF_FENCE_ROUNDS ?? 5);
const root = fileURLToPath(new URL("../..", import.meta.url));
const NS = "bench";
const POLL_MS = 500;
const FAILURE_THRESHOLD = 2;
const PEER_CHECK = "2s";
const LEASE_MS = 6_000;
const AGENT_PORT = 8080;
const SAMPLE_MS = 50;

interface Round {
  detected_ms: number;
  fenced_ms: number;
  promoted_ms: number;
  two_writable_ms: number;
}

async function round(plane: ControlPlane, operatorStatusPort: number, awaitSelfFence: boolean, n: number): Promise<Round> {
  const kubectl = (args: string[], input?: string) => execFileSync("kubectl", args, { env: { ...process.env, KUBECONFIG: plane.kubeconfigPath }, input, encoding: "utf8", timeout: 60_000 });
  const { net, sites, teardown } = await partitionableSites();
  const group = `g-${awaitSelfFence ? "await" : "off"}-${n}`;
  const agents: ChildProcess[] = [];
  try {
    const urls = Object.fromEntries(sites.sites.map((s) => [s.name, `http://${s.host}:${AGENT_PORT}`]));
    kubectl(
      ["apply", "-f", "-"],
      JSON.stringify(
        failoverGroup(NS, group, {
          pollInterval: `${POLL_MS}ms`,
          failureThreshold: FAILURE_THRESHOLD,
          failoverCooldown: "1s",
          sidecar: { peerCheckInterval: PEER_CHECK, leaseTimeout: `${LEASE_MS}ms`, awaitSelfFence },
          sites: sites.sites.map((s) => ({ ...siteAt(s, { role: s.name === "sfo" ? "read-only" : "primary-candidate" }), agentUrl: urls[s.name] })),
        }),
      ),
    );
    const status = () => JSON.parse(kubectl(["get", "mfg", group, "-n", NS, "-o", "jsonpath={.status}"]) || "{}") as { activeSite?: string; sites?: { name: string; state?: string }[] };
    await waitFor(`${group}: iad active`, async () => status().activeSite === "iad", 60_000, 200);
    // The primary's agent's log, as one string: its messages are matched as they arrive.
    let iadLog = "";
    for (const s of sites.sites) {
      const { child } = spawnAgent(`${root}dist/bloodraven.mjs`, {
        site: s.name,
        group,
        namespace: NS,
        server: s,
        operatorUrl: `http://${net.address("operator")}:${operatorStatusPort}`,
        port: AGENT_PORT,
        netns: net.site(s.name).netns,
        bindAddress: net.site(s.name).address,
        peerCheckInterval: PEER_CHECK,
        leaseTimeout: `${LEASE_MS}ms`,
      });
      agents.push(child);
      if (s.name === "iad") child.stdout?.on("data", (chunk: Buffer) => (iadLog += chunk.toString()));
      else child.stdout?.resume();
    }
    await waitFor(`${group}: iad's agent armed`, async () => iadLog.includes('"self-fence monitor armed: the server is writable"'), 30_000, 100);
    // Two checks, so that every agent has reached its peers and the operator has answered them.
    await new Promise((r) => setTimeout(r, 2 * 2_000));

    const sampler = readOnlySampler(sites.sites);
    const cut = performance.now();
    net.isolate("iad");
    let fenced = Number.NaN;
    const noteFence = (): boolean => {
      if (Number.isNaN(fenced) && iadLog.includes('"self-fence: server fenced')) fenced = performance.now() - cut;
      return !Number.isNaN(fenced);
    };
    let detected = Number.NaN;
    const promoted = await waitFor(
      `${group}: pdx promoted`,
      async () => {
        noteFence();
        const now = status();
        if (Number.isNaN(detected) && now.sites?.find((x) => x.name === "iad")?.state === "unreachable") detected = performance.now() - cut;
        return now.activeSite === "pdx" ? performance.now() - cut : undefined;
      },
      60_000,
      SAMPLE_MS,
    );
    await waitFor(`${group}: iad fenced`, async () => noteFence(), 3 * LEASE_MS, SAMPLE_MS);
    const { twoWritable } = await sampler.stop();
    // A promotion in the same cycle as the detection is never seen as a separate status.
    return { detected_ms: Number.isNaN(detected) ? promoted : detected, fenced_ms: fenced, promoted_ms: promoted, two_writable_ms: twoWritable.length * SAMPLE_MS };
  } finally {
    await Promise.all(agents.map((a) => stopChild(a)));
    kubectl(["delete", "mfg", group, "-n", NS, "--wait=false"]);
    await teardown();
  }
}

async function main(): Promise<void> {
  const plane = await ControlPlane.start({ controllerManager: false });
  const kubectl = (args: string[], input?: string) => execFileSync("kubectl", args, { env: { ...process.env, KUBECONFIG: plane.kubeconfigPath }, input, encoding: "utf8", timeout: 60_000 });
  let operator: ChildProcess | undefined;
  try {
    kubectl(["apply", "--server-side", "-f", `${root}crds`]);
    kubectl(["wait", "--for=condition=Established", "--timeout=30s", "crd", "--all"]);
    kubectl(["apply", "-f", "-"], asList(namespaceWithCredentials(NS)));
    // The agents reach the operator's status API on the test network's operator address.
    const bench = await startBenchOperator(plane, NS, [], "0.0.0.0");
    operator = bench.child;
    const statusPort = Number(new URL(bench.url("status", "/")).port);
    const results = [];
    for (const awaitSelfFence of [true, false]) {
      const rounds: Round[] = [];
      for (let i = 0; i < ROUNDS; i++) rounds.push(await round(plane, statusPort, awaitSelfFence, i));
      results.push({
        awaitSelfFence,
        rounds: rounds.length,
        detected: percentiles(rounds.map((r) => r.detected_ms)),
        promoted_after_detection_plus_lease: percentiles(rounds.map((r) => r.promoted_ms - r.detected_ms - LEASE_MS)),
        fenced: percentiles(rounds.map((r) => r.fenced_ms)),
        promoted: percentiles(rounds.map((r) => r.promoted_ms)),
        two_writable: percentiles(rounds.map((r) => r.two_writable_ms)),
        rounds_with_two_writable: rounds.filter((r) => r.two_writable_ms > 0).length,
      });
    }
    const on = results.find((r) => r.awaitSelfFence);
    const checks = {
      never_two_writable_when_waiting: on?.rounds_with_two_writable === 0,
      promoted_within_detection_lease_1s: (on?.promoted_after_detection_plus_lease.max_ms ?? Infinity) <= 1_000,
    };
    const pass = Object.values(checks).every(Boolean);
    const settings = { pollIntervalMs: POLL_MS, failureThreshold: FAILURE_THRESHOLD, peerCheckInterval: PEER_CHECK, leaseTimeoutMs: LEASE_MS, sampleMs: SAMPLE_MS };
    console.log(JSON.stringify({ benchmark: "self-fence", machine: machineInfo(), settings, results, checks, pass }, null, 2));
    process.exitCode = pass ? 0 : 1;
  } finally {
    await stopChild(operator);
    await plane.stop();
  }
}

await main();
