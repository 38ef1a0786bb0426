/**
 * `reclone <group> <site>`: asks the operator to replace a site's data with a clone of the active
 * primary, by writing the reclone-site annotation. The request is built and judged with the
 * shared grammar and policy (shared/annotations.ts), so the plugin refuses exactly what the
 * operator would refuse, before anything is written. Because a reclone destroys data, the plugin
 * shows what will be lost and asks on a terminal; elsewhere it needs --yes. `--wait` then follows
 * the clone the request starts (reclone-wait.ts).
 */
import { Option, type Command } from "commander";
import type { ChalkInstance } from "chalk";
import { DEFAULTS, type MysqlFailoverGroup } from "../../shared/api/index.js";
import {
  formatRecloneSite,
  MIN_GTID_PREFIX_LENGTH,
  MIN_GTID_TEXT_LENGTH,
  requiredPrefixLength,
  parseRecloneSite,
  validateRecloneRequest,
  type RecloneContext,
  type RecloneRejectCode,
  type RecloneSiteRequest,
} from "../../shared/annotations.js";
import { formatDuration } from "../../shared/duration.js";
import { GtidSet } from "../../shared/gtid/gtid-set.js";
import { ANNOTATIONS } from "../../shared/names.js";
import { colors, renderFields, useColor } from "../format.js";
import { waitTimeout } from "../follow.js";
import { connect, usageError, writeErr, writeOut } from "../kube-context.js";
import { ask, dryRunOption, isInteractive, postAnnotations, readAndCheck, reportDryRun, requireConfirmation } from "../group-actions.js";
import { listRejections, rejectionMarks, waitForReclone, withdrawCommand, type RejectionMarks } from "../reclone-wait.js";

/** How much of divergentGtid the plugin quotes when no --gtid-prefix is given (the runbook's `${DG:0:12}`). */
export const AUTO_PREFIX_LENGTH = 12;
/** Characters the reclone grammar accepts in a prefix (shared/annotations.ts GTID_PREFIX). */
const PREFIX_CHAR = /[0-9A-Za-z_:,-]/;

export interface RecloneFlags {
  gtidPrefix?: string;
  cold?: boolean;
}

export interface ReclonePlan {
  request: RecloneSiteRequest;
  /** The annotation value to post. */
  value: string;
  site: string;
  role: string;
  state?: string;
  recoveryState?: string;
  activeSite: string;
  divergentGtid: string;
  /** Transactions in divergentGtid; undefined when neither reported nor countable. */
  divergentCount?: number;
}

export type RecloneCheck = { verdict: "post"; plan: ReclonePlan } | { verdict: "noop"; message: string } | { verdict: "reject"; message: string };

/** spec.sites merged with status.sites[].divergentGtid, as validateRecloneRequest wants it. */
export function recloneContext(g: MysqlFailoverGroup): RecloneContext {
  const reported = new Map((g.status?.sites ?? []).map((s) => [s.name, s.divergentGtid]));
  return {
    group: g.metadata.name ?? "",
    activeSite: g.status?.activeSite ?? "",
    sites: (g.spec?.sites ?? []).map((s) => {
      const divergentGtid = reported.get(s.name);
      return divergentGtid ? { name: s.name, divergentGtid } : { name: s.name };
    }),
  };
}

/**
 * The prefix the plugin quotes for a divergent set: its first 12 characters, stopping early at
 * anything the grammar cannot carry (MySQL puts a newline after each `,`). A set shorter than
 * that (MariaDB's `0-1-14`) is quoted whole. Undefined when the quotable part is too short for the
 * interlock: the grammar then cannot express the request.
 */
export function autoPrefix(divergentGtid: string): string | undefined {
  let prefix = "";
  for (const ch of divergentGtid) {
    if (prefix.length >= AUTO_PREFIX_LENGTH || !PREFIX_CHAR.test(ch)) break;
    prefix += ch;
  }
  return prefix.length >= requiredPrefixLength(divergentGtid) && prefix.length >= MIN_GTID_TEXT_LENGTH ? prefix : undefined;
}

