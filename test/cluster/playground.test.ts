/**
 * What `npm run playground` sets up, on the tier's cluster: the chart with the local image and the
 * sample group on servers of this machine. The operator pod runs, `kubectl bloodraven status`
 * answers against it, and the prompt's `partition` cuts the pods off a server (the operator reports
 * it unreachable) until `heal`.
 */
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import type { MysqlFailoverGroup } from "../../shared/api/index.js";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { CacheServers } from "../../scripts/env/cache-servers.js";
import { EnvDir } from "../../scripts/env/env-dir.js";
import { MariaDbSites } from "../../scripts/env/mariadb-sites.js";
import { waitFor } from "../../scripts/env/ports.js";
import { Partitions } from "../../scripts/playground/partitions.js";
import { CACHE_PASSWORD, installSample, MANAGED_EXAMPLE, SAMPLE } from "../../scripts/playground/sample.js";
import { CacheClient } from "../../operator/dragonfly/cache-client.js";
import { NODE_NAME } from "../../scripts/env/node.js";
import { managedNames } from "../../shared/managed/sites.js";
import { readOnlyTaintKey } from "../../shared/names.js";
import { saveOperatorLogsOnFailure } from "../support/failure-logs.js";
import { applyAll, groupReader } from "../support/groups.js";
import { helm } from "../support/helm.js";
import { kubectl, mustKubectl, testKubeconfig } from "../support/kubectl.js";

const suffix = randomBytes(3).toString("hex");
const operatorNamespace = `playground-system-${suffix}`;
const groupNamespace = `playground-${suffix}`;

