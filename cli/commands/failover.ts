/**
 * `failover <group> <site>`: asks the operator for a planned failover (a graceful switchover) by
 * writing the planned-failover annotation, after checking everything the plugin can check
 * without the operator. `--wait` then follows `status.plannedFailover` through a real watch, and
 * only the status block carrying this request's id counts: an earlier request's result is never
 * reported as this one's (the original plugin's `--wait` could do that).
 */
import { randomUUID } from "node:crypto";
import type { Command } from "commander";
import { DEFAULTS, type MysqlFailoverGroup, type PlannedFailoverStatus } from "../../shared/api/index.js";
import { formatPlannedFailover, type PlannedFailoverRequest } from "../../shared/annotations.js";
import { formatDuration } from "../../shared/duration.js";
import { maintenanceState, parseMaintenance } from "../../shared/maintenance.js";
import { ANNOTATIONS, PLANNED_FAILOVER_REJECTION_REASONS } from "../../shared/names.js";
import { formatTime } from "../format.js";
import { durationFlag, followGroup, waitTimeout, type WaitEnd } from "../follow.js";
import { ask, dryRunOption, isInteractive, OPERATOR_PODS_HINT, postAnnotations, readAndCheck, reportDryRun } from "../group-actions.js";
import { connect, usageError, writeErr, writeOut, type KubeContext } from "../kube-context.js";
import { cooldownRemainingMs } from "./status.js";
import { PLANNED_PHASES } from "../../shared/planned/phases.js";
import { isFinishedRequest, isTerminal } from "../../shared/planned/step.js";

// ---------------------------------------------------------------------------------------------
// Checks before posting (pure)

export type FailoverCheck =
  | { verdict: "post"; request: PlannedFailoverRequest; value: string; notes: string[] }
  | { verdict: "noop"; message: string }
  | { verdict: "reject"; message: string };

const groupKey = (g: MysqlFailoverGroup): string => `${g.metadata.namespace ?? ""}/${g.metadata.name ?? ""}`;

/** `kubectl annotate` that removes a pending planned-failover request (and its id). */
export function cancelCommand(g: MysqlFailoverGroup): string {
  return `kubectl annotate mfg ${g.metadata.name ?? ""} -n ${g.metadata.namespace ?? ""} ${ANNOTATIONS.plannedFailover}- ${ANNOTATIONS.plannedFailoverRequestId}-`;
}

function statusCommand(g: MysqlFailoverGroup): string {
  return `kubectl bloodraven status ${g.metadata.name ?? ""} -n ${g.metadata.namespace ?? ""} --watch`;
}

/**
 * What `failover <group> <site>` would do with the group as read: post the request, nothing (the
 * site is already active), or reject it with a message that says what to do. Notes are warnings
 * about things the operator will judge (cooldown, the target's health) and the maintenance note.
 */
