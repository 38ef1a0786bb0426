import { JOB_CONTAINER, restoreJob } from "../../shared/backup/backup-job.js";
import type { BackupJobState } from "../../shared/backup/job-result.js";
import type { RestartedServer, RestoreRun } from "../../shared/backup/staged-copy.js";
import type { RestoreStatus } from "../../shared/api/index.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { EVENT_REASONS, type RestoreKind } from "../../shared/names.js";
import { parseDuration } from "../../shared/duration.js";
import { onlyRow, readString } from "../mysql/flavor.js";
import { positionCopy } from "../mysql/copy-position.js";
import { canonicalGtidSet } from "../../shared/gtid/gtid-set.js";
import { ConnectionError, DeadlineExceeded } from "../mysql/site-client.js";
import type { GroupContext } from "./context.js";

const SQL_DEADLINE_MS = 10_000;
/** A running restore Job is looked at this often: it takes minutes. */
const FOLLOW_MS = 5_000;

/**
 * What both restores of a group's own sites do to the cluster and the servers
 * (shared/backup/staged-copy.ts): the restore Job that stages a copy beside a site's datadir (or
 * loads a MySQL site's dump into its server), the server's restart onto it, and its positioning.
 */
export class RestoreCopy {
  private followedAt = -Infinity;

  constructor(private readonly ctx: GroupContext) {}

  /** Whether the running Job is due another look (every FOLLOW_MS; each look is a request to the API server). */
  jobLookDue(): boolean {
    if (performance.now() - this.followedAt < FOLLOW_MS) return false;
    this.followedAt = performance.now();
    return true;
  }

  job(name: string): Promise<BackupJobState> {
    return this.ctx.deps.backups.job(this.ctx.namespace, name, JOB_CONTAINER);
  }

  deleteJob(name: string): Promise<void> {
    return this.ctx.deps.backups.deleteJob(this.ctx.namespace, name);
  }

  /** Why this operator cannot make the Job; undefined when it can. */
  jobsOff(): string | undefined {
    return this.ctx.deps.jobImage ? undefined : "this operator has no image for Jobs (--agent-image, which the chart sets)";
  }

  /** The target's server as the staged copy's restart needs it; undefined while it does not answer. */
  async restarted(site: string, stagedAt: number): Promise<RestartedServer | undefined> {
    return this.ctx
      .withSite(
        site,
        "restore: server",
        async (s) => {
          // MariaDB: what its binary log holds (a staged copy is positioned there), uptime where it keeps it; MySQL: what the load left, uptime where 8.0 moved it.
          const [position, uptime] =
            s.flavor.name === "mysql"
              ? ["@@GLOBAL.gtid_executed", "performance_schema.global_status WHERE VARIABLE_NAME = 'Uptime'"]
              : ["@@GLOBAL.gtid_binlog_pos", "information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'UPTIME'"];
          const row = onlyRow(
            s,
            await s.query(
              `SELECT ${position} AS pos, (SELECT VARIABLE_VALUE FROM ${uptime}) AS uptime, ` +
                "(SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME NOT IN ('mysql', 'sys', 'performance_schema', 'information_schema')) AS user_schemas",
            ),
            "restore: server",
          );
          const uptimeMs = Number(readString(s, row, "uptime")) * 1000;
          const pos = readString(s, row, "pos");
          // MySQL's in the canonical form the load's result and the observations have.
          return { binlogPos: s.flavor.name === "mysql" ? canonicalGtidSet(pos) : pos, startedAfterStaging: Date.now() - uptimeMs > stagedAt, userSchemas: Number(readString(s, row, "user_schemas")) };
        },
        SQL_DEADLINE_MS,
      )
      .catch((err: unknown) => {
        // A server that is down (restarting onto the copy) is waited for; anything else is a fault to report.
        if (err instanceof ConnectionError || err instanceof DeadlineExceeded) return undefined;
        throw err;
      });
  }

