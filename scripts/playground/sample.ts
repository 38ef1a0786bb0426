import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { installOperatorChart } from "../env/helm.js";
import { READ_ONLY_TAINT_EFFECT, readOnlyTaintKey } from "../../shared/names.js";
import type { CacheServers } from "../env/cache-servers.js";
import { TEST_USERS, type MariaDbSites } from "../env/mariadb-sites.js";

const run = promisify(execFile);

/** The playground's sample group and the chart release that manages it. */
export const SAMPLE = { group: "orders", release: "bloodraven" } as const;

/** The managed group a user applies on the playground; its sites share the one node with the operator. */
export const MANAGED_EXAMPLE = { group: "shop", file: "docs/examples/managed-group.yaml" } as const;

/** The cache servers' password, in the Secret `<group>-cache`. */
export const CACHE_PASSWORD = "playground-sessions";

/**
 * The Secrets and the group: iad and pdx may be promoted, sfo only reads; the session cache
 * (spec.dragonfly) on one cache server per server in `caches`.
 */
export function sampleObjects(sites: MariaDbSites, caches: CacheServers, namespace: string): object[] {
  const secret = (name: string, account: { user: string; password: string }) => ({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace },
    stringData: { username: account.user, password: account.password },
  });
  const role = (name: string) => (name === "sfo" ? "read-only" : "primary-candidate");
  return [
    secret(`${SAMPLE.group}-operator`, TEST_USERS.operator),
    secret(`${SAMPLE.group}-replication`, TEST_USERS.replication),
    { apiVersion: "v1", kind: "Secret", metadata: { name: `${SAMPLE.group}-cache`, namespace }, stringData: { password: CACHE_PASSWORD } },
    {
      apiVersion: "shipstream.io/v1alpha1",
      kind: "MysqlFailoverGroup",
      metadata: { name: SAMPLE.group, namespace },
      spec: {
        credentials: { operator: { secretName: `${SAMPLE.group}-operator` }, replication: { secretName: `${SAMPLE.group}-replication` } },
        sites: sites.sites.map((s) => ({ name: s.name, role: role(s.name), endpoint: { host: s.host, port: s.port } })),
        dragonfly: {
          enabled: true,
          sites: caches.servers.map((c) => ({ name: c.name, endpoint: { host: c.host, port: c.port } })),
          auth: { secretName: `${SAMPLE.group}-cache` },
        },
      },
    },
  ];
}

/**
 * Installs the chart with the locally built operator image (the operator runs in a pod, as users
 * run it) and creates the sample group on servers (and cache servers) the pods can reach.
 */
export async function installSample(opts: { kubeconfig: string; sites: MariaDbSites; caches: CacheServers; operatorNamespace: string; groupNamespace: string }): Promise<void> {
  const env = { ...process.env, KUBECONFIG: opts.kubeconfig };
  // The node always carries the example group's read-only taint (both its sites select the node): the operator must stay.
  const toleration = [`key=${readOnlyTaintKey(MANAGED_EXAMPLE.group)}`, "operator=Exists", `effect=${READ_ONLY_TAINT_EFFECT}`].map((kv) => `tolerations[0].${kv}`);
  await installOperatorChart({ kubeconfig: opts.kubeconfig, namespace: opts.operatorNamespace, release: SAMPLE.release, set: toleration });
  const list = JSON.stringify({ apiVersion: "v1", kind: "List", items: sampleObjects(opts.sites, opts.caches, opts.groupNamespace) });
  const apply = run("kubectl", ["apply", "-f", "-"], { env, timeout: 60_000 });
  apply.child.stdin?.end(list);
  await apply;
}
