/**
 * The planned-failover (switchover) state machine: one pure function from (the annotation, the
 * status.plannedFailover block, this cycle's site observations, the durable record, the spec
 * defaults, the result of the last piece of work) to the next status block and the work the
 * executor carries out. No I/O here.
 *
 * Each phase is persisted BEFORE its work starts (the executor writes `status` first, then runs
 * `actions`), so an operator killed at any point resumes from a defined phase:
 *
 *   (request) → Pending → Validating → Draining → WaitingForLag → Promoting → Resuming → Succeeded
 *                            ↘ Failed (rejected) / Deferred (cooldown, onCooldown: defer)
 *
 * Draining takes as many cycles as the sessions open at the fence need to go (bounded by
 * drainTimeout), one kill pass per cycle, so cancellation and the deadlines are seen meanwhile and
 * the group's polls go on. Sessions opened after the fence are not waited for: the server refuses
 * them writes, and a client that reconnects at once would otherwise hold every switchover.
 *
 * Rollback: until the target is writable, any failure (lag timeout, drain failure, promotion
 * failure, cancellation, overall deadline) rolls back by unfencing the source. A rollback in
 * progress is recorded as the phase it interrupted plus a `reason` (a non-terminal phase never has
 * a reason otherwise); it is retried every cycle until the source is writable again, and only
 * then does the block turn `Failed`. So a restart mid-rollback still finishes the rollback.
 */

import type { PlannedFailoverStatus } from "../api/index.js";
import { parsePlannedFailover } from "../annotations.js";
import { formatDuration, parseDuration } from "../duration.js";
import { cooldown } from "../failover/cooldown.js";
import { PLANNED_PHASES } from "./phases.js";
import { lacks, type DecisionSite } from "../failover/decide.js";
import { contains, withoutOrigin } from "../failover/gtid-compare.js";
import { EVENT_REASONS, type PlannedFailoverPhase, type PlannedFailoverRejectionReason, type PlannedFailoverResult } from "../names.js";

/** A site as the emergency decision sees it, plus what a switchover also needs to know. */
export interface PlannedSite extends DecisionSite {
  /** Both replication threads run. */
  replicating?: boolean;
  /** status.sites[].recoveryState */
  recoveryState?: string;
  /** A clone is replacing its data (status.bootstrap). */
  cloning?: boolean;
}

/** The result of the work the executor did for the block it last persisted (in memory only). */
export interface PlannedWork {
  requestId: string;
  phase: PlannedFailoverPhase;
  ok: boolean;
  error?: string;
  /** Draining: the source's executed GTIDs once fenced. */
  gtidAtFence?: string;
  /**
   * Draining: application sessions open at the fence that were still there at the last kill pass;
   * "all" when no pass has completed yet (the next one kills every application session).
   */
  openSessions?: readonly number[] | "all";
  /** WaitingForLag: the bounded wait on the target saw the source's transactions. */
  caughtUp?: boolean;
}

export interface PlannedInput {
  /** ISO time. */
  now: string;
  /** Raw planned-failover annotation; undefined when absent. */
  annotation: string | undefined;
  /** The request-id annotation; undefined when absent. */
  requestId: string | undefined;
  /** Used as the request id when the annotation pair has none. */
  newRequestId: string;
  current: PlannedFailoverStatus | undefined;
  /** In spec order. */
  sites: readonly PlannedSite[];
  /** The recorded primary (lastKnownPrimary || activeSite). */
  activeSite: string | undefined;
  lastFailover: string | undefined;
  cooldownMs: number;
  defaults: { maxLagWait: string; drainTimeout: string; onCooldown: "reject" | "defer" };
  lastWork: PlannedWork | undefined;
}