export function checkFailover(g: MysqlFailoverGroup, site: string, options: Omit<PlannedFailoverRequest, "site">, now: number): FailoverCheck {
  const key = groupKey(g);
  const sites = g.spec?.sites ?? [];
  const roleOf = (s: { role?: string }) => s.role ?? DEFAULTS.site.role;
  const candidates = sites.filter((s) => roleOf(s) === "primary-candidate").map((s) => s.name);
  const spec = sites.find((s) => s.name === site);
  if (!spec) {
    const known = sites.map((s) => `${s.name} (${roleOf(s)})`).join(", ") || "none";
    return { verdict: "reject", message: `site "${site}" is not in spec.sites of ${key}; its sites: ${known}` };
  }
  if (roleOf(spec) !== "primary-candidate") {
    return {
      verdict: "reject",
      message: `${site} is a ${roleOf(spec)} site of ${key} and is never promoted; only primary-candidate sites can be: ${candidates.join(", ") || "none"}`,
    };
  }

  const annotations = g.metadata.annotations ?? {};
  const pending = annotations[ANNOTATIONS.plannedFailover];
  const block = g.status?.plannedFailover;
  if (block && !isTerminal(block.phase)) {
    const id = block.requestId ? `, request ${block.requestId}` : "";
    return {
      verdict: "reject",
      message: `a planned failover of ${key} to ${block.target || "?"} is already in progress (phase ${block.phase}${id}); follow it with ${statusCommand(g)}, or wait for it to end`,
    };
  }
  // Not yet removed by the operator, which removes them only while unchanged: replaceable.
  if (pending !== undefined && !isFinishedRequest(block, annotations[ANNOTATIONS.plannedFailoverRequestId])) {
    const id = annotations[ANNOTATIONS.plannedFailoverRequestId];
    return {
      verdict: "reject",
      message: `a planned failover request is already pending on ${key} (${ANNOTATIONS.plannedFailover}=${pending}${id ? `, request ${id}` : ""}); follow it with ${statusCommand(g)}, or remove it first with: ${cancelCommand(g)}`,
    };
  }

  if (g.status?.activeSite === site) return { verdict: "noop", message: `${site} is already the active site of ${key}; nothing to do` };

  const request: PlannedFailoverRequest = { site, ...options };
  let value: string;
  try {
    value = formatPlannedFailover(request);
  } catch (err) {
    return { verdict: "reject", message: err instanceof Error ? err.message : String(err) };
  }

  const notes: string[] = [];
  const raw = annotations[ANNOTATIONS.maintenance];
  const parsed = raw === undefined ? undefined : parseMaintenance(raw);
  const maintenance = maintenanceState(parsed?.ok ? parsed.value : undefined, now);
  if (maintenance.active) {
    const why = maintenance.maintenance.reason ? ` (${maintenance.maintenance.reason})` : "";
    notes.push(`note: ${key} is in maintenance until ${formatTime(maintenance.maintenance.until)}${why}; planned failovers still run during maintenance`);
  }
  const cooldown = cooldownRemainingMs(g, now);
  if (cooldown > 0) {
    const action = (g.spec?.plannedFailover?.onCooldown ?? DEFAULTS.plannedFailover.onCooldown) === "defer" ? "defer it until then" : "reject it (CooldownActive)";
    notes.push(`warning: the failover cooldown of ${key} has ${formatDuration(Math.ceil(cooldown / 1000) * 1000)} left; the operator will ${action}`);
  }
  const target = g.status?.sites?.find((s) => s.name === site);
  if (target && target.state !== "read-only") {
    notes.push(`warning: ${site} is ${target.state} in status; the operator promotes only a reachable, read-only, replicating site and will likely reject the request`);
  } else if (target && target.replicating === false) {
    notes.push(`warning: ${site} is not replicating in status; the operator will likely reject the request`);
  }
  if (g.status && !g.status.activeSite) {
    notes.push(`warning: ${key} has no active site in status; a planned failover switches over from a healthy primary`);
  }
  return { verdict: "post", request, value, notes };
}

export type CancelCheck =
  | { verdict: "post"; requestId: string | undefined; running: PlannedFailoverStatus | undefined }
  | { verdict: "noop"; message: string }
  | { verdict: "reject"; message: string };

/**
 * What `failover <group> --cancel` would do with the group as read. The operator cancels a
 * switchover when its request annotation disappears, but only in a phase marked cancellable
 * (shared/planned/phases.ts): from Promoting on the target may already be writable, and a
 * withdrawal is ignored. A request the operator has not picked up yet is simply removed.
 */
export function checkCancel(g: MysqlFailoverGroup): CancelCheck {
  const key = groupKey(g);
  const annotations = g.metadata.annotations ?? {};
  const pending = annotations[ANNOTATIONS.plannedFailover];
  const block = g.status?.plannedFailover;
  if (block && !isTerminal(block.phase)) {
    const what = `the planned failover of ${key} to ${block.target || "?"} (phase ${block.phase}${block.requestId ? `, request ${block.requestId}` : ""})`;
    if (!PLANNED_PHASES[block.phase].cancellable) {
      return {
        verdict: "reject",
        message: `${what} can no longer be cancelled: from Promoting on the target may already be writable, so the operator only goes forward (or rolls back by itself should the promotion fail); follow it with ${statusCommand(g)}`,
      };
    }
    if (block.rollingBack) return { verdict: "reject", message: `${what} is already rolling back (${block.reason ?? "?"}) and ends by itself; follow it with ${statusCommand(g)}` };
    if (pending === undefined) return { verdict: "noop", message: `${what} is already withdrawn; the operator is ending it: follow it with ${statusCommand(g)}` };
    return { verdict: "post", requestId: block.requestId, running: block };
  }
  if (pending !== undefined && !isFinishedRequest(block, annotations[ANNOTATIONS.plannedFailoverRequestId])) {
    return { verdict: "post", requestId: annotations[ANNOTATIONS.plannedFailoverRequestId], running: undefined };
  }
  return { verdict: "reject", message: `no planned failover is pending or in progress on ${key}; nothing to cancel` };
}

