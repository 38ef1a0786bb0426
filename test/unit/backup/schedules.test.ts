import { describe, expect, it } from "vitest";
import { backupWithDefaults } from "../../../shared/api/index.js";
import {
  scheduleCronJob,
  scheduleCronJobName,
  scheduleProblems,
  TRIGGER_JOB_VARIABLE,
  triggerAccess,
  triggerAccountName,
  verificationCronJob,
  verificationScheduleProblems,
  VERIFICATION_SCHEDULE_LABEL,
} from "../../../shared/backup/schedules.js";

const spec = (schedules: { name: string; schedule: string; timeZone?: string; concurrencyPolicy?: "Forbid" | "Allow" | "Replace" }[]) =>
  backupWithDefaults({ profiles: [{ name: "nightly", storage: { pvc: { claimName: "backups" } } }], schedules: schedules.map((s) => ({ profileName: "nightly", ...s })) }).schedules ?? [];
const group = { name: "orders", namespace: "shop", uid: "u-1" };

describe("scheduleProblems", () => {
  it("names the schedule, the field and what is wrong; a good one has none", () => {
    const problems = scheduleProblems(spec([
      { name: "ok", schedule: "*/5 * * * *", timeZone: "Europe/Berlin" },
      { name: "minute", schedule: "61 * * * *" },
      { name: "zone", schedule: "@daily", timeZone: "Mars/Olympus" },
    ]));
    expect(problems).toEqual([
      { schedule: "minute", message: expect.stringMatching(/^spec\.backup\.schedules\[minute\]\.schedule: field 1 \(minute\) of "61 \* \* \* \*": 61 is outside 0-59$/) as string },
      { schedule: "zone", message: expect.stringMatching(/^spec\.backup\.schedules\[zone\]\.timeZone "Mars\/Olympus" is not an IANA time zone/) as string },
    ]);
  });
});

describe("scheduleCronJob", () => {
  it("runs the trigger under its own account, with the schedule's timing and the run's Job name from the downward API", () => {
    const [nightly] = spec([{ name: "nightly", schedule: "0 3 * * *", timeZone: "Europe/Berlin", concurrencyPolicy: "Replace" }]);
    const c = scheduleCronJob(group, nightly!, "bloodraven:dev");
    expect(c.metadata).toMatchObject({ name: "mysql-orders-backup-nightly", namespace: "shop", ownerReferences: [{ kind: "MysqlFailoverGroup", name: "orders", uid: "u-1" }] });
    expect(c.spec).toMatchObject({ schedule: "0 3 * * *", timeZone: "Europe/Berlin", suspend: false, concurrencyPolicy: "Forbid", successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 3 });
    const pod = c.spec?.jobTemplate.spec?.template.spec;
    expect(pod?.serviceAccountName).toBe(triggerAccountName("orders"));
    expect(pod?.automountServiceAccountToken).toBe(true);
    expect(pod?.securityContext?.runAsNonRoot).toBe(true);
    const [container] = pod?.containers ?? [];
    expect(container?.args).toEqual(["trigger-backup", "--namespace=shop", "--group=orders", "--schedule=nightly", "--profile=nightly", "--concurrency-policy=Replace"]);
    expect(container?.env).toEqual([{ name: TRIGGER_JOB_VARIABLE, valueFrom: { fieldRef: { fieldPath: "metadata.labels['batch.kubernetes.io/job-name']" } } }]);
  });

  it("keeps a CronJob name within 52 characters, distinct per schedule", () => {
    const long = "a".repeat(40);
    const a = scheduleCronJobName(long, "nightly-full");
    const b = scheduleCronJobName(long, "nightly-incr");
    expect(a.length).toBeLessThanOrEqual(52);
    expect(b.length).toBeLessThanOrEqual(52);
    expect(a).not.toBe(b);
    expect(scheduleCronJobName("orders", "nightly")).toBe("mysql-orders-backup-nightly");
  });
});

describe("triggerAccess", () => {
  it("grants the trigger the namespace's MysqlBackups and MysqlBackupVerifications only, bound to its own ServiceAccount", () => {
    const [account, role, binding] = triggerAccess(group);
    expect(account.metadata?.name).toBe("mysql-orders-backup-trigger");
    expect(role.rules).toEqual([
      { apiGroups: ["shipstream.io"], resources: ["mysqlbackups"], verbs: ["get", "list", "create", "delete"] },
      { apiGroups: ["shipstream.io"], resources: ["mysqlbackupverifications"], verbs: ["get", "list", "create"] },
    ]);
    expect(binding.roleRef).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "mysql-orders-backup-trigger" });
    expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: "mysql-orders-backup-trigger", namespace: "shop" }]);
  });
});

describe("verification schedules", () => {
  const profiles = backupWithDefaults({
    profiles: [
      { name: "nightly", storage: { pvc: { claimName: "backups" } }, verification: { schedule: "0 5 * * 0", pointInTime: { mode: "latest" }, sanityCheck: { query: "SELECT COUNT(*) FROM shop.orders", minRows: 10 } } },
      { name: "bad", storage: { pvc: { claimName: "backups" } }, verification: { schedule: "0 25 * * *" } },
      { name: "plain", storage: { pvc: { claimName: "backups" } } },
    ],
  }).profiles;

  it("names the profile's verification schedule field that is wrong; profiles without one have none", () => {
    expect(verificationScheduleProblems(profiles)).toEqual([{ schedule: "bad", message: expect.stringMatching(/^spec\.backup\.profiles\[bad\]\.verification\.schedule: field 2 \(hour\)/) as string }]);
  });

  it("makes a CronJob mysql-<group>-verify-<profile> whose trigger gets the schedule's settings as JSON", () => {
    const c = verificationCronJob(group, "nightly", profiles[0]!.verification!, "bloodraven:dev");
    expect(c.metadata).toMatchObject({ name: "mysql-orders-verify-nightly", labels: { [VERIFICATION_SCHEDULE_LABEL]: "nightly" } });
    expect(c.spec).toMatchObject({ schedule: "0 5 * * 0", timeZone: "Etc/UTC", suspend: false, concurrencyPolicy: "Forbid" });
    const [container] = c.spec?.jobTemplate.spec?.template.spec?.containers ?? [];
    expect(container?.args?.slice(0, 4)).toEqual(["trigger-verification", "--namespace=shop", "--group=orders", "--profile=nightly"]);
    const settings = JSON.parse((container?.args?.[4] ?? "").replace(/^--verification=/, "")) as unknown;
    expect(settings).toEqual({ pointInTime: { mode: "latest" }, keepOnFailure: true, timeout: "2h", sanityCheck: { query: "SELECT COUNT(*) FROM shop.orders", minRows: 10, timeout: "60s" } });
  });
});
