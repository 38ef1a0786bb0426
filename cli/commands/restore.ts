/**
 * `restore <group> <new-group> --backup B`: a restore drill, or a recovery beside production. It
 * creates a new MysqlFailoverGroup of managed sites that starts from the backup (spec.initFromBackup),
 * built from the group's spec without what production owns (shared/backup/restore-drill.ts).
 * A backup no MysqlBackupVerification has proven is refused unless --unverified says so (the
 * operations guide: do not restore an unverified artifact). `--wait` follows status.restore: exit
 * 0 once the first site runs on the copy (the others are cloned from it after), 1 when it failed.
 *
 * `restore <group> --in-place --backup B --yes`: the group's own sites restored, destructively
 * (spec.restoreInPlace, confirmed now). `--wait` follows status.restoreInPlace to its end.
 */
import type { Command } from "commander";
import type { MysqlBackup, MysqlFailoverGroup } from "../../shared/api/index.js";
import { restoreInPlaceJobName, restoreJobName } from "../../shared/backup/backup-job.js";
import { drillNodeLabel, planRestoreDrill, planRestoreInPlace, type DrillRequest } from "../../shared/backup/restore-drill.js";
import { ANNOTATIONS, API_GROUP, API_GROUP_VERSION, FAILOVER_GROUP, LABELS, MYSQL_BACKUP_VERIFICATION } from "../../shared/names.js";
import { createAndFollow, describePhase, followPhases, waitTimeout } from "../follow.js";
import { dryRunOption, readGroupForWrite } from "../group-actions.js";
import { connect, explainApiError, isNotFound, usageError, writeOut } from "../kube-context.js";
import { BACKUP_RESOURCE, objectNameProblem } from "./backup.js";
import { parsePointInTime } from "./verify-backup.js";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

interface RestoreOptions {
  backup: string;
  inPlace?: boolean;
  yes?: boolean;
  pointInTime?: string;
  site?: string;
  unverified?: boolean;
  wait?: boolean;
  timeout: string;
  dryRun?: boolean;
}

/** One line for where the new group's restore stands, as --wait prints it. */
export function describeRestore(g: MysqlFailoverGroup): string {
  return describePhase(g.status?.restore, (s) => `site ${s.site ?? "?"} runs on ${s.backup ?? "the backup"} at GTID ${s.gtid || "?"}${s.replayedToTime ? `, replayed to ${s.replayedToTime}` : ""}; the other sites are cloned from it next`);
}

/** One line for where a restore in place stands, as --wait prints it. */
export function describeRestoreInPlace(g: MysqlFailoverGroup): string {
  return describePhase(g.status?.restoreInPlace, (s) => `site ${s.site ?? "?"} runs on ${s.backup ?? "the backup"} at GTID ${s.gtid || "?"}${s.replayedToTime ? `, replayed to ${s.replayedToTime}` : ""}, and every other site was recloned from it`);
}