/** What to do with the plugin, after the shared policy's reason (which speaks in annotations). */
function pluginHint(code: RecloneRejectCode, g: MysqlFailoverGroup, site: string): string {
  const cmd = `kubectl bloodraven reclone ${g.metadata.name ?? ""} ${site} -n ${g.metadata.namespace ?? ""}`;
  switch (code) {
    case "ConfirmRequired":
    case "ConfirmMismatch":
      return `; with the plugin: ${cmd} --cold`;
    case "PrefixRequired":
      return `; with the plugin, drop --cold and let it quote the divergent set: ${cmd}`;
    case "PrefixMismatch":
    case "PrefixTooShort":
      return `; or let the plugin quote it from the current status: ${cmd}`;
    default:
      return "";
  }
}

function countOf(divergentGtid: string, reported: number | undefined): number | undefined {
  if (reported !== undefined) return reported;
  try {
    return Number(GtidSet.parse(divergentGtid).count());
  } catch {
    return undefined;
  }
}

/**
 * Builds and judges the reclone request for `site` against the group as read. With --gtid-prefix
 * the prefix is used as given; with --cold the request is `<site>:confirm=<group>`; with neither,
 * the prefix comes from the site's divergentGtid, and a site without one needs --cold.
 */
export function checkReclone(g: MysqlFailoverGroup, site: string, flags: RecloneFlags): RecloneCheck {
  const context = recloneContext(g);
  const key = `${g.metadata.namespace ?? ""}/${context.group}`;
  const reject = (message: string): RecloneCheck => ({ verdict: "reject", message });

  // Unknown site and the active primary first: no flag changes those answers.
  const first = validateRecloneRequest({ site, kind: "bare" }, context);
  if (!first.accept && (first.code === "UnknownSite" || first.code === "ActivePrimary")) return reject(first.reason);

  const specSite = g.spec?.sites?.find((s) => s.name === site);
  const status = g.status?.sites?.find((s) => s.name === site);
  const divergent = status?.divergentGtid ?? "";

  let request: RecloneSiteRequest;
  if (flags.gtidPrefix !== undefined) {
    const parsed = parseRecloneSite(`${site}:${flags.gtidPrefix}`);
    if (!parsed.ok) return reject(`--gtid-prefix: ${parsed.error}`);
    if (parsed.value.kind !== "prefix") return reject(`--gtid-prefix takes the start of ${site}'s divergentGtid; for a cold reclone use --cold`);
    request = parsed.value;
  } else if (flags.cold) {
    request = { site, kind: "confirm", group: context.group };
  } else if (divergent.trim() === "") {
    return reject(
      `${site} has no divergentGtid in status, so this would be a cold reclone that replaces all its data (for a lost volume or an empty data directory); if that is what you want, rerun with --cold`,
    );
  } else {
    const prefix = autoPrefix(divergent);
    if (prefix === undefined) {
      return reject(
        `${site}'s divergentGtid ${JSON.stringify(divergent)} does not start with ${MIN_GTID_PREFIX_LENGTH} characters the reclone-site grammar can quote (it needs a prefix of at least ${MIN_GTID_PREFIX_LENGTH}), so this reclone cannot be requested through the annotation; see kubectl bloodraven runbook divergent-old-primary`,
      );
    }
    request = { site, kind: "prefix", prefix };
  }

  const verdict = validateRecloneRequest(request, context);
  if (!verdict.accept) return reject(`${verdict.reason}${pluginHint(verdict.code, g, site)}`);

  let value: string;
  try {
    value = formatRecloneSite(request);
  } catch (err) {
    return reject(err instanceof Error ? err.message : String(err));
  }

  const pending = g.metadata.annotations?.[ANNOTATIONS.recloneSite];
  if (pending !== undefined) {
    if (pending === value) return { verdict: "noop", message: `the same reclone request is already recorded on ${key} (${ANNOTATIONS.recloneSite}=${value}); nothing to do` };
    return reject(`another reclone request is already recorded on ${key} (${ANNOTATIONS.recloneSite}=${pending}); the operator removes it when that clone attempt ends. To replace it: ${withdrawCommand(g)}`);
  }

  const count = divergent ? countOf(divergent, status?.divergentTransactionCount) : undefined;
  return {
    verdict: "post",
    plan: {
      request,
      value,
      site,
      role: specSite?.role ?? DEFAULTS.site.role,
      ...(status?.state ? { state: status.state } : {}),
      ...(status?.recoveryState ? { recoveryState: status.recoveryState } : {}),
      activeSite: context.activeSite,
      divergentGtid: divergent,
      ...(count !== undefined ? { divergentCount: count } : {}),
    },
  };
}

