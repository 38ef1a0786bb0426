/**
 * `verify-backup <group> --profile P`: asks the operator to prove that a backup restores by
 * creating a MysqlBackupVerification (docs/crd-reference.md#mysqlbackupverification): it restores
 * the backup in a Job, starts a throwaway server on the copy, optionally replays the binary log
 * archive and runs a sanity query. What the operator would only fail later (a profile the group
 * lacks, a pinned backup of another group or profile or not Succeeded, a replay without an
 * archive) is refused first, exit 2 with nothing created. `--wait` follows it like `backup --wait`.
 */
import { Option, type Command } from "commander";
import type { MysqlBackup, MysqlBackupVerification, MysqlBackupVerificationSpec, MysqlFailoverGroup } from "../../shared/api/index.js";
import { VERIFICATION_DEFAULTS } from "../../shared/api/index.js";
import { checkBackupRequest } from "../../shared/backup/request.js";
import { DurationError, formatDuration, parsePositiveDuration } from "../../shared/duration.js";
import { API_GROUP_VERSION, LABELS, MYSQL_BACKUP_VERIFICATION } from "../../shared/names.js";
import { parseRfc3339Seconds } from "../../shared/rfc3339.js";
import { createAndFollow, describePhase, waitTimeout } from "../follow.js";
import { dryRunOption, readGroupForWrite } from "../group-actions.js";
import { connect, explainApiError, isNotFound, usageError } from "../kube-context.js";
import { BACKUP_RESOURCE, FAILED_BACKUP_HINT, defaultBackupName, objectNameProblem } from "./backup.js";

/** What the schema allows of a sanity query. */
const MAX_QUERY_LENGTH = 4096;

export interface VerifyBackupFlags {
  profile: string;
  backup?: string;
  pointInTime?: string;
  sanityQuery?: string;
  minRows?: string;
  queryTimeout?: string;
  keepOnFailure?: boolean;
  name?: string;
}

/** The flags checked on their own, turned into the spec's fields. */
export interface VerifyRequest {
  profile: string;
  backup?: string;
  name?: string;
  pointInTime?: NonNullable<MysqlBackupVerificationSpec["pointInTime"]>;
  sanityCheck?: NonNullable<MysqlBackupVerificationSpec["sanityCheck"]>;
  keepOnFailure?: boolean;
}

type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

export function parsePointInTime(text: string, now: number): Checked<NonNullable<VerifyRequest["pointInTime"]>> {
  if (text === "latest") return { ok: true, value: { mode: "latest" } };
  const parsed = parseRfc3339Seconds(text.trim());
  const ms = parsed.ok ? parsed.date.getTime() : undefined;
  if (ms === undefined) return { ok: false, error: `--point-in-time: ${JSON.stringify(text)} is neither latest nor an RFC 3339 time in whole seconds, e.g. 2026-12-04T03:00:00Z` };
  if (ms > now) return { ok: false, error: `--point-in-time: ${text} is in the future; give a time that has passed, or latest for everything archived` };
  // In UTC, as Kubernetes writes times, so that the spec and the status read alike.
  return { ok: true, value: { mode: "timestamp", timestamp: new Date(ms).toISOString().replace(/\.000Z$/, "Z") } };
}

function parseSanityCheck(flags: VerifyBackupFlags): Checked<VerifyRequest["sanityCheck"]> {
  const { sanityQuery, minRows, queryTimeout } = flags;
  if (sanityQuery === undefined) {
    const stray = minRows !== undefined ? "--min-rows" : queryTimeout !== undefined ? "--query-timeout" : undefined;
    return stray ? { ok: false, error: `${stray} only applies with --sanity-query; add the query it is about` } : { ok: true, value: undefined };
  }
  const query = sanityQuery.trim();
  if (query === "") return { ok: false, error: `--sanity-query: empty; give one SELECT of one count, e.g. --sanity-query "SELECT COUNT(*) FROM shop.orders"` };
  if (query.length > MAX_QUERY_LENGTH) return { ok: false, error: `--sanity-query: ${query.length} characters, more than the ${MAX_QUERY_LENGTH} a verification holds; count in a shorter query` };
  const check: NonNullable<VerifyRequest["sanityCheck"]> = { query };
  if (minRows !== undefined) {
    const n = Number(minRows.trim());
    if (!/^\d+$/.test(minRows.trim()) || !Number.isSafeInteger(n)) return { ok: false, error: `--min-rows: ${JSON.stringify(minRows)} is not a whole number of 0 or more; give the least count that passes, e.g. --min-rows 1` };
    check.minRows = n;
  }
  if (queryTimeout !== undefined) {
    try {
      check.timeout = formatDuration(parsePositiveDuration(queryTimeout));
    } catch (err) {
      if (err instanceof DurationError) return { ok: false, error: `--query-timeout: ${err.message}` };
      throw err;
    }
  }
  return { ok: true, value: check };
}

