/**
 * npm run bench:failover: kill -9 the primary N times under a write load, with the real operator,
 * API server and MariaDB, at the default poll settings (2 s x 3) and a fast one (500 ms x 3).
 * Per failover:
 *   to_writable      kill -> the candidate answers read_only=0 (seen by this script, 5 ms polling)
 *   decision_to_writable   the operator's decision -> promotion confirmed
 *                          (bloodraven_failover_duration_seconds{stage="writable"}, one observation)
 *   detection        to_writable - decision_to_writable
 *   to_dns           detection + decision -> DNS and taints moved ({stage="dns"})
 * Targets (issue 5): decision_to_writable p50 <= 150 ms; to_dns p50 <= pollInterval x
 * failureThreshold + 1 s.
 */
import { execFileSync, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ControlPlane } from "../../scripts/env/control-plane.js";
import { MariaDbSites } from "../../scripts/env/mariadb-sites.js";
import { waitFor } from "../../scripts/env/ports.js";
import { writeLoad } from "../support/write-load.js";
import { startBenchOperator } from "./bench-operator.js";
import { machineInfo, percentiles, stopChild } from "./bench-util.js";
import { asList, failoverGroup, namespaceWithCredentials, siteAt } from "../support/fixtures.js";

const ROUNDS = Number(process.env.FAILOVER_ROUNDS ?? 10);
const root = fileURLToPath(new URL("../..", import.meta.url));
const NS = "bench";

interface Setting {
  name: string;
  pollInterval: string;
  pollMs: number;
  failureThreshold: number;
}

const SETTINGS: Setting[] = [
  { name: "default", pollInterval: "2s", pollMs: 2_000, failureThreshold: 3 },
  { name: "fast", pollInterval: "500ms", pollMs: 500, failureThreshold: 3 },
];

function stageSum(metrics: string, group: string, stage: string): number {
  const m = metrics.match(new RegExp(`^bloodraven_failover_duration_seconds_sum\\{namespace="${NS}",group="${group}",stage="${stage}"\\} ([0-9.e+-]+)`, "m"));
  return Number(m?.[1] ?? 0) * 1000;
}

