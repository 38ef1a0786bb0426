import type { V1PodDisruptionBudget, V1Service, V1StatefulSet } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { withDefaults, type MysqlFailoverGroupSpec } from "../../../shared/api/index.js";
import { managedObjects, optionFile, passwordTag, previousOperatorSecret, sameServerIds, serverId, type ManagedGroup } from "../../../shared/managed/objects.js";
import { managedNames } from "../../../shared/managed/sites.js";

const secret = { name: "orders-operator", usernameKey: "username", passwordKey: "password" };

function group(spec: Partial<MysqlFailoverGroupSpec>): ManagedGroup {
  return {
    name: "orders",
    namespace: "shop",
    uid: "uid-1",
    spec: withDefaults({
      credentials: { operator: { secretName: "orders-operator" } },
      sites: [
        { name: "iad", storage: { size: "10Gi", storageClassName: "fast" }, taintNodeSelector: { "shipstream.io/site": "iad" }, zone: "us-east-1a" },
        { name: "pdx", storage: { size: "20Gi" }, taintNodeSelector: { "shipstream.io/site": "pdx" }, resources: { limits: { cpu: 2, memory: "4Gi" } } },
        { name: "dr", role: "read-only", endpoint: { host: "dr.db", port: 3306 } },
      ],
      ...spec,
    }),
  };
}

const byKind = <T>(objects: object[], kind: string) => objects.filter((o) => (o as { kind: string }).kind === kind) as T[];

