import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { EVENT_REASONS, type FailoverFailureReason } from "../../shared/names.js";
import type { TopologyEvent } from "../../shared/topology/cycle.js";
import { errorText } from "../../shared/errors.js";
import type { Logger } from "../log.js";
import { missing, unapplied, type MissingTransactions } from "../../shared/failover/gtid-compare.js";
import { GTID_WAIT_GRACE_MS, type ReplicationSource } from "../mysql/flavor.js";
import type { FailoverIntent } from "../../shared/failover/record.js";
import type { Action } from "../../shared/failover/decide.js";
import type { SiteSession } from "../mysql/site-client.js";

/** The site-level recovery record kept in status.sites[]. */
export interface RecoveryRecord {
  state: "RecoveryInProgress" | "RecoveryBlocked" | "ErrantTransactions";
  divergentGtid?: string;
  divergentTransactionCount?: number;
}

export interface FailoverRecord {
  lastFailover: string;
  lastFailoverTarget: string;
  promotionGtidExecuted: string;
  /** Emergency promotions only: what the promoted site received and discarded ("" and 0: nothing). */
  lastFailoverLostGtid?: string;
  lastFailoverLostTransactionCount?: number;
}

/** How an emergency promotion treats the candidate's relay log (spec.emergencyFailover). */
export interface RelayLogPolicy {
  applyTimeoutSeconds: number;
  allowReceivedTransactionLoss: boolean;
}

/** The candidate could not apply everything it received, and the spec does not allow discarding it. */
export class ReceivedNotApplied extends Error {
  override readonly name = "ReceivedNotApplied";

  constructor(
    readonly site: string,
    readonly lost: MissingTransactions,
  ) {
    super(
      `${site} has ${lost.count ?? "some"} received transaction(s) it could not apply (${lost.text}); promoting it would discard them, so it is not promoted. ` +
        "Fix its applier (SHOW REPLICA STATUS), or set spec.emergencyFailover.allowReceivedTransactionLoss to accept the loss",
    );
  }
}


export interface ExecutorDeps {
  log: Logger;
  /** Runs fn on a fresh connection to the site, bounded by deadlineMs; the connection is closed after. */
  withSite<T>(site: string, operation: string, fn: (s: SiteSession) => Promise<T>, deadlineMs: number): Promise<T>;
  replicationSource(site: string): ReplicationSource;
  /** Users whose sessions survive a fence: the operator's and the replication account. */
  spareUsers: string[];
  /** Awaited status + annotation write; the cooldown must survive a crash right after promotion. */
  persistFailover(record: FailoverRecord): Promise<void>;
  /** Both copies of the intent, awaited before the target is made writable; throws when either fails. */
  persistIntent(intent: FailoverIntent): Promise<void>;
  /** Failpoints (operator/failpoints.ts): resolves at once unless a test set `point`. */
  pause(point: string): Promise<void>;
  /** Awaited status write of one site's recovery fields (undefined clears them). */
  persistRecovery(site: string, record: RecoveryRecord | undefined): Promise<void>;
  recoveryOf(site: string): RecoveryRecord | undefined;
  recordFailover(site: string, seconds: { toWritable: number }): void;
  recordFailure(reason: FailoverFailureReason): void;
  recordLostTransactions(site: string, count: number): void;
  relayLogPolicy(): RelayLogPolicy;
  recordEvent(event: TopologyEvent): void;
  /** Tells the topology memory that a site is writable now (we just confirmed it). */
  markWritable(site: string): void;
  markReadOnly(site: string): void;
}

export interface ExecutorTimings {
  fenceLockWaitSeconds: number;
  fenceDeadlineMs: number;
  /** Fencing the failed primary during an emergency promotion. */
  oldPrimaryFenceDeadlineMs: number;
  promoteDeadlineMs: number;
}

export const DEFAULT_TIMINGS: ExecutorTimings = { fenceLockWaitSeconds: 2, fenceDeadlineMs: 5_000, oldPrimaryFenceDeadlineMs: 1_000, promoteDeadlineMs: 10_000 };

/**
 * Carries out the decision core's actions, one at a time and in order (fences come first). Each
 * action re-reads what it changes: a statement that timed out against a hung server may still
 * take effect later, so nothing here assumes an outcome it did not read back.
 */
