/**
 * `maintenance on|off|status <group>`: the maintenance switch (shared/maintenance.ts), one
 * annotation holding {until, reason?, by?}. While it is on the operator neither fails over on its
 * own nor resolves split brain; it keeps fencing writable sites that may never be primary,
 * polling, reporting, and it still runs planned failovers. `status` also says whether the
 * operator has taken notice (its Maintenance condition).
 */
import type { Command } from "commander";
import type { ChalkInstance } from "chalk";
import { DEFAULTS, type MysqlFailoverGroup } from "../../shared/api/index.js";
import { DurationError, formatDuration, parseDuration, parsePositiveDuration } from "../../shared/duration.js";
import {
  DEFAULT_MAINTENANCE_MS,
  formatMaintenance,
  MAX_MAINTENANCE_MS,
  maintenanceState,
  parseMaintenance,
  type Maintenance,
  type MaintenanceState,
} from "../../shared/maintenance.js";
import { ANNOTATIONS, CONDITION_TYPES } from "../../shared/names.js";
import { ageOf, colors, formatTime, renderFields, useColor } from "../format.js";
import { connect, explainApiError, usageError, writeErr, writeOut } from "../kube-context.js";
import { dryRunOption, OPERATOR_PODS_HINT, postAnnotations, readGroupForWrite, reportDryRun } from "../group-actions.js";

export type MaintenanceBuild = { ok: true; value: Maintenance; durationMs: number } | { ok: false; error: string };

export interface MaintenanceFlags {
  for?: string;
  until?: string;
  reason?: string;
  by?: string;
}

/** RFC 3339 at second precision when there is no fraction to keep: `2026-11-22T06:00:00Z`. */
function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.000Z$/, "Z");
}

/**
 * --for: a duration as everywhere else (`30m`, `2h`), plus a leading number of days (`1d`,
 * `7d`, `1d12h`), since maintenance windows are often counted in days.
 */
export function parseForFlag(text: string): number {
  const days = /^\s*(\d+)d(.*)$/.exec(text);
  if (!days) return parsePositiveDuration(text);
  const rest = days[2]!.trim();
  const ms = Number(days[1]) * 24 * 3_600_000 + (rest === "" ? 0 : parseDuration(rest));
  if (!Number.isSafeInteger(ms) || ms <= 0) throw new DurationError(text, ms <= 0 ? "must be greater than zero" : "too large");
  return ms;
}

const MAX_TEXT = `7 days (${formatDuration(MAX_MAINTENANCE_MS)})`;

/**
 * The maintenance annotation `on` writes: until now + --for (default 1h), or --until; at most
 * 7 days ahead, never in the past. The result is checked by the shared parser, so the operator
 * reads exactly what was validated here.
 */
export function buildMaintenance(flags: MaintenanceFlags, now: number): MaintenanceBuild {
  if (flags.for !== undefined && flags.until !== undefined) return { ok: false, error: "--for and --until cannot be combined" };
  let untilMs: number;
  let durationMs: number;
  if (flags.until !== undefined) {
    const parsed = parseMaintenance(JSON.stringify({ until: flags.until.trim() }));
    if (!parsed.ok) return { ok: false, error: `--until: ${parsed.error.replace(/^maintenance `until` must be/, "must be")}` };
    untilMs = Date.parse(parsed.value.until);
    if (untilMs <= now) return { ok: false, error: `--until: ${flags.until} is not in the future` };
    if (untilMs - now > MAX_MAINTENANCE_MS) return { ok: false, error: `--until: ${flags.until} is more than ${MAX_TEXT} ahead; maintenance is bounded so that a forgotten one ends` };
    durationMs = untilMs - now;
  } else {
    let ms = DEFAULT_MAINTENANCE_MS;
    if (flags.for !== undefined) {
      try {
        ms = parseForFlag(flags.for);
      } catch (err) {
        if (err instanceof DurationError) return { ok: false, error: `--for: ${err.message}` };
        throw err;
      }
    }
    if (ms > MAX_MAINTENANCE_MS) return { ok: false, error: `--for: ${flags.for} is longer than the maximum, 7d (${formatDuration(MAX_MAINTENANCE_MS)})` };
    // Whole seconds, rounded up: the annotation reads like the API's own timestamps.
    untilMs = Math.ceil((now + ms) / 1000) * 1000;
    durationMs = ms;
  }
  const m: Maintenance = { until: isoSeconds(untilMs) };
  if (flags.reason) m.reason = flags.reason;
  if (flags.by) m.by = flags.by;
  const check = parseMaintenance(formatMaintenance(m));
  if (!check.ok) return { ok: false, error: check.error.replace(/^maintenance `reason`/, "--reason").replace(/^maintenance `by`/, "the user name") };
  return { ok: true, value: m, durationMs };
}