export function registerRestoreCommand(program: Command): void {
  program
    .command("restore")
    .argument("<group>", "the MysqlFailoverGroup whose backup is restored")
    .argument("[new-group]", "the name of the new group that starts from it, in the same namespace (not with --in-place)")
    .description(
      "restore a backup into a new group beside the original (a drill, or a recovery to switch applications to): create a MysqlFailoverGroup with spec.initFromBackup; or, with --in-place, restore the group's own sites (destructive)",
    )
    .requiredOption("--backup <name>", "the MysqlBackup to restore: Succeeded, of <group>")
    .option("--point-in-time <latest|time>", "replay <group>'s binary log archive onto the backup: all of it (latest), or up to an RFC 3339 time in whole seconds; needs spec.backup.pitr")
    .option("--site <site>", "the managed primary-candidate restored first, which becomes the primary (default: the first one)")
    .option("--unverified", "restore a backup no MysqlBackupVerification has Succeeded on")
    .option("--in-place", "restore <group>'s own sites: every site fenced, the primary's data replaced by the backup, the others recloned; everything written after the backup (or --point-in-time) is lost")
    .option("--yes", "with --in-place: confirm that everything <group> wrote after the backup is discarded")
    .option("--wait", "follow the restore until the first site runs on the copy: exit 0, or 1 when it failed")
    .option("--timeout <duration>", "with --wait: stop waiting after this long (the restore goes on)", "6h")
    .addOption(dryRunOption())
    .addHelpText(
      "after",
      `
The new group copies <group>'s managed sites, images, server options, credentials and backup
profiles, and leaves out what production owns: external sites, dns, lbIP, dragonfly, backup
schedules and the binary log archive. Its sites run on nodes labelled
shipstream.io/site.<new-group>=<site>, not on <group>'s. It never touches <group>.

With --in-place, <group> itself is restored (spec.restoreInPlace): its applications see it
read-only until the primary runs on the copy, then writable, while the other sites are recloned.

Examples:
  $ kubectl bloodraven restore orders orders-drill --backup orders-nightly-20261204-030007 --wait
  $ kubectl bloodraven restore orders orders-recovered --backup orders-nightly-20261204-030007 --point-in-time 2026-12-04T09:30:00Z --dry-run
  $ kubectl bloodraven restore orders --in-place --backup orders-nightly-20261204-030007 --yes --wait`,
    )
    .action(async function (this: Command, group: string, newGroup: string | undefined, opts: RestoreOptions) {
      const timeoutMs = waitTimeout(this, opts);
      if (opts.inPlace) {
        if (newGroup !== undefined) usageError(this, `<new-group>: --in-place restores ${group} itself; leave ${JSON.stringify(newGroup)} out, or leave --in-place out to restore into a new group`);
        if (opts.site !== undefined) usageError(this, "--site: a restore in place restores the active primary; switch over first to restore another site, and leave --site out");
        if (!opts.yes && !opts.dryRun) usageError(this, `--in-place discards everything ${group} wrote after the backup, on every site: add --yes to confirm (or --dry-run to see the request)`);
        return restoreInPlace(this, group, opts, timeoutMs);
      }
      if (newGroup === undefined) usageError(this, "<new-group>: name the new group that starts from the backup, or pass --in-place to restore <group> itself");
      if (!DNS_LABEL.test(newGroup)) usageError(this, `<new-group>: ${JSON.stringify(newGroup)} is not a group name (a DNS label: lower-case letters, digits and '-', at most 63)`);
      const { ctx, source, backup, verifications, pointInTime } = await readRestoreSource(this, group, opts);
      const request: DrillRequest = { group: newGroup, pointInTime, unverified: opts.unverified === true, ...(opts.site !== undefined ? { site: opts.site } : {}) };
      const plan = planRestoreDrill({ name: group, spec: source.spec }, backup, verifications, request);
      if (!plan.ok) usageError(this, `${plan.error} (nothing was changed)`);
      if (plan.verifiedBy === undefined) writeOut(this, `warning: no verification has Succeeded on ${opts.backup} (--unverified): check the restored data before anyone relies on it\n`);
      if (plan.leftOut.length > 0) writeOut(this, `left out of the copy (production owns them): ${plan.leftOut.join(", ")}\n`);
      const placed = (plan.spec.sites ?? []).filter((s) => s.taintNodeSelector !== undefined).map((s) => `${drillNodeLabel(newGroup)}=${s.name}`);
      if (placed.length > 0) writeOut(this, `its sites run on nodes of their own, which the operator taints while a site is not writable: label them (kubectl label node <node> ${placed.join(", or ")})\n`);
      const object: MysqlFailoverGroup = {
        apiVersion: API_GROUP_VERSION,
        kind: FAILOVER_GROUP.kind,
        metadata: { name: newGroup, namespace: ctx.namespace, annotations: { [ANNOTATIONS.restoredFrom]: `${group}/${opts.backup}` }, labels: { [LABELS.managedBy]: "kubectl-bloodraven" } },
        spec: plan.spec,
      };
      await createAndFollow(this, ctx, { ...opts, timeoutMs }, {
        object,
        noun: "restore",
        names: FAILOVER_GROUP,
        summary: `from ${group}'s backup ${opts.backup}${pointInTime.mode === "none" ? "" : `, replayed to ${pointInTime.timestamp ?? "the newest archived transaction"}`}${plan.verifiedBy ? `, verified by ${plan.verifiedBy}` : ", unverified"}`,
        create: (g) => ctx.kube.createFailoverGroupIfAbsent(g),
        get: (namespace, name) => ctx.kube.getFailoverGroup(namespace, name),
        phase: (g) => g.status?.restore?.phase,
        describe: describeRestore,
        failedHint: `see kubectl bloodraven status ${newGroup} and the restore Job's log (kubectl logs job/${restoreJobName(newGroup)}); delete the group to try again`,
      });
    });
}