export type PlannedAction =
  /** Fence the source, read its executed GTIDs, kill its application sessions (one pass). */
  | { kind: "drain"; site: string }
  /** Kill again those of the sessions open at the fence that are still there (they may be rolling back); all without `only`. */
  | { kind: "killSessions"; site: string; only?: readonly number[] }
  /** Bounded wait for the target to execute `gtid`. */
  | { kind: "waitForGtid"; site: string; gtid: string; seconds: number }
  /** Promote the target (it must contain `gtid`), then persist the failover record. */
  | { kind: "promote"; site: string; oldPrimary: string; gtid: string }
  /**
   * Persist the failover record of a promotion whose operator stopped before writing it: the
   * target found writable after a restart. `gtid`, what it held when promoted, is the fenced source's.
   */
  | { kind: "record"; site: string; gtid: string }
  /** Rollback: make the source writable again. */
  | { kind: "unfence"; site: string }
  /** Write the generated request id next to the request. */
  | { kind: "setRequestId"; requestId: string }
  /**
   * Remove the request annotations, only while they still read as this step saw them: a request
   * posted after the terminal status was written, before this runs, must not be wiped.
   */
  | { kind: "clearAnnotation"; seen: SeenRequest }
  | { kind: "event"; type: "Normal" | "Warning"; reason: string; message: string }
  | { kind: "metric"; target: string; result: PlannedFailoverResult };

/** The request annotations as a step read them (absent: undefined). */
export interface SeenRequest {
  request?: string;
  requestId?: string;
}

export interface PlannedStep {
  /** The block to persist before any action; undefined: keep it as it is. */
  status?: PlannedFailoverStatus;
  actions: PlannedAction[];
  /** The emergency decision core must not run this cycle (it would fight the switchover). */
  holdEmergency: boolean;
}

const TERMINAL: readonly PlannedFailoverPhase[] = ["Succeeded", "Failed"];
/** The longest single wait per cycle in WaitingForLag, so cancellation and deadlines are seen. */
export const LAG_WAIT_SLICE_SECONDS = 1;
/** Slack on top of drainTimeout + maxLagWait for the whole operation. */
export const OVERALL_SLACK_MS = 60_000;
const ROLLBACK_TIMEOUT_REASONS = new Set(["LagTimeout", "DeadlineExceeded"]);

export const isTerminal = (phase: PlannedFailoverPhase | undefined): boolean => phase !== undefined && TERMINAL.includes(phase);

/**
 * The request annotations are the leftovers of the request this block finished (their id is its
 * id): the operator clears them, and a new request may replace them.
 */
export function isFinishedRequest(block: PlannedFailoverStatus | undefined, requestId: string | undefined): boolean {
  return block !== undefined && isTerminal(block.phase) && requestId !== undefined && block.requestId === requestId;
}

const nothing = (hold = false): PlannedStep => ({ actions: [], holdEmergency: hold });

function clearRequest(input: PlannedInput): PlannedAction {
  return { kind: "clearAnnotation", seen: { ...(input.annotation !== undefined ? { request: input.annotation } : {}), ...(input.requestId !== undefined ? { requestId: input.requestId } : {}) } };
}

function ms(d: string | undefined, fallback: string): number {
  try {
    return parseDuration(d ?? fallback);
  } catch {
    return parseDuration(fallback);
  }
}

function resultOf(reason: string | undefined): PlannedFailoverResult {
  return reason !== undefined && ROLLBACK_TIMEOUT_REASONS.has(reason) ? "failed_timeout" : "failed_other";
}

