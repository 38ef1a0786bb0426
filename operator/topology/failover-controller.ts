import type { DefaultedMysqlFailoverGroupSpec, MysqlFailoverGroupStatus } from "../../shared/api/index.js";
import { parseDuration } from "../../shared/duration.js";
import { decide, type Blocked, type BlockedReason, type DecisionSite, type DurableRecord } from "../../shared/failover/decide.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { ANNOTATIONS, EVENT_REASONS, type SiteState } from "../../shared/names.js";
import type { TopologyEvent } from "../../shared/topology/cycle.js";
import type { SiteContact } from "../../shared/failover/witness.js";
import { annotatedIntent, annotatedRecord, newerRecord, statusRecord } from "../../shared/failover/record.js";
import type { TopologyStatus } from "../../shared/topology/status.js";
import type { GroupStatusStore } from "./status-store.js";
import type { FailoverExecutor, RecoveryRecord } from "../failover/executor.js";
import { errorText } from "../../shared/errors.js";
import type { Logger } from "../log.js";
import type { SiteAddress, SiteObservation } from "./site-observation.js";

/** What one cycle hands the failover logic. */
export interface FailoverCycle {
  spec: DefaultedMysqlFailoverGroupSpec;
  /** False while maintenance mode pauses automatic promotion and split-brain resolution. */
  automaticFailover: boolean;
  /** This cycle's observed topology; the records come from the status store. */
  topology?: TopologyStatus;
  settled: boolean;
  states: ReadonlyMap<string, SiteState>;
  observations: ReadonlyMap<string, SiteObservation | undefined>;
  /** Witness evidence kept across polls (manager.ts); absent, no site can vouch for another. */
  contacts?: ReadonlyMap<string, SiteContact>;
  addresses: ReadonlyMap<string, SiteAddress>;
  /** The annotations of the group: the out-of-band copies of the failover record and intent (record.ts). */
  annotations?: Readonly<Record<string, string>>;
  /**
   * Called as soon as the primary is known, before the work that does not change it (repointing
   * replicas, DNS, taints), so that clients following the status API are not kept waiting on it.
   */
  announce?(primary: string): void;
}

/** Actions that leave the primary as it is: the primary can be announced before they run. */
const CONVERGING: ReadonlySet<string> = new Set(["repoint", "recordDivergence", "clearRecovery", "event"]);

/**
 * The group site a replica's source points at: by host:port as the operator addresses the sites,
 * else by the source's server_id (a replica may reach its source through another name, a Service
 * or a proxy, than the operator does).
 */
function sourceSite(o: SiteObservation | undefined, addresses: ReadonlyMap<string, SiteAddress>, contacts: ReadonlyMap<string, SiteContact> | undefined): string | undefined {
  const r = o?.replica;
  if (!r) return undefined;
  for (const [name, a] of addresses) if (a.host === r.sourceHost && a.port === r.sourcePort) return name;
  if (r.sourceServerId === 0 || contacts === undefined) return undefined;
  const bySourceId = [...contacts].filter(([, c]) => c.serverId === r.sourceServerId).map(([name]) => name);
  return bySourceId.length === 1 ? bySourceId[0] : undefined;
}

export function durableRecord(status: MysqlFailoverGroupStatus | undefined, annotations?: Readonly<Record<string, string>>): DurableRecord {
  const recovery: DurableRecord["recovery"] = {};
  for (const s of status?.sites ?? []) {
    if (s.recoveryState === "RecoveryInProgress" || s.recoveryState === "RecoveryBlocked" || s.recoveryState === "ErrantTransactions") {
      recovery[s.name] = {
        state: s.recoveryState,
        ...(s.divergentGtid ? { divergentGtid: s.divergentGtid } : {}),
        ...(s.divergentTransactionCount !== undefined ? { divergentTransactionCount: s.divergentTransactionCount } : {}),
      };
    }
  }
  // The annotations survive a status wipe (e.g. a restore of the object without status).
  const last = newerRecord(statusRecord(status), annotatedRecord(annotations));
  const statusIntent = status?.failoverIntent ? { target: status.failoverIntent.target, at: status.failoverIntent.startedAt } : undefined;
  const intent = newerRecord(statusIntent, annotatedIntent(annotations));
  // The recorded authority first: the verdict's activeSite may name a writable old primary.
  const activeSite = status?.lastKnownPrimary || status?.activeSite;
  return {
    recovery,
    ...(last ? { lastFailover: last.at, lastFailoverTarget: last.target } : {}),
    ...(intent ? { intent } : {}),
    ...(status?.promotionGtidExecuted ? { promotionGtidExecuted: status.promotionGtidExecuted } : {}),
    ...(activeSite ? { activeSite } : {}),
  };
}

