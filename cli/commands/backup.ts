/**
 * `backup <group> --profile P`: asks the operator for one backup by creating a MysqlBackup
 * (docs/backups.md), after checking what the operator would refuse (no spec.backup, an unknown
 * profile, a source site that is not the group's or never serves), so a typo is exit 2 with
 * nothing created. `--wait` follows the backup until it ends: exit 0 when it Succeeded, 1 when it
 * Failed or the timeout passed (the backup goes on then).
 */
import type { Command } from "commander";
import type { MysqlBackup, MysqlFailoverGroup } from "../../shared/api/index.js";
import { formatDuration } from "../../shared/duration.js";
import { checkBackupRequest } from "../../shared/backup/request.js";
import { API_GROUP, API_GROUP_VERSION, LABELS, MYSQL_BACKUP } from "../../shared/names.js";
import { formatBytes } from "../format.js";
import { waitTimeout } from "../follow.js";
import { dryRunOption, readGroupForWrite } from "../group-actions.js";
import { connect, explainApiError, usageError, writeErr, writeOut, type KubeContext } from "../kube-context.js";

const BACKUP_RESOURCE = `${MYSQL_BACKUP.plural}.${API_GROUP}`;
/** How often --wait reads the backup: its phase changes a few times over minutes or hours. */
const POLL_MS = 2_000;
/** The flag that carries each field of the request. */
const FLAGS = { profileName: "--profile", sourceSiteOverride: "--source-site" } as const;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export interface BackupFlags {
  profile: string;
  sourceSite?: string;
  name?: string;
}

export type BackupPlan = { ok: true; backup: MysqlBackup } | { ok: false; error: string };

/** `<group>-<profile>-<yyyymmdd-hhmmss>` in UTC: sorts by time, and says what it is. */
export function defaultBackupName(group: string, profile: string, now: number): string {
  const stamp = new Date(now).toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  return `${group}-${profile}-${stamp}`;
}

/** The MysqlBackup to create, or what the operator would refuse about it. */
export function planBackup(group: MysqlFailoverGroup, namespace: string, flags: BackupFlags, now: number): BackupPlan {
  const name = group.metadata.name ?? "";
  const request = checkBackupRequest(
    { name: `${namespace}/${name}`, profiles: group.spec.backup?.profiles, sites: group.spec.sites },
    { profileName: flags.profile, sourceSiteOverride: flags.sourceSite },
  );
  if ("problem" in request) return { ok: false, error: `${FLAGS[request.problem.field]}: ${request.problem.message}` };
  const backupName = flags.name ?? defaultBackupName(name, flags.profile, now);
  if (!DNS_SUBDOMAIN.test(backupName)) return { ok: false, error: `--name: ${JSON.stringify(backupName)} is not a Kubernetes object name (lower-case letters, digits, '-' and '.', at most 253)` };
  return {
    ok: true,
    backup: {
      apiVersion: API_GROUP_VERSION,
      kind: MYSQL_BACKUP.kind,
      metadata: { name: backupName, namespace, labels: { [LABELS.failoverGroup]: name } },
      spec: { failoverGroupRef: { name }, profileName: flags.profile, triggeredBy: "manual", ...(flags.sourceSite ? { sourceSiteOverride: flags.sourceSite } : {}) },
    },
  };
}

/** One line for a phase of the backup, as --wait prints it. */
export function describeBackup(b: MysqlBackup): string {
  const s = b.status;
  switch (s?.phase) {
    case undefined:
      return "Pending: created, not picked up by the operator yet";
    case "Pending":
    case "Running":
      return `${s.phase}: ${s.message ?? ""}`.replace(/: $/, "");
    case "Succeeded":
      return `Succeeded: ${formatBytes(s.sizeBytes ?? 0)} at GTID ${s.gtidExecuted ?? "?"} from ${s.sourceSite ?? "?"}, in ${s.location ?? "?"}`;
    case "Failed":
      return `Failed: ${s.message ?? ""}`;
  }
}