async function runSetting(plane: ControlPlane, setting: Setting, metricsUrl: string) {
  const kubectl = (args: string[], input?: string) => execFileSync("kubectl", args, { env: { ...process.env, KUBECONFIG: plane.kubeconfigPath }, input, encoding: "utf8", timeout: 60_000 });
  const sites = await MariaDbSites.start({ names: ["iad", "pdx"], primary: "iad" });
  const group = `g-${setting.name}`;
  try {
    kubectl(
      ["apply", "-f", "-"],
      JSON.stringify(
        failoverGroup(NS, group, {
          pollInterval: setting.pollInterval,
          failureThreshold: setting.failureThreshold,
          failoverCooldown: "1s",
          dns: { hostname: `${group}.example.com`, ttl: 30 },
          sites: sites.sites.map((s, i) => siteAt(s, { lbIP: `10.0.0.${i + 1}` })),
        }),
      ),
    );
    const activeSite = () => JSON.parse(kubectl(["get", "mfg", group, "-n", NS, "-o", "jsonpath={.status}"]) || "{}") as { activeSite?: string; sites?: { name: string; recoveryState?: string; divergentGtid?: string }[] };
    await waitFor(`${group} healthy`, async () => activeSite().activeSite === "iad", 60_000, 200);
    const rows: { to_writable_ms: number; decision_to_writable_ms: number; detection_ms: number; to_dns_ms: number }[] = [];
    let primary = sites.site("iad");
    let replica = sites.site("pdx");
    const load = writeLoad(sites.sites);
    for (let round = 0; round < ROUNDS; round++) {
      const before = await (await fetch(metricsUrl)).text();
      const killed = performance.now();
      await primary.kill9();
      await waitFor("candidate writable", async () => !(await replica.isReadOnly()), 60_000, 5);
      const toWritable = performance.now() - killed;
      let after = "";
      await waitFor(
        "dns stage observed",
        async () => {
          after = await (await fetch(metricsUrl)).text();
          return stageSum(after, group, "dns") > stageSum(before, group, "dns");
        },
        30_000,
        20,
      );
      const decisionToWritable = stageSum(after, group, "writable") - stageSum(before, group, "writable");
      const decisionToDns = stageSum(after, group, "dns") - stageSum(before, group, "dns");
      const detection = toWritable - decisionToWritable;
      rows.push({ to_writable_ms: toWritable, decision_to_writable_ms: decisionToWritable, detection_ms: detection, to_dns_ms: detection + decisionToDns });
      // The old primary comes back read-only and rejoins; the next round kills the new primary.
      await primary.restart({ readOnly: true });
      const newPrimary = replica;
      const oldPrimary = primary;
      await waitFor(
        "old primary rejoined",
        async () => {
          const status = activeSite();
          // kill -9 right after a commit can leave a transaction the replica never received: the
          // operator must then refuse the rejoin, and this benchmark cannot go on with two sites.
          const blocked = status.sites?.find((s) => s.name === oldPrimary.name && s.recoveryState === "RecoveryBlocked");
          if (blocked) throw new Error(`${oldPrimary.name} came back with transactions ${newPrimary.name} never received (${blocked.divergentGtid ?? "?"}); the operator blocked its rejoin, as it must. Run the benchmark again.`);
          return (await oldPrimary.replicaStatus())?.masterPort === newPrimary.port && status.activeSite === newPrimary.name;
        },
        60_000,
        100,
      );
      [primary, replica] = [newPrimary, oldPrimary];
      await new Promise((r) => setTimeout(r, 1_100));
    }
    const acknowledged = await load.stop();
    const col = (k: keyof (typeof rows)[number]) => percentiles(rows.map((r) => r[k]));
    return { setting, acknowledged_writes: acknowledged, rounds: rows.length, to_writable: col("to_writable_ms"), decision_to_writable: col("decision_to_writable_ms"), detection: col("detection_ms"), to_dns: col("to_dns_ms") };
  } finally {
    await sites.teardown();
  }
}

async function main(): Promise<void> {
  const plane = await ControlPlane.start({ controllerManager: false });
  const kubectl = (args: string[], input?: string) => execFileSync("kubectl", args, { env: { ...process.env, KUBECONFIG: plane.kubeconfigPath }, input, encoding: "utf8", timeout: 60_000 });
  let operator: ChildProcess | undefined;
  try {
    kubectl(["apply", "--server-side", "-f", `${root}crds`, "-f", `${root}test/fixtures/crds`]);
    kubectl(["wait", "--for=condition=Established", "--timeout=30s", "crd", "--all"]);
    kubectl(["apply", "-f", "-"], asList(namespaceWithCredentials(NS)));
    const bench = await startBenchOperator(plane, NS);
    operator = bench.child;
    const metricsUrl = bench.url("metrics", "/metrics");
    const results = [];
    for (const setting of SETTINGS) results.push(await runSetting(plane, setting, metricsUrl));
    const checks = results.map((r) => ({
      setting: r.setting.name,
      decision_to_writable_p50_ok: r.decision_to_writable.p50_ms <= 150,
      to_dns_p50_ok: r.to_dns.p50_ms <= r.setting.pollMs * r.setting.failureThreshold + 1_000,
    }));
    const pass = checks.every((c) => c.decision_to_writable_p50_ok && c.to_dns_p50_ok);
    console.log(JSON.stringify({ benchmark: "failover", machine: machineInfo(), rounds_per_setting: ROUNDS, results, targets: { decision_to_writable_p50_ms_max: 150, to_dns_p50_ms_max: "pollInterval x failureThreshold + 1000" }, checks, pass }, null, 2));
    process.exitCode = pass ? 0 : 1;
  } finally {
    await stopChild(operator);
    await plane.stop();
  }
}

await main();