/** What the flags ask for, or the first flag that is wrong whatever the group: checked before anything is read. */
export function parseVerifyFlags(flags: VerifyBackupFlags, now: number): Checked<VerifyRequest> {
  for (const [flag, name] of [["--backup", flags.backup], ["--name", flags.name]] as const) {
    const problem = name === undefined ? undefined : objectNameProblem(flag, name);
    if (problem) return { ok: false, error: problem };
  }
  const pointInTime = flags.pointInTime === undefined ? undefined : parsePointInTime(flags.pointInTime, now);
  if (pointInTime && !pointInTime.ok) return pointInTime;
  const sanityCheck = parseSanityCheck(flags);
  if (!sanityCheck.ok) return sanityCheck;
  return {
    ok: true,
    value: {
      profile: flags.profile,
      ...(flags.backup !== undefined ? { backup: flags.backup } : {}),
      ...(flags.name !== undefined ? { name: flags.name } : {}),
      ...(pointInTime ? { pointInTime: pointInTime.value } : {}),
      ...(sanityCheck.value ? { sanityCheck: sanityCheck.value } : {}),
      ...(flags.keepOnFailure !== undefined ? { keepOnFailure: flags.keepOnFailure } : {}),
    },
  };
}

/** Why the backup `--backup` names cannot be verified for this group and profile, or undefined. */
function pinnedBackupProblem(backup: MysqlBackup | null, request: VerifyRequest & { backup: string }, namespace: string, group: string): string | undefined {
  const list = `kubectl get mysqlbackups -n ${namespace} -l ${LABELS.failoverGroup}=${group}`;
  const orNewest = `or leave --backup out to verify the newest Succeeded backup of ${request.profile}`;
  if (backup === null) return `--backup: no MysqlBackup ${namespace}/${request.backup}; ${list} lists the group's backups`;
  const owner = backup.spec.failoverGroupRef.name;
  if (owner !== group) return `--backup: ${request.backup} is a backup of the group ${owner}, not ${group}; name one that ${list} lists, ${orNewest}`;
  if (backup.spec.profileName !== request.profile) return `--backup: ${request.backup} was taken with the profile ${backup.spec.profileName}, not ${request.profile}; give --profile ${backup.spec.profileName}, or name a backup of ${request.profile}`;
  const phase = backup.status?.phase;
  if (phase !== "Succeeded") return `--backup: ${request.backup} is ${phase ?? "not picked up by the operator yet"}, and only a Succeeded backup can be restored; wait for it to succeed, name another, ${orNewest}`;
  return undefined;
}

/**
 * The MysqlBackupVerification to create, or what the operator would refuse about it. `backup` is
 * what `--backup` names as read (null: there is none), unused without the flag.
 */
export function planVerification(group: MysqlFailoverGroup, namespace: string, request: VerifyRequest, backup: MysqlBackup | null, now: number): Checked<MysqlBackupVerification> {
  const name = group.metadata.name ?? "";
  const profile = checkBackupRequest({ name: `${namespace}/${name}`, profiles: group.spec.backup?.profiles, sites: group.spec.sites }, { profileName: request.profile });
  if ("problem" in profile) return { ok: false, error: `--profile: ${profile.problem.message}` };
  if (request.pointInTime && group.spec.backup?.pitr?.enabled !== true) {
    return { ok: false, error: `--point-in-time: the group ${namespace}/${name} has no binary log archive to replay (spec.backup.pitr.enabled is not true); enable spec.backup.pitr, or leave --point-in-time out to verify the backup alone` };
  }
  const pinned = request.backup;
  const backupProblem = pinned === undefined ? undefined : pinnedBackupProblem(backup, { ...request, backup: pinned }, namespace, name);
  if (backupProblem) return { ok: false, error: backupProblem };
  const verificationName = request.name ?? defaultBackupName(name, request.profile, now, "verify");
  const nameProblem = objectNameProblem("--name", verificationName);
  if (nameProblem) return { ok: false, error: nameProblem };
  const spec: MysqlBackupVerificationSpec = {
    failoverGroupRef: { name },
    profileName: request.profile,
    triggeredBy: "manual",
    ...(pinned !== undefined ? { backupRef: { name: pinned } } : {}),
    ...(request.pointInTime ? { pointInTime: request.pointInTime } : {}),
    ...(request.sanityCheck ? { sanityCheck: request.sanityCheck } : {}),
    ...(request.keepOnFailure !== undefined ? { keepOnFailure: request.keepOnFailure } : {}),
  };
  return {
    ok: true,
    value: { apiVersion: API_GROUP_VERSION, kind: MYSQL_BACKUP_VERIFICATION.kind, metadata: { name: verificationName, namespace, labels: { [LABELS.failoverGroup]: name } }, spec },
  };
}

/** `seconds` as a duration (`1m5s`), for the times the status counts. */
const seconds = (s: number): string => formatDuration(s * 1000);

