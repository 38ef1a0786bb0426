import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MariaDbSites } from "../../scripts/env/mariadb-sites.js";
import { waitFor } from "../../scripts/env/ports.js";
import { failoverGroup, namespaceWithCredentials, siteAt } from "../support/fixtures.js";
import { CLEANUP_FINALIZER } from "../../shared/names.js";
import { applyAll, groupEvents, groupReader } from "../support/groups.js";
import { kubectl } from "../support/kubectl.js";
import { OperatorProcess } from "../support/operator.js";

/**
 * DNSEndpoint writes denied by the API server (a ValidatingAdmissionPolicy) during a failover:
 * the node taints still follow the new primary at once, RoutingReady says DNS is stale and why,
 * and once writes are allowed again DNS catches up and the condition clears. The same with node
 * writes denied while the group is deleted: the cleanup finalizer keeps it until the taints can go.
 */
const ns = `routing-${randomBytes(3).toString("hex")}`;
const GROUP = "orders";
const POLICY = `deny-dns-${ns}`;
const LB_IP: Record<string, string> = { iad: "10.1.0.1", pdx: "10.2.0.1" };

/** A ValidatingAdmissionPolicy and its binding that refuse every matching write with `message`. */
function denyingPolicy(name: string, rule: { apiGroups: string[]; operations: string[]; resources: string[] }, matchResources: object, message: string): object[] {
  return [
    {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingAdmissionPolicy",
      metadata: { name },
      spec: { failurePolicy: "Fail", matchConstraints: { resourceRules: [{ ...rule, apiVersions: ["*"] }] }, validations: [{ expression: "false", message }] },
    },
    {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingAdmissionPolicyBinding",
      metadata: { name },
      spec: { policyName: name, validationActions: ["Deny"], matchResources },
    },
  ];
}

