/**
 * Witness evidence for an emergency failover: the operator's own failed polls prove only that the
 * operator cannot reach the primary. Before promoting, the replicas are asked what their receiver
 * (IO) thread sees of the same primary. A replica that still receives events or heartbeats from it
 * after the operator lost it proves the primary is alive, and a failover would make a second
 * writer next to it.
 *
 * Two pure parts: `nextContact` keeps, per site, what the operator needs across polls (when its
 * polls started failing, when a replica last received something), and `witnessVerdict` reads the
 * decision-time view of every replica of the lost primary.
 */

/**
 * connected: IO thread "Yes". reconnecting: "Connecting", or stopped on a network error (it
 * cannot reach its source either). stopped: stopped by hand or on another error.
 */
export type ReceiverLink = "connected" | "reconnecting" | "stopped";

/** Client errors of a receiver that cannot reach its source: can't connect, lost, gone away, unknown host. */
const NETWORK_ERRNOS: ReadonlySet<number> = new Set([2003, 2005, 2006, 2013]);

export function receiverLink(io: { ioRunning: boolean; ioConnecting: boolean; lastIoErrno: number }): ReceiverLink {
  if (io.ioRunning) return "connected";
  if (io.ioConnecting || NETWORK_ERRNOS.has(io.lastIoErrno)) return "reconnecting";
  return "stopped";
}

/** A replica's receiver thread as read in one poll. */
export interface ReceiverSample {
  link: ReceiverLink;
  /** server_id of the source it is configured to replicate from (0 when unknown). */
  sourceServerId: number;
  /** Heartbeats received since replication started (MariaDB Slave_received_heartbeats, MySQL COUNT_RECEIVED_HEARTBEATS). */
  heartbeats: number;
  /** What the receiver has received so far (MariaDB Gtid_IO_Pos, MySQL Retrieved_Gtid_Set). */
  received: string;
  /** The source's heartbeat period in seconds; 0 when heartbeats are off. */
  heartbeatPeriodSeconds: number;
}

/** What the operator keeps about one site across polls (in memory; a restart starts afresh). */
export interface SiteContact {
  /** Start of the first failed poll of the current run of failures (epoch ms); undefined after a successful poll. */
  failingSince?: number;
  /** The site's own server_id from its last successful poll. */
  serverId?: number;
  /** A poll failed since the site was last seen writable (DecisionSite.lostSinceWritable). */
  lostSinceWritable?: boolean;
  /** The last receiver sample and when it was taken. */
  last?: { at: number; sample: ReceiverSample };
  /**
   * The receiver got something (events or heartbeats) after this time: the time of the sample
   * before the one that first showed the change. Undefined until a change is seen.
   */
  receivedAfter?: number;
}

export type ContactPoll = { at: number; ok: false } | { at: number; ok: true; serverId: number; readOnly: boolean; receiver?: ReceiverSample };

export function nextContact(prev: SiteContact | undefined, poll: ContactPoll): SiteContact {
  if (!poll.ok) {
    const { failingSince, ...rest } = prev ?? {};
    return { ...rest, failingSince: failingSince ?? poll.at, lostSinceWritable: true };
  }
  const lost = poll.readOnly && prev?.lostSinceWritable === true;
  const base: SiteContact = { serverId: poll.serverId, ...(lost ? { lostSinceWritable: true } : {}) };
  const r = poll.receiver;
  if (r === undefined) return base;
  const before = prev?.last;
  const sameSource = before !== undefined && before.sample.sourceServerId === r.sourceServerId;
  const changed = sameSource && (before.sample.heartbeats !== r.heartbeats || before.sample.received !== r.received);
  const receivedAfter = changed ? before.at : sameSource ? prev?.receivedAfter : undefined;
  return { ...base, last: { at: poll.at, sample: r }, ...(receivedAfter !== undefined ? { receivedAfter } : {}) };
}

/** One replica of the lost primary as the decision core sees it. */
export interface WitnessView {
  name: string;
  link: ReceiverLink;
  /** ISO time; see SiteContact.receivedAfter. */
  receivedAfter?: string;
  heartbeatPeriodSeconds: number;
}

export type WitnessVerdict =
  /** Some replica received from the primary after the operator lost it: the primary is alive. */
  | { kind: "alive"; sites: string[] }
  /** Connected replicas that have received nothing yet, but not for long enough to call the primary gone. */
  | { kind: "pending"; sites: string[] }
  /** Every replica of the primary has lost it too. */
  | { kind: "gone"; sites: string[] }
  /** No reachable site replicates from the primary: nothing can confirm it is gone. */
  | { kind: "none" };

/** Silence on a connected receiver counts as loss after this many heartbeat periods. */
export const SILENT_HEARTBEAT_PERIODS = 2;

/**
 * - alive: a connected receiver got something after `lostAt` (the start of the operator's first
 *   failed poll of the primary). Only a change between two samples both taken at or after lostAt
 *   counts, so events sent before the primary died are not mistaken for life.
 * - gone: every witness is reconnecting, or connected and silent for more than
 *   SILENT_HEARTBEAT_PERIODS heartbeat periods since lostAt (a hung primary sends nothing, and a
 *   black-holed link looks connected until the receiver's own timeout).
 * - pending: otherwise, while some connected witness is silent for less than that; with heartbeats
 *   off, silence proves nothing and the wait lasts until the receiver gives up by itself.
 * Stopped receivers (by hand, or on a non-network error) are not witnesses.
 */
export function witnessVerdict(witnesses: readonly WitnessView[], lostAt: number, nowMs: number): WitnessVerdict {
  const alive: string[] = [];
  const pending: string[] = [];
  const gone: string[] = [];
  for (const w of witnesses) {
    if (w.link === "stopped") continue;
    if (w.link === "reconnecting") {
      gone.push(w.name);
      continue;
    }
    const after = w.receivedAfter === undefined ? NaN : Date.parse(w.receivedAfter);
    if (after >= lostAt) alive.push(w.name);
    else if (w.heartbeatPeriodSeconds > 0 && nowMs - lostAt > SILENT_HEARTBEAT_PERIODS * w.heartbeatPeriodSeconds * 1000) gone.push(w.name);
    else pending.push(w.name);
  }
  if (alive.length > 0) return { kind: "alive", sites: alive };
  if (pending.length > 0) return { kind: "pending", sites: pending };
  if (gone.length > 0) return { kind: "gone", sites: gone };
  return { kind: "none" };
}
