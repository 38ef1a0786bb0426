import { describe, expect, it } from "vitest";
import { backupWithDefaults } from "../../../shared/api/index.js";
import { backupJob, backupJobName, restoreInPlaceJobName, restoreJob, verificationJob, type BackupJobInput, type RestoreJobInput } from "../../../shared/backup/backup-job.js";
import { INSTALLED_AGENT_COMMAND } from "../../../shared/managed/objects.js";

const spec = backupWithDefaults({
  profiles: [
    { name: "nightly", storage: { s3: { bucket: "backups", prefix: "prod", endpointURL: "http://minio.storage.svc:9000", credentialsSecret: { name: "s3-creds", accessKeyIdKey: "id", secretAccessKeyKey: "key" } } }, encryption: { passphraseSecret: { name: "backup-key" } } },
    { name: "local", storage: { pvc: { claimName: "backups", subPath: "orders" } } },
  ],
});

function input(profile: number): BackupJobInput {
  return {
    backup: { name: "orders-20261204", namespace: "shop", uid: "u-1" },
    group: "orders",
    profile: spec.profiles[profile] as BackupJobInput["profile"],
    source: { site: "pdx", agentUrl: "http://mysql-orders-pdx.shop.svc:8080", agentToken: { secretName: "mysql-orders-agent-token", key: "token" } },
    image: "bloodraven:1.2.3",
    timeoutSeconds: 7200,
  };
}