export class FailoverExecutor {
  private readonly log: Logger;

  constructor(
    private readonly deps: ExecutorDeps,
    private readonly timings: ExecutorTimings = DEFAULT_TIMINGS,
  ) {
    this.log = deps.log;
  }

  /**
   * Runs every action; stops at the first failed fence or promotion (the next cycle decides
   * again). Returns the site promoted, if a promotion succeeded.
   */
  async run(actions: readonly Action[], decidedAt: number): Promise<{ promoted?: string }> {
    for (const action of actions) {
      const ok = await this.runOne(action, decidedAt);
      if (ok && action.kind === "promote") return { promoted: action.site };
      if (!ok && (action.kind === "fence" || action.kind === "promote")) return {};
    }
    return {};
  }

  private async runOne(action: Action, decidedAt: number): Promise<boolean> {
    try {
      switch (action.kind) {
        case "fence":
          await this.fence(action.site);
          this.log.warn(LOG_MESSAGES.siteFenced, { site: action.site, reason: action.reason });
          this.deps.recordEvent({ type: "Warning", reason: EVENT_REASONS.siteFenced, message: `fenced ${action.site} (${action.reason})` });
          return true;
        case "promote":
          await this.promote(action.site, action.oldPrimary, action.reason, decidedAt, action.catchUpFrom);
          return true;
        case "repoint":
          await this.repoint(action.site, action.source, action.formerPrimary);
          return true;
        case "recordDivergence":
          await this.recordDivergence(action.site, action.divergentGtid, action.count, action.errant === true);
          return true;
        case "clearRecovery":
          if (this.deps.recoveryOf(action.site)) {
            await this.deps.persistRecovery(action.site, undefined);
            this.deps.recordEvent({ type: "Normal", reason: EVENT_REASONS.recoveryComplete, message: `${action.site} replicates from the primary again` });
          }
          return true;
      }
    } catch (err) {
      const reason =
        err instanceof ReceivedNotApplied ? "relay_log_not_applied" : ({ fence: "fence_failed", promote: "promote_failed", repoint: "repoint_failed" } as const)[action.kind as "fence" | "promote" | "repoint"];
      if (reason) this.deps.recordFailure(reason);
      this.log.error(LOG_MESSAGES.failoverActionFailed, { action: action.kind, site: "site" in action ? action.site : undefined, error: errorText(err) });
      this.deps.recordEvent({ type: "Warning", reason: EVENT_REASONS.failoverActionFailed, message: `${action.kind} ${"site" in action ? action.site : ""} failed: ${errorText(err)}` });
      return false;
    }
  }

  private async fence(site: string, deadlineMs = this.timings.fenceDeadlineMs): Promise<void> {
    await this.deps.withSite(
      site,
      "fence",
      async (s) => {
        await s.flavor.fence(s, { lockWaitTimeoutSeconds: this.timings.fenceLockWaitSeconds });
        await s.flavor.killApplicationConnections(s, { spareUsers: this.deps.spareUsers });
      },
      deadlineMs,
    );
    this.deps.markReadOnly(site);
  }

