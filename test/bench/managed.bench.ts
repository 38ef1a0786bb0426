/**
 * npm run bench:managed: managed sites on the real node, with the operator installed by the chart.
 * ROUNDS times (default 3), a new three-site group (iad and pdx candidates, sfo read-only) of the
 * MariaDB image, in a namespace of its own:
 *   to_pods_ready    `kubectl apply` of the group -> all three pods Ready (volumes, datadirs)
 *   to_group_ready   `kubectl apply` -> the group's Ready condition True (bootstrap done, every
 *                    replica replicating)
 *   switchover       `kubectl bloodraven failover <group> pdx --wait`, start to exit 0
 *   write_window     the longest gap between two acknowledged writes of a client that writes
 *                    through the writer Service every 10 ms during the switchover (fence, lag
 *                    wait, promotion, role labels, kube-proxy)
 *   ordered_update   a spec.mysqlConf change -> Updating back to UpToDate: all three pods
 *                    restarted on the new template, replicas first, then a switchover back to iad
 *   update_write_window  the longest gap between two acknowledged writes during that update
 * then deletes the group (cleanup measured as `delete`).
 */
import { execFileSync, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ControlPlane } from "../../scripts/env/control-plane.js";
import { installOperatorChart } from "../../scripts/env/helm.js";
import { machineAddress, Node, NODE_NAME } from "../../scripts/env/node.js";
import { waitFor } from "../../scripts/env/ports.js";
import { IMAGES } from "../../scripts/images/images.js";
import { managedNames } from "../../shared/managed/sites.js";
import { podQuery, rootQuery } from "../support/mariadb-pod.js";
import { machineInfo, percentiles } from "./bench-util.js";

const ROUNDS = Number(process.env.MANAGED_ROUNDS ?? 3);
const root = fileURLToPath(new URL("../..", import.meta.url));
const PASSWORD = "bench-root";
const GROUP = "shop";
// Without READ ONLY ADMIN (root has it): a fence stops this account's writes, as an application's.
const APP = { user: "app", password: "bench-app" };

interface Group {
  status?: { activeSite?: string; conditions?: { type: string; status: string; reason?: string }[] };
}
interface Pod {
  status?: { conditions?: { type: string; status: string }[] };
}
interface Service {
  spec: { clusterIP: string };
}

/**
 * Writes through the writer Service every 10 ms as the application account until stopped; the
 * result is the longest gap between two acknowledged writes.
 */
