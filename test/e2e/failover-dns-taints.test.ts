/**
 * operator/routing/dns.ts and operator/routing/taints.ts against the real kube-apiserver (and
 * the controller manager's garbage collector): the external-dns DNSEndpoint written by
 * server-side apply, and the per-group read-only taint on Node objects.
 */
import { randomBytes } from "node:crypto";
import { createServer, type Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DNS_ENDPOINT_CRD, DnsEndpointCrdMissingError, DnsPublisher, dnsEndpointName, type DnsEndpointObject } from "../../operator/routing/dns.js";
import { NodeTainter, hasReadOnlyTaint } from "../../operator/routing/taints.js";
import { READ_ONLY_TAINT_EFFECT } from "../../shared/names.js";
import { Kube, loadKubeConfig } from "../../shared/kube/client.js";
import type { MysqlFailoverGroup } from "../../shared/api/index.js";
import { API_GROUP_VERSION, FAILOVER_GROUP, LABELS, readOnlyTaintKey } from "../../shared/names.js";
import { kubectl, mustKubectl, testKubeconfig } from "../support/kubectl.js";
import { kubeAt } from "../support/black-hole.js";
import { asList } from "../support/fixtures.js";

const suffix = randomBytes(3).toString("hex");
const namespace = `dns-taints-${suffix}`;
const GROUP = "orders";
const HOSTNAME = "orders-db.example.com";
const TTL = 30;
const LB = { iad: "10.0.0.1", pdx: "10.0.0.2", sfo: "2001:db8::1" } as const;
const crdDir = fileURLToPath(new URL("../fixtures/crds", import.meta.url));

async function installDnsEndpointCrd(): Promise<void> {
  await mustKubectl(["apply", "--server-side", "-f", crdDir]);
  await mustKubectl(["wait", "--for=condition=Established", "--timeout=30s", `crd/${DNS_ENDPOINT_CRD}`]);
}

async function dnsEndpoint(name = dnsEndpointName(GROUP)): Promise<DnsEndpointObject | undefined> {
  const r = await kubectl(["get", "dnsendpoints.externaldns.k8s.io", name, "-n", namespace, "-o", "json", "--ignore-not-found", "--show-managed-fields"]);
  if (r.code !== 0) throw new Error(r.stderr);
  return r.stdout.trim() === "" ? undefined : (JSON.parse(r.stdout) as DnsEndpointObject);
}

let kube: Kube;
let group: MysqlFailoverGroup;

beforeAll(async () => {
  kube = new Kube(loadKubeConfig({ kubeconfig: testKubeconfig() }));
  // Global setup applies crds/ only; this file brings external-dns's CRD itself (harmless once setup does too).
  await installDnsEndpointCrd();
  await mustKubectl(["create", "namespace", namespace]);
  const manifest = {
    apiVersion: API_GROUP_VERSION,
    kind: FAILOVER_GROUP.kind,
    metadata: { name: GROUP, namespace },
    spec: {
      credentials: { operator: { secretName: `${GROUP}-operator` } },
      dns: { hostname: HOSTNAME, ttl: TTL },
      sites: [
        { name: "iad", endpoint: { host: "127.0.0.1", port: 33061 }, lbIP: LB.iad },
        { name: "pdx", endpoint: { host: "127.0.0.1", port: 33062 }, lbIP: LB.pdx },
        { name: "sfo", role: "dr-only", endpoint: { host: "127.0.0.1", port: 33063 }, lbIP: LB.sfo },
      ],
    },
  };
  await mustKubectl(["apply", "-f", "-"], JSON.stringify(manifest));
  group = await kube.getFailoverGroup(namespace, GROUP);
});

afterAll(async () => {
  // A failed test in the CRD-removal case must not leave later files without the type.
  await installDnsEndpointCrd().catch(() => undefined);
  await kubectl(["delete", "namespace", namespace, "--wait=false"]);
});

