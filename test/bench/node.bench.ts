/**
 * npm run bench:node: from no process at all to a MariaDB pod that answers queries, ROUNDS times
 * (default 5), with the real control plane, node and server image:
 *   control_plane     ControlPlane.start({ node }) until /readyz
 *   node              Node.start until the node is Ready and pods are admitted (images imported)
 *   pod_ready         `kubectl apply` of a one-replica StatefulSet on a new volume -> pod Ready
 *   to_ready_pod      nothing -> pod Ready (the sum of the three)
 *   to_query          nothing -> the server answers a query by pod IP
 *   teardown          Node.stop() + ControlPlane.stop(), including the leftover check
 * and once, the warm setup (scripts/setup/prerequisites.sh with every cache present).
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ControlPlane } from "../../scripts/env/control-plane.js";
import { machineAddress, Node } from "../../scripts/env/node.js";
import { waitFor } from "../../scripts/env/ports.js";
import { mariadbServer, rootQuery } from "../support/mariadb-pod.js";
import { machineInfo, percentiles } from "./bench-util.js";

const ROUNDS = Number(process.env.NODE_ROUNDS ?? 5);
const root = fileURLToPath(new URL("../..", import.meta.url));
const NS = "bench";
const PASSWORD = "bench-root";

interface PodStatus {
  status?: { podIP?: string; conditions?: { type: string; status: string }[] };
}

async function round(address: string): Promise<Record<string, number>> {
  const t0 = performance.now();
  const plane = await ControlPlane.start({ node: { address } });
  const tPlane = performance.now();
  let node: Node | undefined;
  try {
    node = await Node.start(plane, { address });
    const tNode = performance.now();
    const objects = [{ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } }, ...mariadbServer(NS, PASSWORD)];
    execFileSync("kubectl", ["--kubeconfig", plane.kubeconfigPath, "apply", "-f", "-"], { input: JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }), stdio: ["pipe", "ignore", "inherit"] });
    const podIP = await waitFor(
      "mariadb-0 Ready",
      async () => {
        const pod = await plane.getObject<PodStatus>(`/api/v1/namespaces/${NS}/pods/mariadb-0`);
        return pod?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ? pod.status.podIP : undefined;
      },
      120_000,
      50,
    );
    const tReady = performance.now();
    await waitFor(
      "a query by pod IP",
      async () => (await rootQuery(podIP, PASSWORD, "SELECT 1")).length === 1,
      30_000,
      20,
    );
    const tQuery = performance.now();
    await node.stop();
    node = undefined;
    await plane.stop();
    const tDown = performance.now();
    return {
      control_plane: tPlane - t0,
      node: tNode - tPlane,
      pod_ready: tReady - tNode,
      to_ready_pod: tReady - t0,
      to_query: tQuery - t0,
      teardown: tDown - tQuery,
    };
  } catch (err) {
    await node?.stop().catch(() => undefined);
    await plane.stop();
    throw err;
  }
}

const address = machineAddress();
const setupStarted = performance.now();
execFileSync("bash", [`${root}scripts/setup/prerequisites.sh`], { stdio: ["ignore", "ignore", "inherit"] });
const warmSetupMs = performance.now() - setupStarted;
const samples: Record<string, number[]> = {};
for (let i = 0; i < ROUNDS; i++) {
  const r = await round(address);
  for (const [k, v] of Object.entries(r)) (samples[k] ??= []).push(v);
  process.stderr.write(`round ${i + 1}/${ROUNDS}: ${JSON.stringify(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Math.round(v)])))}\n`);
}
console.log(
  JSON.stringify(
    {
      benchmark: "node",
      machine: machineInfo(),
      rounds: ROUNDS,
      warm_setup_ms: Math.round(warmSetupMs),
      ...Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, percentiles(v)])),
    },
    null,
    2,
  ),
);