export function plannedStep(input: PlannedInput): PlannedStep {
  const nowMs = Date.parse(input.now);
  if (Number.isNaN(nowMs)) throw new RangeError(`plannedStep: invalid time ${JSON.stringify(input.now)}`);
  const cur = input.current;
  const phase = cur?.phase;
  const requested = input.annotation !== undefined;

  // No request in flight: a new annotation starts one; a leftover one of a finished request is cleared.
  if (cur === undefined || isTerminal(phase)) {
    if (!requested) return nothing();
    if (isFinishedRequest(cur, input.requestId)) return { actions: [clearRequest(input)], holdEmergency: false };
    return intake(input, input.annotation ?? "");
  }
  const c: PlannedFailoverStatus & { phase: PlannedFailoverPhase } = { ...cur, phase: cur.phase };
  const target = c.target ?? "";
  const source = c.source ?? "";
  const at = (p: PlannedFailoverPhase, extra: Partial<PlannedFailoverStatus> = {}): PlannedFailoverStatus => {
    const { reason: _r, message: _m, retryAfter: _a, rollingBack: _b, ...rest } = c;
    return { ...rest, phase: p, phaseTime: input.now, ...extra };
  };
  const site = (name: string): PlannedSite | undefined => input.sites.find((s) => s.name === name);
  // A request posted over this one (another request id) is left in place: it starts once this one ended.
  const clear: PlannedAction[] = input.requestId === undefined || input.requestId === c.requestId ? [clearRequest(input)] : [];
  const work = input.lastWork !== undefined && input.lastWork.requestId === c.requestId && input.lastWork.phase === c.phase ? input.lastWork : undefined;
  const fail = (reason: string, message: string, result: PlannedFailoverResult, event: string = EVENT_REASONS.plannedFailoverFailed): PlannedStep => ({
    status: { ...at("Failed", { reason, message }), completionTime: input.now },
    actions: [
      { kind: "event", type: "Warning", reason: event, message: `planned failover to ${target || "?"}: ${message}` },
      { kind: "metric", target: target || "unknown", result },
      ...clear,
    ],
    holdEmergency: false,
  });
  const startMs = Date.parse(c.startTime ?? input.now);
  const targetWritable = (): boolean => {
    const t = site(target);
    return t !== undefined && t.polledOk && t.readOnly === false;
  };
  /**
   * The target is writable: on to Resuming. A failover record older than this switchover means the
   * operator that promoted it stopped before recording it; without the record the cooldown would
   * not apply and the emergency core would take the target for a returning old primary.
   */
  const resume = (): PlannedStep => {
    const recorded = Date.parse(input.lastFailover ?? "") >= startMs;
    return { status: at("Resuming"), actions: recorded ? [] : [{ kind: "record", site: target, gtid: c.sourceGtidAtFence ?? "" }], holdEmergency: false };
  };
  /**
   * Starts (or continues) a rollback, the undo of the phases that have one (phases.ts): the phase
   * stays, `rollingBack` and the reason say why, and it is retried every cycle until done.
   */
  const rollback = (reason: string, message: string): PlannedStep => {
    const t = site(target);
    // Never unfence the source once the target may be writable: that is split brain.
    if (targetWritable()) return resume();
    const recorded = c.rollingBack === true && c.reason === reason ? undefined : { ...c, reason, message, rollingBack: true };
    if (c.phase === "Promoting" && !(t !== undefined && t.polledOk && t.readOnly === true)) {
      // Unfenced only once the target is seen read-only: until then the promotion may have gone through.
      return { ...(recorded ? { status: recorded } : {}), actions: [], holdEmergency: true };
    }
    const s = site(source);
    if (s !== undefined && s.polledOk && s.readOnly === false) {
      return fail(reason, `${message}; rolled back, ${source} is writable again`, resultOf(reason));
    }
    if (s !== undefined && s.state === "unreachable") {
      return fail("SourceCrashed", `${message}; the source ${source} is unreachable, so it cannot be unfenced: handed to the emergency path`, "failed_other");
    }
    return { ...(recorded ? { status: recorded } : {}), actions: [{ kind: "unfence", site: source }], holdEmergency: true };
  };

  const phaseMs = Date.parse(c.phaseTime ?? c.startTime ?? input.now);
  const maxLagMs = ms(c.maxLagWait, input.defaults.maxLagWait);
  const drainMs = ms(c.drainTimeout, input.defaults.drainTimeout);
  const deadline = startMs + drainMs + maxLagMs + OVERALL_SLACK_MS;

  const row = PLANNED_PHASES[c.phase];
  // A rollback in progress goes on until done.
  if (c.rollingBack === true && row.undo === "unfence-source") return rollback(c.reason ?? "RolledBack", c.message ?? c.reason ?? "");
  // A withdrawn request: undone where the phase has an undo, ended where there is nothing to undo.
  if (!requested && row.cancellable) {
    const withdrawn = `the ${c.phase === "Deferred" ? "deferred " : ""}request was withdrawn (annotation removed)`;
    return row.undo === "unfence-source" ? rollback("Cancelled", withdrawn) : fail("Cancelled", withdrawn, "failed_other");
  }

  switch (c.phase) {
    case "Pending":
      return { status: at("Validating"), actions: [], holdEmergency: false };

    case "Deferred": {
      const retry = Date.parse(c.retryAfter ?? "");
      if (!Number.isNaN(retry) && nowMs < retry) return nothing();
      return { status: at("Validating"), actions: [], holdEmergency: false };
    }

    case "Validating": {
      return validate(input, c, at, fail, nowMs, clear);
    }

    case "Draining": {
      if (nowMs > deadline) return rollback("DeadlineExceeded", `the switchover did not finish within its overall deadline`);
      if (work === undefined) return { actions: [{ kind: "drain", site: source }], holdEmergency: true };
      if (!work.ok || work.gtidAtFence === undefined) return rollback("DrainFailed", `draining ${source} failed: ${work.error ?? "no GTIDs read"}`);
      const open = work.openSessions ?? [];
      const sessionsLeft = open === "all" || open.length > 0;
      if (sessionsLeft && nowMs < phaseMs + drainMs) return { actions: [{ kind: "killSessions", site: source, ...(open === "all" ? {} : { only: open }) }], holdEmergency: true };
      const left = sessionsLeft ? { message: `${open === "all" ? "the" : open.length} session(s) open on ${source} at the fence were still there after drainTimeout ${formatDuration(drainMs)}; they cannot commit` } : {};
      return {
        status: at("WaitingForLag", { sourceGtidAtFence: work.gtidAtFence, ...left }),
        actions: [{ kind: "waitForGtid", site: target, gtid: work.gtidAtFence, seconds: LAG_WAIT_SLICE_SECONDS }],
        holdEmergency: true,
      };
    }

    case "WaitingForLag": {
      const gtid = c.sourceGtidAtFence ?? "";
      const t = site(target);
      let caughtUp = work?.caughtUp === true;
      if (!caughtUp && t?.position !== undefined) {
        try {
          caughtUp = contains(t.position, { flavor: t.position.flavor, gtidExecuted: gtid });
        } catch {
          return rollback("InvalidGTID", `cannot compare ${target}'s executed transactions with the fenced source's ${JSON.stringify(gtid)}`);
        }
      }
      if (caughtUp) {
        return {
          status: at("Promoting"),
          actions: [
            { kind: "event", type: "Normal", reason: EVENT_REASONS.plannedFailoverLagOK, message: `${target} holds every transaction of the fenced ${source} (${gtid || "none"})` },
            { kind: "promote", site: target, oldPrimary: source, gtid },
          ],
          holdEmergency: true,
        };
      }
      // A crashed source cannot be unfenced, and waiting out maxLagWait would only hold the
      // emergency path back: hand over now (the target may still be chosen by the GTID checks).
      if (site(source)?.state === "unreachable") return fail("SourceCrashed", `the fenced source ${source} became unreachable before ${target} caught up; handed to the emergency path`, "failed_other");
      if (nowMs >= phaseMs + maxLagMs) return rollback("LagTimeout", `${target} did not catch up with ${source} within maxLagWait ${formatDuration(maxLagMs)}`);
      if (nowMs > deadline) return rollback("DeadlineExceeded", `the switchover did not finish within its overall deadline`);
      const left = Math.max(0.1, Math.min(LAG_WAIT_SLICE_SECONDS, (phaseMs + maxLagMs - nowMs) / 1000));
      return { actions: [{ kind: "waitForGtid", site: target, gtid, seconds: left }], holdEmergency: true };
    }

    case "Promoting": {
      // The promotion just done here recorded itself.
      if (work?.ok === true) return { status: at("Resuming"), actions: [], holdEmergency: false };
      if (targetWritable()) return resume();
      if (work?.ok === false) return rollback("ExecuteFailed", `promoting ${target} failed: ${work.error ?? "unknown error"}`);
      // After a restart: nothing known about the last attempt; the target is still read-only and
      // still holds the fenced source's transactions (the source takes no writes), so try again.
      return { actions: [{ kind: "promote", site: target, oldPrimary: source, gtid: c.sourceGtidAtFence ?? "" }], holdEmergency: true };
    }

    case "Resuming": {
      // The emergency core adopts the target (R2a) and repoints the source (R5); DNS and taints follow.
      if (input.activeSite !== target) return nothing();
      const seconds = Math.max(0, Math.round((nowMs - startMs) / 1000));
      return {
        status: { ...at("Succeeded"), transactionsLost: 0, completionTime: input.now },
        actions: [
          { kind: "event", type: "Normal", reason: EVENT_REASONS.plannedFailoverCompleted, message: `${target} is the primary (was ${source}) after ${seconds}s; no transaction lost` },
          { kind: "metric", target, result: "success" },
          ...clear,
        ],
        holdEmergency: false,
      };
    }

    case "Succeeded":
    case "Failed":
      return nothing();
  }
}

