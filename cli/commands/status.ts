/**
 * `status [group]`: what an on-call engineer needs first. Without a group, a table of groups
 * (like `kubectl get`); with one, a report: active site and why there is none, readiness, the
 * last failover and the cooldown, every site, the planned failover, divergent transactions with
 * the command that fixes them, conditions. `--watch` redraws on every change from a real watch.
 * Rendering is pure (functions of the objects and a clock); only the action talks to the API.
 */
import { Option, type Command } from "commander";
import type { ChalkInstance } from "chalk";
import { DEFAULTS, siteSummary, type Condition, type MysqlFailoverGroup, type RestoreStatus, type SiteStatus } from "../../shared/api/index.js";
import { formatDuration, parseDuration } from "../../shared/duration.js";
import { GtidSet } from "../../shared/gtid/gtid-set.js";
import { annotatedTime, newerRecord, statusTime, type RecordTime } from "../../shared/failover/record.js";
import { cooldown } from "../../shared/failover/cooldown.js";
import { CONDITION_TYPES, FAILOVER_GROUP, type SiteState } from "../../shared/names.js";
import { ageOf, colors, formatAge, formatBytes, formatLag, formatTime, renderFields, renderTable, useColor } from "../format.js";
import { connect, explainApiError, usageError, writeErr, writeOut, type KubeContext } from "../kube-context.js";
import { isFatalReadError, watchGroups, type WatchHandle } from "../group-watch.js";

