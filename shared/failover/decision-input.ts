/**
 * What the decision cores read, built from one cycle's polls and the durable status: pure mappers
 * from the operator's observations to DecisionSite and DurableRecord (decide.ts).
 */
import type { DefaultedMysqlFailoverGroupSpec, MysqlFailoverGroupStatus } from "../api/index.js";
import type { SiteState } from "../names.js";
import { isManaged } from "../managed/sites.js";
import type { ReplicaState, SiteAddress, ServerObservation } from "../topology/site-observation.js";
import type { DecisionSite, DurableRecord } from "./decide.js";
import { cloneInFlight } from "../reclone/step.js";
import { annotatedIntent, annotatedRecord, newerRecord, statusRecord } from "./record.js";
import type { SiteContact } from "./witness.js";

/** The sites as one cycle saw them. */
export interface SitesView {
  spec: DefaultedMysqlFailoverGroupSpec;
  /** Debounced states. */
  states: ReadonlyMap<string, SiteState>;
  /** This cycle's polls; undefined for a site whose poll failed. */
  observations: ReadonlyMap<string, ServerObservation | undefined>;
  /** Witness evidence kept across polls; absent, no site can vouch for another. */
  contacts?: ReadonlyMap<string, SiteContact>;
  addresses: ReadonlyMap<string, SiteAddress>;
}

/**
 * The group site a replica's source points at: by host:port as the operator addresses the sites,
 * else by the source's server_id (a replica may reach its source through another name, a Service
 * or a proxy, than the operator does).
 */
function sourceSite(o: ServerObservation | undefined, addresses: ReadonlyMap<string, SiteAddress>, contacts: ReadonlyMap<string, SiteContact> | undefined): string | undefined {
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
  const cloning = cloneInFlight(status?.bootstrap);
  return {
    ...(cloning ? { cloning } : {}),
    recovery,
    ...(last ? { lastFailover: last.at, lastFailoverTarget: last.target } : {}),
    ...(intent ? { intent } : {}),
    ...(status?.promotionGtidExecuted ? { promotionGtidExecuted: status.promotionGtidExecuted } : {}),
    ...(activeSite ? { activeSite } : {}),
  };
}

export function decisionSites(view: SitesView): DecisionSite[] {
  return view.spec.sites.map((site) => {
    const o = view.observations.get(site.name);
    const from = sourceSite(o, view.addresses, view.contacts);
    const contact = view.contacts?.get(site.name);
    const receiver = contact?.last;
    return {
      name: site.name,
      role: site.role,
      state: view.states.get(site.name) ?? "unknown",
      polledOk: o !== undefined,
      ...(o ? { readOnly: o.readOnly, position: { flavor: o.flavor, gtidExecuted: o.gtidExecuted, ...(o.gtidBinlogState ? { gtidBinlogState: o.gtidBinlogState } : {}) } } : {}),
      ...(from ? { replicatingFrom: from } : {}),
      ...(o ? { origin: { serverId: o.serverId, ...(o.serverUuid ? { serverUuid: o.serverUuid } : {}) } } : {}),
      ...(o?.replica && o.replica.lastSqlErrno !== 0 ? { applierError: true } : {}),
      ...(isManaged(site) && o?.replica && stoppedCleanly(o.replica) ? { replicationStopped: true } : {}),
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

/** Both replication threads stopped, neither on an error: a restart, not a failure to look into. */
function stoppedCleanly(r: ReplicaState): boolean {
  return !r.ioRunning && !r.ioConnecting && !r.sqlRunning && r.lastIoErrno === 0 && r.lastSqlErrno === 0;
}