/** What `--cancel --wait` reports once the withdrawn request's status block has ended. */
export function cancelOutcome(done: Extract<FollowedOutcome, { state: "done" }>, g: MysqlFailoverGroup): WaitEnd {
  const b = done.block;
  const what = `planned failover of ${groupKey(g)} to ${b.target || "?"}`;
  if (done.outcome === "succeeded" || done.outcome === "skipped") {
    return { code: 1, stream: "err", text: `error: the ${what} was not cancelled: it had reached Promoting before the operator saw the withdrawal, and ${phaseText(b)}\n` };
  }
  if (b.reason === "Cancelled") return { code: 0, stream: "out", text: `${what} cancelled: ${b.message ?? "the request was withdrawn"}\n` };
  return { code: 0, stream: "out", text: `${what} ended before the withdrawal was acted on: ${phaseText(b)}\n` };
}

// ---------------------------------------------------------------------------------------------
// Following a request (pure)

export type FollowedOutcome =
  /** No status block for this request yet: none at all, or an earlier request's. */
  | { state: "waiting" }
  | { state: "running"; phase: string; block: PlannedFailoverStatus }
  | { state: "done"; outcome: "succeeded" | "skipped" | "failed" | "rejected"; exitCode: 0 | 1; block: PlannedFailoverStatus };

const isRejection = (reason: string): boolean => (PLANNED_FAILOVER_REJECTION_REASONS as readonly string[]).includes(reason) || /^reject/i.test(reason);

/**
 * Where request `requestId` stands according to `status.plannedFailover`. Only a block whose
 * requestId is this request's counts. Succeeded and Failed end it: a Succeeded whose reason says
 * the target was already active is reported as skipped, a Failed with a validation reason as
 * rejected. Skipped and Rejected are not phases of today's CRD but are accepted should the
 * operator report them as phases.
 */
export function followedOutcome(block: PlannedFailoverStatus | undefined, requestId: string): FollowedOutcome {
  if (!block || !requestId || block.requestId !== requestId) return { state: "waiting" };
  const phase = String(block.phase);
  const reason = block.reason ?? "";
  switch (phase) {
    case "Succeeded":
      return { state: "done", outcome: /skip|alreadyactive/i.test(reason) ? "skipped" : "succeeded", exitCode: 0, block };
    case "Skipped":
      return { state: "done", outcome: "skipped", exitCode: 0, block };
    case "Failed":
      return { state: "done", outcome: isRejection(reason) ? "rejected" : "failed", exitCode: 1, block };
    case "Rejected":
      return { state: "done", outcome: "rejected", exitCode: 1, block };
    default:
      return { state: "running", phase, block };
  }
}

export type Withdrawal = { state: "ours" } | { state: "superseded"; by: string } | { state: "removed" };

/**
 * Whether the request annotations still hold request `requestId`. Another id means someone
 * replaced the request; none means it was cancelled, or consumed by the operator (which writes
 * the result to status at about the same time, so callers allow a grace period).
 */
export function requestWithdrawal(g: MysqlFailoverGroup, requestId: string): Withdrawal {
  const annotations = g.metadata.annotations ?? {};
  const id = annotations[ANNOTATIONS.plannedFailoverRequestId];
  if (id !== undefined && id !== requestId) return { state: "superseded", by: id };
  if (id === undefined || annotations[ANNOTATIONS.plannedFailover] === undefined) return { state: "removed" };
  return { state: "ours" };
}

/**
 * What a request that vanished without a status block of its own means. The operator skips a
 * request for the site that is already primary (PlannedFailoverSkipped) by clearing the
 * annotations without writing a block; anything else is a cancellation by someone.
 */