describe("DnsPublisher", () => {
  it("creates the DNSEndpoint: A record, TTL, labels, owner, field manager", async () => {
    expect(await dnsEndpoint()).toBeUndefined();
    const result = await new DnsPublisher(kube).publish(group, "iad");
    expect(result).toMatchObject({ changed: true, written: true, name: dnsEndpointName(GROUP), previousTargets: [] });

    const obj = await dnsEndpoint();
    expect(obj?.apiVersion).toBe("externaldns.k8s.io/v1alpha1");
    expect(obj?.kind).toBe("DNSEndpoint");
    expect(obj?.spec?.endpoints).toEqual([{ dnsName: HOSTNAME, recordType: "A", recordTTL: TTL, targets: [LB.iad] }]);
    expect(obj?.metadata.labels).toMatchObject({ [LABELS.failoverGroup]: GROUP, [LABELS.managedBy]: "bloodraven" });
    expect(obj?.metadata.ownerReferences).toEqual([
      { apiVersion: API_GROUP_VERSION, kind: FAILOVER_GROUP.kind, name: GROUP, uid: group.metadata.uid, controller: true, blockOwnerDeletion: true },
    ]);
    const managers = (obj?.metadata.managedFields ?? []).map((f) => `${f.manager}/${f.operation}`);
    expect(managers).toEqual(["bloodraven/Apply"]);
  });

  it("publishing the same site again changes nothing and writes nothing", async () => {
    const before = await dnsEndpoint();
    const result = await new DnsPublisher(kube).publish(group, "iad");
    expect(result).toMatchObject({ changed: false, written: false, previousTargets: [LB.iad] });
    expect((await dnsEndpoint())?.metadata.resourceVersion).toBe(before?.metadata.resourceVersion);
  });

  it("publishing another site flips the target", async () => {
    const result = await new DnsPublisher(kube).publish(group, "pdx");
    expect(result).toMatchObject({ changed: true, written: true, previousTargets: [LB.iad], record: { targets: [LB.pdx] } });
    expect((await dnsEndpoint())?.spec?.endpoints).toEqual([{ dnsName: HOSTNAME, recordType: "A", recordTTL: TTL, targets: [LB.pdx] }]);
    expect(await new DnsPublisher(kube).current(namespace, GROUP)).toMatchObject({ targets: [LB.pdx] });
  });

  it("an IPv6 lbIP gives an AAAA record", async () => {
    const result = await new DnsPublisher(kube).publish(group, "sfo");
    expect(result).toMatchObject({ changed: true, record: { recordType: "AAAA", targets: [LB.sfo] } });
    expect((await dnsEndpoint())?.spec?.endpoints).toEqual([{ dnsName: HOSTNAME, recordType: "AAAA", recordTTL: TTL, targets: [LB.sfo] }]);
  });

  it("takes the record back from a hand edit (force) and counts it as a change", async () => {
    await new DnsPublisher(kube).publish(group, "pdx");
    const edited = JSON.stringify({ spec: { endpoints: [{ dnsName: HOSTNAME, recordType: "A", recordTTL: 5, targets: ["192.0.2.99"] }] } });
    await mustKubectl(["patch", "dnsendpoints.externaldns.k8s.io", dnsEndpointName(GROUP), "-n", namespace, "--type=merge", "-p", edited]);

    const result = await new DnsPublisher(kube).publish(group, "pdx");
    expect(result).toMatchObject({ changed: true, written: true, previousTargets: ["192.0.2.99"] });
    expect((await dnsEndpoint())?.spec?.endpoints).toEqual([{ dnsName: HOSTNAME, recordType: "A", recordTTL: TTL, targets: [LB.pdx] }]);

    // A TTL-only difference is rewritten but is not a flip.
    const ttlOnly = JSON.stringify({ spec: { endpoints: [{ dnsName: HOSTNAME, recordType: "A", recordTTL: 5, targets: [LB.pdx] }] } });
    await mustKubectl(["patch", "dnsendpoints.externaldns.k8s.io", dnsEndpointName(GROUP), "-n", namespace, "--type=merge", "-p", ttlOnly]);
    expect(await new DnsPublisher(kube).publish(group, "pdx")).toMatchObject({ changed: false, written: true });
    expect((await dnsEndpoint())?.spec?.endpoints?.[0]?.recordTTL).toBe(TTL);
  });

  it("rejects a site without lbIP, an unknown site and a group without spec.dns before any request", async () => {
    const publisher = new DnsPublisher(kube);
    await expect(publisher.publish(group, "nope")).rejects.toThrow(/no site "nope"/);
    const noLb: MysqlFailoverGroup = { ...group, spec: { ...group.spec, sites: group.spec.sites.map((s) => ({ ...s, lbIP: undefined })) } };
    await expect(publisher.publish(noLb, "iad")).rejects.toThrow(/has no lbIP/);
    const noDns: MysqlFailoverGroup = { ...group, spec: { ...group.spec, dns: undefined } };
    await expect(publisher.publish(noDns, "iad")).rejects.toThrow(/no spec\.dns/);
  });

  it("gives up at the deadline against a server that never answers", async () => {
    const held: Socket[] = [];
    const blackHole = createServer((socket) => {
      held.push(socket);
      socket.resume();
    });
    await new Promise<void>((resolve) => blackHole.listen(0, "127.0.0.1", resolve));
    const { port } = blackHole.address() as { port: number };
    try {
      const slow = kubeAt(port, 500);
      let started = Date.now();
      const err = await new DnsPublisher(slow).publish(group, "iad").catch((e: unknown) => e);
      expect(err).toMatchObject({ status: 0, reason: "DeadlineExceeded" });
      expect(Date.now() - started).toBeLessThan(1_500);

      started = Date.now();
      const taintErr = await new NodeTainter(slow).setReadOnlyTaint(GROUP, { "example.com/site": "iad" }, true).catch((e: unknown) => e);
      expect(taintErr).toMatchObject({ status: 0, reason: "DeadlineExceeded" });
      expect(Date.now() - started).toBeLessThan(1_500);
    } finally {
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => blackHole.close(resolve));
    }
  });

  it("the garbage collector deletes the DNSEndpoint with its group", async () => {
    // A second group, so the publishing tests above keep theirs.
    const name = "ledger";
    const manifest = {
      apiVersion: API_GROUP_VERSION,
      kind: FAILOVER_GROUP.kind,
      metadata: { name, namespace },
      spec: {
        credentials: { operator: { secretName: `${name}-operator` } },
        dns: { hostname: "ledger-db.example.com" },
        sites: [
          { name: "iad", endpoint: { host: "127.0.0.1", port: 33071 }, lbIP: "10.1.0.1" },
          { name: "pdx", endpoint: { host: "127.0.0.1", port: 33072 }, lbIP: "10.1.0.2" },
        ],
      },
    };
    await mustKubectl(["apply", "-f", "-"], JSON.stringify(manifest));
    const ledger = await kube.getFailoverGroup(namespace, name);
    expect(await new DnsPublisher(kube).publish(ledger, "iad")).toMatchObject({ changed: true, record: { recordTTL: 60 } });
    expect(await dnsEndpoint(dnsEndpointName(name))).toBeDefined();

    await mustKubectl(["delete", "mfg", name, "-n", namespace]);
    await expect.poll(() => dnsEndpoint(dnsEndpointName(name)), { timeout: 90_000, interval: 1_000 }).toBeUndefined();
  }, 120_000);

  // Last in this block: it removes the CRD for a moment (afterAll re-installs it in any case).
  it("names the missing CRD when external-dns is not installed", async () => {
    await mustKubectl(["delete", "crd", DNS_ENDPOINT_CRD, "--wait=true", "--timeout=60s"]);
    try {
      const publisher = new DnsPublisher(kube);
      // The apiserver drops the resource's handler shortly after the CRD is gone.
      await expect
        .poll(async () => (await publisher.publish(group, "iad").catch((e: unknown) => e)) instanceof DnsEndpointCrdMissingError, { timeout: 30_000 })
        .toBe(true);
      const err = await publisher.publish(group, "iad").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DnsEndpointCrdMissingError);
      expect((err as Error).message).toContain(DNS_ENDPOINT_CRD);
      expect((err as Error).message).toContain(`${namespace}/${dnsEndpointName(GROUP)}`);
    } finally {
      await installDnsEndpointCrd();
    }
    // With the CRD back, publishing works again (the old object went with the CRD).
    await expect
      .poll(async () => (await new DnsPublisher(kube).publish(group, "iad").catch(() => undefined))?.changed, { timeout: 30_000 })
      .toBe(true);
  }, 120_000);
});

