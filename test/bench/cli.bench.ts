/**
 * npm run bench:cli: start-up time of the kubectl plugin. Runs the built dist/kubectl-bloodraven
 * (`--help`, `version`) with the machine's Node.js, the standalone executable of the release
 * (dist/standalone/<os>-<arch>/kubectl-bloodraven, a Node.js single executable application built
 * by scripts/release/plugin.mjs; `--help`, `version`), the bundle through kubectl's plugin dispatch,
 * `kubectl version --client` for comparison, and `node -e ""` as the floor every Node program
 * pays: 3 warm-ups, then 30 timed runs each, one at a time. The plugin's own time is its p50 minus
 * node's p50. Target: --help and version p50 under 150 ms, for the bundle and for the standalone
 * executable. Prints one JSON object; exits 1 on a miss.
 *
 *   npm run bench:cli      (builds the bundle and this machine's standalone executable first)
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { machineInfo, percentiles, type Timing } from "./bench-util.js";

const WARMUP = 3;
const ITERATIONS = 30;
const TARGET_P50_MS = 150;
const distDir = fileURLToPath(new URL("../../dist", import.meta.url));
const plugin = `${distDir}/kubectl-bloodraven`;
const platform = `${process.platform}-${process.arch === "x64" ? "amd64" : process.arch}`;
const standalone = `${distDir}/standalone/${platform}/kubectl-bloodraven`;

for (const [file, how] of [
  [plugin, "npm run build"],
  [standalone, "node scripts/release/plugin.mjs --platforms host --out dist/standalone"],
]) {
  if (!existsSync(file!)) {
    process.stderr.write(`${file} is missing: run \`${how}\` first (npm run bench:cli does)\n`);
    process.exit(1);
  }
}

// No kubeconfig or colour: nothing here talks to a cluster, and output goes to a pipe.
const env = { ...process.env, PATH: `${distDir}:${process.env.PATH ?? ""}`, NO_COLOR: "1", KUBECONFIG: "/dev/null" };

function time(program: string, args: string[]): Timing {
  const once = (): number => {
    const start = performance.now();
    const r = spawnSync(program, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    const elapsed = performance.now() - start;
    if (r.status !== 0) throw new Error(`${program} ${args.join(" ")} exited ${r.status}: ${r.stderr.toString()}`);
    return elapsed;
  };
  for (let i = 0; i < WARMUP; i++) once();
  const samples: number[] = [];
  for (let i = 0; i < ITERATIONS; i++) samples.push(once());
  return { iterations: ITERATIONS, ...percentiles(samples) };
}

const results: Record<string, Timing> = {
  node_empty: time(process.execPath, ["-e", ""]),
  plugin_help: time(plugin, ["--help"]),
  plugin_version: time(plugin, ["version"]),
  standalone_help: time(standalone, ["--help"]),
  standalone_version: time(standalone, ["version"]),
  kubectl_bloodraven_help: time("kubectl", ["bloodraven", "--help"]),
  kubectl_version_client: time("kubectl", ["version", "--client"]),
};

const floor = results.node_empty!.p50_ms;
const own = (name: string): number => Math.round((results[name]!.p50_ms - floor) * 1000) / 1000;
const targets = {
  plugin_help_p50_under_150ms: results.plugin_help!.p50_ms < TARGET_P50_MS,
  plugin_version_p50_under_150ms: results.plugin_version!.p50_ms < TARGET_P50_MS,
  standalone_help_p50_under_150ms: results.standalone_help!.p50_ms < TARGET_P50_MS,
  standalone_version_p50_under_150ms: results.standalone_version!.p50_ms < TARGET_P50_MS,
};

process.stdout.write(
  `${JSON.stringify(
    {
      benchmark: "cli",
      machine: machineInfo(),
      warmup: WARMUP,
      results,
      plugin_own_p50_ms: { help: own("plugin_help"), version: own("plugin_version") },
      targets,
    },
    null,
    2,
  )}\n`,
);
if (!Object.values(targets).every(Boolean)) process.exitCode = 1;