describe("the playground's setup on a real node", () => {
  let sites: MariaDbSites;
  let caches: CacheServers;
  let env: EnvDir;
  let partitions: Partitions;
  const group = groupReader(groupNamespace);
  saveOperatorLogsOnFailure(operatorNamespace, `app.kubernetes.io/instance=${SAMPLE.release}`);

  beforeAll(async () => {
    sites = await MariaDbSites.start({ names: ["iad", "pdx", "sfo"], primary: "iad", listenAddress: inject("nodeAddress") });
    caches = await CacheServers.start(["iad", "pdx"], { password: CACHE_PASSWORD, address: inject("nodeAddress") });
    env = new EnvDir("playground");
    partitions = new Partitions(env);
    await applyAll([{ apiVersion: "v1", kind: "Namespace", metadata: { name: groupNamespace } }]);
    await installSample({ kubeconfig: testKubeconfig(), sites, caches, operatorNamespace, groupNamespace });
  });

  afterAll(async () => {
    await kubectl(["delete", "mfg", MANAGED_EXAMPLE.group, "-n", groupNamespace, "--ignore-not-found", "--wait=false"]);
    // The tier's one node: a taint left by a failed run here would keep every later pod off it.
    await kubectl(["taint", "nodes", NODE_NAME, `${readOnlyTaintKey(MANAGED_EXAMPLE.group)}-`]);
    partitions?.healAll(sites);
    env?.remove();
    await helm(["uninstall", SAMPLE.release, "--namespace", operatorNamespace, "--wait"]);
    await kubectl(["delete", "namespace", operatorNamespace, groupNamespace, "--wait=false"]);
    await sites?.teardown();
    await caches?.stop();
  });

  it("runs the operator in a pod, and `kubectl bloodraven status` answers against it", async () => {
    const pods = await kubectl(["get", "pods", "-A"]);
    expect(pods.stdout).toMatch(new RegExp(`${operatorNamespace}\\s+${SAMPLE.release}-\\S+\\s+1/1\\s+Running`));
    await waitFor("the sample group's status", async () => (await group(SAMPLE.group)).status?.activeSite === "iad", 60_000, 250);
    const status = await kubectl(["bloodraven", "status", SAMPLE.group, "-n", groupNamespace]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain("iad");
    expect(status.stdout).toContain("pdx");
    expect(status.stdout).toContain("sfo");
  });

  it("keeps the sample group's sessions across `kubectl bloodraven failover orders pdx --wait`: the cache master follows from the operator's pod", async () => {
    const client = (name: string) => new CacheClient({ host: caches.get(name).host, port: caches.get(name).port }, { password: CACHE_PASSWORD, timeoutMs: 2_000 });
    const cacheOf = async () => (await group(SAMPLE.group)).status?.dragonfly;
    await waitFor("the cache Ready under iad", async () => {
      const d = await cacheOf();
      return d?.phase === "Ready" && d.activeSite === "iad";
    }, 60_000, 250);
    const iad = client("iad");
    for (let i = 0; i < 50; i++) await iad.write(["SET", `session:${i}`, String(i)]);
    iad.close();
    const failover = await kubectl(["bloodraven", "failover", SAMPLE.group, "pdx", "-n", groupNamespace, "--wait", "--timeout=90s"], { timeoutMs: 120_000 });
    expect(failover.code, `${failover.stdout}\n${failover.stderr}`).toBe(0);
    const moved = await waitFor("the cache master on pdx", async () => {
      const d = await cacheOf();
      return d?.phase === "Ready" && d.activeSite === "pdx" ? d : undefined;
    }, 60_000, 250);
    expect(moved.lastPromotionMethod).toBe("takeover");
    const pdx = client("pdx");
    try {
      for (let i = 0; i < 50; i++) expect(await pdx.read(["GET", `session:${i}`])).toBe(String(i));
    } finally {
      pdx.close();
    }
  });

  it(`runs ${MANAGED_EXAMPLE.file} as documented: pods, volumes and Services, a healthy status, a switchover`, async () => {
    const file = fileURLToPath(new URL(`../../${MANAGED_EXAMPLE.file}`, import.meta.url));
    await mustKubectl(["apply", "-n", groupNamespace, "-f", file]);
    const shop = MANAGED_EXAMPLE.group;
    const condition = (g: MysqlFailoverGroup, type: string) => g.status?.conditions?.find((c) => c.type === type)?.status;
    // From three empty volumes: iad the first primary, pdx replicating, and the reader sfo too.
    await waitFor("the managed group Ready with iad active and its reader replicating", async () => {
      const g = await group(shop);
      return g.status?.activeSite === "iad" && condition(g, "Ready") === "True" && condition(g, "ReadersReady") === "True" && condition(g, "Bootstrapping") === "False";
    }, 150_000, 500).catch(async (err: unknown) => {
      // What the group and its pods looked like, for the failure's message.
      const g = await group(shop).catch(() => undefined);
      const pods = await kubectl(["get", "pods", "-n", groupNamespace, "-o", "wide"]);
      throw new Error(`${String(err)}\nstatus: ${JSON.stringify(g?.status)}\n${pods.stdout}`);
    });
    const objects = await mustKubectl(["get", "pods,pvc,svc", "-n", groupNamespace, "-l", `shipstream.io/failover-group=${shop}`, "-o", "name"]);
    expect(objects.trim().split("\n").sort()).toEqual(
      [
        ...["iad", "pdx", "sfo"].flatMap((s) => [`pod/${managedNames.pod(shop, s)}`, `persistentvolumeclaim/${managedNames.claim(shop, s)}`, `service/${managedNames.site(shop, s)}`]),
        `service/${managedNames.writer(shop)}`,
        `service/${managedNames.reader(shop)}`,
      ].sort(),
    );
    const status = await kubectl(["bloodraven", "status", shop, "-n", groupNamespace]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/Ready:\s+True \(Healthy\)/);
    const failover = await kubectl(["bloodraven", "failover", shop, "pdx", "-n", groupNamespace, "--wait", "--timeout=90s"], { timeoutMs: 120_000 });
    expect(failover.code, `${failover.stdout}\n${failover.stderr}`).toBe(0);
    expect((await group(shop)).status?.activeSite).toBe("pdx");
    const deleted = await kubectl(["delete", "-n", groupNamespace, "-f", file, "--wait=true", "--timeout=90s"]);
    expect(deleted.code, deleted.stderr).toBe(0);
  });

  it("`partition` cuts the operator's pods off a server until `heal`", async () => {
    const sfo = sites.site("sfo");
    const state = async () => (await group(SAMPLE.group)).status?.sites?.find((s) => s.name === "sfo")?.state;
    partitions.partition(sfo);
    expect(await waitFor("sfo unreachable", async () => (await state()) === "unreachable", 60_000, 250)).toBe(true);
    // Only the pods lose it: this machine still reaches the server.
    expect(await sfo.isReadOnly()).toBe(true);
    partitions.heal(sfo);
    expect(await waitFor("sfo back", async () => (await state()) === "read-only", 60_000, 250)).toBe(true);
  });
});