/** A new request: a malformed or already-satisfied one ends here; otherwise the block starts at Pending. */
function intake(input: PlannedInput, raw: string): PlannedStep {
  const requestId = input.requestId ?? input.newRequestId;
  const idAction: PlannedAction[] = input.requestId === undefined ? [{ kind: "setRequestId", requestId }] : [];
  const parsed = parsePlannedFailover(raw);
  const base = { requestId, startTime: input.now, phaseTime: input.now };
  if (!parsed.ok) {
    return {
      status: { ...base, phase: "Failed", reason: "InvalidAnnotation", message: parsed.error, completionTime: input.now },
      actions: [
        { kind: "event", type: "Warning", reason: EVENT_REASONS.plannedFailoverRejected, message: `planned failover request ${JSON.stringify(raw)} rejected: ${parsed.error}` },
        { kind: "metric", target: "unknown", result: "rejected" },
        clearRequest(input),
      ],
      holdEmergency: false,
    };
  }
  const target = parsed.value.site;
  if (input.activeSite === target) {
    return {
      actions: [
        { kind: "event", type: "Normal", reason: EVENT_REASONS.plannedFailoverSkipped, message: `${target} is already the active site; nothing to do` },
        clearRequest(input),
      ],
      holdEmergency: false,
    };
  }
  const maxLagWait = parsed.value.maxLagWaitMs !== undefined ? formatDuration(parsed.value.maxLagWaitMs) : input.defaults.maxLagWait;
  return {
    status: {
      ...base,
      phase: "Pending",
      target,
      ...(input.activeSite ? { source: input.activeSite } : {}),
      maxLagWait,
      drainTimeout: input.defaults.drainTimeout,
      ...(parsed.value.acceptErrant ? { acceptErrant: true } : {}),
    },
    actions: [...idAction, { kind: "event", type: "Normal", reason: EVENT_REASONS.plannedFailoverStarted, message: `planned failover to ${target} requested (maxLagWait ${maxLagWait})` }],
    holdEmergency: false,
  };
}