/** The user the plugin acts as (--as, or the kubeconfig user's `as`), else the kubeconfig user of the current context, else $USER; what `by` records. */
export function whoAmI(userName: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const name = userName || env.USER || env.USERNAME;
  return name ? name.slice(0, 256) : undefined;
}

/** What maintenance pauses and what it does not: printed by `on` and in the help. */
export const MAINTENANCE_EFFECTS: readonly (readonly [string, string])[] = [
  ["Paused", "automatic failover and automatic split-brain resolution"],
  ["Continues", "fencing of writable sites that may not be primary, polling, status and events"],
  ["Still runs", "planned failovers (kubectl bloodraven failover)"],
];

function annotationState(g: MysqlFailoverGroup, now: number): { raw?: string; invalid?: string; state: MaintenanceState } {
  const raw = g.metadata.annotations?.[ANNOTATIONS.maintenance];
  if (raw === undefined) return { state: { active: false } };
  const parsed = parseMaintenance(raw);
  if (!parsed.ok) return { raw, invalid: parsed.error, state: { active: false } };
  return { raw, state: maintenanceState(parsed.value, now) };
}

/**
 * When the annotation `key` was last written, from managedFields (the latest entry that owns
 * it); undefined when the server does not say.
 */
export function annotationSetAt(g: MysqlFailoverGroup, key: string): number | undefined {
  let latest: number | undefined;
  for (const entry of g.metadata.managedFields ?? []) {
    const fields = entry.fieldsV1 as Record<string, Record<string, Record<string, unknown>> | undefined> | undefined;
    if (!fields?.["f:metadata"]?.["f:annotations"]?.[`f:${key}`]) continue;
    const at = Date.parse(String(entry.time ?? ""));
    if (!Number.isNaN(at) && (latest === undefined || at > latest)) latest = at;
  }
  return latest;
}

/** How long the operator may take to report the Maintenance condition before it looks absent. */
export function acknowledgementGraceMs(g: MysqlFailoverGroup): number {
  let poll: number;
  try {
    poll = parseDuration(g.spec?.pollInterval ?? DEFAULTS.pollInterval);
  } catch {
    poll = parseDuration(DEFAULTS.pollInterval);
  }
  return 3 * poll + 30_000;
}

export interface OperatorView {
  text: string;
  /** A warning for stderr: the annotation is on but the operator does not say so. */
  warning?: string;
}

