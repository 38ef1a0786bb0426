import type { SiteRole, SiteState } from "../names.js";
import type { Origin, ServerPosition } from "../failover/gtid-compare.js";
import { receiverLink, type ReceiverLink, type ReceiverSample } from "../failover/witness.js";

export type FlavorName = "mysql" | "mariadb";

export interface ReplicaState {
  /** The IO (receiver) thread is connected to its source. */
  readonly ioRunning: boolean;
  /** The IO thread is configured to run but is (re)connecting: the source may be down or hung. */
  readonly ioConnecting: boolean;
  readonly sqlRunning: boolean;
  readonly ioThreadState: string;
  readonly sqlThreadState: string;
  /** null while either thread is stopped or the IO thread is not connected. */
  readonly secondsBehindSource: number | null;
  readonly sourceHost: string;
  readonly sourcePort: number;
  /** MySQL Auto_Position=1; MariaDB Using_Gtid is Slave_Pos or Current_Pos. */
  readonly gtidAutoPosition: boolean;
  /**
   * What the IO thread has received, applied or not. MySQL: Retrieved_Gtid_Set (canonical);
   * MariaDB: Gtid_IO_Pos. Waiting for this drains the relay log.
   */
  readonly retrievedGtids: string;
  readonly lastIoErrno: number;
  readonly lastIoError: string;
  readonly lastSqlErrno: number;
  readonly lastSqlError: string;
  /** Configured MASTER_DELAY / SOURCE_DELAY in seconds. */
  readonly sqlDelay: number;
  /** server_id of the source, as the receiver last learned it (0 before it ever connected). */
  readonly sourceServerId: number;
  /** Heartbeats received from the source since replication started: the receiver hears from a live source even when it writes nothing. */
  readonly receivedHeartbeats: number;
  /** The configured heartbeat period in seconds (0: heartbeats off). */
  readonly heartbeatPeriodSeconds: number;
}

/** What one poll of one server reports (the flavor layer reads it; the decision inputs map it). */
export interface ServerObservation {
  readonly flavor: FlavorName;
  readonly version: string;
  readonly serverId: number;
  /** MySQL only: @@server_uuid, the source part of the GTIDs this server writes. */
  readonly serverUuid?: string;
  readonly readOnly: boolean;
  /** MariaDB has no super_read_only; there this always equals readOnly. */
  readonly superReadOnly: boolean;
  /** MySQL: canonical @@gtid_executed. MariaDB: @@gtid_binlog_pos. */
  readonly gtidExecuted: string;
  /** MariaDB only: last GTID per (domain, server_id) in the binlog. */
  readonly gtidBinlogState?: string;
  /** MariaDB only: last replicated GTID per domain. */
  readonly gtidSlavePos?: string;
  /** MariaDB only: binlog and replicated positions merged; differs from gtidSlavePos after local writes on a replica. */
  readonly gtidCurrentPos?: string;
  /** undefined when no replication is configured. */
  readonly replica?: ReplicaState;
}

/**
 * A site as one cycle sees it: the one shape of "a site this cycle". The decision cores read it
 * whole (decide.ts; PlannedSite adds what only a switchover needs); the verdict, the replication
 * health and the poll take the parts they need (Pick).
 */
export interface DecisionSite {
  name: string;
  role: SiteRole;
  /** Debounced state (nextSiteTracker). */
  state: SiteState;
  /** The last poll answered. */
  polledOk: boolean;
  /** Raw `@@read_only` from the last poll; undefined when that poll failed. */
  readOnly?: boolean;
  /** Flavor and executed transactions from the last poll; undefined when never read. */
  position?: ServerPosition;
  /** The group site this one's replication source points at, when known. */
  replicatingFrom?: string;
  /** Who originates this server's own writes, from the last poll. */
  origin?: Origin;
  /** ISO start of the first failed poll of the current run of failures; undefined while polls succeed. */
  failingSince?: string;
  /**
   * This operator saw the site's polls fail since it last saw it writable (a crash, a restart, a
   * total loss). Only such a recorded primary that came back read-only may be made writable again
   * (R4b); one demoted by hand while reachable never is.
   */
  lostSinceWritable?: boolean;
  /** Its applier (SQL) thread stopped on an error: promoting it would likely discard its relay log. */
  applierError?: boolean;
  /**
   * A managed site whose replication threads are both stopped without an error: its server
   * restarted (managed servers start with skip_replica_start, so that a restarted server never
   * follows a stale source on its own). Under a primary it holds nothing extra of, R5 repoints it.
   */
  replicationStopped?: boolean;
  /** This site's receiver (IO) thread, when it replicates: the witness evidence (witness.ts). */
  receiver?: { link: ReceiverLink; receivedAfter?: string; heartbeatPeriodSeconds: number };
}

/** The witness sample (shared/failover/witness.ts) a replica's poll carries. */
export function receiverSample(r: ReplicaState): ReceiverSample {
  return {
    link: receiverLink(r),
    sourceServerId: r.sourceServerId,
    heartbeats: r.receivedHeartbeats,
    received: r.retrievedGtids,
    heartbeatPeriodSeconds: r.heartbeatPeriodSeconds,
  };
}

export interface SiteAddress {
  host: string;
  port: number;
}