function validate(
  input: PlannedInput,
  c: PlannedFailoverStatus,
  at: (p: PlannedFailoverPhase, extra?: Partial<PlannedFailoverStatus>) => PlannedFailoverStatus,
  fail: (reason: string, message: string, result: PlannedFailoverResult, event?: string) => PlannedStep,
  nowMs: number,
  clear: PlannedAction[],
): PlannedStep {
  const reject = (reason: PlannedFailoverRejectionReason, message: string): PlannedStep => fail(reason, message, "rejected", EVENT_REASONS.plannedFailoverRejected);
  const targetName = c.target ?? "";
  const t = input.sites.find((s) => s.name === targetName);
  if (t === undefined || t.role !== "primary-candidate") return reject("UnknownSite", `${targetName} is ${t === undefined ? "not a site of this group" : `a ${t.role} site, not a primary-candidate`}`);
  if (input.activeSite === targetName) {
    return {
      status: { ...at("Succeeded", { reason: "AlreadyActive", message: `${targetName} is already the active site` }), transactionsLost: 0, completionTime: input.now },
      actions: [
        { kind: "event", type: "Normal", reason: EVENT_REASONS.plannedFailoverSkipped, message: `${targetName} is already the active site; nothing to do` },
        ...clear,
      ],
      holdEmergency: false,
    };
  }
  if (!(t.polledOk && t.readOnly === true && t.state === "read-only" && t.replicating === true)) {
    return reject("TargetUnhealthy", `${targetName} must answer read-only and replicate (state ${t.state}, replicating ${t.replicating === true})`);
  }
  const sourceName = input.activeSite;
  const s = sourceName === undefined ? undefined : input.sites.find((x) => x.name === sourceName);
  if (s === undefined || !(s.polledOk && s.readOnly === false && s.state === "writable")) {
    return reject("NoPrimary", `there is no confirmed writable primary to switch over from (recorded primary: ${sourceName ?? "none"})`);
  }
  if (t.replicatingFrom !== undefined && t.replicatingFrom !== sourceName) {
    return reject("TargetUnhealthy", `${targetName} replicates from ${t.replicatingFrom}, not from the primary ${sourceName}`);
  }
  // Zero RPO proves the target will hold everything the source has, not that it holds nothing
  // else: a transaction only the target has would be replicated back onto the old primary, a
  // history it never shared (MariaDB's strict mode stops it; MySQL applies it silently).
  const found = lacks(s, t);
  const errant = found && s.origin && s.position ? withoutOrigin(found, s.position.flavor, s.origin) : found;
  if (errant === undefined) return reject("TargetUnhealthy", `cannot compare the executed transactions of ${targetName} and ${sourceName}`);
  if (errant.text !== "" && c.acceptErrant !== true) {
    return reject(
      "TargetHasErrantTransactions",
      `${targetName} holds ${errant.count ?? "some"} transaction(s) the primary ${sourceName} never had (${errant.text}); remove them from ${targetName}, or request the failover with acceptErrant=true (kubectl bloodraven failover --accept-errant) to keep them`,
    );
  }
  const recovering = input.sites.filter((x) => x.recoveryState === "RecoveryInProgress" || x.recoveryState === "RecoveryBlocked");
  if (recovering.length > 0) return reject("ConcurrentOperation", `recovery of ${recovering.map((x) => x.name).join(", ")} is in flight`);
  const cloning = input.sites.filter((x) => x.cloning === true);
  if (cloning.length > 0) return reject("ConcurrentOperation", `a clone of ${cloning.map((x) => x.name).join(", ")} is in flight (status.bootstrap); switch over once it is done`);
  const cool = cooldown(input.lastFailover, input.cooldownMs, nowMs);
  if (cool.active && cool.unreadable) return reject("InvalidFailoverState", `the recorded last failover time ${JSON.stringify(input.lastFailover)} is unreadable`);
  if (cool.active && !cool.unreadable) {
    const retryAfter = new Date(cool.untilMs).toISOString();
    if (input.defaults.onCooldown === "defer") {
      return {
        status: at("Deferred", { reason: "CooldownActive", message: `inside the failover cooldown; validated again at ${retryAfter}`, retryAfter }),
        actions: [{ kind: "event", type: "Normal", reason: EVENT_REASONS.plannedFailoverDeferred, message: `planned failover to ${targetName} deferred until ${retryAfter} (cooldown)` }],
        holdEmergency: false,
      };
    }
    return reject("CooldownActive", `the failover cooldown is active until ${retryAfter} (last failover ${input.lastFailover})`);
  }
  return {
    status: at("Draining", { source: sourceName }),
    actions: [{ kind: "event", type: "Normal", reason: EVENT_REASONS.plannedFailoverDraining, message: `fencing ${sourceName} and draining its sessions before promoting ${targetName}` }],
    holdEmergency: true,
  };
}

