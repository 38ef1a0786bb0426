import { TEST_USERS } from "../../scripts/env/mariadb-sites.js";

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
