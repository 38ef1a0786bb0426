import mysql from "mysql2/promise";
import { IMAGES } from "../../scripts/images/images.js";
import { STORAGE_CLASS } from "../../scripts/env/node.js";

/**
 * A one-replica MariaDB StatefulSet of the cluster's server image on a dynamically provisioned
 * volume, its Service `mariadb`, and the Secret with root's password. The pod is `mariadb-0`, its
 * claim `data-mariadb-0`.
 */
export function mariadbServer(namespace: string, password: string): object[] {
  const labels = { app: "mariadb" };
  return [
    { apiVersion: "v1", kind: "Secret", metadata: { name: "mariadb", namespace }, stringData: { password } },
    { apiVersion: "v1", kind: "Service", metadata: { name: "mariadb", namespace }, spec: { selector: labels, ports: [{ name: "mysql", port: 3306 }] } },
    {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "mariadb", namespace },
      spec: {
        serviceName: "mariadb",
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            terminationGracePeriodSeconds: 10,
            containers: [
              {
                name: "mariadb",
                image: IMAGES.mariadb,
                imagePullPolicy: "Never",
                args: ["--server-id=1", "--log-bin=mysql-bin", "--innodb-buffer-pool-size=32M"],
                env: [{ name: "MARIADB_ROOT_PASSWORD", valueFrom: { secretKeyRef: { name: "mariadb", key: "password" } } }],
                ports: [{ name: "mysql", containerPort: 3306 }],
                volumeMounts: [{ name: "data", mountPath: "/var/lib/mysql" }],
                readinessProbe: { exec: { command: ["mariadb-ready"] }, periodSeconds: 1, failureThreshold: 3 },
              },
            ],
          },
        },
        volumeClaimTemplates: [
          { metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"], storageClassName: STORAGE_CLASS, resources: { requests: { storage: "256Mi" } } } },
        ],
      },
    },
  ];
}

/** One query over TCP with short timeouts: a server in a pod, by pod or Service IP. */
export async function podQuery(host: string, account: { user: string; password: string }, sql: string): Promise<mysql.RowDataPacket[]> {
  const conn = await mysql.createConnection({ host, port: 3306, user: account.user, password: account.password, connectTimeout: 2_000 });
  try {
    const [rows] = await conn.query<mysql.RowDataPacket[]>({ sql, timeout: 10_000 });
    return rows;
  } finally {
    conn.destroy();
  }
}

/** One query as root (who passes read_only: never for writes that a fence must stop). */
export function rootQuery(host: string, password: string, sql: string): Promise<mysql.RowDataPacket[]> {
  return podQuery(host, { user: "root", password }, sql);
}
