import type { V1PersistentVolumeClaim, V1Pod, V1StatefulSet } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { withDefaults } from "../../../shared/api/index.js";
import { managedSpec } from "../../support/fixtures.js";
import { inventoryOf, isOutdated, isSettled } from "../../../shared/managed/inventory.js";
import { withManagedSites } from "../../../shared/managed/status.js";
import type { TopologyStatus } from "../../../shared/topology/status.js";

const spec = managedSpec();
const created = "2026-12-03T10:00:00.000Z";
const claim = (site: string, phase = "Bound"): V1PersistentVolumeClaim => ({
  metadata: { name: `data-mysql-orders-${site}-0`, creationTimestamp: new Date(created) },
  spec: { resources: { requests: { storage: "1Gi" } } },
  status: { phase },
});
const pod = (site: string, ready: boolean, extra: Partial<V1Pod["metadata"]> = {}): V1Pod => ({
  metadata: { name: `mysql-orders-${site}-0`, uid: `uid-${site}`, labels: { "controller-revision-hash": "rev-1" }, ...extra },
  spec: { nodeName: "node-a", containers: [] },
  status: {
    phase: "Running",
    conditions: [{ type: "Ready", status: ready ? "True" : "False" }],
    containerStatuses: [{ name: "mysql", restartCount: 2, ready, image: "mariadb:10.11", imageID: "" }],
  },
});
const statefulSet = (site: string, size: string, revision = "rev-1", observed = true): V1StatefulSet => ({
  metadata: { name: `mysql-orders-${site}`, generation: 2 },
  spec: { selector: {}, serviceName: "", template: {}, volumeClaimTemplates: [{ metadata: { name: "data" }, spec: { resources: { requests: { storage: size } } } }] },
  status: { replicas: 1, observedGeneration: observed ? 2 : 1, updateRevision: revision },
});
const topology = (lastSeen: Record<string, string | undefined>): TopologyStatus => ({
  observedGeneration: 1,
  activeSite: "iad",
  summary: "1W/1RO/1X",
  sites: ["iad", "pdx", "dr"].map((name) => ({ name, state: "read-only" as const, ...(lastSeen[name] ? { lastSeen: lastSeen[name] } : {}) })),
  conditions: [],
});
const now = "2026-12-03T10:05:00.000Z";

describe("managed sites in status", () => {
  it("reads each site's StatefulSet template size, claim and pod by their names, and nothing of another name", () => {
    const inventory = inventoryOf("orders", spec.sites, {
      statefulSets: [statefulSet("iad", "512Mi")],
      claims: [claim("iad"), { ...claim("pdx"), metadata: { name: "data-old-pdx" } }],
      pods: [pod("iad", true), pod("pdx", false, { deletionTimestamp: new Date(now) })],
    });
    expect(inventory.get("iad")).toEqual({
      templateSize: "512Mi",
      updateRevision: "rev-1",
      claim: { name: "data-mysql-orders-iad-0", size: "1Gi", phase: "Bound", createdAt: created },
      pod: { name: "mysql-orders-iad-0", uid: "uid-iad", revision: "rev-1", phase: "Running", ready: true, restarts: 2, node: "node-a" },
    });
    expect(inventory.get("pdx")).toEqual({ pod: { name: "mysql-orders-pdx-0", uid: "uid-pdx", revision: "rev-1", phase: "Terminating", ready: false, restarts: 2, node: "node-a" } });
  });

  it("knows a pod of an older template, and a group with nothing starting or rolling", () => {
    const lists = (revision: string, observed = true) => ({
      statefulSets: [statefulSet("iad", "1Gi", revision, observed), statefulSet("pdx", "1Gi")],
      claims: [claim("iad"), claim("pdx")],
      pods: [pod("iad", true), pod("pdx", true)],
    });
    const current = inventoryOf("orders", spec.sites, lists("rev-1"));
    expect(isOutdated(current.get("iad"))).toBe(false);
    expect(isSettled(current)).toBe(true);
    const rolled = inventoryOf("orders", spec.sites, lists("rev-2"));
    expect(isOutdated(rolled.get("iad"))).toBe(true);
    expect(isSettled(rolled)).toBe(false);
    // A StatefulSet whose controller has not seen its latest template yet says nothing about its revision.
    const unseen = inventoryOf("orders", spec.sites, lists("rev-2", false));
    expect(isOutdated(unseen.get("iad"))).toBe(false);
    expect(isSettled(unseen)).toBe(false);
    expect(isSettled(inventoryOf("orders", spec.sites, { ...lists("rev-1"), pods: [pod("iad", true)] }))).toBe(false);
  });

  it("puts the pod beside each managed site, Bootstrapping True until each server answered on its current volume", () => {
    const inventory = inventoryOf("orders", spec.sites, { statefulSets: [], claims: [claim("iad"), claim("pdx", "Pending")], pods: [pod("iad", false)] });
    const status = withManagedSites(topology({}), spec.sites, inventory, undefined, 3, now);
    expect(status.sites.map((s) => s.pod?.phase)).toEqual(["Running", undefined, undefined]);
    expect(status.conditions).toEqual([
      {
        type: "Bootstrapping",
        status: "True",
        reason: "SitesStarting",
        observedGeneration: 3,
        lastTransitionTime: now,
        message: "site iad: its pod mysql-orders-iad-0 is Running, not Ready; site pdx: its data volume data-mysql-orders-pdx-0 is Pending",
      },
    ]);
  });

  it("is False once every managed server was polled after its volume was created; a volume made again starts over", () => {
    const seen = "2026-12-03T10:01:00.000Z";
    const inventory = inventoryOf("orders", spec.sites, { statefulSets: [], claims: [claim("iad"), claim("pdx")], pods: [pod("iad", true), pod("pdx", true)] });
    const started = withManagedSites(topology({ iad: seen, pdx: seen }), spec.sites, inventory, undefined, 3, now);
    expect(started.conditions[0]).toMatchObject({ status: "False", reason: "SitesStarted" });
    const before = withManagedSites(topology({ iad: seen, pdx: "2026-12-03T09:00:00.000Z" }), spec.sites, inventory, undefined, 3, now);
    expect(before.conditions[0]).toMatchObject({ status: "True", message: "site pdx: its server has not answered a poll yet" });
  });

  it("leaves a group without managed sites as it is", () => {
    const external = withDefaults({ secretName: "s", sites: [{ name: "a", endpoint: { host: "a" } }, { name: "b", endpoint: { host: "b" } }] });
    const status = topology({});
    expect(withManagedSites(status, external.sites, new Map(), undefined, 1, now)).toBe(status);
  });
});