describe("backupJob", () => {
  it("runs `bloodraven backup` once, owned by its MysqlBackup, secrets only as files (the store's keys renamed to what the command reads)", () => {
    const job = backupJob(input(0));
    expect(job.metadata).toMatchObject({ name: "orders-20261204-backup", namespace: "shop", ownerReferences: [{ kind: "MysqlBackup", name: "orders-20261204", uid: "u-1", controller: true }] });
    expect(job.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 7260 });
    const pod = job.spec?.template.spec;
    const [container] = pod?.containers ?? [];
    expect(container?.args).toEqual([
      "backup",
      "--namespace=shop",
      "--group=orders",
      "--backup=orders-20261204",
      "--profile=nightly",
      "--source-site=pdx",
      "--source-agent-url=http://mysql-orders-pdx.shop.svc:8080",
      "--timeout=7200s",
      "--storage=s3",
      "--s3-bucket=backups",
      "--s3-region=us-east-1",
      "--s3-endpoint=http://minio.storage.svc:9000",
      "--prefix=prod",
    ]);
    expect(container?.env).toEqual([
      { name: "BLOODRAVEN_AGENT_TOKEN_FILE", value: "/etc/bloodraven/agent-token/token" },
      { name: "BLOODRAVEN_S3_CREDENTIALS_DIR", value: "/etc/bloodraven/s3-credentials" },
      { name: "BLOODRAVEN_BACKUP_PASSPHRASE_FILE", value: "/etc/bloodraven/passphrase/passphrase" },
    ]);
    expect(pod?.volumes).toContainEqual({ name: "s3-credentials", secret: { secretName: "s3-creds", items: [{ key: "id", path: "AWS_ACCESS_KEY_ID" }, { key: "key", path: "AWS_SECRET_ACCESS_KEY" }] } });
    expect(pod?.volumes).toContainEqual({ name: "passphrase", secret: { secretName: "backup-key", items: [{ key: "passphrase", path: "passphrase" }] } });
    expect(pod).toMatchObject({ restartPolicy: "Never", automountServiceAccountToken: false, securityContext: { runAsNonRoot: true } });
    // Not evicted from a node of the group's read-only sites.
    expect(pod?.tolerations).toEqual([{ key: "shipstream.io/db-readonly-orders", operator: "Exists", effect: "NoExecute" }]);
    expect(container?.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
  });

  it("dumps a MySQL site with MySQL Shell in the profile's dump image, the operator account mounted as files, the chunks waiting in the work volume", () => {
    const job = backupJob({ ...input(0), source: { site: "pdx", server: { host: "db-pdx.example", port: 3307 }, account: { name: "orders-operator", usernameKey: "user", passwordKey: "pass" } } });
    const pod = job.spec?.template.spec;
    const [container] = pod?.containers ?? [];
    expect(container?.image).toBe("mysql:8.4");
    expect(pod?.initContainers?.map((c) => c.image)).toEqual(["bloodraven:1.2.3"]);
    expect(container?.command).toEqual(INSTALLED_AGENT_COMMAND);
    expect(container?.args?.slice(0, 14)).toEqual([
      "backup",
      "--namespace=shop",
      "--group=orders",
      "--backup=orders-20261204",
      "--profile=nightly",
      "--source-site=pdx",
      "--source-host=db-pdx.example",
      "--source-port=3307",
      "--dump-threads=4",
      "--dump-bytes-per-chunk=64M",
      "--dump-compression=zstd",
      "--work-dir=/work/backup",
      "--timeout=7200s",
      "--storage=s3",
    ]);
    expect(container?.env).toEqual([
      { name: "BLOODRAVEN_OPERATOR_USER_FILE", value: "/etc/bloodraven/operator/username" },
      { name: "BLOODRAVEN_OPERATOR_PASSWORD_FILE", value: "/etc/bloodraven/operator/password" },
      { name: "BLOODRAVEN_S3_CREDENTIALS_DIR", value: "/etc/bloodraven/s3-credentials" },
      { name: "BLOODRAVEN_BACKUP_PASSPHRASE_FILE", value: "/etc/bloodraven/passphrase/passphrase" },
    ]);
    expect(pod?.volumes).toContainEqual({ name: "operator-account", secret: { secretName: "orders-operator", items: [{ key: "user", path: "username" }, { key: "pass", path: "password" }] } });
    expect(pod?.volumes).toContainEqual({ name: "work", emptyDir: {} });
    expect(pod?.volumes?.map((v) => v.name)).not.toContain("agent-token");
    expect(container?.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
  });

  it("writes a volume profile into its claim's folder", () => {
    const job = backupJob(input(1));
    const [container] = job.spec?.template.spec?.containers ?? [];
    expect(container?.args).toEqual(expect.arrayContaining(["--storage=volume", "--volume-path=/backup"]));
    expect(container?.volumeMounts).toContainEqual({ name: "backup-volume", mountPath: "/backup", subPath: "orders" });
    expect(job.spec?.template.spec?.volumes).toContainEqual({ name: "backup-volume", persistentVolumeClaim: { claimName: "backups" } });
    expect(container?.env?.map((e) => e.name)).toEqual(["BLOODRAVEN_AGENT_TOKEN_FILE"]);
  });

  it("keeps the Job's name a label value: long backup names are cut and told apart by a hash", () => {
    const long = "x".repeat(200);
    const a = backupJobName(long);
    const b = backupJobName(`${long}y`);
    expect(a.length).toBeLessThanOrEqual(63);
    expect(a).toMatch(/^x+-[0-9a-f]{8}-backup$/);
    expect(a).not.toBe(b);
    expect(backupJobName("b1")).toBe("b1-backup");
  });

  it("names an in-place restore's Job after its confirm, whole seconds, so that each request has its own", () => {
    expect(restoreInPlaceJobName("orders", "2026-12-05T19:47:21.248Z")).toBe("mysql-orders-restore-20261205194721");
    expect(restoreInPlaceJobName("orders", "2026-12-05T19:47:22Z")).toBe("mysql-orders-restore-20261205194722");
    const long = restoreInPlaceJobName("g".repeat(51), "2026-12-05T19:47:22+02:00");
    expect(long.length).toBeLessThanOrEqual(63);
    // The same instant in another offset is the same request's name.
    expect(long).toMatch(/-restore-20261205174722$/);
  });
});

describe("verificationJob", () => {
  it("runs `bloodraven verify` in the server's image, the bundle copied in by the operator's image, with the backup's store and the archive's", () => {
    const job = verificationJob({
      backup: { name: "orders-20261204", namespace: "shop", uid: "" },
      verification: { name: "v1", uid: "u-v" },
      group: "orders",
      profile: spec.profiles[0] as BackupJobInput["profile"],
      archive: spec.profiles[1] as BackupJobInput["profile"],
      image: "bloodraven:1.2.3",
      serverImage: "mariadb:10.11.9",
      timeoutSeconds: 3600,
      flags: ["--sanity-query=SELECT COUNT(*) FROM t", "--min-rows=1"],
    });
    expect(job.metadata).toMatchObject({ name: "v1-verify", labels: { "shipstream.io/backup-verification": "v1" }, ownerReferences: [{ kind: "MysqlBackupVerification", name: "v1", uid: "u-v", controller: true }] });
    expect(job.metadata?.labels).not.toHaveProperty("shipstream.io/backup");
    const pod = job.spec?.template.spec;
    expect(pod?.initContainers?.map((c) => [c.image, c.args])).toEqual([["bloodraven:1.2.3", ["install-agent", "--target=/opt/bloodraven"]]]);
    const [container] = pod?.containers ?? [];
    expect(container).toMatchObject({ image: "mariadb:10.11.9", command: ["/opt/bloodraven/node", "/opt/bloodraven/bloodraven.mjs"] });
    expect(container?.args).toEqual(
      expect.arrayContaining(["verify", "--backup=orders-20261204", "--sanity-query=SELECT COUNT(*) FROM t", "--min-rows=1", "--work-dir=/work/verify", "--storage=s3", "--archive-storage=volume", "--archive-volume-path=/archive"]),
    );
    expect(container?.volumeMounts?.map((m) => m.mountPath)).toEqual(expect.arrayContaining(["/opt/bloodraven", "/work", "/tmp", "/archive"]));
    expect(pod?.volumes?.find((v) => v.name === "archive-backup-volume")).toEqual({ name: "archive-backup-volume", persistentVolumeClaim: { claimName: "backups" } });
  });
});

describe("restoreJob", () => {
  const restoreInput = (pointInTime: string, serverImage: string): RestoreJobInput => ({
    group: { name: "copy", namespace: "shop", uid: "u-g" },
    site: "iad",
    restoreId: "mysql-copy-restore",
    source: { namespace: "prod", group: "orders", backup: "orders-20261204" },
    profile: spec.profiles[0] as BackupJobInput["profile"],
    pointInTime,
    image: "bloodraven:1.2.3",
    serverImage,
    operatorSecret: { name: "copy-operator", usernameKey: "username", passwordKey: "password" },
    timeoutSeconds: 3600,
  });

  it("loads a MySQL site's dump from the profile's dump image over the network: no volume of the site's, no pod beside it", () => {
    const job = restoreJob({ ...restoreInput("none", "mysql:8.4"), load: { server: { host: "mysql-copy-iad.shop.svc", port: 3306 } } });
    const pod = job.spec?.template.spec;
    expect(pod?.affinity).toBeUndefined();
    expect(pod?.volumes?.map((v) => v.name)).not.toContain("data");
    const [container] = pod?.containers ?? [];
    expect(container?.image).toBe((spec.profiles[0] as BackupJobInput["profile"]).dump.image);
    expect(container?.env).toEqual(expect.arrayContaining([{ name: "BLOODRAVEN_OPERATOR_USER_FILE", value: "/etc/bloodraven/operator/username" }]));
    expect(container?.args).toEqual(expect.arrayContaining(["load-restore", "--backup=orders-20261204", "--site=iad", "--target-host=mysql-copy-iad.shop.svc", "--target-port=3306", "--point-in-time=none", "--work-dir=/work/restore"]));
    expect(container?.args).not.toEqual(expect.arrayContaining([expect.stringMatching(/^--datadir/)]));
  });

  it("stages another group's backup on the site's own volume, beside the site's pod and as the image's user", () => {
    const job = restoreJob(restoreInput("latest", "mariadb:10.11.9"));
    expect(job.metadata).toMatchObject({ name: "mysql-copy-restore", namespace: "shop", labels: { "shipstream.io/restore": "iad", "shipstream.io/failover-group": "copy" }, ownerReferences: [{ kind: "MysqlFailoverGroup", name: "copy", uid: "u-g" }] });
    // A site label would put the Job's pod behind the site's Services.
    expect(job.spec?.template.metadata?.labels).not.toHaveProperty("shipstream.io/site");
    const pod = job.spec?.template.spec;
    expect(pod?.securityContext).toEqual({ seccompProfile: { type: "RuntimeDefault" } });
    expect(pod?.affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution).toEqual([
      { labelSelector: { matchLabels: { "shipstream.io/failover-group": "copy", "app.kubernetes.io/managed-by": "bloodraven", "shipstream.io/site": "iad" } }, topologyKey: "kubernetes.io/hostname" },
    ]);
    expect(pod?.volumes).toContainEqual({ name: "data", persistentVolumeClaim: { claimName: "data-mysql-copy-iad-0" } });
    const [container] = pod?.containers ?? [];
    expect(container).toMatchObject({ image: "mariadb:10.11.9" });
    expect(container?.volumeMounts).toContainEqual({ name: "data", mountPath: "/var/lib/mysql" });
    // The operator account's password only as a file.
    expect(pod?.volumes).toContainEqual({ name: "operator-account", secret: { secretName: "copy-operator", items: [{ key: "username", path: "username" }, { key: "password", path: "password" }] } });
    expect(container?.env).toEqual(expect.arrayContaining([{ name: "BLOODRAVEN_OPERATOR_PASSWORD_FILE", value: "/etc/bloodraven/operator/password" }]));
    expect(container?.args).toEqual(
      expect.arrayContaining(["stage-restore", "--namespace=prod", "--group=orders", "--backup=orders-20261204", "--datadir=/var/lib/mysql/data", "--restore-id=mysql-copy-restore", "--point-in-time=latest", "--work-dir=/work/restore"]),
    );
  });
});
