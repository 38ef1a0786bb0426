/**
 * What a backup schedule's CronJob runs, `bloodraven trigger-backup`: the run's MysqlBackup,
 * named after the run's Job (shared/backup/schedules.ts), after the schedule's concurrency policy
 * had its say (shared/backup/trigger.ts). The backup itself is the operator's to take. And what a
 * profile's verification schedule runs, `bloodraven trigger-verification`: the run's
 * MysqlBackupVerification, unless the previous one still runs.
 */
import { SCHEDULE_LABEL, VERIFICATION_SCHEDULE_LABEL } from "../../shared/backup/schedules.js";
import { triggerDecision } from "../../shared/backup/trigger.js";
import { errorText } from "../../shared/errors.js";
import { Kube, loadKubeConfig } from "../../shared/kube/client.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { API_GROUP_VERSION, LABELS, MYSQL_BACKUP, MYSQL_BACKUP_VERIFICATION } from "../../shared/names.js";
import { createLogger } from "../log.js";
import type { TriggerConfig, VerificationTriggerConfig } from "./job-config.js";

export async function runTrigger(config: TriggerConfig, signal: AbortSignal): Promise<number> {
  const log = createLogger({ level: config.logLevel, base: { namespace: config.namespace, group: config.group, schedule: config.schedule } });
  const kube = new Kube(loadKubeConfig());
  const { namespace, group, schedule, job: name } = config;
  try {
    const selector = `${LABELS.failoverGroup}=${group},${SCHEDULE_LABEL}=${schedule}`;
    const listed = await kube.listBackups(namespace, selector);
    signal.throwIfAborted();
    const decision = triggerDecision(
      config.concurrencyPolicy,
      name,
      listed.items.map((b) => ({ name: b.metadata.name ?? "", phase: b.status?.phase, deleting: b.metadata.deletionTimestamp !== undefined })),
    );
    switch (decision.kind) {
      case "exists":
        log.info(LOG_MESSAGES.scheduledBackupExists, { backup: name });
        return 0;
      case "skip":
        log.info(LOG_MESSAGES.scheduledBackupSkipped, { backup: name, running: decision.running });
        return 0;
      case "replace":
        for (const previous of decision.running) await kube.deleteBackup(namespace, previous);
        log.info(LOG_MESSAGES.scheduledBackupReplaced, { backup: name, replaced: decision.running });
        break;
      case "create":
        break;
    }
    signal.throwIfAborted();
    await kube.createBackupIfAbsent({
      apiVersion: API_GROUP_VERSION,
      kind: MYSQL_BACKUP.kind,
      metadata: { name, namespace, labels: { [LABELS.managedBy]: "bloodraven", [LABELS.failoverGroup]: group, [SCHEDULE_LABEL]: schedule } },
      spec: { failoverGroupRef: { name: group }, profileName: config.profile, triggeredBy: `schedule/${schedule}` },
    });
    log.info(LOG_MESSAGES.scheduledBackupCreated, { backup: name, profile: config.profile });
    return 0;
  } catch (err) {
    // The Job tries again (backoffLimit), and the same name makes a second try harmless.
    log.error(LOG_MESSAGES.scheduledBackupFailed, { backup: name, error: errorText(err) });
    return 1;
  }
}

export async function runVerificationTrigger(config: VerificationTriggerConfig, signal: AbortSignal): Promise<number> {
  const log = createLogger({ level: config.logLevel, base: { namespace: config.namespace, group: config.group, profile: config.profile } });
  const kube = new Kube(loadKubeConfig());
  const { namespace, group, profile, job: name } = config;
  try {
    const labels = { [LABELS.failoverGroup]: group, [VERIFICATION_SCHEDULE_LABEL]: profile };
    const listed = await kube.listVerifications(namespace, Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(","));
    signal.throwIfAborted();
    // Forbid: a verification restores a whole backup; two of one profile at once only compete for the node.
    const decision = triggerDecision(
      "Forbid",
      name,
      listed.items.map((v) => ({ name: v.metadata.name ?? "", phase: v.status?.phase, deleting: v.metadata.deletionTimestamp !== undefined })),
    );
    if (decision.kind === "exists") {
      log.info(LOG_MESSAGES.scheduledVerificationExists, { verification: name });
      return 0;
    }
    if (decision.kind === "skip") {
      log.info(LOG_MESSAGES.scheduledVerificationSkipped, { verification: name, running: decision.running });
      return 0;
    }
    await kube.createVerificationIfAbsent({
      apiVersion: API_GROUP_VERSION,
      kind: MYSQL_BACKUP_VERIFICATION.kind,
      metadata: { name, namespace, labels: { [LABELS.managedBy]: "bloodraven", ...labels } },
      spec: { failoverGroupRef: { name: group }, profileName: profile, triggeredBy: `schedule/verify-${profile}`, ...config.verification },
    });
    log.info(LOG_MESSAGES.scheduledVerificationCreated, { verification: name });
    return 0;
  } catch (err) {
    log.error(LOG_MESSAGES.scheduledVerificationFailed, { verification: name, error: errorText(err) });
    return 1;
  }
}
