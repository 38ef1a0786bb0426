import type { MysqlBackup } from "../../shared/api/index.js";
import { backupWithDefaults } from "../../shared/api/index.js";
import { backupJob, backupJobName, cleanupJob, cleanupJobName, JOB_CONTAINER } from "../../shared/backup/backup-job.js";
import { backupStep, type BackupStep } from "../../shared/backup/backup-step.js";
import { cleanupStep } from "../../shared/backup/cleanup-step.js";
import { lastCompletionByProfile } from "../../shared/backup/freshness.js";
import type { BackupSourceSite } from "../../shared/backup/source.js";
import { parseDuration } from "../../shared/duration.js";
import { errorText } from "../../shared/errors.js";
import { decisionSites } from "../../shared/failover/decision-input.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { AGENT_TOKEN_KEY } from "../../shared/managed/objects.js";
import { agentUrls, managedNames } from "../../shared/managed/sites.js";
import { BACKUP_ARTIFACT_FINALIZER, EVENT_REASONS } from "../../shared/names.js";
import type { GroupContext } from "./context.js";
import { DONE, type GroupCycle, type ReconcileResult, type Reconciler } from "./reconciler.js";

/** MysqlBackups are listed at most this often: a new one starts within it, a finished Job is seen within it. */
const BACKUP_SCAN_MS = 5_000;
/** A group without spec.backup lists them only to refuse the ones that name it, this seldom. */
const STRAY_SCAN_MS = 60_000;

/**
 * Drives the group's MysqlBackups (`spec.failoverGroupRef`): chooses each new one's source, writes
 * it Running, makes its Job, and writes what the Job's result says (docs/backups.md). Last in the
 * cycle and throttled: a backup never holds up what keeps the group writable.
 */
export class BackupsReconciler implements Reconciler {
  readonly name = "backups";
  private scannedAt = -Infinity;
  /** The last cleanup failure reported per backup. */
  private readonly cleanupFailures = new Map<string, string>();

  constructor(private readonly ctx: GroupContext) {}

  async reconcile(cycle: GroupCycle): Promise<ReconcileResult> {
    const { ctx } = this;
    if (!cycle.observations || performance.now() - this.scannedAt < (ctx.spec.backup ? BACKUP_SCAN_MS : STRAY_SCAN_MS)) return DONE;
    this.scannedAt = performance.now();
    const ours = (await ctx.deps.backups.list(ctx.namespace)).filter((b) => b.spec.failoverGroupRef.name === ctx.name);
    const backups = ours.filter((b) => !b.metadata.deletionTimestamp);
    // What each site's agent streams now; a backup started in this scan counts at once.
    const streaming = new Map(ours.flatMap((b) => (b.status?.phase === "Running" && b.status.sourceSite ? [[b.status.sourceSite, b.metadata.name ?? ""] as const] : [])));
    for (const backup of ours) {
      try {
        if (!backup.metadata.deletionTimestamp) await this.step(backup, cycle, streaming);
        else if (backup.metadata.finalizers?.includes(BACKUP_ARTIFACT_FINALIZER)) await this.cleanUp(backup);
      } catch (err) {
        // One backup's trouble (a conflict, a refused Job) is retried at the next scan; the others go on.
        ctx.log.warn(LOG_MESSAGES.backupStepFailed, { backup: backup.metadata.name, error: errorText(err) });
      }
    }
    // From the statuses as listed: a backup that finished in this scan counts at the next one.
    const finished = backups.map((b) => ({ profile: b.spec.profileName, phase: b.status?.phase, completionTime: b.status?.completionTime }));
    ctx.deps.metrics.setBackupLastSuccess(ctx.namespace, ctx.name, lastCompletionByProfile(ctx.spec.backup?.profiles.map((p) => p.name) ?? [], finished));
    return DONE;
  }

  private async step(backup: MysqlBackup, cycle: GroupCycle, streaming: Map<string, string>): Promise<void> {
    const { ctx } = this;
    const name = backup.metadata.name ?? "";
    const jobName = backupJobName(name);
    const spec = ctx.spec.backup ? backupWithDefaults(ctx.spec.backup) : undefined;
    const running = backup.status?.phase === "Running";
    const step = backupStep({
      spec: backup.spec,
      status: backup.status,
      profiles: spec?.profiles,
      sites: running ? [] : this.sites(cycle, streaming),
      maxLagSeconds: spec?.maxLagSecondsForSource ?? 0,
      activeSite: cycle.primary ?? ctx.store.written?.activeSite ?? "",
      job: running ? await ctx.deps.backups.job(ctx.namespace, jobName, JOB_CONTAINER) : { state: "absent" },
      jobName,
      ...(running || backup.status?.phase === "Succeeded" || backup.status?.phase === "Failed" ? { jobsOff: undefined } : { jobsOff: this.jobsOff(), missingSecret: await this.missingSecrets() }),
      now: cycle.now,
    });
    if (step.kind === "start") streaming.set(step.source, name);
    await this.act(backup, step, jobName, spec?.timeout ?? "2h", cycle);
  }