describe("NodeTainter", () => {
  const siteLabel = `bloodraven.test/site-${suffix}`;
  const node = (site: string, i: number) => `dt-${suffix}-${site}${i}`;
  const nodes = [node("a", 1), node("a", 2), node("b", 1)];
  const preexisting = { key: "example.com/dedicated", value: "db", effect: "NoSchedule" };
  const selectorA = { [siteLabel]: "a" };
  const key = readOnlyTaintKey(GROUP);

  // The API server adds taints of its own on create (TaintNodesByCondition: node.kubernetes.io/not-ready),
  // which must survive too; each node's taints right after creation are its baseline.
  const baseline = new Map<string, string[]>();

  async function taints(name: string): Promise<{ key: string; value?: string; effect: string; timeAdded?: string }[]> {
    const out = await mustKubectl(["get", "node", name, "-o", "jsonpath={.spec.taints}"]);
    return out.trim() === "" ? [] : (JSON.parse(out) as { key: string; value?: string; effect: string }[]);
  }

  const keys = async (name: string | undefined) => (await taints(name ?? "")).map((t) => t.key);
  const base = (name: string | undefined) => baseline.get(name ?? "") ?? [];

  beforeAll(async () => {
    const items = [
      { apiVersion: "v1", kind: "Node", metadata: { name: nodes[0], labels: { [siteLabel]: "a" } }, spec: { taints: [preexisting] } },
      { apiVersion: "v1", kind: "Node", metadata: { name: nodes[1], labels: { [siteLabel]: "a" } } },
      { apiVersion: "v1", kind: "Node", metadata: { name: nodes[2], labels: { [siteLabel]: "b" } } },
    ];
    await mustKubectl(["apply", "-f", "-"], asList(items));
    for (const name of nodes) baseline.set(name, await keys(name));
    expect(base(nodes[0])).toContain(preexisting.key);
  });

  afterAll(async () => {
    await kubectl(["delete", "node", ...nodes, "--ignore-not-found", "--wait=false"]);
  });

  it("taints only the selected nodes and keeps their other taints", async () => {
    const result = await new NodeTainter(kube).setReadOnlyTaint(GROUP, selectorA, true);
    expect(result).toEqual({ applied: 2, removed: 0, matched: 2 });

    const first = await taints(nodes[0] ?? "");
    expect(first.map((t) => t.key)).toEqual([...base(nodes[0]), key]);
    expect(first.find((t) => t.key === preexisting.key)).toEqual(preexisting);
    const ours = first.find((t) => t.key === key);
    expect(ours).toMatchObject({ key, value: "true", effect: READ_ONLY_TAINT_EFFECT });
    expect(ours?.timeAdded).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(await keys(nodes[1])).toEqual([...base(nodes[1]), key]);
    expect(await keys(nodes[2])).toEqual(base(nodes[2]));
  });

  it("is idempotent", async () => {
    const before = await mustKubectl(["get", "node", nodes[0] ?? "", "-o", "jsonpath={.metadata.resourceVersion}"]);
    expect(await new NodeTainter(kube).setReadOnlyTaint(GROUP, selectorA, true)).toEqual({ applied: 0, removed: 0, matched: 2 });
    expect(await mustKubectl(["get", "node", nodes[0] ?? "", "-o", "jsonpath={.metadata.resourceVersion}"])).toBe(before);
  });

  it("keeps two groups' taints apart on a shared node", async () => {
    const other = "ledger";
    expect(await new NodeTainter(kube).setReadOnlyTaint(other, { [siteLabel]: "a" }, true)).toMatchObject({ applied: 2 });
    expect(await keys(nodes[0])).toEqual([...base(nodes[0]), key, readOnlyTaintKey(other)]);

    expect(await new NodeTainter(kube).setReadOnlyTaint(other, selectorA, false)).toEqual({ applied: 0, removed: 2, matched: 2 });
    expect(await keys(nodes[0])).toEqual([...base(nodes[0]), key]);
  });

  it("removes the taint and only the taint", async () => {
    expect(await new NodeTainter(kube).setReadOnlyTaint(GROUP, selectorA, false)).toEqual({ applied: 0, removed: 2, matched: 2 });
    expect(await keys(nodes[0])).toEqual(base(nodes[0]));
    expect((await taints(nodes[0] ?? "")).find((t) => t.key === preexisting.key)).toEqual(preexisting);
    expect(await keys(nodes[1])).toEqual(base(nodes[1]));
    expect(await new NodeTainter(kube).setReadOnlyTaint(GROUP, selectorA, false)).toEqual({ applied: 0, removed: 0, matched: 2 });
  });

  it("re-reads and retries when the node changes under it (409)", async () => {
    const racing = new Kube(loadKubeConfig({ kubeconfig: testKubeconfig() }));
    const patchNode = racing.core.patchNode.bind(racing.core);
    let raced = 0;
    racing.core.patchNode = async (...args: Parameters<typeof patchNode>) => {
      if (raced === 0) {
        raced++;
        // Another writer changes the node between our read and our patch.
        await mustKubectl(["label", "node", args[0].name, `bloodraven.test/raced=${suffix}`]);
      }
      return patchNode(...args);
    };
    const readNode = racing.core.readNode.bind(racing.core);
    let rereads = 0;
    racing.core.readNode = (...args: Parameters<typeof readNode>) => {
      rereads++;
      return readNode(...args);
    };
    const result = await new NodeTainter(racing, { concurrency: 1 }).setReadOnlyTaint(GROUP, { [siteLabel]: "b" }, true);
    expect(raced).toBe(1);
    // The first patch met 409 (stale resourceVersion); the node was read again and patched.
    expect(rereads).toBe(1);
    expect(result).toEqual({ applied: 1, removed: 0, matched: 1 });
    const seen = JSON.parse(await mustKubectl(["get", "node", nodes[2] ?? "", "-o", "json"])) as Parameters<typeof hasReadOnlyTaint>[0];
    expect(hasReadOnlyTaint(seen, GROUP)).toBe(true);
    expect(seen.metadata?.labels?.["bloodraven.test/raced"]).toBe(suffix);
  });

  it("refuses an empty selector (it would match every node)", async () => {
    await expect(new NodeTainter(kube).setReadOnlyTaint(GROUP, {}, true)).rejects.toThrow(/selector is empty/);
  });

  it("matches nothing without failing", async () => {
    expect(await new NodeTainter(kube).setReadOnlyTaint(GROUP, { [siteLabel]: "nowhere" }, true)).toEqual({ applied: 0, removed: 0, matched: 0 });
  });
});
