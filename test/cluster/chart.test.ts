/**
 * The chart as users run it: `helm install` of charts/bloodraven with the locally built operator
 * image on the real node. The pods become Ready, one leads, both serve /readyz, and the operator,
 * from inside the cluster, fails over a group of MariaDB servers on the host. `helm upgrade`
 * rolls a change out and `helm uninstall` leaves nothing of the release behind.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { IMAGES } from "../../scripts/images/images.js";
import { MariaDbSites } from "../../scripts/env/mariadb-sites.js";
import { waitFor } from "../../scripts/env/ports.js";
import { failoverGroup, namespaceWithCredentials, siteAt } from "../support/fixtures.js";
import { applyAll, groupReader } from "../support/groups.js";
import { chartDir, helm } from "../support/helm.js";
import { kubectl } from "../support/kubectl.js";
import { getObject, type Pod } from "../support/pods.js";

const suffix = randomBytes(3).toString("hex");
const ns = `bloodraven-${suffix}`;
const groupNs = `orders-${suffix}`;
const release = "bloodraven";
const [repository, tag] = IMAGES.operator.split(":") as [string, string];
const LEASE = "bloodraven-leader";

async function mustHelm(args: string[]): Promise<string> {
  const r = await helm(args, 180_000);
  if (r.code !== 0) throw new Error(`helm ${args.join(" ")}:\n${r.stderr}`);
  return r.stdout;
}

async function releasePods(): Promise<Pod[]> {
  return (await getObject<{ items: Pod[] }>(["pods", "-n", ns, "-l", `app.kubernetes.io/instance=${release}`])).items;
}

const ready = (pod: Pod) => pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

/** The pods behind the leader Service (the status API of the leading replica only). */
async function leaderEndpoints(): Promise<string> {
  const r = await kubectl(["get", "endpoints", `${release}-leader`, "-n", ns, "-o", "jsonpath={.subsets[*].addresses[*].targetRef.name}"]);
  return r.stdout.trim();
}

async function leaseHolder(): Promise<string | undefined> {
  const r = await kubectl(["get", "lease", LEASE, "-n", ns, "-o", "jsonpath={.spec.holderIdentity}"]);
  return r.code === 0 && r.stdout !== "" ? r.stdout : undefined;
}

async function readyz(pod: Pod): Promise<number> {
  const res = await fetch(`http://${pod.status?.podIP}:8081/readyz`, { signal: AbortSignal.timeout(2_000) });
  return res.status;
}

describe("helm install of the chart on a real node", () => {
  let sites: MariaDbSites;
  const group = groupReader(groupNs);

  beforeAll(async () => {
    // The operator runs in a pod: the servers listen on the machine's address, which pods reach.
    sites = await MariaDbSites.start({ names: ["iad", "pdx"], primary: "iad", listenAddress: inject("nodeAddress") });
    await applyAll(namespaceWithCredentials(groupNs));
  });

  afterAll(async () => {
    await helm(["uninstall", release, "--namespace", ns, "--wait"]);
    await kubectl(["delete", "namespace", ns, groupNs, "--wait=false"]);
    await sites?.teardown();
  });

  it("installs with the locally built image: pods Ready, one leader, /readyz answers on both", async () => {
    await mustHelm([
      "install", release, chartDir, "--namespace", ns, "--create-namespace",
      "--set", `image.repository=${repository}`, "--set", `image.tag=${tag}`, "--set", "image.pullPolicy=Never",
      "--wait", "--timeout", "150s",
    ]);
    const pods = await releasePods();
    expect(pods).toHaveLength(2);
    expect(pods.every(ready)).toBe(true);
    const holder = await waitFor("a leader", leaseHolder, 30_000, 250);
    expect(pods.map((p) => p.metadata.name)).toContain(holder);
    for (const pod of pods) expect(await waitFor(`/readyz of ${pod.metadata.name}`, async () => (await readyz(pod)) === 200 && 200, 30_000, 250)).toBe(200);
    // The leader Service reaches the Lease holder, and only it (its pod carries the leader label).
    await waitFor("the leader Service to reach the Lease holder", async () => (await leaderEndpoints()) === (await leaseHolder()), 30_000, 250);
    const labelled = await kubectl(["get", "pods", "-n", ns, "-l", "bloodraven.shipstream.io/leader=true", "-o", "jsonpath={.items[*].metadata.name}"]);
    expect(labelled.stdout.trim()).toBe(holder);
  });

  it("fails over a group of servers on the host from inside the cluster", async () => {
    const [iad, pdx] = [sites.site("iad"), sites.site("pdx")];
    await applyAll([
      failoverGroup(groupNs, "orders", {
        pollInterval: "500ms",
        failureThreshold: 2,
        failoverCooldown: "1s",
        sites: [siteAt(iad, { role: "primary-candidate" }), siteAt(pdx, { role: "primary-candidate" })],
      }),
    ]);
    await waitFor("the operator in the pod to report iad active", async () => (await group("orders")).status?.activeSite === "iad", 60_000, 250);

    await iad.kill9();
    const after = await waitFor("failover to pdx", async () => {
      const g = await group("orders");
      return g.status?.activeSite === "pdx" ? g : undefined;
    }, 60_000, 250);
    expect(after.status?.lastFailoverTarget).toBe("pdx");
    expect(await pdx.isReadOnly()).toBe(false);
  });

  it("rolls out a `helm upgrade` and keeps leading", async () => {
    await mustHelm(["upgrade", release, chartDir, "--namespace", ns, "--reuse-values", "--set", "replicas=1", "--set", "logLevel=debug", "--wait", "--timeout", "150s"]);
    const pods = await waitFor("one Ready pod left", async () => {
      const p = await releasePods();
      return p.length === 1 && p.every(ready) ? p : undefined;
    }, 60_000, 250);
    const deployments = await getObject<{ items: { spec: { template: { spec: { containers: { args?: string[] }[] } } } }[] }>(["deployment", "-n", ns, "-l", `app.kubernetes.io/instance=${release}`]);
    expect(deployments.items[0]?.spec.template.spec.containers[0]?.args).toContain("--log-level=debug");
    expect(await waitFor("the remaining pod to lead", async () => (await leaseHolder()) === pods[0]?.metadata.name, 60_000, 250)).toBe(true);
    // The replaced pods are gone: the leader Service follows the new leader.
    await waitFor("the leader Service to reach the new leader", async () => (await leaderEndpoints()) === pods[0]?.metadata.name, 60_000, 250);
  });

  it("uninstalls without leaving anything of the release behind", async () => {
    await mustHelm(["uninstall", release, "--namespace", ns, "--wait", "--timeout", "120s"]);
    const selector = `app.kubernetes.io/instance=${release}`;
    // helm waits for the objects it created; their pods go with the garbage collector, a moment later.
    await waitFor("the operator pods to be gone", async () => (await releasePods()).length === 0, 60_000, 250);
    const namespaced = await kubectl(["get", "all,serviceaccount,role,rolebinding,configmap,secret,poddisruptionbudget", "-n", ns, "-l", selector, "-o", "name"]);
    expect(namespaced.code, namespaced.stderr).toBe(0);
    expect(namespaced.stdout.trim()).toBe("");
    const clusterWide = await kubectl(["get", "clusterrole,clusterrolebinding,validatingadmissionpolicy,validatingadmissionpolicybinding", "-l", selector, "-o", "name"]);
    expect(clusterWide.code, clusterWide.stderr).toBe(0);
    expect(clusterWide.stdout.trim()).toBe("");
  });
});
