/**
 * `backup <group> --profile P`: asks the operator for one backup by creating a MysqlBackup
 * (docs/backups.md), after checking what the operator would refuse (no spec.backup, an unknown
 * profile, a source site that is not the group's or never serves), so a typo is exit 2 with
 * nothing created. `--wait` follows the backup until it ends: exit 0 when it Succeeded, 1 when it
 * Failed or the timeout passed (the backup goes on then).
 */
import type { Command } from "commander";
import type { MysqlBackup, MysqlFailoverGroup } from "../../shared/api/index.js";
import { checkBackupRequest } from "../../shared/backup/request.js";
import { API_GROUP, API_GROUP_VERSION, LABELS, MYSQL_BACKUP } from "../../shared/names.js";
import { formatBytes } from "../format.js";
import { createAndFollow, describePhase, waitTimeout } from "../follow.js";
import { dryRunOption, readGroupForWrite } from "../group-actions.js";
import { connect, usageError } from "../kube-context.js";

export const BACKUP_RESOURCE = `${MYSQL_BACKUP.plural}.${API_GROUP}`;
/** The flag that carries each field of the request. */
const FLAGS = { profileName: "--profile", sourceSiteOverride: "--source-site" } as const;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
/** Where --wait sends whoever sees a backup, or a verification of one, fail. */
export const FAILED_BACKUP_HINT = "see kubectl bloodraven runbook failed-backup";

export interface BackupFlags {
  profile: string;
  sourceSite?: string;
  name?: string;
}

export type BackupPlan = { ok: true; backup: MysqlBackup } | { ok: false; error: string };

/**
 * `<group>-<profile>-<yyyymmdd-hhmmss>` in UTC, or `<group>-<profile>-<what>-<...>` for an object
 * about the profile's backups (`verify`): sorts by time, and says what it is.
 */
export function defaultBackupName(group: string, profile: string, now: number, what?: string): string {
  const stamp = new Date(now).toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  return [group, profile, ...(what ? [what] : []), stamp].join("-");
}

/** Why the value of `flag` cannot name an object, or undefined when it can. */
export function objectNameProblem(flag: string, name: string): string | undefined {
  return DNS_SUBDOMAIN.test(name) ? undefined : `${flag}: ${JSON.stringify(name)} is not a Kubernetes object name (lower-case letters, digits, '-' and '.', at most 253)`;
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
  const nameProblem = objectNameProblem("--name", backupName);
  if (nameProblem) return { ok: false, error: nameProblem };
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
  return describePhase(b.status, (s) => `${formatBytes(s.sizeBytes ?? 0)} at GTID ${s.gtidExecuted ?? "?"} from ${s.sourceSite ?? "?"}, in ${s.location ?? "?"}`);
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
      await createAndFollow(this, ctx, { ...opts, timeoutMs }, {
        object: plan.backup,
        noun: "backup",
        names: MYSQL_BACKUP,
        summary: `profile ${opts.profile}${opts.sourceSite ? `, from ${opts.sourceSite}` : ""}`,
        create: (b) => ctx.kube.createBackupIfAbsent(b),
        get: (namespace, name) => ctx.kube.getBackup(namespace, name),
        phase: (o) => o.status?.phase,
        describe: describeBackup,
        failedHint: FAILED_BACKUP_HINT,
      });
    });
}