/** What will be destroyed, shown before asking (and printed with --yes too, for the record). */
export function renderRecloneSummary(g: MysqlFailoverGroup, plan: ReclonePlan, c: ChalkInstance): string {
  const key = `${g.metadata.namespace ?? ""}/${g.metadata.name ?? ""}`;
  const source = plan.activeSite ? `the active primary ${plan.activeSite}` : "the active primary (none right now: the clone waits for one)";
  const state = [plan.state, plan.recoveryState].filter(Boolean).join(", ");
  const fields: [string, string][] = [
    ["Site", `${plan.site} (${plan.role}${state ? `; ${state}` : ""})`],
    ["Data destroyed", `everything in ${plan.site}'s MySQL data directory, replaced by a copy of ${plan.activeSite || "the active primary"}`],
  ];
  if (plan.divergentGtid) {
    fields.push(["Divergent set", plan.divergentGtid.replace(/\s+/g, "")]);
    fields.push([
      "Transactions",
      `${plan.divergentCount ?? "unknown number of"} committed only on ${plan.site}; lost for good unless saved first (kubectl bloodraven runbook divergent-old-primary)`,
    ]);
  } else {
    fields.push(["Divergent set", "none recorded: a cold reclone (lost volume, empty or broken data directory)"]);
  }
  fields.push(["Annotation", `${ANNOTATIONS.recloneSite}=${plan.value}`]);
  return `${c.bold(`Reclone of ${plan.site} in ${key}`)}: all its data is replaced by a clone of ${source}.\n${renderFields(fields, { indent: "  " })}`;
}

/** Said after posting: where the operator's answer shows. */
export const PROGRESS_NOTE =
  "the operator answers with a RecloneRequested or RecloneRejected event; progress is in the Bootstrapping condition and status.bootstrap";

/** The runbook of the situation a request is for: a divergent set was quoted, or the site's data is lost. */
export function recloneRunbook(request: RecloneSiteRequest): string {
  return request.kind === "prefix" ? "divergent-old-primary" : "pvc-loss";
}

interface RecloneOptions extends RecloneFlags {
  yes?: boolean;
  dryRun?: boolean;
  wait?: boolean;
  timeout: string;
}