/** The group, its backup, the verifications and the parsed --point-in-time; bad input exits 2 first. */
async function readRestoreSource(command: Command, group: string, opts: RestoreOptions) {
  const nameProblem = objectNameProblem("--backup", opts.backup);
  if (nameProblem) usageError(command, nameProblem);
  const pointInTime = opts.pointInTime === undefined ? ({ ok: true, value: { mode: "none" } } as const) : parsePointInTime(opts.pointInTime, Date.now());
  if (!pointInTime.ok) usageError(command, pointInTime.error);
  const ctx = await connect(command);
  const source = await readGroupForWrite(command, ctx, group);
  let backup: MysqlBackup;
  try {
    backup = await ctx.kube.getBackup(ctx.namespace, opts.backup);
  } catch (err) {
    if (isNotFound(err, opts.backup)) usageError(command, `--backup: no MysqlBackup ${ctx.namespace}/${opts.backup}; kubectl get mb -n ${ctx.namespace} lists them (nothing was changed)`);
    throw explainApiError(err, { verb: "get", resource: BACKUP_RESOURCE, namespace: ctx.namespace, name: opts.backup }, ctx);
  }
  const verifications = await ctx.kube.listVerifications(ctx.namespace).then(
    (list) => list.items,
    (err: unknown) => {
      throw explainApiError(err, { verb: "list", resource: `${MYSQL_BACKUP_VERIFICATION.plural}.${API_GROUP}`, namespace: ctx.namespace }, ctx);
    },
  );
  return { ctx, source, backup, verifications, pointInTime: pointInTime.value };
}

/** --in-place: sets spec.restoreInPlace, confirmed now, and with --wait follows status.restoreInPlace. */
async function restoreInPlace(command: Command, group: string, opts: RestoreOptions, timeoutMs: number): Promise<void> {
  const { ctx, source, backup, verifications, pointInTime } = await readRestoreSource(command, group, opts);
  const confirm = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const plan = planRestoreInPlace({ name: group, spec: source.spec }, backup, verifications, { pointInTime, unverified: opts.unverified === true, confirm });
  if (!plan.ok) usageError(command, `${plan.error} (nothing was changed)`);
  const running = source.status?.restoreInPlace;
  if (running?.phase === "Running") usageError(command, `a restore in place of ${group} is running already (${running.message ?? ""}); wait for it to end (nothing was changed)`);
  const key = `${ctx.namespace}/${group}`;
  if (opts.dryRun) {
    writeOut(command, `dry run: nothing was written. Would set on ${FAILOVER_GROUP.kind} ${key}:\n${JSON.stringify({ spec: { restoreInPlace: plan.restoreInPlace } }, null, 2)}\n`);
    return;
  }
  if (plan.verifiedBy === undefined) writeOut(command, `warning: no verification has Succeeded on ${opts.backup} (--unverified): check the restored data before anyone relies on it\n`);
  try {
    await ctx.kube.patchFailoverGroupSpec(ctx.namespace, group, { restoreInPlace: plan.restoreInPlace }, { resourceVersion: source.metadata.resourceVersion ?? "" });
  } catch (err) {
    throw explainApiError(err, { verb: "patch", resource: `${FAILOVER_GROUP.plural}.${API_GROUP}`, namespace: ctx.namespace, name: group }, ctx);
  }
  writeOut(command, `requested the restore in place of ${key} from ${opts.backup} (confirm ${confirm}): every site is fenced, ${source.status?.activeSite || "the primary"} restored, the others recloned\n`);
  if (!opts.wait) return;
  const code = await followPhases(
    command,
    ctx,
    {
      object: source,
      noun: "restore in place of",
      names: FAILOVER_GROUP,
      get: (namespace, name) => ctx.kube.getFailoverGroup(namespace, name),
      // Only this request's record counts: an earlier restore's outcome is not this one's.
      phase: (g) => (g.status?.restoreInPlace?.confirm === confirm ? g.status.restoreInPlace.phase : undefined),
      describe: (g) => (g.status?.restoreInPlace?.confirm === confirm ? describeRestoreInPlace(g) : describeRestoreInPlace({ ...g, status: { ...g.status, restoreInPlace: undefined } })),
      failedHint: `see kubectl bloodraven status ${group} and the restore Job's log (kubectl logs job/${restoreInPlaceJobName(group, confirm)})`,
    },
    timeoutMs,
  );
  process.exit(code);
}