/** Whether the operator's Maintenance condition agrees with the annotation. */
export function operatorView(g: MysqlFailoverGroup, active: boolean, now: number): OperatorView {
  const cond = g.status?.conditions?.find((c) => c.type === CONDITION_TYPES.maintenance);
  const reported = cond ? `reports ${cond.type}=${cond.status} (${cond.reason}) since ${formatTime(cond.lastTransitionTime)}` : undefined;
  if (active) {
    if (cond?.status === "True") return { text: reported! };
    const setAt = annotationSetAt(g, ANNOTATIONS.maintenance);
    const grace = acknowledgementGraceMs(g);
    if (setAt !== undefined && now - setAt < grace) {
      return { text: `has not reported the ${CONDITION_TYPES.maintenance} condition yet (annotation set ${ageOf(new Date(setAt).toISOString(), now)} ago)` };
    }
    const since = setAt === undefined ? "" : ` ${ageOf(new Date(setAt).toISOString(), now)} after the annotation was set`;
    const what = cond ? reported! : `does not report the ${CONDITION_TYPES.maintenance} condition`;
    return {
      text: `${what}${since}`,
      warning: `warning: maintenance is on but the operator has not reported it${since}: the operator may not be running (${OPERATOR_PODS_HINT}) or may predate maintenance mode; until it does, automatic failover is NOT known to be paused`,
    };
  }
  if (cond?.status === "True") return { text: `${reported!}; it turns it off on its next poll` };
  return { text: reported ?? `no ${CONDITION_TYPES.maintenance} condition reported` };
}

/** `maintenance status <group>` as text (stdout) and warnings (stderr). */
export function renderMaintenanceStatus(g: MysqlFailoverGroup, now: number, c: ChalkInstance): { stdout: string; warnings: string[] } {
  const key = `${g.metadata.namespace ?? ""}/${g.metadata.name ?? ""}`;
  const { raw, invalid, state } = annotationState(g, now);
  const fields: [string, string][] = [["Group", key]];
  const warnings: string[] = [];
  let m: Maintenance | undefined;
  if (invalid) {
    fields.push(["Maintenance", `${c.red("off")}: the annotation is invalid (${invalid}); automatic failover stays on`]);
    fields.push(["Annotation", raw ?? ""]);
  } else if (state.active) {
    m = state.maintenance;
    fields.push(["Maintenance", c.yellow("on")]);
    fields.push(["Until", formatTime(m.until)]);
    fields.push(["Remaining", formatDuration(Math.round(state.remainingMs / 1000) * 1000)]);
  } else if (state.expired) {
    m = state.expired;
    fields.push(["Maintenance", `off (expired at ${formatTime(m.until)}; the annotation can be removed with maintenance off)`]);
  } else {
    fields.push(["Maintenance", "off"]);
  }
  if (m?.reason) fields.push(["Reason", m.reason]);
  if (m?.by) fields.push(["By", m.by]);
  const setAt = raw === undefined ? undefined : annotationSetAt(g, ANNOTATIONS.maintenance);
  if (setAt !== undefined) fields.push(["Set", `${formatTime(new Date(setAt).toISOString())} (${ageOf(new Date(setAt).toISOString(), now)} ago)`]);
  const view = operatorView(g, state.active, now);
  fields.push(["Operator", view.text]);
  if (view.warning) warnings.push(view.warning);
  if (state.active) fields.push(...MAINTENANCE_EFFECTS.map(([k, v]) => [k, v] as [string, string]));
  return { stdout: renderFields(fields, { styleLabel: (t) => c.bold(t) }), warnings };
}

interface OnOptions {
  for?: string;
  until?: string;
  reason?: string;
  dryRun?: boolean;
}