export function decisionSites(cycle: FailoverCycle): DecisionSite[] {
  return cycle.spec.sites.map((site) => {
    const o = cycle.observations.get(site.name);
    const from = sourceSite(o, cycle.addresses, cycle.contacts);
    const contact = cycle.contacts?.get(site.name);
    const receiver = contact?.last;
    return {
      name: site.name,
      role: site.role,
      state: cycle.states.get(site.name) ?? "unknown",
      polledOk: o !== undefined,
      ...(o ? { readOnly: o.readOnly, position: { flavor: o.flavor, gtidExecuted: o.gtidExecuted, ...(o.gtidBinlogState ? { gtidBinlogState: o.gtidBinlogState } : {}) } } : {}),
      ...(from ? { replicatingFrom: from } : {}),
      ...(o ? { origin: { serverId: o.serverId, ...(o.serverUuid ? { serverUuid: o.serverUuid } : {}) } } : {}),
      ...(o?.replica && o.replica.lastSqlErrno !== 0 ? { applierError: true } : {}),
      ...(contact?.lostSinceWritable ? { lostSinceWritable: true } : {}),
      ...(contact?.failingSince !== undefined ? { failingSince: new Date(contact.failingSince).toISOString() } : {}),
      ...(o?.replica && receiver
        ? {
            receiver: {
              link: receiver.sample.link,
              heartbeatPeriodSeconds: receiver.sample.heartbeatPeriodSeconds,
              ...(contact?.receivedAfter !== undefined ? { receivedAfter: new Date(contact.receivedAfter).toISOString() } : {}),
            },
          }
        : {}),
    };
  });
}

/**
 * Runs the decision core once per settled cycle and hands its actions to the executor. Also keeps
 * DNS and taints following the active primary: moved right after a promotion, and retried every
 * cycle until they match (a failed DNS write never causes another failover).
 */
export class FailoverController {
  private lastBlocked = "";
  private followed = "";
  /** Why DNS and taints do not follow `followed`'s successor yet (retried every cycle). */
  private followError: string | undefined;
  /** Decision.ahead of the last cycle (an errant set is reported once two cycles in a row show it). */
  private ahead: Record<string, string> = {};

  constructor(
    private readonly executor: FailoverExecutor,
    private readonly deps: {
      log: Logger;
      /** The group's status writes: the failover record and intent live there. */
      store: GroupStatusStore;
      recordEvent(event: TopologyEvent): void;
      /** Points DNS and taints at the primary; throws when that failed (retried next cycle). */
      followPrimary(site: string): Promise<void>;
      observeFailover(stage: "dns", seconds: number): void;
      recordFailure(reason: "dns_failed"): void;
      /** Once per episode: when the blocked reason changes to this one. */
      recordBlocked(reason: BlockedReason): void;
    },
  ) {}