/** One line for a phase of the verification, as --wait prints it. */
export function describeVerification(v: MysqlBackupVerification): string {
  return describePhase(v.status, (s) => {
    const restored = [`backup ${s.backupName ?? "?"} restores`, s.backupGtid ? ` at GTID ${s.backupGtid}` : "", s.restoreSeconds !== undefined ? ` (restored in ${seconds(s.restoreSeconds)})` : ""];
    const replayTime = s.replayedToTime ? `committed ${s.replayedToTime}` : "";
    const replay = s.replayedToGtid ? `, replayed to GTID ${s.replayedToGtid}${replayTime ? ` (${replayTime})` : ""}` : replayTime ? `, replayed to the transaction ${replayTime}` : "";
    const count = s.count !== undefined ? `, the sanity query counted ${s.count}${s.queryMilliseconds !== undefined ? ` in ${formatDuration(s.queryMilliseconds)}` : ""}` : "";
    return `${restored.join("")}${replay}${count}`;
  });
}

/** What the created line says was asked for, beyond the profile. */
function requested(request: VerifyRequest): string {
  const replay = request.pointInTime?.mode === "latest" ? ", replaying everything archived" : request.pointInTime?.timestamp ? `, replaying to ${request.pointInTime.timestamp}` : "";
  return `${request.backup !== undefined ? `backup ${request.backup}` : "its newest Succeeded backup"}${replay}${request.sanityCheck ? ", with a sanity query" : ""}`;
}

interface VerifyBackupOptions extends VerifyBackupFlags {
  wait?: boolean;
  timeout: string;
  dryRun?: boolean;
}

export function registerVerifyBackupCommand(program: Command): void {
  program
    .command("verify-backup")
    .argument("<group>", "name of the MysqlFailoverGroup")
    .description("prove a backup of a group restores: create a MysqlBackupVerification (restore, start, replay, query)")
    .requiredOption("--profile <name>", "the profile of spec.backup.profiles whose backup is verified")
    .option("--backup <name>", "the MysqlBackup to verify, Succeeded, of the group and the profile (default: the profile's newest Succeeded one when the verification starts)")
    .option("--point-in-time <latest|time>", "replay the group's binary log archive onto the restored backup: all of it (latest), or up to an RFC 3339 time in whole seconds; needs spec.backup.pitr")
    .option("--sanity-query <query>", 'one SELECT of one count to run on the restored server, e.g. "SELECT COUNT(*) FROM shop.orders"')
    .option("--min-rows <n>", `with --sanity-query: the least count that passes (default ${VERIFICATION_DEFAULTS.minRows})`)
    .option("--query-timeout <duration>", `with --sanity-query: the query's time limit (default ${VERIFICATION_DEFAULTS.queryTimeout})`)
    .option("--keep-on-failure", "keep a failed verification's Job and pod, with the restored copy and the server's error log, for a day (the operator's default; --keep-on-failure=false deletes them)")
    // What --keep-on-failure=false becomes (kube-flags.ts normalizeArgs): off, as a choice of its own.
    .addOption(new Option("--no-keep-on-failure").hideHelp())
    .option("--name <name>", "the MysqlBackupVerification's name (default <group>-<profile>-verify-<yyyymmdd-hhmmss>, UTC)")
    .option("--wait", "follow the verification until it ends: exit 0 when it Succeeded, 1 when it Failed")
    .option("--timeout <duration>", "with --wait: stop waiting after this long (the verification goes on)", "2h")
    .addOption(dryRunOption())
    .addHelpText(
      "after",
      `
Examples:
  $ kubectl bloodraven verify-backup orders --profile nightly --wait
  $ kubectl bloodraven verify-backup orders --profile nightly --backup orders-nightly-20261204-030007 --sanity-query "SELECT COUNT(*) FROM shop.orders" --min-rows 1
  $ kubectl bloodraven verify-backup orders --profile nightly --point-in-time 2026-12-04T09:30:00Z --keep-on-failure=false --wait`,
    )
    .action(async function (this: Command, group: string, opts: VerifyBackupOptions) {
      const timeoutMs = waitTimeout(this, opts);
      const parsed = parseVerifyFlags(opts, Date.now());
      if (!parsed.ok) usageError(this, parsed.error);
      const request = parsed.value;
      const ctx = await connect(this);
      const g = await readGroupForWrite(this, ctx, group);
      let backup: MysqlBackup | null = null;
      if (request.backup !== undefined) {
        try {
          backup = await ctx.kube.getBackup(ctx.namespace, request.backup);
        } catch (err) {
          if (!isNotFound(err, request.backup)) throw explainApiError(err, { verb: "get", resource: BACKUP_RESOURCE, namespace: ctx.namespace, name: request.backup }, ctx);
        }
      }
      const plan = planVerification(g, ctx.namespace, request, backup, Date.now());
      if (!plan.ok) usageError(this, plan.error);
      await createAndFollow(this, ctx, { ...opts, timeoutMs }, {
        object: plan.value,
        noun: "verification",
        names: MYSQL_BACKUP_VERIFICATION,
        summary: `profile ${request.profile}, ${requested(request)}`,
        create: (v) => ctx.kube.createVerificationIfAbsent(v),
        get: (namespace, name) => ctx.kube.getVerification(namespace, name),
        phase: (o) => o.status?.phase,
        describe: describeVerification,
        failedHint: FAILED_BACKUP_HINT,
      });
    });
}