  /** The server exits cleanly and its container restarts, swapping the staged copy in first. */
  async restart(site: string): Promise<void> {
    await this.ctx.withSite(site, "restore: shutdown", (s) => s.query("SHUTDOWN"), SQL_DEADLINE_MS).catch((err: unknown) => {
      // The server ending the session is the shutdown working.
      if (!(err instanceof ConnectionError)) throw err;
    });
  }

  position(site: string, gtid: string): Promise<void> {
    return this.ctx.withSite(site, "restore: position", (s) => positionCopy(s, gtid), SQL_DEADLINE_MS);
  }

  /** The Job named by `run.restoreId`. */
  async createJob(run: RestoreRun): Promise<void> {
    const { ctx } = this;
    if (!ctx.deps.jobImage) throw new Error("no Job can be made now: this operator has no image for Jobs (--agent-image)");
    const operator = ctx.spec.credentials?.operator;
    if (!operator) throw new Error("managed sites need spec.credentials.operator: the restored copy's operator account takes its password");
    await ctx.deps.backups.createJob(
      restoreJob({
        group: { name: ctx.name, namespace: ctx.namespace, uid: ctx.group.metadata.uid ?? "" },
        site: run.site,
        restoreId: run.restoreId,
        source: run.source,
        profile: run.profile,
        ...(run.archive ? { archive: run.archive } : {}),
        pointInTime: run.pointInTime,
        image: ctx.deps.jobImage,
        serverImage: ctx.spec.image,
        operatorSecret: { name: operator.secretName, usernameKey: operator.usernameKey, passwordKey: operator.passwordKey },
        timeoutSeconds: Math.ceil(parseDuration(run.timeout) / 1000),
        ...(run.copy === "loaded" ? { load: { server: ctx.address(run.site) } } : {}),
      }),
    );
  }

  /** The artifact's size, from its MysqlBackup when that is in this namespace. */
  async sourceBytes(source: { namespace?: string; group: string; backup: string } | undefined): Promise<{ sourceBytes?: number }> {
    const { ctx } = this;
    if (!source || (source.namespace ?? ctx.namespace) !== ctx.namespace) return {};
    const backup = (await ctx.deps.backups.list(ctx.namespace).catch(() => [])).find((b) => b.metadata.name === source.backup && b.spec.failoverGroupRef.name === source.group);
    const bytes = backup?.status?.sizeBytes;
    return bytes === undefined ? {} : { sourceBytes: bytes };
  }

  /** The metric, log line and event of a restore that ended (status Succeeded or Failed, already written). */
  async recordOutcome(kind: RestoreKind, status: RestoreStatus, source: { namespace?: string; group: string; backup: string } | undefined, succeeded: string): Promise<void> {
    const { ctx } = this;
    const site = status.site ?? "";
    if (status.phase === "Succeeded") {
      const started = Date.parse(status.startTime ?? "");
      const finishedAt = Date.parse(status.completionTime ?? "");
      ctx.deps.metrics.recordRestore(ctx.namespace, ctx.name, kind, site, {
        seconds: Number.isFinite(started) ? Math.max(0, (finishedAt - started) / 1000) : 0,
        finishedAt: finishedAt / 1000,
        ...(await this.sourceBytes(source)),
      });
      ctx.log.info(LOG_MESSAGES.restoreSucceeded, { site, backup: status.backup, gtid: status.gtid, kind });
      ctx.recordEvent({ type: "Normal", reason: EVENT_REASONS.restoreSucceeded, message: succeeded });
    } else {
      ctx.log.warn(LOG_MESSAGES.restoreFailed, { site, backup: status.backup, error: status.message, kind });
      const kept = status.stagedTime === undefined && status.jobName ? ` (Job ${status.jobName} and its pod are kept a day: kubectl logs job/${status.jobName})` : "";
      ctx.recordEvent({ type: "Warning", reason: EVENT_REASONS.restoreFailed, message: `${status.message ?? ""}${kept}` });
    }
  }
}