export const OUTPUT_FORMATS = ["table", "wide", "json", "yaml"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Where the operator runs by default (the seeds' install); named in the staleness warning. */
export const OPERATOR_NAMESPACE = "bloodraven";
const OPERATOR_SELECTOR = "app.kubernetes.io/name=bloodraven";
/** Field manager of the operator's status writes (shared/kube/client.ts FIELD_MANAGER). */
const OPERATOR_FIELD_MANAGER = "bloodraven";
/**
 * The operator rewrites status at once on any material change, and every 30-45 s (jittered)
 * when only lastSeen, GTIDs or lag moved. Three missed polls plus that refresh plus margin.
 */
const STATUS_REFRESH_SLACK_MS = 60_000;

export interface RenderOptions {
  now: number;
  c: ChalkInstance;
  wide?: boolean;
}

interface StatusOptions {
  allNamespaces?: boolean;
  output: OutputFormat;
  watch?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Small accessors

const key = (g: MysqlFailoverGroup): string => `${g.metadata.namespace ?? ""}/${g.metadata.name ?? ""}`;

function condition(g: MysqlFailoverGroup, type: string): Condition | undefined {
  return g.status?.conditions?.find((c) => c.type === type);
}

/** Site states in spec order; a spec site the operator has not reported counts as unknown (X). */
function siteStates(g: MysqlFailoverGroup): SiteState[] {
  const reported = new Map((g.status?.sites ?? []).map((s) => [s.name, s.state]));
  const specNames = (g.spec?.sites ?? []).map((s) => s.name);
  const extra = [...reported.keys()].filter((n) => !specNames.includes(n));
  return [...specNames, ...extra].map((n) => reported.get(n) ?? "unknown");
}

/**
 * The last failover as the operator counts it: the newer of status.lastFailover and the
 * last-failover annotation (shared/failover/record.ts), shown also when it names no target.
 */
export function effectiveLastFailover(g: MysqlFailoverGroup): RecordTime | undefined {
  return newerRecord(statusTime(g.status), annotatedTime(g.metadata.annotations));
}

function durationMs(text: string | undefined, fallback: string): number {
  try {
    return parseDuration(text ?? fallback);
  } catch {
    return parseDuration(fallback);
  }
}

/** Time left of spec.failoverCooldown after the last failover; 0 when none is running. */
export function cooldownRemainingMs(g: MysqlFailoverGroup, now: number): number {
  const c = cooldown(effectiveLastFailover(g)?.at, durationMs(g.spec?.failoverCooldown, DEFAULTS.failoverCooldown), now);
  return c.active && !c.unreadable ? c.untilMs - now : 0;
}

/**
 * When the operator last wrote this group's status: the latest of the sites' lastSeen, the
 * conditions' transition times and the operator's own status write (managedFields).
 */
export function statusUpdatedAt(g: MysqlFailoverGroup): number | undefined {
  const times = [
    ...(g.status?.sites ?? []).map((s) => s.lastSeen),
    ...(g.status?.conditions ?? []).map((c) => c.lastTransitionTime),
    // Typed as Date by client-node, but the JSON from the API server holds the RFC 3339 text.
    ...(g.metadata.managedFields ?? []).filter((f) => f.manager === OPERATOR_FIELD_MANAGER && f.subresource === "status").map((f) => f.time as unknown as string | undefined),
  ]
    .map((t) => (t === undefined ? NaN : Date.parse(t)))
    .filter((t) => !Number.isNaN(t));
  return times.length === 0 ? undefined : Math.max(...times);
}

/**
 * A warning when the status looks abandoned: older than 3 poll intervals plus the operator's
 * periodic refresh, or never written for a group older than that. Not while every site is down:
 * status then legitimately stays unchanged.
 */
export function stalenessWarning(g: MysqlFailoverGroup, now: number, prefix = ""): string | undefined {
  const limit = 3 * durationMs(g.spec?.pollInterval, DEFAULTS.pollInterval) + STATUS_REFRESH_SLACK_MS;
  if (condition(g, CONDITION_TYPES.degraded)?.reason === "TotalLoss") return undefined;
  const hint = `is the operator running? (kubectl get pods -n ${OPERATOR_NAMESPACE} -l ${OPERATOR_SELECTOR})`;
  const updated = statusUpdatedAt(g);
  if (updated === undefined) {
    const created = Date.parse(String(g.metadata.creationTimestamp ?? ""));
    if (Number.isNaN(created) || now - created <= limit) return undefined;
    return `warning: ${prefix}no status reported since the group was created ${formatAge(now - created)} ago; ${hint}`;
  }
  if (now - updated <= limit) return undefined;
  return `warning: ${prefix}status last updated ${formatAge(now - updated)} ago; ${hint}`;
}

// ---------------------------------------------------------------------------------------------
// The list

function plannedColumn(g: MysqlFailoverGroup): string {
  const pf = g.status?.plannedFailover;
  if (!pf) return "-";
  return pf.phase === "Failed" ? `Failed(${pf.reason || "Unknown"})` : pf.phase;
}

function recoveryColumn(g: MysqlFailoverGroup): string {
  const site = (g.status?.sites ?? []).find((s) => s.recoveryState);
  return site ? `${site.name}=${site.recoveryState}` : "-";
}

function readyText(g: MysqlFailoverGroup, c: ChalkInstance): string {
  const status = condition(g, CONDITION_TYPES.ready)?.status;
  if (status === "True") return c.green(status);
  if (status === "False") return c.red(status);
  return status ?? "-";
}

/** The group table: NAME ACTIVE READY SITES AGE, [NAMESPACE] first with -A, more columns with -o wide. */
export function renderGroupList(groups: readonly MysqlFailoverGroup[], opts: RenderOptions & { allNamespaces?: boolean }): string {
  const { now, c } = opts;
  const sorted = [...groups].sort((a, b) => key(a).localeCompare(key(b)));
  const headers = [...(opts.allNamespaces ? ["NAMESPACE"] : []), "NAME", "ACTIVE", "READY", "SITES", "AGE", ...(opts.wide ? ["PLANNED", "LAST-FAILOVER", "RECOVERY"] : [])];
  const rows = sorted.map((g) => [
    ...(opts.allNamespaces ? [g.metadata.namespace ?? ""] : []),
    g.metadata.name ?? "",
    g.status?.activeSite || "-",
    readyText(g, c),
    siteSummary(siteStates(g)),
    ageOf(g.metadata.creationTimestamp as unknown as string, now),
    ...(opts.wide ? [plannedColumn(g), ageOf(effectiveLastFailover(g)?.at, now), recoveryColumn(g)] : []),
  ]);
  return renderTable(headers, rows);
}

// ---------------------------------------------------------------------------------------------
// One group

function stateText(state: SiteState | undefined, c: ChalkInstance): string {
  switch (state) {
    case "writable":
      return c.green(state);
    case "unreachable":
      return c.red(state);
    case "unknown":
      return c.yellow(state);
    default:
      return state ?? "-";
  }
}

function replText(s: SiteStatus | undefined): string {
  if (s?.replicating === undefined) return "-";
  if (s.replicating) return "yes";
  // A primary that does not replicate is the normal case, not a fault.
  return s.state === "writable" ? "-" : "no";
}

function endpointText(g: MysqlFailoverGroup, name: string): string {
  const spec = g.spec?.sites?.find((s) => s.name === name);
  if (spec?.endpoint) return `${spec.endpoint.host}:${spec.endpoint.port ?? DEFAULTS.site.endpointPort}`;
  if (spec?.zone) return `zone ${spec.zone}`;
  return "-";
}

function activeSiteText(g: MysqlFailoverGroup, c: ChalkInstance): string {
  if (g.status?.activeSite) return c.green(g.status.activeSite);
  if (!g.status) return c.red("none") + " (the operator has not reported on this group yet)";
  const degraded = condition(g, CONDITION_TYPES.degraded);
  if (degraded?.status === "True") return `${c.red("none")} (${degraded.reason}: ${degraded.message})`;
  return c.red("none");
}

function readyLine(g: MysqlFailoverGroup, c: ChalkInstance): string {
  const ready = condition(g, CONDITION_TYPES.ready);
  if (!ready) return "Unknown (no Ready condition yet)";
  return `${readyText(g, c)} (${ready.reason})`;
}

function cooldownLine(g: MysqlFailoverGroup, now: number): string {
  const cooldown = g.spec?.failoverCooldown ?? DEFAULTS.failoverCooldown;
  const remaining = cooldownRemainingMs(g, now);
  if (remaining <= 0) return `none (failoverCooldown ${cooldown})`;
  const until = new Date(now + remaining).toISOString();
  return `${formatDuration(Math.ceil(remaining / 1000) * 1000)} remaining, until ${formatTime(until)} (failoverCooldown ${cooldown})`;
}

function section(title: string, c: ChalkInstance): string {
  return `\n${c.bold(title)}\n`;
}

function divergentCount(site: SiteStatus): string {
  if (site.divergentTransactionCount !== undefined) return String(site.divergentTransactionCount);
  try {
    return String(GtidSet.parse(site.divergentGtid ?? "").count());
  } catch {
    return "unknown";
  }
}

/** `Ready`, or the phase of a pod that is not; restarts when there were any; `-` for no pod (an external site). */
function podText(site: SiteStatus | undefined): string {
  const pod = site?.pod;
  if (!pod) return "-";
  const state = pod.ready ? "Ready" : pod.phase === "Running" ? "Running, not Ready" : pod.phase;
  return pod.restarts > 0 ? `${state} (${pod.restarts} restart${pod.restarts === 1 ? "" : "s"})` : state;
}

/** The report for one group, as printed by `status <group>` (-o table / wide). */
export function renderGroupDetail(g: MysqlFailoverGroup, opts: RenderOptions): string {
  const { now, c } = opts;
  const ns = g.metadata.namespace ?? "";
  const name = g.metadata.name ?? "";
  const status = g.status;
  let out = "";

  const last = effectiveLastFailover(g);
  const header: [string, string][] = [
    ["Group", `${ns}/${name}`],
    ["Active site", activeSiteText(g, c)],
    ["Ready", readyLine(g, c)],
  ];
  if (g.spec?.dns?.hostname) header.push(["DNS", `${g.spec.dns.hostname} (TTL ${g.spec.dns.ttl ?? DEFAULTS.dns.ttl}s)`]);
  header.push(["Last failover", last ? `${formatTime(last.at)} (${ageOf(last.at, now)} ago)${last.target ? `, target ${last.target}` : ""}` : "never"]);
  header.push(["Cooldown", cooldownLine(g, now)]);
  const generation = g.metadata.generation;
  if (status?.observedGeneration !== undefined && generation !== undefined && status.observedGeneration < generation) {
    header.push(["Generation", `${generation}, but status is for ${status.observedGeneration}: the operator has not acted on the latest spec yet`]);
  }
  out += renderFields(header, { styleLabel: (t) => c.bold(t) });

  // Sites, in spec order, then any the status still lists but the spec dropped.
  const reported = new Map((status?.sites ?? []).map((s) => [s.name, s]));
  const specSites = g.spec?.sites ?? [];
  const names = [...specSites.map((s) => s.name), ...[...reported.keys()].filter((n) => !specSites.some((s) => s.name === n))];
  // Managed sites: the pod beside the server's state, for the moments they disagree (starting, rolling).
  const pods = specSites.some((x) => x.storage !== undefined) || [...reported.values()].some((s) => s.pod);
  const headers = ["NAME", "ROLE", "STATE", ...(pods ? ["POD"] : []), "REPL", "LAG", "RECOVERY", "LAST-SEEN", ...(opts.wide ? ["ENDPOINT", "SOURCE"] : [])];
  const rows = names.map((site) => {
    const s = reported.get(site);
    const role = specSites.find((x) => x.name === site)?.role ?? (specSites.some((x) => x.name === site) ? DEFAULTS.site.role : "-");
    return [
      site,
      role,
      stateText(s?.state, c),
      ...(pods ? [podText(s)] : []),
      replText(s),
      formatLag(s?.secondsBehindSource),
      s?.recoveryState || "-",
      ageOf(s?.lastSeen, now),
      ...(opts.wide ? [endpointText(g, site), s?.sourceHost || "-"] : []),
    ];
  });
  out += section("Sites:", c) + renderTable(headers, rows, { indent: "  " });

  const errors = names.map((n) => [n, reported.get(n)?.lastError ?? ""] as const).filter(([, e]) => e !== "");
  if (errors.length > 0) {
    out += section("Site errors:", c) + errors.map(([n, e]) => `  ${n}: ${e}\n`).join("");
  }

  const at = (t: string | undefined) => `${formatTime(t)} (${ageOf(t, now)} ago)`;
  const pf = status?.plannedFailover;
  if (pf) {
    const fields: [string, string][] = [["Phase", pf.phase === "Failed" && pf.reason ? `Failed (${pf.reason})` : pf.phase]];
    if (pf.target) fields.push(["Target", pf.target]);
    if (pf.source) fields.push(["Source", pf.source]);
    if (pf.reason && pf.phase !== "Failed") fields.push(["Reason", pf.reason]);
    if (pf.message) fields.push(["Message", pf.message]);
    if (pf.startTime) fields.push(["Started", at(pf.startTime)]);
    if (pf.phaseTime && !pf.completionTime) fields.push(["In phase since", at(pf.phaseTime)]);
    if (pf.completionTime) fields.push(["Completed", at(pf.completionTime)]);
    if (pf.startTime && pf.completionTime) {
      const ms = Date.parse(pf.completionTime) - Date.parse(pf.startTime);
      if (ms >= 0) fields.push(["Duration", formatDuration(Math.round(ms / 1000) * 1000)]);
    }
    if (pf.retryAfter) fields.push(["Retry after", formatTime(pf.retryAfter)]);
    if (pf.maxLagWait) fields.push(["Max lag wait", pf.maxLagWait]);
    if (pf.transactionsLost !== undefined) fields.push(["Transactions lost", String(pf.transactionsLost)]);
    out += section("Planned failover:", c) + renderFields(fields, { indent: "  " });
  }

  const restoreFields = (restore: RestoreStatus, extra: (fields: [string, string][]) => void = () => undefined): [string, string][] => {
    const fields: [string, string][] = [["Phase", restore.phase]];
    if (restore.site) fields.push(["Site", restore.site]);
    if (restore.backup) fields.push(["Backup", restore.backup]);
    if (restore.message) fields.push(["Message", restore.message]);
    if (restore.startTime) fields.push(["Started", at(restore.startTime)]);
    extra(fields);
    if (restore.stagedTime) fields.push(["Staged", at(restore.stagedTime)]);
    if (restore.completionTime) fields.push(["Completed", at(restore.completionTime)]);
    if (restore.gtid) fields.push(["Position", restore.backupGtid && restore.backupGtid !== restore.gtid ? `${restore.gtid} (the backup's ${restore.backupGtid}, then replayed)` : restore.gtid]);
    if (restore.replayedToTime) fields.push(["Replayed to", formatTime(restore.replayedToTime)]);
    if (restore.phase === "Failed" && restore.jobName && !restore.stagedTime) fields.push(["Job log", c.cyan(`kubectl logs job/${restore.jobName} -n ${ns}`)]);
    return fields;
  };
  const restore = status?.restore;
  if (restore) out += section("Initial restore (initFromBackup):", c) + renderFields(restoreFields(restore), { indent: "  " });
  const inPlace = status?.restoreInPlace;
  if (inPlace) {
    const fields = restoreFields(inPlace, (f) => {
      if (inPlace.confirm) f.push(["Confirmed", formatTime(inPlace.confirm)]);
      if (inPlace.fencedTime) f.push(["Fenced", at(inPlace.fencedTime)]);
      if (inPlace.discardedFrom !== undefined) f.push(["Discarded from", inPlace.discardedFrom || "no transactions"]);
    });
    if (inPlace.resumedTime) fields.push(["Writable again", at(inPlace.resumedTime)]);
    if (inPlace.recloning?.length) fields.push(["Recloning", inPlace.recloning.join(", ")]);
    out += section("Restore in place (restoreInPlace):", c) + renderFields(fields, { indent: "  " });
  }

  const cache = status?.dragonfly;
  if (cache) {
    const fields: [string, string][] = [
      ["Phase", cache.phase === "Ready" ? c.green(cache.phase) : cache.phase === "Degraded" ? c.yellow(cache.phase) : cache.phase],
      ["Master", cache.activeSite ?? "none"],
    ];
    if (cache.message) fields.push(["Message", cache.message]);
    if (cache.lastPromotionTime) fields.push(["Last promotion", `${formatTime(cache.lastPromotionTime)} (${ageOf(cache.lastPromotionTime, now)} ago), ${cache.lastPromotionTarget ?? "?"} by ${cache.lastPromotionMethod ?? "?"}`]);
    const cacheRows = (cache.sites ?? []).map((s) => [
      s.name,
      s.role === "master" || s.role === "replica" ? s.role : c.red(s.role),
      s.ready ? "true" : "false",
      s.linkStatus === undefined ? "-" : `${s.linkStatus}${s.syncInProgress ? " (full copy)" : ""}`,
      s.lastIOSecondsAgo === undefined ? "-" : `${s.lastIOSecondsAgo}s`,
      s.keys === undefined ? "-" : String(s.keys),
      s.error ?? "-",
    ]);
    out += section("Session cache (Dragonfly):", c) + renderFields(fields, { indent: "  " }) + renderTable(["NAME", "ROLE", "READY", "LINK", "LAST-IO", "KEYS", "ERROR"], cacheRows, { indent: "  " });
  }

  const pitr = status?.pitr;
  if (pitr) {
    const fields: [string, string][] = [["Reaches", pitr.newestTransactionTime ? `${formatTime(pitr.newestTransactionTime)} (${ageOf(pitr.newestTransactionTime, now)} ago)` : "nothing archived yet"]];
    if (pitr.floor) fields.push(["Pruned to", `${pitr.floor} (what every retained backup holds)`]);
    const archiveRows = (pitr.sites ?? []).map((s) => [
      s.name,
      s.primary ? "true" : "false",
      String(s.filesArchived),
      formatBytes(s.bytesArchived),
      s.lastArchivedTime ? `${s.lastArchivedFile ?? "?"} (${ageOf(s.lastArchivedTime, now)} ago)` : "-",
      s.backlogFiles > 0 ? c.yellow(String(s.backlogFiles)) : "0",
      String(s.filesPruned ?? 0),
      s.error ? c.red(s.error) : "-",
    ]);
    out += section("PITR archive:", c) + renderFields(fields, { indent: "  " }) + renderTable(["SITE", "PRIMARY", "FILES", "SIZE", "LAST-ARCHIVED", "BACKLOG", "PRUNED", "ERROR"], archiveRows, { indent: "  " });
  }

  for (const site of status?.sites ?? []) {
    if (!site.divergentGtid) continue;
    const title = `Divergent transactions on ${site.name}${site.recoveryState ? ` (${site.recoveryState})` : ""}:`;
    out +=
      section(title, c) +
      `  ${site.name} committed transactions the active primary never received. Review them first\n` +
      `  (kubectl bloodraven runbook divergent-old-primary): ${site.name} holds the only copy, and a clone destroys it:\n` +
      renderFields(
        [
          ["GTID set", site.divergentGtid],
          ["Transactions", divergentCount(site)],
          ["Reclone", c.cyan(`kubectl bloodraven reclone ${name} ${site.name} -n ${ns}`)],
          ["Note", "the operator clones through the site's agent; a site without one is refused: rebuild it by hand (kubectl bloodraven runbook pvc-loss)"],
        ],
        { indent: "  " },
      );
  }

  const conditions = status?.conditions ?? [];
  if (conditions.length > 0) {
    const condRows = conditions.map((cond) => [
      cond.type,
      cond.status,
      cond.reason,
      ageOf(cond.lastTransitionTime, now),
      cond.message,
    ]);
    out += section("Conditions:", c) + renderTable(["TYPE", "STATUS", "REASON", "AGE", "MESSAGE"], condRows, { indent: "  " });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Machine output

/** A List like `kubectl get -o json` prints for several objects; the items exactly as served. */
export function asList(groups: readonly MysqlFailoverGroup[]): object {
  return { apiVersion: "v1", items: groups, kind: "List", metadata: { resourceVersion: "" } };
}

/** The YAML printer, loaded only when -o yaml asks for it (startup time). */
let yamlStringify: ((value: unknown, options: { lineWidth: number }) => string) | undefined;

export async function loadYamlPrinter(): Promise<void> {
  yamlStringify ??= (await import("yaml")).stringify;
}

/** JSON with kubectl's four-space indent, or YAML (call loadYamlPrinter first). */
export function renderMachine(value: object, format: "json" | "yaml"): string {
  if (format === "json") return `${JSON.stringify(value, null, 4)}\n`;
  if (!yamlStringify) throw new Error("renderMachine: loadYamlPrinter() was not awaited");
  return yamlStringify(value, { lineWidth: 0 });
}

// ---------------------------------------------------------------------------------------------
// The command

interface Target {
  /** Undefined with -A. */
  namespace: string | undefined;
  name: string | undefined;
}

interface Snapshot {
  groups: MysqlFailoverGroup[];
  resourceVersion: string;
}

async function read(ctx: KubeContext, target: Target): Promise<Snapshot> {
  if (target.name !== undefined) {
    const namespace = target.namespace!;
    try {
      const g = await ctx.kube.getFailoverGroup(namespace, target.name);
      return { groups: [g], resourceVersion: g.metadata.resourceVersion ?? "" };
    } catch (err) {
      throw explainApiError(err, { verb: "get", namespace, name: target.name }, ctx);
    }
  }
  try {
    const list = await ctx.kube.listFailoverGroups(target.namespace);
    return { groups: list.items, resourceVersion: list.metadata?.resourceVersion ?? "" };
  } catch (err) {
    throw explainApiError(err, { verb: "list", ...(target.namespace !== undefined ? { namespace: target.namespace } : {}) }, ctx);
  }
}

interface Rendering {
  stdout: string;
  /** Stderr lines: the empty-list notice and staleness warnings. */
  notes: string[];
}

function render(groups: readonly MysqlFailoverGroup[], target: Target, opts: StatusOptions, now: number, c: ChalkInstance): Rendering {
  const notes: string[] = [];
  if (opts.output === "json" || opts.output === "yaml") {
    const value = target.name !== undefined ? groups[0] : asList(groups);
    return { stdout: value ? renderMachine(value, opts.output) : "", notes };
  }
  const wide = opts.output === "wide";
  if (target.name !== undefined) {
    const g = groups[0];
    if (!g) return { stdout: `${FAILOVER_GROUP.kind} ${target.namespace}/${target.name} does not exist (deleted?)\n`, notes };
    const stale = stalenessWarning(g, now);
    if (stale) notes.push(stale);
    return { stdout: renderGroupDetail(g, { now, c, wide }), notes };
  }
  if (groups.length === 0) {
    notes.push(target.namespace === undefined ? `No ${FAILOVER_GROUP.kind}s found.` : `No ${FAILOVER_GROUP.kind}s found in ${target.namespace} namespace.`);
    return { stdout: "", notes };
  }
  for (const g of [...groups].sort((a, b) => key(a).localeCompare(key(b)))) {
    const stale = stalenessWarning(g, now, `${key(g)}: `);
    if (stale) notes.push(stale);
  }
  return { stdout: renderGroupList(groups, { now, c, wide, allNamespaces: target.namespace === undefined }), notes };
}

export function registerStatusCommand(program: Command): void {
  program
    .command("status")
    .argument("[group]", "name of a MysqlFailoverGroup; without it, list the groups")
    .description("show the failover groups of a namespace, or one group in detail")
    .option("-A, --all-namespaces", "list the groups of every namespace")
    .addOption(new Option("-o, --output <format>", "output format").choices(OUTPUT_FORMATS).default("table"))
    .option("-w, --watch", "keep watching and redraw on every change (Ctrl-C ends)")
    .addHelpText(
      "after",
      `
Without a group the columns are NAME, ACTIVE (the writable site), READY, SITES (writable W /
read-only RO / unreachable or unknown X) and AGE; -o wide adds PLANNED (planned failover phase),
LAST-FAILOVER and RECOVERY. With a group it prints the sites, the planned failover, divergent
transactions with the command that recovers them, and the conditions. -o json|yaml print the
objects as the API server returns them. A warning on stderr says when the status looks stale.

Examples:
  $ kubectl bloodraven status                  # groups in the current namespace
  $ kubectl bloodraven status -A -o wide       # every namespace, more columns
  $ kubectl bloodraven status orders -n shop   # one group in detail
  $ kubectl bloodraven status orders --watch   # redraw on every change`,
    )
    .action(async function (this: Command, name: string | undefined, opts: StatusOptions) {
      if (name !== undefined && opts.allNamespaces) usageError(this, "a group name cannot be combined with -A/--all-namespaces");
      if (opts.output === "yaml") await loadYamlPrinter();
      const ctx = await connect(this);
      const target: Target = { namespace: opts.allNamespaces ? undefined : ctx.namespace, name };
      const c = colors(useColor());
      const snapshot = await read(ctx, target);
      if (!opts.watch) {
        const r = render(snapshot.groups, target, opts, Date.now(), c);
        writeOut(this, r.stdout);
        for (const note of r.notes) writeErr(this, `${note}\n`);
        return;
      }
      await watchStatus(this, ctx, target, snapshot, (groups, now) => render(groups, target, opts, now, c), opts.output);
      // Ctrl-C ended the watch: leave now rather than when pooled keep-alive sockets time out.
      process.exit(0);
    });
}

// ---------------------------------------------------------------------------------------------
// --watch

const TTY_REFRESH_MS = 5_000;

/**
 * Redraws after every change seen by a watch on the group or the list (group-watch.ts: it
 * reconnects and re-reads by itself; only RBAC and credential errors end it). On a terminal
 * the screen is cleared for each drawing (and redrawn every few seconds so ages tick); otherwise
 * each drawing follows the previous one after a blank line. Ctrl-C ends with exit code 0.
 * --request-timeout bounds the initial read and re-reads, not the watch itself.
 */
async function watchStatus(
  command: Command,
  ctx: KubeContext,
  target: Target,
  first: Snapshot,
  draw: (groups: MysqlFailoverGroup[], now: number) => Rendering,
  format: OutputFormat,
): Promise<void> {
  const tty = process.stdout.isTTY === true;
  const cache = new Map(first.groups.map((g) => [key(g), g]));
  let drawn = 0;
  let lastNotes = "";

  const redraw = () => {
    const r = draw([...cache.values()], Date.now());
    if (tty) {
      writeOut(command, `\u001b[H\u001b[2J${r.stdout}`);
      for (const note of r.notes) writeErr(command, `${note}\n`);
      return;
    }
    const separator = drawn === 0 ? "" : format === "yaml" ? "---\n" : "\n";
    writeOut(command, separator + r.stdout);
    // Without a screen to clear, repeat notes only when they change in substance (not in age).
    const notes = r.notes.map((n) => n.replace(/\d+[smhdy]\S* ago/g, "")).join("\n");
    if (notes !== lastNotes) for (const note of r.notes) writeErr(command, `${note}\n`);
    lastNotes = notes;
    drawn++;
  };

  await new Promise<void>((resolve, reject) => {
    let stopped = false;
    let handle: WatchHandle | undefined;
    let drawTimer: NodeJS.Timeout | undefined;
    const tick = tty ? setInterval(redraw, TTY_REFRESH_MS) : undefined;

    const finish = (err?: Error) => {
      if (stopped) return;
      stopped = true;
      process.off("SIGINT", onInterrupt);
      clearTimeout(drawTimer);
      clearInterval(tick);
      handle?.stop();
      if (err) reject(err);
      else resolve();
    };
    const onInterrupt = () => finish();
    process.on("SIGINT", onInterrupt);
    // Drawn once Ctrl-C is ours: a Ctrl-C right after the first drawing still ends with exit 0.
    redraw();

    const scheduleDraw = () => {
      // Coalesce a burst of events into one drawing.
      if (drawTimer === undefined) drawTimer = setTimeout(() => ((drawTimer = undefined), redraw()), 50);
    };

    watchGroups(ctx, {
      ...(target.namespace !== undefined ? { namespace: target.namespace } : {}),
      ...(target.name !== undefined ? { name: target.name } : {}),
      resourceVersion: first.resourceVersion,
      relist: async () => {
        let snapshot: Snapshot;
        try {
          snapshot = await read(ctx, target);
        } catch (err) {
          if (!isFatalReadError(err)) throw err;
          finish(err);
          return undefined;
        }
        cache.clear();
        for (const g of snapshot.groups) cache.set(key(g), g);
        scheduleDraw();
        return snapshot.resourceVersion;
      },
      event: (phase, g) => {
        if (phase === "DELETED") cache.delete(key(g));
        else cache.set(key(g), g);
        scheduleDraw();
      },
      warning: (text) => writeErr(command, `warning: ${text}\n`),
      fatal: (err) => finish(err),
    }).then(
      (h) => {
        if (stopped) h.stop();
        else handle = h;
      },
      (err: unknown) => finish(err instanceof Error ? err : new Error(String(err))),
    );
  });
}
