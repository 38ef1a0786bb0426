import { TEST_USERS } from "../../scripts/env/mariadb-sites.js";
import { withDefaults, type DefaultedMysqlFailoverGroupSpec } from "../../shared/api/index.js";
import { API_GROUP_VERSION, FAILOVER_GROUP } from "../../shared/names.js";

/** `spec.credentials` of the test groups: the Secrets that namespaceWithCredentials creates. */
export const TEST_CREDENTIALS = { operator: { secretName: "mysql-operator" }, replication: { secretName: "mysql-replication" } };

/** A namespace and the two Secrets holding the test servers' operator and replication accounts. */
export function namespaceWithCredentials(ns: string): object[] {
  const secret = (name: string, account: { user: string; password: string }) => ({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace: ns },
    stringData: { username: account.user, password: account.password },
  });
  return [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } },
    secret(TEST_CREDENTIALS.operator.secretName, TEST_USERS.operator),
    secret(TEST_CREDENTIALS.replication.secretName, TEST_USERS.replication),
  ];
}

/** Objects as one `kubectl apply -f -` input. */
export function asList(items: readonly object[]): string {
  return JSON.stringify({ apiVersion: "v1", kind: "List", items });
}

/** A site of a test group: the test server's endpoint (loopback, or its address in a TestNetwork), plus any other site fields. */
export function siteAt(server: { name: string; host?: string; port: number }, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: server.name, endpoint: { host: server.host ?? "127.0.0.1", port: server.port }, ...extra };
}

/** A MysqlFailoverGroup using the test credentials; `spec` (with its sites) adds to them or overrides them. */
export function failoverGroup(ns: string, name: string, spec: Record<string, unknown>): object {
  return { apiVersion: API_GROUP_VERSION, kind: FAILOVER_GROUP.kind, metadata: { name, namespace: ns }, spec: { credentials: TEST_CREDENTIALS, ...spec } };
}

/**
 * A defaulted spec for unit tests of managed sites: the managed candidates iad and pdx (volume
 * sizes as given, 1Gi otherwise) and an external reader.
 */
export function managedSpec(opts: { iadSize?: string; pdxSize?: string; reader?: string } = {}): DefaultedMysqlFailoverGroupSpec {
  const reader = opts.reader ?? "dr";
  return withDefaults({
    credentials: { operator: { secretName: "s" } },
    sites: [
      { name: "iad", storage: { size: opts.iadSize ?? "1Gi" }, taintNodeSelector: { site: "iad" } },
      { name: "pdx", storage: { size: opts.pdxSize ?? "1Gi" }, taintNodeSelector: { site: "pdx" } },
      { name: reader, role: "read-only", endpoint: { host: `${reader}.db` } },
    ],
  });
}