export function removedOutcome(g: MysqlFailoverGroup, target: string, requestId: string): { code: 0 | 1; stream: "out" | "err"; text: string } {
  const key = groupKey(g);
  const primary = g.status?.activeSite || g.status?.lastKnownPrimary;
  if (primary === target) {
    return { code: 0, stream: "out", text: `planned failover of ${key} to ${target} skipped by the operator: ${target} is already the active site; nothing changed\n` };
  }
  return {
    code: 1,
    stream: "err",
    text: `error: the planned failover request ${requestId} was removed from ${key} without a result in status.plannedFailover (cancelled by someone, or an operator that does not report request ids); check ${statusCommand(g)}\n`,
  };
}

/** One line for a phase: `Deferred (CooldownActive) until 2026-11-22T03:05:00Z: cooldown ends...`. */
export function phaseText(block: PlannedFailoverStatus): string {
  let text = String(block.phase);
  if (block.reason) text += ` (${block.reason})`;
  if (block.rollingBack) text += ", rolling back";
  if (block.phase === "Deferred" && block.retryAfter) text += ` until ${formatTime(block.retryAfter)}`;
  if (block.message) text += `: ${block.message}`;
  return text;
}

/** What to do next after a failed request, by reason (the planned-failover runbook). */
export function failureHint(block: PlannedFailoverStatus, g: MysqlFailoverGroup): string {
  const name = g.metadata.name ?? "";
  const ns = g.metadata.namespace ?? "";
  switch (block.reason) {
    case "LagTimeout":
      return `the operator rolled back: ${block.source || "the source"} is unfenced and still primary; find out why ${block.target || "the target"} lags before retrying`;
    case "CooldownActive":
      return `wait for the cooldown to end (kubectl bloodraven status ${name} -n ${ns} shows it), or set spec.plannedFailover.onCooldown: defer`;
    case "ExecuteFailed":
      return `there is no automatic rollback during Promoting: check kubectl bloodraven status ${name} -n ${ns}; if no site is writable, follow kubectl bloodraven runbook manual-promotion`;
    default:
      return `see kubectl bloodraven runbook planned-failover`;
  }
}

/** The final message of `--wait`: stdout for success, an `error:` line (with a hint) otherwise. */
export function outcomeMessage(done: Extract<FollowedOutcome, { state: "done" }>, g: MysqlFailoverGroup, elapsedMs: number): { stream: "out" | "err"; text: string } {
  const b = done.block;
  const what = `planned failover of ${groupKey(g)} to ${b.target || "?"}`;
  const took = formatDuration(Math.round(elapsedMs / 1000) * 1000);
  const detail = [b.reason, b.message].filter(Boolean).join(": ");
  switch (done.outcome) {
    case "succeeded":
      return {
        stream: "out",
        text: `${what} succeeded after ${took}${b.source ? ` (from ${b.source})` : ""}; transactions lost: ${b.transactionsLost ?? "not reported"}\n`,
      };
    case "skipped":
      return { stream: "out", text: `${what} skipped by the operator${detail ? ` (${detail})` : ""}; nothing changed\n` };
    case "rejected":
      return { stream: "err", text: `error: the operator rejected the ${what}${detail ? ` (${detail})` : ""}; nothing changed. ${failureHint(b, g)}\n` };
    case "failed":
      return { stream: "err", text: `error: ${what} failed${b.reason ? ` (${b.reason})` : ""}${b.message ? `: ${b.message}` : ""}; ${failureHint(b, g)}\n` };
  }
}

// ---------------------------------------------------------------------------------------------
// The command

interface FailoverOptions {
  maxLagWait?: string;
  acceptErrant?: boolean;
  wait?: boolean;
  timeout: string;
  yes?: boolean;
  dryRun?: boolean;
  cancel?: boolean;
}