describe("managed site objects", () => {
  it("are none for a group of external sites", () => {
    expect(managedObjects(group({ sites: [{ name: "a", endpoint: { host: "a.db" } }, { name: "b", endpoint: { host: "b.db" } }] }), secret, new Map())).toEqual([]);
  });

  it("name every object after the group and site, owned by the group", () => {
    const objects = managedObjects(group({}), secret, new Map());
    expect(objects.map((o) => `${o.kind}/${o.metadata?.name}`)).toEqual([
      "ConfigMap/mysql-orders-config",
      "Service/mysql-orders-iad",
      "Service/mysql-orders-pdx",
      "Service/mysql-orders-primary",
      "Service/mysql-orders-replicas",
      "PodDisruptionBudget/mysql-orders",
      "StatefulSet/mysql-orders-iad",
      "StatefulSet/mysql-orders-pdx",
    ]);
    for (const o of objects) {
      expect(o.metadata?.namespace).toBe("shop");
      expect(o.metadata?.ownerReferences).toEqual([
        { apiVersion: "shipstream.io/v1alpha1", kind: "MysqlFailoverGroup", name: "orders", uid: "uid-1", controller: true, blockOwnerDeletion: true },
      ]);
      expect(o.metadata?.labels).toMatchObject({ "shipstream.io/failover-group": "orders", "app.kubernetes.io/managed-by": "bloodraven" });
    }
    expect(managedNames.pod("orders", "iad")).toBe("mysql-orders-iad-0");
    expect(managedNames.claim("orders", "iad")).toBe("data-mysql-orders-iad-0");
  });

  it("give each site the agent as its sidecar when the operator has one: in the server's image with the datadir, lease, the password and token files, no site list (adding a site rolls nothing)", () => {
    const sidecar = { image: "bloodraven:1.2.3", operatorUrl: "http://bloodraven.system.svc:8082" };
    const spec = group({ sites: [...group({}).spec.sites.slice(0, 2), { name: "dr", role: "read-only", endpoint: { host: "dr.db", port: 3306 }, agentUrl: "http://dr.db:8080/" }], sidecar: { peerCheckInterval: "2s", leaseTimeout: "10s" } });
    const objects = managedObjects(spec, secret, new Map(), sidecar);
    const [iad] = byKind<V1StatefulSet>(objects, "StatefulSet");
    const container = iad?.spec?.template.spec?.containers.find((c) => c.name === "sidecar");
    // The server's image (its own backup tools), the agent copied in by the init container from the agent's image.
    expect(container?.image).toBe(iad?.spec?.template.spec?.containers[0]?.image);
    expect(container?.command).toEqual(["/opt/bloodraven/node", "/opt/bloodraven/bloodraven.mjs"]);
    expect(container?.args).toEqual(["agent"]);
    const [installer] = iad?.spec?.template.spec?.initContainers ?? [];
    expect(installer).toMatchObject({ name: "agent-install", image: "bloodraven:1.2.3", args: ["install-agent", "--target=/opt/bloodraven"] });
    expect(container?.volumeMounts?.map((m) => [m.name, m.mountPath])).toEqual([
      ["agent", "/opt/bloodraven"],
      ["data", "/var/lib/mysql"],
      ["credentials", "/etc/bloodraven/credentials"],
      ["agent-token", "/etc/bloodraven/agent-token"],
      ["agent-tmp", "/tmp"],
    ]);
    const env = Object.fromEntries((container?.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom]));
    expect(env).toEqual({
      BLOODRAVEN_SITE: "iad",
      BLOODRAVEN_GROUP: "orders",
      POD_NAMESPACE: "shop",
      BLOODRAVEN_OPERATOR_URL: "http://bloodraven.system.svc:8082",
      BLOODRAVEN_AGENT_PORT: "8080",
      BLOODRAVEN_MYSQL_HOST: "127.0.0.1",
      BLOODRAVEN_MYSQL_PORT: "3306",
      BLOODRAVEN_MYSQL_PASSWORD_FILE: "/etc/bloodraven/credentials/password",
      BLOODRAVEN_AGENT_TOKEN_FILE: "/etc/bloodraven/agent-token/token",
      BLOODRAVEN_DATADIR: "/var/lib/mysql/data",
      BLOODRAVEN_PEER_CHECK_INTERVAL: "2s",
      BLOODRAVEN_LEASE_TIMEOUT: "10s",
      BLOODRAVEN_FENCE_DEADLINE: "on",
      BLOODRAVEN_MYSQL_USER: { secretKeyRef: { name: "orders-operator", key: "username" } },
    });
    expect(iad?.spec?.template.spec?.volumes).toContainEqual({ name: "credentials", secret: { secretName: "orders-operator", items: [{ key: "password", path: "password" }] } });
    expect(iad?.spec?.template.spec?.volumes).toContainEqual({ name: "agent-token", secret: { secretName: "mysql-orders-agent-token", items: [{ key: "token", path: "token" }] } });
    const service = byKind<V1Service>(objects, "Service").find((s) => s.metadata?.name === "mysql-orders-iad");
    expect(service?.spec?.ports?.map((p) => p.name)).toEqual(["mysql", "agent"]);
    const [noDeadline] = byKind<V1StatefulSet>(managedObjects(group({ sidecar: { peerCheckInterval: "2s", leaseTimeout: "10s", fenceDeadline: false } }), secret, new Map(), sidecar), "StatefulSet");
    const sidecarEnv = noDeadline?.spec?.template.spec?.containers.find((c) => c.name === "sidecar")?.env ?? [];
    expect(sidecarEnv.find((e) => e.name === "BLOODRAVEN_FENCE_DEADLINE")?.value).toBe("off");
    // Without a sidecar, one container.
    const [bare] = byKind<V1StatefulSet>(managedObjects(group({}), secret, new Map()), "StatefulSet");
    expect(bare?.spec?.template.spec?.containers.map((c) => c.name)).toEqual(["mysql"]);
    expect(bare?.spec?.template.spec?.initContainers).toBeUndefined();
  });

  it("run one server per site on its own volume, its nodes, tolerating the group's read-only taint", () => {
    const [iad, pdx] = byKind<V1StatefulSet>(managedObjects(group({ image: "mariadb:11.4" }), secret, new Map()), "StatefulSet");
    expect(iad?.spec?.replicas).toBe(1);
    expect(iad?.spec?.serviceName).toBe("mysql-orders-iad");
    expect(iad?.spec?.updateStrategy).toEqual({ type: "OnDelete" });
    const pod = iad?.spec?.template.spec;
    const mysql = pod?.containers[0];
    expect(mysql?.image).toBe("mariadb:11.4");
    expect(mysql?.args).toEqual(["--defaults-extra-file=/etc/bloodraven/my.cnf"]);
    expect(mysql?.env?.map((e) => [e.name, e.valueFrom?.secretKeyRef])).toEqual([
      ["MYSQL_ROOT_PASSWORD", { name: "orders-operator", key: "password" }],
      ["MARIADB_ROOT_PASSWORD", { name: "orders-operator", key: "password" }],
    ]);
    expect(mysql?.volumeMounts).toContainEqual({ name: "config", mountPath: "/etc/bloodraven/my.cnf", subPath: "iad.cnf", readOnly: true });
    // Probes that a fenced (read-only) or lagging server passes.
    expect(mysql?.readinessProbe?.tcpSocket?.port).toBe(3306);
    expect(mysql?.livenessProbe?.tcpSocket?.port).toBe(3306);
    expect(pod?.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(60);
    expect(pod?.tolerations).toEqual([{ key: "shipstream.io/db-readonly-orders", operator: "Exists", effect: "NoExecute" }]);
    expect(pod?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms).toEqual([
      {
        matchExpressions: [
          { key: "shipstream.io/site", operator: "In", values: ["iad"] },
          { key: "topology.kubernetes.io/zone", operator: "In", values: ["us-east-1a"] },
        ],
      },
    ]);
    expect(iad?.spec?.volumeClaimTemplates?.[0]?.spec).toEqual({ accessModes: ["ReadWriteOnce"], storageClassName: "fast", resources: { requests: { storage: "10Gi" } } });
    expect(pdx?.spec?.volumeClaimTemplates?.[0]?.spec?.storageClassName).toBeUndefined();
    // The template cannot change once the StatefulSet exists: a larger size goes to the claim.
    const existing = managedObjects(group({}), secret, new Map([["iad", { templateSize: "5Gi" }]]));
    expect(byKind<V1StatefulSet>(existing, "StatefulSet")[0]?.spec?.volumeClaimTemplates?.[0]?.spec?.resources?.requests).toEqual({ storage: "5Gi" });
    expect(pdx?.spec?.template.spec?.containers[0]?.resources).toEqual({ limits: { cpu: "2", memory: "4Gi" }, requests: undefined });
  });

  it("give each site a stable address that also lists a server that is not Ready, and role Services", () => {
    const services = byKind<V1Service>(managedObjects(group({}), secret, new Map()), "Service");
    const iad = services.find((s) => s.metadata?.name === "mysql-orders-iad");
    expect(iad?.spec).toMatchObject({ clusterIP: "None", publishNotReadyAddresses: true });
    expect(iad?.spec?.selector).toEqual({ "shipstream.io/failover-group": "orders", "app.kubernetes.io/managed-by": "bloodraven", "shipstream.io/site": "iad" });
    expect(services.find((s) => s.metadata?.name === "mysql-orders-primary")?.spec?.selector).toMatchObject({ "shipstream.io/role": "primary" });
    expect(services.find((s) => s.metadata?.name === "mysql-orders-replicas")?.spec?.selector).toMatchObject({ "shipstream.io/role": "replica" });
  });

  it("let a drain take at most one managed candidate at a time, and set no budget without one", () => {
    const [budget] = byKind<V1PodDisruptionBudget>(managedObjects(group({}), secret, new Map()), "PodDisruptionBudget");
    expect(budget?.spec?.maxUnavailable).toBe(1);
    expect(budget?.spec?.selector?.matchExpressions).toEqual([{ key: "shipstream.io/site", operator: "In", values: ["iad", "pdx"] }]);
    const readersOnly = group({
      sites: [
        { name: "a", endpoint: { host: "a.db" } },
        { name: "b", endpoint: { host: "b.db" } },
        { name: "r", role: "read-only", storage: { size: "1Gi" } },
      ],
    });
    expect(byKind(managedObjects(readersOnly, secret, new Map()), "PodDisruptionBudget")).toEqual([]);
  });

  it("make an option change a new pod template, so that an update rolls it", () => {
    const hash = (spec: Partial<MysqlFailoverGroupSpec>) =>
      byKind<V1StatefulSet>(managedObjects(group(spec), secret, new Map()), "StatefulSet").map((s) => s.spec?.template.metadata?.annotations?.["bloodraven.shipstream.io/config-hash"]);
    const before = hash({});
    expect(before.every((h) => /^[0-9a-f]+$/.test(h ?? ""))).toBe(true);
    expect(hash({})).toEqual(before);
    const after = hash({ mysqlConf: { max_connections: "500" } });
    expect(after[0]).not.toBe(before[0]);
    expect(after[1]).not.toBe(before[1]);
  });

  it("start every server read-only with GTIDs and binary logs on, then spec.mysqlConf", () => {
    const text = optionFile(group({ mysqlConf: { max_connections: "500", innodb_buffer_pool_size: "1G" } }).spec, "iad");
    expect(text).toContain(`server_id = ${serverId("iad")}`);
    for (const line of ["read_only = ON", "loose_super_read_only = ON", "log_bin = mysql-bin", "loose_gtid_mode = ON", "loose_gtid_strict_mode = ON", "loose_skip_slave_start = ON"]) {
      expect(text).toContain(line);
    }
    expect(text.indexOf("innodb_buffer_pool_size = 1G")).toBeLessThan(text.indexOf("max_connections = 500"));
    expect(text.indexOf("read_only = ON")).toBeLessThan(text.indexOf("innodb_buffer_pool_size"));
  });

  it("configure every sidecar's binary log archive from spec.backup.pitr, with the store's secrets as files, and seal binary logs at its size", () => {
    const sidecar = { image: "bloodraven:1.2.3", operatorUrl: "http://bloodraven.system.svc:8082" };
    const backup = {
      profiles: [{ name: "s3", storage: { s3: { bucket: "archive", prefix: "prod", endpointURL: "http://minio.store:9000", credentialsSecret: { name: "store" } } }, encryption: { passphraseSecret: { name: "backup-key" } } }],
      pitr: { enabled: true, profileName: "s3", maxBinlogSize: "64Mi", archivePollInterval: "10s" },
    };
    const spec = group({ backup, mysqlConf: { max_binlog_size: "1G", max_connections: "50" } });
    const [iad] = byKind<V1StatefulSet>(managedObjects(spec, secret, new Map(), sidecar), "StatefulSet");
    const container = iad?.spec?.template.spec?.containers.find((c) => c.name === "sidecar");
    const env = Object.fromEntries((container?.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom]));
    expect(env).toMatchObject({
      BLOODRAVEN_ARCHIVE_STORAGE: "s3",
      BLOODRAVEN_ARCHIVE_S3_BUCKET: "archive",
      BLOODRAVEN_ARCHIVE_S3_REGION: "us-east-1",
      BLOODRAVEN_ARCHIVE_S3_ENDPOINT: "http://minio.store:9000",
      BLOODRAVEN_ARCHIVE_PREFIX: "prod",
      BLOODRAVEN_ARCHIVE_S3_CREDENTIALS_DIR: "/etc/bloodraven/archive/archive-s3-credentials",
      BLOODRAVEN_ARCHIVE_PASSPHRASE_FILE: "/etc/bloodraven/archive/archive-passphrase/passphrase",
      BLOODRAVEN_ARCHIVE_POLL_INTERVAL: "10s",
    });
    expect(iad?.spec?.template.spec?.volumes).toContainEqual({
      name: "archive-s3-credentials",
      secret: { secretName: "store", items: [{ key: "AWS_ACCESS_KEY_ID", path: "AWS_ACCESS_KEY_ID" }, { key: "AWS_SECRET_ACCESS_KEY", path: "AWS_SECRET_ACCESS_KEY" }] },
    });
    expect(container?.volumeMounts).toContainEqual({ name: "archive-passphrase", mountPath: "/etc/bloodraven/archive/archive-passphrase", readOnly: true });
    // The archive's size wins over spec.mysqlConf's: it is what bounds the archive's lag.
    const text = optionFile(spec.spec, "iad");
    expect(text).toContain(`max_binlog_size = ${64 * 1024 * 1024}`);
    expect(text).not.toContain("max_binlog_size = 1G");
    expect(text).toContain("max_connections = 50");
    // Disabled: no archive, and spec.mysqlConf's size stands.
    const off = group({ backup: { ...backup, pitr: { ...backup.pitr, enabled: false } }, mysqlConf: { max_binlog_size: "1G" } });
    const [plain] = byKind<V1StatefulSet>(managedObjects(off, secret, new Map(), sidecar), "StatefulSet");
    expect(plain?.spec?.template.spec?.containers.find((c) => c.name === "sidecar")?.env?.some((e) => e.name.startsWith("BLOODRAVEN_ARCHIVE_"))).toBe(false);
    expect(optionFile(off.spec, "iad")).toContain("max_binlog_size = 1G");
  });

  it("give each site a server_id of its own name, unchanged when other sites come or go", () => {
    expect(serverId("iad")).toBe(serverId("iad"));
    expect(serverId("iad")).not.toBe(serverId("pdx"));
    for (const name of ["a", "iad", "a-very-long-site-name-of-sixty-three-characters-xxxxxxxxxxxxxxx"]) {
      expect(serverId(name)).toBeGreaterThanOrEqual(1000);
      expect(serverId(name)).toBeLessThan(2 ** 32);
    }
    expect(sameServerIds(group({}).spec)).toEqual([]);
  });
});

describe("the operator's previous password, kept during a rotation", () => {
  it("is named by a keyed hash of the password that replaced it, never by the password", () => {
    const g = group({});
    const secret = previousOperatorSecret(g, "new-secret-pw", { user: "root", password: "old-pw" });
    const tag = passwordTag("uid-1", "new-secret-pw");
    expect(tag).toMatch(/^[0-9a-f]{16}$/);
    expect(secret.metadata?.name).toBe(managedNames.previousOperator(g.name, tag));
    expect(secret.metadata?.name).not.toContain("new-secret-pw");
    expect(secret.stringData).toEqual({ username: "root", password: "old-pw" });
    expect(secret.metadata?.ownerReferences?.[0]).toMatchObject({ uid: "uid-1", controller: true });
    // Another group, another name for the same password; another password, another name.
    expect(passwordTag("uid-2", "new-secret-pw")).not.toBe(tag);
    expect(passwordTag("uid-1", "other")).not.toBe(tag);
  });
});
