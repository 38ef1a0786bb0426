/**
 * The MariaDB image on the real node: a StatefulSet pod starts on a dynamically provisioned
 * volume, answers from the host by pod IP and through its Service's ClusterIP (kube-proxy), is
 * found by name through CoreDNS from another pod, and keeps its data when the pod is deleted and
 * recreated on the same claim.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IMAGES } from "../../scripts/images/images.js";
import { waitFor } from "../../scripts/env/ports.js";
import { applyAll } from "../support/groups.js";
import { kubectl } from "../support/kubectl.js";
import { mariadbServer, rootQuery } from "../support/mariadb-pod.js";
import { finishedPod, getObject, readyPod, type Pod } from "../support/pods.js";

const ns = `server-${randomBytes(3).toString("hex")}`;
// Quotes and a backslash: the entrypoint must escape the password into SQL.
const PASSWORD = `pa'ss\\word-${randomBytes(4).toString("hex")}`;

const query = (host: string, sql: string) => rootQuery(host, PASSWORD, sql);

describe("the MariaDB image on a real node", () => {
  let first: Pod;
  let clusterIP: string;

  beforeAll(async () => {
    await applyAll([{ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } }, ...mariadbServer(ns, PASSWORD)]);
    first = await readyPod(ns, "mariadb-0");
    clusterIP = (await getObject<{ spec: { clusterIP: string } }>(["service", "mariadb", "-n", ns])).spec.clusterIP;
  });

  afterAll(async () => {
    await kubectl(["delete", "namespace", ns, "--wait=false"]);
  });

  it("initialises its datadir on a dynamically provisioned volume and answers by pod IP", async () => {
    const claim = await getObject<{ status: { phase: string }; spec: { volumeName: string } }>(["pvc", "data-mariadb-0", "-n", ns]);
    expect(claim.status.phase).toBe("Bound");
    const volume = await getObject<{ spec: { hostPath?: { path: string } } }>(["pv", claim.spec.volumeName]);
    expect(volume.spec.hostPath?.path).toMatch(/^\/tmp\/hostpath_pv\//);
    const [row] = await query(first.status?.podIP ?? "", "SELECT @@hostname AS host, @@server_id AS id, @@log_bin AS binlog");
    expect(row).toEqual({ host: "mariadb-0", id: 1, binlog: 1 });
  });

  it("answers through its Service's ClusterIP once kube-proxy has programmed it", async () => {
    // kube-proxy programs a Service up to ~1.5 s after its pod turns Ready: poll, do not assume.
    const rows = await waitFor("the ClusterIP to answer", () => query(clusterIP, "SELECT 1 AS one"), 20_000, 200);
    expect(rows).toEqual([{ one: 1 }]);
  });

  it("is found by its Service name through CoreDNS from another pod", async () => {
    await applyAll([
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "lookup", namespace: ns },
        spec: {
          restartPolicy: "Never",
          containers: [{ name: "lookup", image: IMAGES.tools, imagePullPolicy: "Never", command: ["nslookup", `mariadb.${ns}.svc.cluster.local`] }],
        },
      },
    ]);
    const { phase, logs } = await finishedPod(ns, "lookup");
    expect(phase, logs).toBe("Succeeded");
    expect(logs).toContain(`Address: ${clusterIP}`);
  });

  it("keeps its data when the pod is deleted and recreated on the same claim", async () => {
    const claimBefore = await getObject<{ metadata: { uid: string } }>(["pvc", "data-mariadb-0", "-n", ns]);
    await query(first.status?.podIP ?? "", "CREATE DATABASE IF NOT EXISTS keep");
    await query(first.status?.podIP ?? "", "CREATE TABLE keep.rows (id INT PRIMARY KEY, note VARCHAR(64))");
    await query(first.status?.podIP ?? "", "INSERT INTO keep.rows VALUES (1, 'survives a pod deletion')");

    const deleted = await kubectl(["delete", "pod", "mariadb-0", "-n", ns, "--wait=true", "--timeout=60s"]);
    expect(deleted.code, deleted.stderr).toBe(0);
    const second = await readyPod(ns, "mariadb-0", { replacing: first.metadata.uid });

    expect(second.metadata.uid).not.toBe(first.metadata.uid);
    const claimAfter = await getObject<{ metadata: { uid: string } }>(["pvc", "data-mariadb-0", "-n", ns]);
    expect(claimAfter.metadata.uid).toBe(claimBefore.metadata.uid);
    expect(await query(second.status?.podIP ?? "", "SELECT note FROM keep.rows WHERE id = 1")).toEqual([{ note: "survives a pod deletion" }]);
  });
});