export function registerFailoverCommand(program: Command): void {
  program
    .command("failover")
    .argument("<group>", "name of the MysqlFailoverGroup")
    .argument("[site]", "the primary-candidate site to promote (not with --cancel)")
    .description("request a planned failover (graceful switchover) to a site; --wait follows it to the end")
    .option("--max-lag-wait <duration>", "how long the target may take to catch up after the source is fenced (default: spec.plannedFailover.maxLagWait)")
    .option("--accept-errant", "promote the site even if it holds transactions the current primary never had (they are kept); without it such a request is rejected")
    .option("--wait", "follow the request until it succeeds or fails")
    .option("--timeout <duration>", "with --wait: how long to wait", "10m")
    .option("--cancel", "withdraw the pending or running planned failover of the group instead (before it reaches Promoting)")
    .option("-y, --yes", "do not ask for confirmation on a terminal")
    .addOption(dryRunOption())
    .addHelpText(
      "after",
      `
Checks before writing anything (exit 2 when one fails): the group and the site exist, the site
is a primary-candidate, and no other planned failover is pending or running. When the site is
already active there is nothing to do (exit 0). The request is two annotations:
  ${ANNOTATIONS.plannedFailover}=<site>[:maxLagWait=<duration>][:acceptErrant=true]
  ${ANNOTATIONS.plannedFailoverRequestId}=<fresh random id>
The operator fences and drains the current primary, waits for the target to catch up (zero data
loss), then promotes it, or rolls back when it does not catch up in time.

With --wait the plugin follows status.plannedFailover of this request (never an earlier one's)
and exits 0 on Succeeded, 1 on Failed, a rejection or --timeout. Ctrl-C stops waiting and leaves
the request in place. On a terminal it asks for confirmation first unless --yes. --dry-run
runs the same checks and prints the annotations instead of writing them (and does not wait).

--cancel withdraws the planned failover of the group (no site): it removes both annotations,
and the operator ends the switchover (Failed, reason Cancelled), unfencing the source where it
was already fenced. Refused (exit 2, nothing written) when no planned failover is pending or
running, when it is already rolling back, and from Promoting on, when the target may already be
writable and the operator only goes forward. With --wait it follows the request until it ends:
exit 0 once cancelled (or ended otherwise without switching), 1 if it succeeded regardless.

Examples:
  $ kubectl bloodraven failover orders pdx --wait
  $ kubectl bloodraven failover orders pdx --max-lag-wait 30s --wait --timeout 5m -n shop
  $ kubectl bloodraven failover orders pdx --yes          # post and return
  $ kubectl bloodraven failover orders --cancel --wait   # withdraw it`,
    )
    .action(async function (this: Command, name: string, site: string | undefined, opts: FailoverOptions) {
      if (opts.cancel) {
        const extra = [site === undefined ? undefined : `the site (${site})`, opts.maxLagWait === undefined ? undefined : "--max-lag-wait", opts.acceptErrant ? "--accept-errant" : undefined].filter(Boolean);
        if (extra.length > 0) usageError(this, `--cancel takes the group only, not ${extra.join(", ")}: it withdraws whatever planned failover the group has`);
        return cancelFailover(this, name, opts);
      }
      if (site === undefined) usageError(this, "missing argument 'site': the primary-candidate site to promote (or --cancel to withdraw a planned failover)");
      const maxLagWaitMs = opts.maxLagWait === undefined ? undefined : durationFlag(this, "--max-lag-wait", opts.maxLagWait);
      const options = { ...(maxLagWaitMs !== undefined ? { maxLagWaitMs } : {}), ...(opts.acceptErrant ? { acceptErrant: true } : {}) };
      const timeoutMs = waitTimeout(this, opts);
      const ctx = await connect(this);
      const key = `${ctx.namespace}/${name}`;

      const checked = await readAndCheck(this, ctx, name, (g) => checkFailover(g, site, options, Date.now()));
      if (!checked) return;
      const { group, check } = checked;
      for (const note of check.notes) writeErr(this, `${note}\n`);
      const request = (requestId: string) => ({ [ANNOTATIONS.plannedFailover]: check.value, [ANNOTATIONS.plannedFailoverRequestId]: requestId });
      if (opts.dryRun) {
        reportDryRun(this, group, request("<a fresh random UUID>"), opts.wait ? `follow the request until it ends, at most ${formatDuration(timeoutMs)} (--wait)` : undefined);
        return;
      }

      if (!opts.yes && isInteractive()) {
        const source = group.status?.activeSite || "the current primary";
        const lag = maxLagWaitMs === undefined ? `spec.plannedFailover.maxLagWait (${group.spec?.plannedFailover?.maxLagWait ?? DEFAULTS.plannedFailover.maxLagWait})` : formatDuration(maxLagWaitMs);
        writeErr(
          this,
          `Planned failover of ${key}: ${source} -> ${site}. Writes pause while ${source} is fenced and drained and ${site} catches up (at most ${lag}, then it rolls back).\n`,
        );
        const answer = await ask("Continue? [y/N] ");
        if (!/^y(es)?$/i.test(answer.trim())) usageError(this, "not confirmed; nothing was changed");
      }

      const requestId = randomUUID();
      const posted = await postAnnotations(this, ctx, group, request(requestId), (fresh) => {
        const again = checkFailover(fresh, site, options, Date.now());
        if (again.verdict !== "post") usageError(this, `${again.message} (the group changed while posting; nothing was changed)`);
      });
      const postedAt = Date.now();
      writeOut(this, `requested planned failover of ${key} to ${site} (request ${requestId})\n`);
      if (!opts.wait) {
        writeOut(this, `follow it with: ${statusCommand(posted)}\n`);
        return;
      }
      const code = await waitForOutcome(this, ctx, posted, site, requestId, postedAt, timeoutMs);
      // Leave now rather than when pooled keep-alive sockets time out.
      process.exit(code);
    });
}