  /**
   * Returns the primary the group stands behind after this step (undefined when unsettled or
   * unknown) and why a wanted promotion did not happen, if it did not.
   */
  async step(cycle: FailoverCycle): Promise<{ primary?: string; blocked?: Blocked; routing?: { site: string; error?: string } }> {
    const store = this.deps.store;
    await store.flushFailoverRecord();
    if (!cycle.settled) return {};
    const annotations = cycle.annotations ?? {};
    await this.settleIntent(annotations, cycle.observations).catch((err: unknown) => this.deps.log.error(LOG_MESSAGES.statusPatchFailed, { record: "failover intent", error: errorText(err) }));
    if (!store.recordPending) {
      await store.repairRecordCopies(annotatedRecord(annotations)).catch((err: unknown) => this.deps.log.error(LOG_MESSAGES.statusPatchFailed, { record: "failover copies", error: errorText(err) }));
    }
    // Built after the settling above: it may have written the record this decision needs.
    const status = cycle.topology ? { ...store.written, ...cycle.topology, sites: cycle.topology.sites } : store.written;
    const decidedAt = Date.now();
    const decision = decide({
      now: new Date(decidedAt).toISOString(),
      settled: cycle.settled,
      sites: decisionSites(cycle),
      record: durableRecord(status, this.openAnnotations(annotations)),
      aheadLastCycle: this.ahead,
      policy: {
        failoverCooldownMs: parseDuration(cycle.spec.failoverCooldown),
        sitePriorities: cycle.spec.splitBrainPolicy?.sitePriorities ?? [],
        automaticFailover: cycle.automaticFailover,
      },
    });
    this.ahead = decision.ahead ?? {};
    const blocked = decision.blocked ? `${decision.blocked.reason}: ${decision.blocked.message}` : "";
    if (blocked !== this.lastBlocked) {
      if (decision.blocked && !this.lastBlocked.startsWith(`${decision.blocked.reason}:`)) this.deps.recordBlocked(decision.blocked.reason);
      this.lastBlocked = blocked;
      if (decision.blocked) {
        this.deps.log.warn(LOG_MESSAGES.failoverBlocked, { reason: decision.blocked.reason, detail: decision.blocked.message });
        this.deps.recordEvent({ type: "Warning", reason: EVENT_REASONS.failoverBlocked, message: decision.blocked.message });
      }
    }
    if (decision.primary && decision.actions.every((a) => CONVERGING.has(a.kind))) cycle.announce?.(decision.primary);
    const { promoted } = decision.actions.length > 0 ? await this.executor.run(decision.actions, decidedAt) : {};
    if (promoted) cycle.announce?.(promoted);
    // The decision's primary, not the verdict's activeSite: the verdict may name a writable site
    // that is being fenced right now (an old primary back while the new one is down). After a
    // promotion the verdict still shows the old topology; the promoted site is the primary.
    const active = promoted ?? decision.primary ?? "";
    if (active && active !== this.followed) {
      try {
        await this.deps.followPrimary(active);
        this.followed = active;
        this.followError = undefined;
        if (promoted) this.deps.observeFailover("dns", (Date.now() - decidedAt) / 1000);
      } catch (err) {
        this.followError = errorText(err);
        this.deps.recordFailure("dns_failed");
        this.deps.log.warn(LOG_MESSAGES.dnsUpdateFailed, { site: active, error: errorText(err) });
        this.deps.recordEvent({ type: "Warning", reason: EVENT_REASONS.dnsUpdateFailed, message: `moving DNS and taints to ${active} failed (retried every poll): ${errorText(err)}` });
      }
    }
    const routing = active ? { site: active, ...(this.followed !== active && this.followError ? { error: this.followError } : {}) } : undefined;
    return { ...(active ? { primary: active } : {}), ...(decision.blocked ? { blocked: decision.blocked } : {}), ...(routing ? { routing } : {}) };
  }

  /** The annotations without an intent the store has already closed (the informer's copy may lag behind our own write). */
  private openAnnotations(annotations: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
    const intent = annotatedIntent(annotations);
    if (intent === undefined || !this.deps.store.isClosed(intent)) return annotations;
    const { [ANNOTATIONS.failoverIntent]: _closed, ...rest } = annotations;
    return rest;
  }

  /**
   * Settles an open emergency-promotion intent (either copy) from this cycle's polls: its target
   * writable means the promotion happened, and the failover record is written from the intent
   * (after a crash, a lost API server or lost leadership in between); read-only means it did
   * not, and the intent goes. Unreachable: it stays open, and no other promotion starts.
   */
  private async settleIntent(annotations: Readonly<Record<string, string>>, observations: ReadonlyMap<string, SiteObservation | undefined>): Promise<void> {
    const store = this.deps.store;
    const full = store.written?.failoverIntent;
    const intent = newerRecord(full ? { target: full.target, at: full.startedAt } : undefined, annotatedIntent(annotations));
    if (intent === undefined || store.isClosed(intent)) return;
    const o = observations.get(intent.target);
    if (o === undefined) return;
    if (o.readOnly) {
      await store.dropIntent(intent);
      this.deps.log.warn(LOG_MESSAGES.failoverIntentDropped, { site: intent.target, startedAt: intent.at });
      return;
    }
    const gtid = full?.target === intent.target ? full.gtidExecuted : undefined;
    await store.persistFailover({ lastFailover: intent.at, lastFailoverTarget: intent.target, promotionGtidExecuted: gtid ?? "" });
    if (store.recordPending) return;
    this.deps.log.warn(LOG_MESSAGES.failoverIntentSettled, { site: intent.target, startedAt: intent.at, promotionGtidExecuted: gtid });
    this.deps.recordEvent({
      type: "Normal",
      reason: EVENT_REASONS.failoverExecuted,
      message: `promoted ${intent.target} (started ${intent.at}); recorded after an interruption, from the intent written before the promotion`,
    });
  }
}

export type { RecoveryRecord };
