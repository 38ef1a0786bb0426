/**
 * npm run bench:scale: one operator process managing 1,000 MysqlFailoverGroups (2,000 site
 * endpoints over four real mariadbd servers) at the default 2 s poll interval, against the real
 * API server. Reports poll-cycle latency (from the operator's bloodraven_poll_cycle_seconds
 * histogram, interpolated as histogram_quantile does), operator CPU and RSS.
 * Targets (issue 4): p99 < 200 ms, CPU < 0.5 core, RSS < 512 MB.
 */
import { execFileSync, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ControlPlane } from "../../scripts/env/control-plane.js";
import { MariaDbSites, TEST_USERS } from "../../scripts/env/mariadb-sites.js";
import { waitFor } from "../../scripts/env/ports.js";
import { startBenchOperator } from "./bench-operator.js";
import { machineInfo, stopChild } from "./bench-util.js";
import { asList } from "../support/fixtures.js";

const GROUPS = Number(process.env.SCALE_GROUPS ?? 1000);
const WARMUP_MS = Number(process.env.SCALE_WARMUP_MS ?? 20_000);
const WINDOW_MS = Number(process.env.SCALE_WINDOW_MS ?? 30_000);
const NS = "scale";
const OPERATOR_HEAP_MB = Number(process.env.SCALE_HEAP_MB ?? 256);
const root = fileURLToPath(new URL("../..", import.meta.url));

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  // utime and stime are fields 14 and 15 of /proc/pid/stat (11 and 12 after the command name).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/);
  return Number(line?.[1] ?? 0) / 1024;
}

type Buckets = Map<number, number>;

function cycleBuckets(metrics: string): { buckets: Buckets; count: number } {
  const buckets: Buckets = new Map();
  for (const m of metrics.matchAll(/^bloodraven_poll_cycle_seconds_bucket\{le="([^"]+)"\} (\d+)/gm)) {
    buckets.set(m[1] === "+Inf" ? Infinity : Number(m[1]), Number(m[2]));
  }
  const count = Number(metrics.match(/^bloodraven_poll_cycle_seconds_count (\d+)/m)?.[1] ?? 0);
  return { buckets, count };
}

/** Prometheus' histogram_quantile: linear interpolation inside the bucket holding the rank. */
function quantile(q: number, before: Buckets, after: Buckets): number {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((b) => (after.get(b) ?? 0) - (before.get(b) ?? 0));
  const total = counts.at(-1) ?? 0;
  const rank = q * total;
  for (let i = 0; i < bounds.length; i++) {
    if ((counts[i] ?? 0) >= rank) {
      const upper = bounds[i] ?? 0;
      const lower = i === 0 ? 0 : (bounds[i - 1] ?? 0);
      if (upper === Infinity) return lower;
      const below = i === 0 ? 0 : (counts[i - 1] ?? 0);
      const inBucket = (counts[i] ?? 0) - below;
      return inBucket === 0 ? upper : lower + ((upper - lower) * (rank - below)) / inBucket;
    }
  }
  return NaN;
}