/** `failover <group> --cancel`: removes the request annotations, then optionally follows the end. */
async function cancelFailover(command: Command, name: string, opts: FailoverOptions): Promise<void> {
  const timeoutMs = waitTimeout(command, opts);
  const ctx = await connect(command);
  const key = `${ctx.namespace}/${name}`;
  const checked = await readAndCheck(command, ctx, name, checkCancel);
  if (!checked) return;
  const { group, check } = checked;
  const removal = { [ANNOTATIONS.plannedFailover]: null, [ANNOTATIONS.plannedFailoverRequestId]: null };
  if (opts.dryRun) {
    reportDryRun(command, group, removal, opts.wait ? `follow the request until it ends, at most ${formatDuration(timeoutMs)} (--wait)` : undefined);
    return;
  }
  const what = check.running
    ? `the planned failover of ${key} to ${check.running.target || "?"} (phase ${check.running.phase}); the operator ends it${PLANNED_PHASES[check.running.phase].undo === "unfence-source" ? ` and unfences ${check.running.source || "the source"}` : ""}`
    : `the planned failover request of ${key} (${group.metadata.annotations?.[ANNOTATIONS.plannedFailover] ?? "?"}), not picked up by the operator yet`;
  if (!opts.yes && isInteractive()) {
    writeErr(command, `Cancel ${what}.\n`);
    const answer = await ask("Continue? [y/N] ");
    if (!/^y(es)?$/i.test(answer.trim())) usageError(command, "not confirmed; nothing was changed");
  }
  const posted = await postAnnotations(command, ctx, group, removal, (fresh) => {
    const again = checkCancel(fresh);
    if (again.verdict !== "post" || again.requestId !== check.requestId) {
      usageError(command, `${again.verdict === "post" ? "another planned failover request replaced the one checked" : again.message} (the group changed while cancelling; nothing was changed)`);
    }
  });
  const postedAt = Date.now();
  writeOut(command, `withdrew the planned failover request of ${key}${check.requestId ? ` (request ${check.requestId})` : ""}\n`);
  // Without an id there is no status block to tell this request's end from another's.
  if (opts.wait && check.requestId === undefined) writeErr(command, `note: the request had no ${ANNOTATIONS.plannedFailoverRequestId}, so --wait cannot follow it\n`);
  if (!opts.wait || check.requestId === undefined) {
    if (check.running) writeOut(command, `follow it with: ${statusCommand(posted)}\n`);
    return;
  }
  const code = await waitForCancel(command, ctx, posted, check.requestId, postedAt, timeoutMs);
  process.exit(code);
}

/**
 * Follows a withdrawn request until its status block ends. A request withdrawn before the operator
 * picked it up has no block; one may still appear when the operator read the request just before
 * the withdrawal, so that is awaited for REMOVED_GRACE_MS.
 */
