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