async function main(): Promise<void> {
  const started = Date.now();
  const [plane, sites] = await Promise.all([
    ControlPlane.start({ controllerManager: false }),
    MariaDbSites.start({ names: ["iad", "r1", "r2", "r3"], primary: "iad" }),
  ]);
  const kubectl = (args: string[], input?: string) =>
    execFileSync("kubectl", args, { env: { ...process.env, KUBECONFIG: plane.kubeconfigPath }, input, encoding: "utf8", timeout: 300_000, maxBuffer: 64 << 20 });
  let operator: ChildProcess | undefined;
  try {
    kubectl(["apply", "--server-side", "-f", `${root}crds`]);
    kubectl(["wait", "--for=condition=Established", "--timeout=30s", "crd", "--all"]);
    const items: object[] = [
      { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } },
      { apiVersion: "v1", kind: "Secret", metadata: { name: "mysql", namespace: NS }, stringData: { username: TEST_USERS.operator.user, password: TEST_USERS.operator.password } },
    ];
    const replicas = ["r1", "r2", "r3"];
    for (let i = 0; i < GROUPS; i++) {
      const replica = sites.site(replicas[i % replicas.length] ?? "r1");
      items.push({
        apiVersion: "shipstream.io/v1alpha1",
        kind: "MysqlFailoverGroup",
        metadata: { name: `g${i}`, namespace: NS },
        spec: {
          credentials: { operator: { secretName: "mysql" } },
          sites: [
            { name: "a", endpoint: { host: "127.0.0.1", port: sites.site("iad").port } },
            { name: "b", endpoint: { host: "127.0.0.1", port: replica.port } },
          ],
        },
      });
    }
    kubectl(["create", "-f", "-"], asList(items));
    const setupMs = Date.now() - started;

    // The heap cap the Helm chart sets; without it V8 sizes the heap for this 24 GiB machine.
    const bench = await startBenchOperator(plane, NS, [`--max-old-space-size=${OPERATOR_HEAP_MB}`, ...(process.env.SCALE_NODE_FLAGS ?? "").split(" ").filter(Boolean)]);
    operator = bench.child;
    const pid = operator.pid ?? 0;
    const metrics = async () => (await fetch(bench.url("metrics", "/metrics"))).text();
    const convergeStart = Date.now();
    await waitFor(
      `all ${GROUPS} groups healthy`,
      async () => {
        const status = (await (await fetch(bench.url("status", "/status"))).json()) as Record<string, { activeSite: string }>;
        return Object.values(status).filter((g) => g.activeSite === "a").length === GROUPS;
      },
      120_000,
      1_000,
    );
    const convergeMs = Date.now() - convergeStart;
    await new Promise((r) => setTimeout(r, WARMUP_MS));

    const before = cycleBuckets(await metrics());
    const cpuBefore = cpuSeconds(pid);
    const rss: number[] = [];
    const windowStart = Date.now();
    while (Date.now() - windowStart < WINDOW_MS) {
      rss.push(rssMb(pid));
      await new Promise((r) => setTimeout(r, 1_000));
    }
    const elapsed = (Date.now() - windowStart) / 1000;
    const cpu = (cpuSeconds(pid) - cpuBefore) / elapsed;
    const afterText = await metrics();
    const after = cycleBuckets(afterText);
    const gauge = (name: string) => Number(afterText.match(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)`, "m"))?.[1] ?? NaN) / 2 ** 20;
    const cycles = after.count - before.count;
    const p50 = quantile(0.5, before.buckets, after.buckets) * 1000;
    const p99 = quantile(0.99, before.buckets, after.buckets) * 1000;
    const rssMax = Math.max(...rss);
    const targets = { cycle_p99_ms_max: 200, cpu_cores_max: 0.5, rss_mb_max: 512 };
    const pass = p99 < targets.cycle_p99_ms_max && cpu < targets.cpu_cores_max && rssMax < targets.rss_mb_max;
    const round = (n: number) => Math.round(n * 10) / 10;
    console.log(
      JSON.stringify(
        {
          benchmark: "scale",
          machine: machineInfo(),
          setup: { groups: GROUPS, site_endpoints: GROUPS * 2, mariadb_servers: 4, poll_interval: "2s", operator_heap_cap_mb: OPERATOR_HEAP_MB, setup_ms: setupMs, converge_ms: convergeMs, warmup_ms: WARMUP_MS, window_s: round(elapsed) },
          results: {
            cycles,
            cycles_per_second: round(cycles / elapsed),
            cycle_p50_ms: round(p50),
            cycle_p99_ms: round(p99),
            cpu_cores: Math.round(cpu * 1000) / 1000,
            rss_mb_max: round(rssMax),
            rss_mb_last: round(rss.at(-1) ?? 0),
            heap_used_mb: round(gauge("nodejs_heap_size_used_bytes")),
            heap_total_mb: round(gauge("nodejs_heap_size_total_bytes")),
            external_mb: round(gauge("nodejs_external_memory_bytes")),
          },
          targets,
          pass,
        },
        null,
        2,
      ),
    );
    process.exitCode = pass ? 0 : 1;
  } finally {
    await stopChild(operator);
    await sites.teardown();
    await plane.stop();
  }
}

await main();