export function registerRecloneCommand(program: Command): void {
  program
    .command("reclone")
    .argument("<group>", "name of the MysqlFailoverGroup")
    .argument("<site>", "the site whose data is replaced by a clone of the active primary")
    .description("replace a site's data with a clone of the active primary (divergent old primary, lost volume)")
    .addOption(new Option("--gtid-prefix <prefix>", `start of the site's status divergentGtid to quote (at least ${MIN_GTID_PREFIX_LENGTH} characters; default: its first ${AUTO_PREFIX_LENGTH})`).conflicts("cold"))
    .addOption(new Option("--cold", "the site has no divergentGtid: replace all its data (posts <site>:confirm=<group>)").conflicts("gtidPrefix"))
    .option("--wait", "follow the clone until it is Done or Failed")
    .option("--timeout <duration>", "with --wait: how long to wait", "30m")
    .option("-y, --yes", "do not ask for confirmation (required when stdin is not a terminal)")
    .addOption(dryRunOption())
    .addHelpText(
      "after",
      `
A site with divergent transactions (status.sites[].divergentGtid) is confirmed by quoting the
start of that set, which the plugin reads from status unless --gtid-prefix is given. A site
without one needs --cold. The plugin refuses the active primary, an unknown site, a prefix that
does not match and a second pending request, all with exit 2 and nothing written. It shows what
will be destroyed and asks on a terminal; elsewhere it refuses without --yes. --dry-run runs
the same checks, shows the same summary and prints the annotation instead of writing it (no
confirmation needed, since nothing is destroyed, and no waiting).

With --wait the plugin follows the clone this request starts (status.bootstrap, the
Bootstrapping condition; never an earlier clone) through Cloning, WaitingForRestart and
SetupReplication, and exits 0 on Done (printing the GTID the site started from), 1 on Failed,
on a rejection by the operator (its RecloneRejected event) or on --timeout (the clone goes on).
Ctrl-C stops waiting and leaves the request and the clone to the operator.

Examples:
  $ kubectl bloodraven reclone orders iad --wait          # divergent old primary
  $ kubectl bloodraven reclone orders iad --gtid-prefix 3e11fa47-71c
  $ kubectl bloodraven reclone orders pdx --cold --yes --wait --timeout 1h   # lost volume`,
    )
    .action(async function (this: Command, name: string, site: string, opts: RecloneOptions) {
      const timeoutMs = waitTimeout(this, opts);
      const ctx = await connect(this);
      const c = colors(useColor());
      const checked = await readAndCheck(this, ctx, name, (g) => checkReclone(g, site, opts));
      if (!checked) return;
      const { group } = checked;
      const { plan } = checked.check;
      writeOut(this, renderRecloneSummary(group, plan, c));
      if (opts.dryRun) {
        reportDryRun(this, group, { [ANNOTATIONS.recloneSite]: plan.value }, opts.wait ? `follow the clone until it ends, at most ${formatDuration(timeoutMs)} (--wait)` : undefined);
        return;
      }
      requireConfirmation(this, opts.yes, `a reclone destroys ${site}'s data`);
      if (!opts.yes && isInteractive()) {
        const answer = await ask(`Type the site name (${site}) to reclone it: `);
        if (answer.trim() !== site) usageError(this, "not confirmed; nothing was changed");
      }
      // Rejections recorded before the post are not this request's answer.
      const marks: RejectionMarks | Error | undefined = opts.wait ? await listRejections(ctx, name).then(rejectionMarks, (err: unknown) => (err instanceof Error ? err : new Error(String(err)))) : undefined;
      const posted = await postAnnotations(this, ctx, group, { [ANNOTATIONS.recloneSite]: plan.value }, (fresh) => {
        // The status may have moved while the human read the summary: the same request must still hold.
        const verdict = validateRecloneRequest(plan.request, recloneContext(fresh));
        if (!verdict.accept) usageError(this, `${verdict.reason} (the group changed while confirming; nothing was changed)`);
        const pending = fresh.metadata.annotations?.[ANNOTATIONS.recloneSite];
        if (pending !== undefined && pending !== plan.value) usageError(this, `another reclone request was recorded meanwhile (${pending}); nothing was changed`);
      });
      const postedAt = Date.now();
      writeOut(this, `requested reclone of ${site} in ${ctx.namespace}/${name} (${ANNOTATIONS.recloneSite}=${plan.value})\n`);
      if (marks === undefined) {
        // No --wait: say where the answer will show.
        writeErr(this, `${PROGRESS_NOTE}: kubectl describe mfg ${name} -n ${ctx.namespace}\n`);
        return;
      }
      const request = { site, value: plan.value, runbook: recloneRunbook(plan.request) };
      const code = await waitForReclone(this, ctx, posted, request, marks, { startedAt: postedAt, timeoutMs });
      // Leave now rather than when pooled keep-alive sockets time out.
      process.exit(code);
    });
}