  private async act(backup: MysqlBackup, step: BackupStep, jobName: string, timeout: string, cycle: GroupCycle): Promise<void> {
    const { ctx } = this;
    const name = backup.metadata.name ?? "";
    const write = (status: NonNullable<MysqlBackup["status"]>) => ctx.deps.backups.patchStatus(ctx.namespace, name, status, backup.metadata.resourceVersion ?? "");
    switch (step.kind) {
      case "none":
        return;
      case "pending":
        await write(step.status);
        ctx.log.info(LOG_MESSAGES.backupPending, { backup: name, reason: step.status.message });
        return;
      case "start": {
        // The finalizer, then Running and its source, then the Job: an operator that stops in
        // between makes this same Job again, never a second copy, and no artifact is ever
        // written for a MysqlBackup that could be deleted without its cleanup.
        const finalizers = backup.metadata.finalizers ?? [];
        const version = finalizers.includes(BACKUP_ARTIFACT_FINALIZER)
          ? (backup.metadata.resourceVersion ?? "")
          : await ctx.deps.backups.setFinalizers(ctx.namespace, name, [...finalizers, BACKUP_ARTIFACT_FINALIZER], backup.metadata.resourceVersion ?? "");
        await ctx.deps.backups.patchStatus(ctx.namespace, name, step.status, version);
        await this.createJob(backup, step.profile, step.source, timeout, cycle);
        ctx.log.info(LOG_MESSAGES.backupStarted, { backup: name, job: jobName, source: step.source, reason: step.status.sourceReason });
        ctx.deps.backups.event(backup, "Normal", EVENT_REASONS.backupStarted, `Job ${jobName} copies ${step.source} (${step.status.sourceReason}) into profile ${step.profile.name}`);
        return;
      }
      case "recreate":
        await this.createJob(backup, step.profile, step.source, timeout, cycle);
        return;
      case "finish": {
        await write(step.status);
        const { phase, message, location, sizeBytes, gtidExecuted } = step.status;
        if (phase === "Succeeded") {
          ctx.log.info(LOG_MESSAGES.backupSucceeded, { backup: name, location, bytes: sizeBytes, gtid: gtidExecuted });
          ctx.deps.backups.event(backup, "Normal", EVENT_REASONS.backupSucceeded, `${sizeBytes ?? 0} bytes at GTID ${gtidExecuted ?? ""} in ${location ?? ""}`);
        } else {
          ctx.log.warn(LOG_MESSAGES.backupFailed, { backup: name, error: message });
          ctx.deps.backups.event(backup, "Warning", EVENT_REASONS.backupFailed, message ?? "");
        }
        if (step.inFlightFailover) {
          const at = step.status.activeSiteAtStart ?? "";
          ctx.deps.backups.event(backup, "Warning", EVENT_REASONS.inFlightFailover, `the primary changed from ${at} while the backup ran; the copy is consistent at its own GTID position, taken from ${step.status.sourceSite ?? ""}`);
        }
        return;
      }
    }
  }

  /** A deleted backup that holds the finalizer: its artifact goes first (shared/backup/cleanup-step.ts). */
  private async cleanUp(backup: MysqlBackup): Promise<void> {
    const { ctx } = this;
    const name = backup.metadata.name ?? "";
    const jobName = cleanupJobName(name);
    const spec = ctx.spec.backup ? backupWithDefaults(ctx.spec.backup) : undefined;
    const step = cleanupStep({
      status: backup.status,
      profile: spec?.profiles.find((p) => p.name === backup.spec.profileName),
      profileName: backup.spec.profileName,
      backupJob: backup.status?.jobName ? await ctx.deps.backups.job(ctx.namespace, backup.status.jobName, JOB_CONTAINER) : { state: "absent" },
      cleanupJob: await ctx.deps.backups.job(ctx.namespace, jobName, JOB_CONTAINER),
      cleanupJobName: jobName,
    });
    switch (step.kind) {
      case "wait":
        return;
      case "stop":
        await ctx.deps.backups.deleteJob(ctx.namespace, step.jobName);
        ctx.log.info(LOG_MESSAGES.backupStopped, { backup: name, job: step.jobName });
        ctx.deps.backups.event(backup, "Normal", EVENT_REASONS.backupStopped, `the MysqlBackup was deleted while it copied: its Job ${step.jobName} is stopped, then the artifact is deleted`);
        return;
      case "create": {
        this.cleanupFailures.delete(name);
        const made = await ctx.deps.backups.createJob(
          cleanupJob({ backup: { name, namespace: ctx.namespace, uid: backup.metadata.uid ?? "" }, group: ctx.name, groupUid: ctx.group.metadata.uid ?? "", profile: step.profile, image: this.image() }),
        );
        if (made) ctx.deps.backups.event(backup, "Normal", EVENT_REASONS.artifactCleanupStarted, `Job ${jobName} deletes the artifact (${backup.status?.location ?? "its folder in the store"})`);
        return;
      }
      case "failed":
        // Said once per failure, not at every scan while the failed Job stays.
        if (this.cleanupFailures.get(name) === step.message) return;
        this.cleanupFailures.set(name, step.message);
        ctx.log.warn(LOG_MESSAGES.artifactCleanupFailed, { backup: name, error: step.message });
        ctx.deps.backups.event(backup, "Warning", EVENT_REASONS.artifactCleanupFailed, step.message);
        return;
      case "release":
        this.cleanupFailures.delete(name);
        await ctx.deps.backups.setFinalizers(ctx.namespace, name, (backup.metadata.finalizers ?? []).filter((f) => f !== BACKUP_ARTIFACT_FINALIZER), backup.metadata.resourceVersion ?? "");
        if (step.event) {
          const type = step.event.reason === "ArtifactCleanupSucceeded" ? "Normal" : "Warning";
          ctx.deps.backups.event(backup, type, step.event.reason, step.event.message);
          ctx.log.info(LOG_MESSAGES.artifactCleanupDone, { backup: name, reason: step.event.reason, message: step.event.message });
        }
        return;
    }
  }

