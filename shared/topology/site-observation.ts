import { receiverLink, type ReceiverSample } from "../failover/witness.js";

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