function writeLoad(writer: string): { lastWrite: () => number; stop: () => Promise<number> } {
  let writing = true;
  let last = performance.now();
  let longestGap = 0;
  const load = (async () => {
    // Bounded: a benchmark round never writes for more than ten minutes.
    const deadline = performance.now() + 600_000;
    while (writing && performance.now() < deadline) {
      try {
        await podQuery(writer, APP, "INSERT INTO bench.writes VALUES ()");
        const now = performance.now();
        longestGap = Math.max(longestGap, now - last);
        last = now;
      } catch {
        // Refused (fenced) or not routed yet: the gap grows until a write lands.
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  return {
    lastWrite: () => last,
    stop: async () => {
      writing = false;
      await load;
      return longestGap;
    },
  };
}

async function round(plane: ControlPlane, ns: string): Promise<Record<string, number>> {
  const kubectl = (args: string[], input?: string) =>
    execFileSync("kubectl", ["--kubeconfig", plane.kubeconfigPath, ...args], { input, encoding: "utf8", stdio: ["pipe", "pipe", "inherit"], timeout: 60_000 });
  const site = (name: string, role: string) => ({ name, role, storage: { size: "256Mi" }, ...(role === "read-only" ? {} : { taintNodeSelector: { "kubernetes.io/hostname": NODE_NAME } }) });
  const items = [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } },
    { apiVersion: "v1", kind: "Secret", metadata: { name: "shop-operator", namespace: ns }, stringData: { username: "root", password: PASSWORD } },
    {
      apiVersion: "shipstream.io/v1alpha1",
      kind: "MysqlFailoverGroup",
      metadata: { name: GROUP, namespace: ns },
      spec: {
        credentials: { operator: { secretName: "shop-operator" } },
        image: IMAGES.mariadb,
        pollInterval: "1s",
        failoverCooldown: "1s",
        sites: [site("iad", "primary-candidate"), site("pdx", "primary-candidate"), site("sfo", "read-only")],
      },
    },
  ];
  const t0 = performance.now();
  kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items }));
  const ready = (conditions: { type: string; status: string }[] | undefined) => conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
  await waitFor(
    "three pods Ready",
    async () => {
      const pods = await Promise.all(["iad", "pdx", "sfo"].map((s) => plane.getObject<Pod>(`/api/v1/namespaces/${ns}/pods/${managedNames.pod(GROUP, s)}`)));
      return pods.every((p) => ready(p?.status?.conditions));
    },
    180_000,
    50,
  );
  const tPods = performance.now();
  await waitFor("the group Ready", async () => ready((await plane.getObject<Group>(`/apis/shipstream.io/v1alpha1/namespaces/${ns}/mysqlfailovergroups/${GROUP}`))?.status?.conditions), 180_000, 50);
  const tGroup = performance.now();

  const writer = (await plane.getObject<Service>(`/api/v1/namespaces/${ns}/services/${managedNames.writer(GROUP)}`))?.spec.clusterIP ?? "";
  await waitFor("the writer Service", async () => (await rootQuery(writer, PASSWORD, "CREATE DATABASE IF NOT EXISTS bench")) !== undefined, 30_000, 100);
  for (const sql of [
    "CREATE TABLE IF NOT EXISTS bench.writes (id INT AUTO_INCREMENT PRIMARY KEY)",
    `CREATE USER IF NOT EXISTS '${APP.user}'@'%' IDENTIFIED BY '${APP.password}'`,
    `GRANT INSERT, SELECT ON bench.* TO '${APP.user}'@'%'`,
  ]) {
    await rootQuery(writer, PASSWORD, sql);
  }
  const switchLoad = writeLoad(writer);
  await new Promise((r) => setTimeout(r, 500));
  const tSwitch = performance.now();
  // kubectl takes no flags before a plugin's name: the kubeconfig goes by environment.
  const plugin = spawn("kubectl", ["bloodraven", "failover", GROUP, "pdx", "-n", ns, "--wait", "--timeout=120s"], {
    env: { ...process.env, KUBECONFIG: plane.kubeconfigPath, PATH: `${root}dist:${process.env.PATH ?? ""}` },
    // The plugin's progress goes to this process's stderr; JSON results stay alone on stdout.
    stdio: ["ignore", process.stderr, process.stderr],
  });
  const code = await new Promise<number | null>((resolve) => plugin.once("exit", resolve));
  const tSwitched = performance.now();
  if (code !== 0) throw new Error(`kubectl bloodraven failover exited ${code}`);
  // Writes keep landing on pdx once the writer Service follows the label.
  await waitFor("a write after the switchover", async () => switchLoad.lastWrite() > tSwitched, 30_000, 20);
  const switchWindow = await switchLoad.stop();

  // An option change: every pod restarts on the new template, replicas first, then a switchover.
  const groupPath = `/apis/shipstream.io/v1alpha1/namespaces/${ns}/mysqlfailovergroups/${GROUP}`;
  const updating = async () => (await plane.getObject<Group>(groupPath))?.status?.conditions?.find((c) => c.type === "Updating");
  const updateLoad = writeLoad(writer);
  await new Promise((r) => setTimeout(r, 500));
  const tUpdate = performance.now();
  kubectl(["patch", "mfg", GROUP, "-n", ns, "--type=merge", "-p", JSON.stringify({ spec: { mysqlConf: { max_connections: "200" } } })]);
  await waitFor("the update under way", async () => (await updating())?.status === "True", 60_000, 50);
  await waitFor("the update done", async () => (await updating())?.reason === "UpToDate", 300_000, 50);
  const tUpdated = performance.now();
  await waitFor("a write after the update", async () => updateLoad.lastWrite() > tUpdated, 30_000, 20);
  const updateWindow = await updateLoad.stop();

  const tDelete = performance.now();
  kubectl(["delete", "mfg", GROUP, "-n", ns, "--wait=true", "--timeout=120s"]);
  const tDeleted = performance.now();
  kubectl(["delete", "namespace", ns, "--wait=false"]);
  return {
    to_pods_ready: tPods - t0,
    to_group_ready: tGroup - t0,
    switchover: tSwitched - tSwitch,
    write_window: switchWindow,
    ordered_update: tUpdated - tUpdate,
    update_write_window: updateWindow,
    delete: tDeleted - tDelete,
  };
}

const address = machineAddress();
const plane = await ControlPlane.start({ node: { address } });
let node: Node | undefined;
try {
  node = await Node.start(plane, { address });
  execFileSync("kubectl", ["--kubeconfig", plane.kubeconfigPath, "apply", "--server-side", "-f", `${root}crds`], { stdio: "ignore" });
  // The node carries the read-only taint of the sites that are not writable (docs/managed-sites.md).
  const toleration = ["key=shipstream.io/db-readonly-shop", "operator=Exists", "effect=NoExecute"].map((kv) => `tolerations[0].${kv}`);
  await installOperatorChart({ kubeconfig: plane.kubeconfigPath, namespace: "bloodraven-system", release: "bloodraven", set: [...toleration, "logLevel=warn"] });
  const samples: Record<string, number[]> = {};
  for (let i = 0; i < ROUNDS; i++) {
    const r = await round(plane, `bench-${i}`);
    for (const [k, v] of Object.entries(r)) (samples[k] ??= []).push(v);
    process.stderr.write(`round ${i + 1}/${ROUNDS}: ${JSON.stringify(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Math.round(v)])))}\n`);
  }
  console.log(
    JSON.stringify(
      { benchmark: "managed", machine: machineInfo(), rounds: ROUNDS, sites: 3, ...Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, percentiles(v)])) },
      null,
      2,
    ),
  );
} finally {
  await node?.stop();
  await plane.stop();
}