function waitForCancel(command: Command, ctx: KubeContext, posted: MysqlFailoverGroup, requestId: string, startedAt: number, timeoutMs: number): Promise<number> {
  const key = groupKey(posted);
  let unseen: (() => void) | undefined;
  let lastPhase: string | undefined;
  return followGroup(command, ctx, {
    posted, startedAt, timeoutMs,
    awaiting: `the operator to end request ${requestId}`,
    examine: (g, follow) => {
      const followed = followedOutcome(g.status?.plannedFailover, requestId);
      if (followed.state === "waiting") {
        unseen ??= follow.later(REMOVED_GRACE_MS, () =>
          follow.finish({ code: 0, stream: "out", text: `planned failover request ${requestId} of ${key} withdrawn before the operator picked it up; nothing changed\n` }),
        );
        return;
      }
      unseen?.();
      lastPhase = String(followed.block.phase);
      follow.show(`${followed.block.phase}|${followed.block.reason ?? ""}|${String(followed.block.rollingBack ?? false)}`, phaseText(followed.block), followed.state === "done" ? { ok: followed.block.reason === "Cancelled" } : undefined);
      if (followed.state === "done") follow.finish(cancelOutcome(followed, g));
    },
    timedOut: (latest) => ({
      code: 1,
      stream: "err",
      text: `error: timed out after ${formatDuration(timeoutMs)} waiting for the planned failover of ${key} (request ${requestId}) to end${lastPhase ? `; last phase: ${lastPhase}` : ""}. The request is withdrawn and the operator carries on: follow it with ${statusCommand(latest)}\n`,
    }),
    interrupted: (latest) => ({
      code: 130,
      stream: "err",
      text: `interrupted: the planned failover request ${requestId} stays withdrawn and the operator ends it${lastPhase ? ` (last phase: ${lastPhase})` : ""}; follow it with ${statusCommand(latest)}\n`,
    }),
  });
}

// ---------------------------------------------------------------------------------------------
// --wait

/**
 * How long a removed request may go without its result before --wait decides what happened. The
 * operator writes status before it clears the annotations, and watch events arrive in order, so
 * this only covers other orderings.
 */
const REMOVED_GRACE_MS = 3_000;

/**
 * Follows request `requestId` on the group (follow.ts) and returns the exit code: 0 on success or
 * skip, 1 on failure, rejection, timeout or a vanished request, 130 on Ctrl-C.
 */
function waitForOutcome(command: Command, ctx: KubeContext, posted: MysqlFailoverGroup, target: string, requestId: string, startedAt: number, timeoutMs: number): Promise<number> {
  const key = groupKey(posted);
  let lastPhase: string | undefined;
  let cancelRemoved: (() => void) | undefined;
  return followGroup(command, ctx, {
    posted,
    startedAt,
    timeoutMs,
    awaiting: `the operator to act on request ${requestId}`,
    examine: (g, follow) => {
      const followed = followedOutcome(g.status?.plannedFailover, requestId);
      if (followed.state !== "waiting") {
        lastPhase = String(followed.block.phase);
        const final = followed.state === "done" ? { ok: followed.exitCode === 0 } : undefined;
        follow.show(`${followed.block.phase}|${followed.block.reason ?? ""}`, phaseText(followed.block), final);
      }
      if (followed.state === "done") return follow.finish({ code: followed.exitCode, ...outcomeMessage(followed, g, follow.elapsedMs()) });
      const withdrawal = requestWithdrawal(g, requestId);
      if (withdrawal.state === "superseded") {
        return follow.finish({ code: 1, stream: "err", text: `error: request ${requestId} on ${key} was replaced by request ${withdrawal.by}; follow that one with ${statusCommand(g)}\n` });
      }
      if (withdrawal.state === "removed" && followed.state === "waiting") {
        // The operator clears the annotation when it finishes; its status write may follow.
        cancelRemoved ??= follow.later(REMOVED_GRACE_MS, () => follow.finish(removedOutcome(follow.latest, target, requestId)));
      } else {
        cancelRemoved?.();
        cancelRemoved = undefined;
      }
    },
    timedOut: (latest) => {
      const base = `error: timed out after ${formatDuration(timeoutMs)} waiting for the planned failover of ${key} (request ${requestId})`;
      const text =
        lastPhase === undefined
          ? `${base}: the operator has not picked up the request: is it running? (${OPERATOR_PODS_HINT}). The request stays in place; cancel it with: ${cancelCommand(latest)}\n`
          : `${base}; last phase: ${lastPhase}. The operator carries on: follow it with ${statusCommand(latest)}\n`;
      return { code: 1, stream: "err", text };
    },
    interrupted: (latest) => ({
      code: 130,
      stream: "err",
      text: `interrupted: the planned failover request ${requestId} stays in place and the operator carries on${lastPhase ? ` (last phase: ${lastPhase})` : ""}; follow it with ${statusCommand(latest)}. To cancel it before it reaches Promoting: ${cancelCommand(latest)}\n`,
    }),
  });
}