  private image(): string {
    if (!this.ctx.deps.jobImage) throw new Error("no Job can be made now: this operator has no image for Jobs (--agent-image)");
    return this.ctx.deps.jobImage;
  }

  /** The source's Job by its flavor (as last observed): MySQL Shell dumps a MySQL site, a MariaDB site's agent streams its copy. */
  private async createJob(backup: MysqlBackup, profile: Parameters<typeof backupJob>[0]["profile"], site: string, timeout: string, cycle: GroupCycle): Promise<void> {
    const { ctx } = this;
    const flavor = cycle.observations?.get(site)?.flavor;
    if (!flavor) throw new Error(`no Job can be made now: ${site} was not observed in this cycle, so its flavor is unknown`);
    const common = {
      backup: { name: backup.metadata.name ?? "", namespace: ctx.namespace, uid: backup.metadata.uid ?? "" },
      group: ctx.name,
      profile,
      image: this.image(),
      timeoutSeconds: Math.ceil(parseDuration(timeout) / 1000),
    };
    if (flavor === "mysql") {
      const account = ctx.spec.credentials?.operator;
      const address = ctx.addresses().get(site);
      if (!account || !address) throw new Error(`no Job can be made now: ${site} ${account ? "has no address" : "needs spec.credentials.operator"}`);
      await ctx.deps.backups.createJob(
        backupJob({ ...common, source: { site, server: address, account: { name: account.secretName, usernameKey: account.usernameKey, passwordKey: account.passwordKey } } }),
      );
      return;
    }
    const agentUrl = agentUrls(ctx.spec, ctx.name, ctx.namespace, ctx.deps.sidecar !== undefined).get(site);
    if (!agentUrl) throw new Error(`no Job can be made now: ${site} runs no agent`);
    await ctx.deps.backups.createJob(backupJob({ ...common, source: { site, agentUrl, agentToken: { secretName: managedNames.agentToken(ctx.name), key: AGENT_TOKEN_KEY } } }));
  }

  /** Why this operator cannot make backup Jobs for the group; undefined when it can. */
  private jobsOff(): string | undefined {
    return this.ctx.deps.jobImage ? undefined : "this operator has no image for backup Jobs (--agent-image, which the chart sets)";
  }

  /** Why a MariaDB site's Job (the agent token) or a MySQL site's (the operator account) cannot be made now. */
  private async missingSecrets(): Promise<{ agent?: string; dump?: string }> {
    const { ctx } = this;
    const secret = managedNames.agentToken(ctx.name);
    const data = await ctx.deps.readSecret(ctx.namespace, secret);
    return {
      ...(data?.[AGENT_TOKEN_KEY] ? {} : { agent: `the Job needs the group's agent token: the Secret ${ctx.namespace}/${secret} with key ${AGENT_TOKEN_KEY}, holding the token the site's agent requires (docs/agent.md)` }),
      ...(ctx.spec.credentials?.operator
        ? {}
        : { dump: "the Job of a MySQL site needs spec.credentials.operator: MySQL Shell reads that account from its Secret, mounted as files (the legacy spec.secretName DSN cannot be)" }),
    };
  }

  private sites(cycle: GroupCycle, streaming: ReadonlyMap<string, string>): BackupSourceSite[] {
    const { ctx } = this;
    const observations = cycle.observations ?? new Map();
    const urls = agentUrls(ctx.spec, ctx.name, ctx.namespace, ctx.deps.sidecar !== undefined);
    return decisionSites({ spec: ctx.spec, states: ctx.states(), observations, addresses: ctx.addresses() }).map((d) => {
      const observed = observations.get(d.name);
      return {
        name: d.name,
        role: d.role,
        state: d.state,
        polledOk: d.polledOk,
        secondsBehindSource: observed?.replica?.secondsBehindSource ?? null,
        agent: urls.has(d.name),
        ...(observed ? { flavor: observed.flavor } : {}),
        ...(streaming.has(d.name) ? { streaming: streaming.get(d.name) } : {}),
      };
    });
  }
}