describe("routing while DNSEndpoint writes are denied (real operator, API server and MariaDB)", () => {
  let sites: MariaDbSites;
  let operator: OperatorProcess;
  const readGroup = groupReader(ns);
  const routing = async () => (await readGroup(GROUP)).status?.conditions?.find((c) => c.type === "RoutingReady");
  const dnsTarget = async (): Promise<string | undefined> => {
    const r = await kubectl(["get", "dnsendpoints", `bloodraven-${GROUP}`, "-n", ns, "-o", "jsonpath={.spec.endpoints[0].targets[0]}"]);
    return r.code === 0 ? r.stdout : undefined;
  };
  const tainted = async (): Promise<string[]> => {
    const r = await kubectl(["get", "nodes", "-l", `test.bloodraven/${ns}`, "-o", "json"]);
    const nodes = JSON.parse(r.stdout) as { items: { metadata: { name: string }; spec: { taints?: { key: string }[] } }[] };
    return nodes.items.filter((n) => n.spec.taints?.some((t) => t.key === `shipstream.io/db-readonly-${GROUP}`)).map((n) => n.metadata.name);
  };

  beforeAll(async () => {
    sites = await MariaDbSites.start({ names: ["iad", "pdx"], primary: "iad" });
    const node = (site: string) => ({ apiVersion: "v1", kind: "Node", metadata: { name: `${ns}-${site}`, labels: { [`test.bloodraven/${ns}`]: site } } });
    await applyAll([
      ...namespaceWithCredentials(ns),
      node("iad"),
      node("pdx"),
      failoverGroup(ns, GROUP, {
        pollInterval: "500ms",
        failureThreshold: 2,
        failoverCooldown: "1s",
        dns: { hostname: `${GROUP}.db.example.com`, ttl: 30 },
        sites: sites.sites.map((s) => siteAt(s, { lbIP: LB_IP[s.name], taintNodeSelector: { [`test.bloodraven/${ns}`]: s.name } })),
      }),
    ]);
    operator = await OperatorProcess.start({ identity: "routing-op", args: [`--namespaces=${ns}`, "--no-leader-election"] });
    await waitFor("DNS and taints follow iad", async () => (await dnsTarget()) === LB_IP.iad && (await tainted()).join() === `${ns}-pdx` && (await routing())?.status === "True", 20_000, 200);
  });

  afterAll(async () => {
    await operator?.stop("SIGKILL");
    await sites?.teardown();
    await kubectl(["delete", "validatingadmissionpolicybinding", POLICY, "--ignore-not-found"]);
    await kubectl(["delete", "validatingadmissionpolicy", POLICY, "--ignore-not-found"]);
    await kubectl(["delete", "nodes", `${ns}-iad`, `${ns}-pdx`, "--wait=false"]);
    await kubectl(["delete", "namespace", ns, "--wait=false"]);
  });

  it("taints move at once, RoutingReady says DNS is stale and why, and DNS catches up once allowed", async () => {
    await applyAll(
      denyingPolicy(
        POLICY,
        { apiGroups: ["externaldns.k8s.io"], operations: ["CREATE", "UPDATE"], resources: ["dnsendpoints"] },
        { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ns } } },
        "DNS changes are frozen",
      ),
    );
    // The policy takes a moment to reach the admission chain: wait until a write is refused.
    await waitFor("the policy in force", async () => (await kubectl(["label", "--overwrite", "dnsendpoints", `bloodraven-${GROUP}`, "-n", ns, `probe=${Date.now()}`])).code !== 0, 20_000, 200);

    await sites.site("iad").kill9();
    await waitFor("pdx promoted", async () => (await readGroup(GROUP)).status?.activeSite === "pdx", 20_000, 100);
    await waitFor("taints moved to iad's nodes", async () => (await tainted()).join() === `${ns}-iad`, 10_000, 100);
    const stale = await waitFor("RoutingReady False", async () => {
      const c = await routing();
      return c?.status === "False" ? c : undefined;
    }, 10_000, 100);
    expect(stale).toMatchObject({ reason: "RoutingFailed" });
    expect(stale.message).toContain("moving DNS and node taints to pdx failed");
    expect(stale.message).toContain("DNS changes are frozen");
    expect(await dnsTarget()).toBe(LB_IP.iad);

    expect((await kubectl(["delete", "validatingadmissionpolicybinding", POLICY])).code).toBe(0);
    await waitFor("DNS follows pdx", async () => (await dnsTarget()) === LB_IP.pdx && (await routing())?.status === "True", 30_000, 200);
  });

  it("drift is corrected without a failover, the cycle it is seen: a taint removed by hand, a new matching node, a DNSEndpoint edited by hand, a changed lbIP", { timeout: 90_000 }, async () => {
    // After the test above pdx is the primary and iad's nodes carry the taint. While everything
    // agrees, nothing is written: resourceVersions stay put over many cycles (500 ms polls).
    const versions = async () => (await kubectl(["get", "nodes", `${ns}-iad`, `${ns}-pdx`, "-o", "jsonpath={.items[*].metadata.resourceVersion}"])).stdout + (await kubectl(["get", "dnsendpoints", `bloodraven-${GROUP}`, "-n", ns, "-o", "jsonpath={.metadata.resourceVersion}"])).stdout;
    const before = await versions();
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(await versions()).toBe(before);

    // Well within ROUTING_RESYNC_MS (10 s): the watched copies show the drift at the next cycle.
    expect((await kubectl(["taint", "nodes", `${ns}-iad`, `shipstream.io/db-readonly-${GROUP}-`])).code).toBe(0);
    await waitFor("iad's node tainted again", async () => (await tainted()).sort().join() === `${ns}-iad`, 4_000, 100);
    await applyAll([{ apiVersion: "v1", kind: "Node", metadata: { name: `${ns}-iad-2`, labels: { [`test.bloodraven/${ns}`]: "iad" } } }]);
    await waitFor("the new iad node tainted", async () => (await tainted()).sort().join() === `${ns}-iad,${ns}-iad-2`, 4_000, 100);
    expect((await kubectl(["patch", "dnsendpoints", `bloodraven-${GROUP}`, "-n", ns, "--type=json", "-p", JSON.stringify([{ op: "replace", path: "/spec/endpoints/0/targets", value: ["10.9.9.9"] }])])).code).toBe(0);
    await waitFor("DNS restored", async () => (await dnsTarget()) === LB_IP.pdx, 4_000, 100);

    // A spec change (a new generation) is applied at once, not at the next resync.
    const g = await readGroup(GROUP);
    const sitesSpec = (g.spec.sites ?? []).map((s) => (s.name === "pdx" ? { ...s, lbIP: "10.2.0.99" } : s));
    expect((await kubectl(["patch", "mfg", GROUP, "-n", ns, "--type=merge", "-p", JSON.stringify({ spec: { sites: sitesSpec } })])).code).toBe(0);
    await waitFor("DNS follows the new lbIP", async () => (await dnsTarget()) === "10.2.0.99", 5_000, 100);
    await kubectl(["delete", "node", `${ns}-iad-2`, "--wait=false"]);
  });

  it("deleting the group: a refused taint removal keeps it with CleanupFailed; once allowed, taints and group go", { timeout: 90_000 }, async () => {
    const nodePolicy = `${POLICY}-nodes`;
    await applyAll(
      denyingPolicy(
        nodePolicy,
        { apiGroups: [""], operations: ["UPDATE"], resources: ["nodes"] },
        { objectSelector: { matchExpressions: [{ key: `test.bloodraven/${ns}`, operator: "Exists" }] } },
        "node changes are frozen",
      ),
    );
    await waitFor("the node policy in force", async () => (await kubectl(["label", "--overwrite", "node", `${ns}-iad`, `probe=${Date.now()}`])).code !== 0, 20_000, 200);
    expect(await tainted()).toEqual([`${ns}-iad`]);

    expect((await kubectl(["delete", "mfg", GROUP, "-n", ns, "--wait=false"])).code).toBe(0);
    const failure = await waitFor("CleanupFailed", async () => (await groupEvents(ns, GROUP)).find((e) => e.reason === "CleanupFailed"), 20_000, 200);
    expect(failure.message).toContain("removing the read-only taint of site iad");
    expect(failure.message).toContain("node changes are frozen");
    const kept = await readGroup(GROUP);
    expect(kept.metadata.deletionTimestamp).toBeDefined();
    expect(kept.metadata.finalizers).toEqual([CLEANUP_FINALIZER]);
    expect(await tainted()).toEqual([`${ns}-iad`]);

    expect((await kubectl(["delete", "validatingadmissionpolicybinding", nodePolicy])).code).toBe(0);
    await waitFor("the group gone", async () => (await kubectl(["get", "mfg", GROUP, "-n", ns])).code !== 0, 30_000, 200);
    expect(await tainted()).toEqual([]);
    await kubectl(["delete", "validatingadmissionpolicy", nodePolicy, "--ignore-not-found"]);
  });
});