  /**
   * The emergency promotion: fence the old primary if it answers at all, let the candidate apply
   * everything it received (or refuse, see applyReceived), promote it (confirmed writable by a
   * fresh read) and persist the failover record. DNS and taints follow afterwards
   * (FailoverController).
   */
  private async promote(site: string, oldPrimary: string | undefined, reason: string, decidedAt: number, catchUpFrom?: string): Promise<void> {
    if (oldPrimary) {
      // It failed every poll already; a short attempt catches one that answers again without
      // delaying the promotion. A statement queued on a hung server still lands when it wakes,
      // which is the fence we want (and the returning-primary rule re-checks it anyway).
      await this.fence(oldPrimary, this.timings.oldPrimaryFenceDeadlineMs).catch((err: unknown) => this.log.info(LOG_MESSAGES.oldPrimaryNotFenced, { site: oldPrimary, error: errorText(err) }));
    }
    const received = await this.applyReceived(site);
    // Catching up covers what the relay log held too, so its shortfall (if allowed) is the loss.
    const { lost, gtidExecuted: applied } = catchUpFrom === undefined ? received : await this.catchUp(site, catchUpFrom);
    // Recorded before the target can take a write: whatever happens next (a crash, a lost API
    // server, lost leadership), whoever runs next finds it and settles it from the servers.
    await this.deps.persistIntent({ target: site, ...(oldPrimary ? { source: oldPrimary } : {}), startedAt: new Date().toISOString(), gtidExecuted: applied });
    await this.deps.pause("emergency.after.intent");
    const { gtidExecuted } = await this.deps.withSite(site, "promote", (s) => s.flavor.promote(s), this.timings.promoteDeadlineMs);
    const writableAt = Date.now();
    await this.deps.pause("emergency.after.promote");
    this.deps.markWritable(site);
    await this.deps.persistFailover({
      lastFailover: new Date(writableAt).toISOString(),
      lastFailoverTarget: site,
      promotionGtidExecuted: gtidExecuted,
      lastFailoverLostGtid: lost?.text ?? "",
      lastFailoverLostTransactionCount: lost?.count ?? 0,
    });
    this.deps.recordFailover(site, { toWritable: (writableAt - decidedAt) / 1000 });
    this.log.warn(LOG_MESSAGES.failover, { site, oldPrimary, reason, promotionGtidExecuted: gtidExecuted, msToWritable: writableAt - decidedAt });
    this.deps.recordEvent({ type: "Normal", reason: EVENT_REASONS.failoverExecuted, message: `promoted ${site}${oldPrimary ? ` after ${oldPrimary} failed` : ""}: ${reason}` });
    if (lost) {
      this.deps.recordLostTransactions(site, lost.count ?? 0);
      this.log.error(LOG_MESSAGES.receivedTransactionsDiscarded, { site, lostGtid: lost.text, count: lost.count });
      this.deps.recordEvent({
        type: "Warning",
        reason: EVENT_REASONS.dataLossDetected,
        message: `promoted ${site} discarding ${lost.count ?? "some"} received but unapplied transaction(s) (${lost.text}), as spec.emergencyFailover.allowReceivedTransactionLoss permits`,
      });
    }
  }

  /**
   * Makes the candidate replicate from `donor` (a reachable, read-only site that holds every
   * transaction the candidate lacks) until it has applied everything the donor has; returns the
   * candidate's executed transactions then. When it does not get there within the relay-log
   * timeout, the promotion does not happen (ReceivedNotApplied; the next cycle decides again),
   * unless the spec allows losing received transactions: then what the donor has and the
   * candidate lacks is the loss.
   */
  private async catchUp(site: string, donor: string): Promise<{ lost: MissingTransactions | undefined; gtidExecuted: string }> {
    const policy = this.deps.relayLogPolicy();
    const seconds = policy.applyTimeoutSeconds;
    const d = await this.deps.withSite(donor, "read position", (s) => s.flavor.observe(s), this.timings.promoteDeadlineMs);
    this.log.warn(LOG_MESSAGES.catchingUp, { site, donor, target: d.gtidExecuted });
    const { reached, gtidExecuted } = await this.deps.withSite(
      site,
      "catch up",
      async (s) => {
        await s.flavor.repoint(s, this.deps.replicationSource(donor), { formerPrimary: false, heartbeatSeconds: 1 });
        const reached = await s.flavor.waitForGtid(s, d.gtidExecuted, seconds);
        return { reached, gtidExecuted: (await s.flavor.observe(s)).gtidExecuted };
      },
      seconds * 1_000 + GTID_WAIT_GRACE_MS + this.timings.promoteDeadlineMs,
    );
    if (reached) return { lost: undefined, gtidExecuted };
    const lost = missing({ flavor: d.flavor, gtidExecuted }, { flavor: d.flavor, gtidExecuted: d.gtidExecuted, ...(d.gtidBinlogState ? { gtidBinlogState: d.gtidBinlogState } : {}) });
    if (!policy.allowReceivedTransactionLoss) throw new ReceivedNotApplied(site, lost);
    return { lost: lost.text === "" ? undefined : lost, gtidExecuted };
  }