export function registerMaintenanceCommand(program: Command): void {
  const maintenance = program
    .command("maintenance")
    .description("pause automatic failover of a group for a while (on, off, status)")
    .addHelpText(
      "after",
      `
While maintenance is on, the operator does not fail over on its own and does not resolve split
brain. It keeps fencing writable sites that may not be primary, polling, reporting status and
events, and planned failovers still run. Maintenance always ends by itself (default 1h, at
most 7 days). on and off take --dry-run: check and print the annotation change, write nothing.

Examples:
  $ kubectl bloodraven maintenance on orders --for 2h --reason "network work in iad"
  $ kubectl bloodraven maintenance on orders --until 2026-11-22T06:00:00Z
  $ kubectl bloodraven maintenance status orders
  $ kubectl bloodraven maintenance off orders`,
    );

  maintenance
    .command("on")
    .argument("<group>", "name of the MysqlFailoverGroup")
    .description("turn maintenance on (or replace the current one)")
    .option("--for <duration>", `how long, e.g. 30m, 2h or 1d (default ${formatDuration(DEFAULT_MAINTENANCE_MS)}, at most 7d)`)
    .option("--until <time>", "end time, RFC 3339 (e.g. 2026-11-22T06:00:00Z); instead of --for")
    .option("--reason <text>", "why, for whoever looks at the group next")
    .addOption(dryRunOption())
    .action(async function (this: Command, name: string, opts: OnOptions) {
      // Flags first: a bad value is exit 2 before anything is read or written.
      const probe = buildMaintenance(opts, Date.now());
      if (!probe.ok) usageError(this, probe.error);
      const ctx = await connect(this);
      const group = await readGroupForWrite(this, ctx, name);
      const before = annotationState(group, Date.now()).state;
      const user = ctx.config.getCurrentUser();
      const built = buildMaintenance({ ...opts, by: whoAmI(user?.impersonateUser || user?.name) }, Date.now());
      if (!built.ok) usageError(this, built.error);
      const m = built.value;
      if (opts.dryRun) {
        reportDryRun(this, group, { [ANNOTATIONS.maintenance]: formatMaintenance(m) });
        return;
      }
      await postAnnotations(this, ctx, group, { [ANNOTATIONS.maintenance]: formatMaintenance(m) });
      const key = `${ctx.namespace}/${name}`;
      let out = `maintenance on for ${key} until ${formatTime(m.until)} (${formatDuration(Math.round(built.durationMs / 1000) * 1000)} from now)${m.reason ? `: ${m.reason}` : ""}\n`;
      if (before.active && before.maintenance.until !== m.until) out += `  (replaces the maintenance until ${formatTime(before.maintenance.until)}${before.maintenance.by ? ` by ${before.maintenance.by}` : ""})\n`;
      out += renderFields(
        [...MAINTENANCE_EFFECTS, ["Ends", `by itself at ${formatTime(m.until)}; early with: kubectl bloodraven maintenance off ${name} -n ${ctx.namespace}`]],
        { indent: "  " },
      );
      writeOut(this, out);
    });

  maintenance
    .command("off")
    .argument("<group>", "name of the MysqlFailoverGroup")
    .description("turn maintenance off: automatic failover resumes")
    .addOption(dryRunOption())
    .action(async function (this: Command, name: string, opts: { dryRun?: boolean }) {
      const ctx = await connect(this);
      const group = await readGroupForWrite(this, ctx, name);
      const key = `${ctx.namespace}/${name}`;
      const { raw, state } = annotationState(group, Date.now());
      if (raw === undefined) {
        writeOut(this, `${key} is not in maintenance; nothing to do\n`);
        return;
      }
      if (opts.dryRun) {
        reportDryRun(this, group, { [ANNOTATIONS.maintenance]: null });
        return;
      }
      await postAnnotations(this, ctx, group, { [ANNOTATIONS.maintenance]: null });
      const was = state.active ? "" : state.expired ? ` (it had expired at ${formatTime(state.expired.until)})` : " (the annotation was invalid)";
      writeOut(this, `maintenance off for ${key}${was}: automatic failover and split-brain resolution resume on the operator's next poll\n`);
    });

  maintenance
    .command("status")
    .argument("<group>", "name of the MysqlFailoverGroup")
    .description("show whether maintenance is on, until when, why, by whom, and whether the operator reports it")
    .action(async function (this: Command, name: string) {
      const ctx = await connect(this);
      let group: MysqlFailoverGroup;
      try {
        group = await ctx.kube.getFailoverGroup(ctx.namespace, name);
      } catch (err) {
        throw explainApiError(err, { verb: "get", namespace: ctx.namespace, name }, ctx);
      }
      const r = renderMaintenanceStatus(group, Date.now(), colors(useColor()));
      writeOut(this, r.stdout);
      for (const w of r.warnings) writeErr(this, `${w}\n`);
    });
}