async function follow(command: Command, ctx: KubeContext, name: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  let last = "";
  for (;;) {
    let b: MysqlBackup;
    try {
      b = await ctx.kube.getBackup(ctx.namespace, name);
    } catch (err) {
      throw explainApiError(err, { verb: "get", resource: BACKUP_RESOURCE, namespace: ctx.namespace, name }, ctx);
    }
    const line = describeBackup(b);
    if (line !== last) writeOut(command, `${new Date().toISOString().replace(/\.\d{3}Z$/, "Z")} +${formatDuration(Math.floor((Date.now() - started) / 1000) * 1000)} ${line}\n`);
    last = line;
    if (b.status?.phase === "Succeeded") return 0;
    if (b.status?.phase === "Failed") {
      writeErr(command, `error: backup ${ctx.namespace}/${name} failed; see kubectl bloodraven runbook failed-backup\n`);
      return 1;
    }
    if (Date.now() - started >= timeoutMs) {
      writeErr(command, `error: backup ${ctx.namespace}/${name} has not ended within ${formatDuration(timeoutMs)} (--timeout); it goes on: kubectl get mysqlbackup ${name} -n ${ctx.namespace}\n`);
      return 1;
    }
    await new Promise((r) => setTimeout(r, Math.min(POLL_MS, Math.max(0, timeoutMs - (Date.now() - started)))));
  }
}

interface BackupOptions extends BackupFlags {
  wait?: boolean;
  timeout: string;
  dryRun?: boolean;
}

export function registerBackupCommand(program: Command): void {
  program
    .command("backup")
    .argument("<group>", "name of the MysqlFailoverGroup")
    .description("take a backup of a group now: create a MysqlBackup with one of its profiles")
    .requiredOption("--profile <name>", "the profile of spec.backup.profiles the backup uses")
    .option("--source-site <site>", "take it from this site (default: the operator's choice, a replica within the lag limit, else the primary)")
    .option("--name <name>", "the MysqlBackup's name (default <group>-<profile>-<yyyymmdd-hhmmss>, UTC)")
    .option("--wait", "follow the backup until it ends: exit 0 when it Succeeded, 1 when it Failed")
    .option("--timeout <duration>", "with --wait: stop waiting after this long (the backup goes on)", "2h")
    .addOption(dryRunOption())
    .addHelpText(
      "after",
      `
Examples:
  $ kubectl bloodraven backup orders --profile nightly --wait
  $ kubectl bloodraven backup orders --profile nightly --source-site pdx --name orders-before-migration`,
    )
    .action(async function (this: Command, group: string, opts: BackupOptions) {
      const timeoutMs = waitTimeout(this, opts);
      const ctx = await connect(this);
      const g = await readGroupForWrite(this, ctx, group);
      const plan = planBackup(g, ctx.namespace, opts, Date.now());
      if (!plan.ok) usageError(this, plan.error);
      const name = plan.backup.metadata.name ?? "";
      if (opts.dryRun) {
        writeOut(this, `dry run: nothing was written. Would create:\n${JSON.stringify(plan.backup, null, 2)}\n`);
        return;
      }
      let created: boolean;
      try {
        created = await ctx.kube.createBackupIfAbsent(plan.backup);
      } catch (err) {
        throw explainApiError(err, { verb: "create", resource: BACKUP_RESOURCE, namespace: ctx.namespace }, ctx);
      }
      if (!created) usageError(this, `a MysqlBackup ${ctx.namespace}/${name} exists already; give another --name`);
      writeOut(this, `created MysqlBackup ${ctx.namespace}/${name} (profile ${opts.profile}${opts.sourceSite ? `, from ${opts.sourceSite}` : ""})\n`);
      if (!opts.wait) return;
      // Leave now rather than when pooled keep-alive sockets time out.
      process.exit(await follow(this, ctx, name, timeoutMs));
    });
}