  /**
   * Lets the candidate apply everything it has received before it is made writable (promote()
   * resets replication, which deletes the relay log): restarts an applier that was stopped
   * without an error, removes a configured apply delay, then waits up to the spec's
   * relayLogApplyTimeout. Returns what stays unapplied (undefined when nothing does) and the
   * executed transactions afterwards. Throws
   * ReceivedNotApplied when something would be lost and the spec does not allow it; any other
   * failure to find out also fails the promotion (the next cycle decides again).
   */
  private async applyReceived(site: string): Promise<{ lost: MissingTransactions | undefined; gtidExecuted: string }> {
    const policy = this.deps.relayLogPolicy();
    const result = await this.deps.withSite(
      site,
      "apply relay log",
      async (s) => {
        const before = await s.flavor.observe(s);
        const r = before.replica;
        if (r === undefined || r.retrievedGtids === "") return { lost: undefined, gtidExecuted: before.gtidExecuted };
        if (r.sqlDelay > 0) {
          await s.flavor.removeApplyDelay(s);
          this.log.warn(LOG_MESSAGES.applyDelayRemoved, { site, delaySeconds: r.sqlDelay });
        } else if (!r.sqlRunning && r.lastSqlErrno === 0) {
          await s.flavor.startApplier(s);
          this.log.warn(LOG_MESSAGES.applierStarted, { site });
        }
        // An applier stopped on an error applies nothing: no point waiting for it.
        if (r.lastSqlErrno === 0) await s.flavor.waitForGtid(s, r.retrievedGtids, policy.applyTimeoutSeconds);
        const after = await s.flavor.observe(s);
        const left = unapplied({ flavor: after.flavor, gtidExecuted: after.gtidExecuted }, after.replica?.retrievedGtids ?? r.retrievedGtids);
        return { lost: left.text === "" ? undefined : left, gtidExecuted: after.gtidExecuted };
      },
      policy.applyTimeoutSeconds * 1_000 + GTID_WAIT_GRACE_MS + this.timings.promoteDeadlineMs,
    );
    if (result.lost !== undefined && !policy.allowReceivedTransactionLoss) throw new ReceivedNotApplied(site, result.lost);
    return result;
  }

  private async repoint(site: string, source: string, formerPrimary: boolean): Promise<void> {
    if (formerPrimary && !this.deps.recoveryOf(site)) await this.deps.persistRecovery(site, { state: "RecoveryInProgress" });
    // A 1 s heartbeat lets the replica vouch for its source within 2 s (witness evidence, shared/failover/witness.ts).
    const opts = { formerPrimary, heartbeatSeconds: 1 };
    await this.deps.withSite(site, "repoint", (s) => s.flavor.repoint(s, this.deps.replicationSource(source), opts), this.timings.promoteDeadlineMs);
    this.log.info(LOG_MESSAGES.siteRepointed, { site, source, formerPrimary });
  }

  /**
   * errant: the site still replicates from the primary (ErrantTransactions); else it is fenced
   * off until a human acts (RecoveryBlocked). Either way the event says it holds the only copy.
   */
  private async recordDivergence(site: string, divergentGtid: string, count: number | undefined, errant: boolean): Promise<void> {
    const state = errant ? "ErrantTransactions" : "RecoveryBlocked";
    const before = this.deps.recoveryOf(site);
    if (before?.state === state && before.divergentGtid === divergentGtid && before.divergentTransactionCount === count) return;
    await this.deps.persistRecovery(site, { state, divergentGtid, ...(count !== undefined ? { divergentTransactionCount: count } : {}) });
    const only = `${site} holds the only copy of them: recover or replay what you need before recloning it (kubectl bloodraven reclone <group> ${site} destroys them)`;
    this.deps.recordEvent(
      errant
        ? { type: "Warning", reason: EVENT_REASONS.errantTransactionsDetected, message: `${site} replicates from the primary but has ${count ?? "some"} transaction(s) the primary never had (${divergentGtid}). ${only}` }
        : { type: "Warning", reason: EVENT_REASONS.dataLossDetected, message: `${site} has ${count ?? "some"} transaction(s) the primary lacks (${divergentGtid}); it stays fenced. ${only}` },
    );
  }
}
