/** The real operator process of a benchmark, built into dist/, watching one namespace of the benchmark's control plane. */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { ControlPlane } from "../../scripts/env/control-plane.js";
import { freePort, waitFor } from "../../scripts/env/ports.js";
import { stopChild } from "./bench-util.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

export interface BenchOperator {
  child: ChildProcess;
  /** http://127.0.0.1:<port><path> of one of its servers. */
  url(server: "metrics" | "health" | "status", path: string): string;
}

/**
 * Starts it (its log discarded unless BENCH_OPERATOR_LOG is set) and waits for /healthz.
 * `nodeFlags` go to node itself; `bindAddress` is where its servers listen (url() uses loopback).
 */
export async function startBenchOperator(plane: ControlPlane, namespace: string, nodeFlags: readonly string[] = [], bindAddress = "127.0.0.1"): Promise<BenchOperator> {
  const ports = { metrics: await freePort(), health: await freePort(), status: await freePort() };
  const child = spawn(
    process.execPath,
    [
      ...nodeFlags,
      `${root}dist/bloodraven.mjs`,
      "operator",
      `--kubeconfig=${plane.kubeconfigPath}`,
      "--no-leader-election",
      `--namespaces=${namespace}`,
      `--bind-address=${bindAddress}`,
      `--metrics-port=${ports.metrics}`,
      `--health-port=${ports.health}`,
      `--status-port=${ports.status}`,
      process.env.BENCH_OPERATOR_LOG_LEVEL ? `--log-level=${process.env.BENCH_OPERATOR_LOG_LEVEL}` : "--log-level=warn",
    ],
    // BENCH_OPERATOR_LOG=1: its log (stdout) to the benchmark's stderr, leaving stdout to the JSON result.
    { stdio: ["ignore", process.env.BENCH_OPERATOR_LOG ? 2 : "ignore", "inherit"] },
  );
  // The control plane's guardian kills the operator too if the benchmark dies.
  writeFileSync(plane.env.join("operator.pid"), String(child.pid));
  const url = (server: keyof typeof ports, path: string): string => `http://127.0.0.1:${ports[server]}${path}`;
  try {
    await waitFor("operator up", async () => (await fetch(url("health", "/healthz"))).ok, 15_000, 100);
  } catch (err) {
    await stopChild(child);
    throw err;
  }
  return { child, url };
}

/** kubectl against the benchmark's control plane: its stdout, or an error with its stderr. */
export type PlaneKubectl = (args: string[], input?: string) => Promise<string>;

export function planeKubectl(plane: ControlPlane): PlaneKubectl {
  const run = promisify(execFile);
  return async (args, input) => {
    const child = run("kubectl", args, { env: { ...process.env, KUBECONFIG: plane.kubeconfigPath }, encoding: "utf8", timeout: 60_000 });
    if (input !== undefined) child.child.stdin?.end(input);
    return (await child).stdout;
  };
}

/** The project's CRDs and the test fixtures' (external-dns), established. */
export async function installCrds(kubectl: PlaneKubectl): Promise<void> {
  await kubectl(["apply", "--server-side", "-f", `${root}crds`, "-f", `${root}test/fixtures/crds`]);
  await kubectl(["wait", "--for=condition=Established", "--timeout=30s", "crd", "--all"]);
}
