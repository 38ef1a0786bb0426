import { describe, expect, it } from "vitest";
import { withDefaults, type MysqlFailoverGroupSpec } from "../../shared/api/index.js";
import { cacheAddress, dragonflyMasterService, dragonflyObjects, managedCacheSites, mayHaveCacheObjects, unwantedCacheObjects } from "../../shared/dragonfly/objects.js";

const spec: MysqlFailoverGroupSpec = {
  credentials: { operator: { secretName: "orders-operator" } },
  sites: [
    { name: "iad", storage: { size: "1Gi" } },
    { name: "pdx", storage: { size: "1Gi" } },
  ],
  dragonfly: {
    enabled: true,
    image: "docker.dragonflydb.io/dragonflydb/dragonfly:v1.34.2",
    sites: [{ name: "iad" }, { name: "pdx", endpoint: { host: "cache-pdx.example.com" } }],
    auth: { secretName: "orders-cache" },
    maxMemory: "2Gi",
    threads: 4,
    adminPort: 9999,
    args: ["--cache_mode=true"],
  },
};
const defaulted = withDefaults(spec);
const group = { name: "orders", namespace: "shop", uid: "u-1", spec: defaulted };

describe("cache servers the operator runs", () => {
  it("runs the entries without an endpoint; reaches those by their Service, the others at their endpoint", () => {
    expect(managedCacheSites(defaulted.dragonfly)).toEqual(["iad"]);
    expect(managedCacheSites({ ...defaulted.dragonfly!, enabled: false })).toEqual([]);
    expect(cacheAddress(defaulted.dragonfly!, "orders", "shop", "iad")).toEqual({ host: "dragonfly-orders-iad.shop.svc", port: 6379 });
    expect(cacheAddress(defaulted.dragonfly!, "orders", "shop", "pdx")).toEqual({ host: "cache-pdx.example.com", port: 6379 });
  });

  it("a StatefulSet beside the site's database pod, tolerating its read-only taint, the operator's flags first, the password from the Secret", () => {
    const [sts, svc] = dragonflyObjects(group, defaulted.dragonfly!, "iad");
    expect(sts.metadata).toMatchObject({ name: "dragonfly-orders-iad", namespace: "shop", ownerReferences: [{ kind: "MysqlFailoverGroup", name: "orders", uid: "u-1", controller: true }] });
    // Not the database's label: the database's selectors and inventory must not see it.
    expect(Object.keys(sts.metadata?.labels ?? {})).not.toContain("shipstream.io/failover-group");
    const pod = sts.spec!.template.spec!;
    expect(pod.affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution).toEqual([
      { labelSelector: { matchLabels: { "shipstream.io/failover-group": "orders", "app.kubernetes.io/managed-by": "bloodraven", "shipstream.io/site": "iad" } }, topologyKey: "kubernetes.io/hostname" },
    ]);
    expect(pod.tolerations).toEqual([{ key: "shipstream.io/db-readonly-orders", operator: "Exists", effect: "NoExecute" }]);
    const container = pod.containers[0]!;
    expect(container.image).toBe("docker.dragonflydb.io/dragonflydb/dragonfly:v1.34.2");
    expect(container.args).toEqual([
      "--port=6379",
      "--bind=0.0.0.0",
      "--dir=/data",
      "--requirepass=$(DRAGONFLY_PASSWORD)",
      "--masterauth=$(DRAGONFLY_PASSWORD)",
      "--admin_port=9999",
      `--maxmemory=${2 * 1024 ** 3}`,
      "--proactor_threads=4",
      "--cache_mode=true",
    ]);
    expect(container.env).toEqual([{ name: "DRAGONFLY_PASSWORD", valueFrom: { secretKeyRef: { name: "orders-cache", key: "password" } } }]);
    expect(pod.volumes).toEqual([{ name: "data", emptyDir: {} }]);
    expect(svc.spec).toEqual({ selector: { "shipstream.io/dragonfly-group": "orders", "shipstream.io/site": "iad" }, ports: [{ name: "cache", port: 6379, targetPort: 6379 }] });
  });

  it("without auth, memory, threads or admin port: none of their flags, and no environment", () => {
    const { auth: _, maxMemory: __, threads: ___, adminPort: ____, ...plain } = defaulted.dragonfly!;
    const [sts] = dragonflyObjects(group, { ...plain, args: [] }, "iad");
    const container = sts.spec!.template.spec!.containers[0]!;
    expect(container.args).toEqual(["--port=6379", "--bind=0.0.0.0", "--dir=/data"]);
    expect(container.env).toBeUndefined();
  });

  it("the group's cache Service selects the pod labelled master", () => {
    const svc = dragonflyMasterService(group, defaulted.dragonfly!);
    expect(svc.metadata?.name).toBe("dragonfly-orders");
    expect(svc.spec).toEqual({ selector: { "shipstream.io/dragonfly-group": "orders", "shipstream.io/dragonfly-role": "master" }, ports: [{ name: "cache", port: 6379, targetPort: 6379 }] });
  });

  it("with snapshots: the operator's file name and schedule, and a volume per server that goes with it", () => {
    const withSnapshots = { ...defaulted.dragonfly!, args: [], snapshot: { cron: "*/15 * * * *", storage: { size: "2Gi", storageClassName: "fast" } } };
    const [sts] = dragonflyObjects(group, withSnapshots, "iad");
    const container = sts.spec!.template.spec!.containers[0]!;
    expect(container.args?.slice(-2)).toEqual(["--dbfilename=dump", "--snapshot_cron=*/15 * * * *"]);
    expect(container.volumeMounts).toEqual([{ name: "data", mountPath: "/data" }]);
    expect(sts.spec!.template.spec!.volumes).toBeUndefined();
    expect(sts.spec!.volumeClaimTemplates).toEqual([
      { metadata: { name: "data", labels: expect.objectContaining({ "shipstream.io/dragonfly-group": "orders", "shipstream.io/site": "iad" }) }, spec: { accessModes: ["ReadWriteOnce"], storageClassName: "fast", resources: { requests: { storage: "2Gi" } } } },
    ]);
    expect(sts.spec!.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: "Delete", whenScaled: "Retain" });
    // Updates are the operator's, one pod at a time.
    expect(sts.spec!.updateStrategy).toEqual({ type: "OnDelete" });
    // A snapshot name without a schedule: saved only when the operator asks (before an update).
    const [onDemand] = dragonflyObjects(group, { ...withSnapshots, snapshot: { storage: { size: "2Gi" } } }, "iad");
    expect(onDemand.spec!.template.spec!.containers[0]!.args?.slice(-1)).toEqual(["--dbfilename=dump"]);
    expect(onDemand.spec!.volumeClaimTemplates?.[0]?.spec?.storageClassName).toBeUndefined();
  });

  describe("servers the operator no longer runs", () => {
    const both = { statefulSets: [{ name: "dragonfly-orders-iad", settled: true }, { name: "dragonfly-orders-pdx", settled: true }], services: ["dragonfly-orders", "dragonfly-orders-iad", "dragonfly-orders-pdx"], pods: [] };
    const twoManaged = { ...defaulted.dragonfly!, sites: [{ name: "iad" }, { name: "pdx" }] };

    it("are looked for only in a group with spec.dragonfly or status.dragonfly (removed once they are deleted)", () => {
      expect(mayHaveCacheObjects(undefined, undefined)).toBe(false);
      expect(mayHaveCacheObjects({ ...twoManaged, enabled: false }, undefined)).toBe(true);
      expect(mayHaveCacheObjects(undefined, { phase: "Ready" })).toBe(true);
    });

    it("keeps what the spec runs", () => {
      expect(unwantedCacheObjects("orders", twoManaged, both, "iad")).toEqual([]);
    });

    it("deletes a removed entry's server, or one given an endpoint, and keeps the group's Service while it runs others", () => {
      const pdxGone = { ...twoManaged, sites: [{ name: "iad" }] };
      const pdxExternal = { ...twoManaged, sites: [{ name: "iad" }, { name: "pdx", endpoint: { host: "cache-pdx.example.com", port: 6379 } }] };
      for (const spec of [pdxGone, pdxExternal]) {
        expect(unwantedCacheObjects("orders", spec, both, "iad")).toEqual([
          { kind: "StatefulSet", name: "dragonfly-orders-pdx" },
          { kind: "Service", name: "dragonfly-orders-pdx" },
        ]);
      }
    });

    it("keeps the recorded master's server until the master has moved, with the group's Service", () => {
      const onlyPdx = { ...twoManaged, sites: [{ name: "pdx", endpoint: { host: "cache-pdx.example.com", port: 6379 } }] };
      const iad = { statefulSets: [{ name: "dragonfly-orders-iad", settled: true }], services: ["dragonfly-orders", "dragonfly-orders-iad"], pods: [] };
      expect(unwantedCacheObjects("orders", onlyPdx, iad, "iad")).toEqual([]);
      expect(unwantedCacheObjects("orders", onlyPdx, iad, "pdx")).toEqual([
        { kind: "StatefulSet", name: "dragonfly-orders-iad" },
        { kind: "Service", name: "dragonfly-orders-iad" },
        { kind: "Service", name: "dragonfly-orders" },
      ]);
    });

    it("deletes every server and the group's Service when the cache is turned off or removed, the master too", () => {
      const all = [
        { kind: "StatefulSet", name: "dragonfly-orders-iad" },
        { kind: "StatefulSet", name: "dragonfly-orders-pdx" },
        { kind: "Service", name: "dragonfly-orders-iad" },
        { kind: "Service", name: "dragonfly-orders-pdx" },
        { kind: "Service", name: "dragonfly-orders" },
      ];
      expect(unwantedCacheObjects("orders", { ...twoManaged, enabled: false }, both, "iad")).toEqual(all);
      expect(unwantedCacheObjects("orders", undefined, both, "iad")).toEqual(all);
    });
  });
});
