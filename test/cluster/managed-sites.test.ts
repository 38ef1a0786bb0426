/**
 * Managed sites, first part: the operator, running in the cluster from the chart, creates each
 * managed site's StatefulSet, volume and Services, the group's option ConfigMap, role Services and
 * PodDisruptionBudget. The servers start on their own volumes with the operator's settings
 * (server_id, binary log, GTIDs, read-only) plus spec.mysqlConf, and the operator polls them
 * through their Services. Bootstrap (a primary, replication) is not part of this yet.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installOperatorChart } from "../../scripts/env/helm.js";
import { NODE_NAME } from "../../scripts/env/node.js";
import { waitFor } from "../../scripts/env/ports.js";
import { IMAGES } from "../../scripts/images/images.js";
import { managedNames, serverId } from "../../shared/managed/objects.js";
import { failoverGroup } from "../support/fixtures.js";
import { applyAll, groupReader } from "../support/groups.js";
import { helm } from "../support/helm.js";
import { kubectl, testKubeconfig } from "../support/kubectl.js";
import { rootQuery } from "../support/mariadb-pod.js";
import { getObject, readyPod } from "../support/pods.js";

const suffix = randomBytes(3).toString("hex");
const operatorNs = `managed-system-${suffix}`;
const ns = `managed-${suffix}`;
const release = "bloodraven";
const PASSWORD = `root-${randomBytes(6).toString("hex")}`;
const SITES = ["iad", "pdx"];

interface Owned {
  metadata: { ownerReferences?: { kind: string; name: string; controller?: boolean }[] };
}

const query = (host: string, sql: string) => rootQuery(host, PASSWORD, sql);

describe("managed sites on a real node (operator installed by the chart)", () => {
  const group = groupReader(ns);

  beforeAll(async () => {
    await installOperatorChart({ kubeconfig: testKubeconfig(), namespace: operatorNs, release });
    await applyAll([
      { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } },
      { apiVersion: "v1", kind: "Secret", metadata: { name: "orders-operator", namespace: ns }, stringData: { username: "root", password: PASSWORD } },
      failoverGroup(ns, "orders", {
        credentials: { operator: { secretName: "orders-operator" } },
        image: IMAGES.mariadb,
        pollInterval: "1s",
        mysqlConf: { max_connections: "77" },
        sites: SITES.map((name) => ({ name, storage: { size: "256Mi" }, taintNodeSelector: { "kubernetes.io/hostname": NODE_NAME } })),
      }),
    ]);
  });

  afterAll(async () => {
    await kubectl(["delete", "mfg", "orders", "-n", ns, "--wait=false"]);
    await helm(["uninstall", release, "--namespace", operatorNs, "--wait"]);
    await kubectl(["delete", "namespace", operatorNs, ns, "--wait=false"]);
  });

  it("creates every object, owned by the group", async () => {
    const names = [
      `configmap/${managedNames.config("orders")}`,
      ...SITES.map((s) => `service/${managedNames.site("orders", s)}`),
      `service/${managedNames.writer("orders")}`,
      `service/${managedNames.reader("orders")}`,
      `poddisruptionbudget.policy/${managedNames.budget("orders")}`,
      ...SITES.map((s) => `statefulset.apps/${managedNames.site("orders", s)}`),
    ];
    const objects = await waitFor(
      "the managed objects",
      async () => {
        const r = await kubectl(["get", ...names, "-n", ns, "-o", "json"]);
        return r.code === 0 ? (JSON.parse(r.stdout) as { items: Owned[] }).items : undefined;
      },
      60_000,
      500,
    );
    expect(objects).toHaveLength(names.length);
    for (const o of objects) expect(o.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: "MysqlFailoverGroup", name: "orders", controller: true })]);
  });

  it("starts each server on its own bound volume with the operator's settings and spec.mysqlConf", async () => {
    for (const site of SITES) {
      const pod = await readyPod(ns, managedNames.pod("orders", site), { timeoutMs: 120_000 });
      const claim = await getObject<{ status: { phase: string } }>(["pvc", managedNames.claim("orders", site), "-n", ns]);
      expect(claim.status.phase).toBe("Bound");
      const [row] = await query(
        pod.status?.podIP ?? "",
        "SELECT @@server_id AS id, @@read_only AS ro, @@log_bin AS binlog, @@gtid_strict_mode AS strict, @@log_slave_updates AS chained, @@max_connections AS maxConnections",
      );
      expect(row).toEqual({ id: serverId(site), ro: 1, binlog: 1, strict: 1, chained: 1, maxConnections: 77 });
    }
  });

  it("is polled by the operator through each site's Service", async () => {
    const g = await waitFor(
      "both sites seen read-only",
      async () => {
        const current = await group("orders");
        return SITES.every((s) => current.status?.sites?.find((x) => x.name === s)?.state === "read-only") ? current : undefined;
      },
      60_000,
      500,
    );
    expect(g.status?.sites?.map((s) => s.name).sort()).toEqual(SITES);
  });
});
