import { receiverLink, type ReceiverSample } from "../failover/witness.js";

/** What one poll of one server reports, flavor-independent. */
export interface SiteObservation {
  flavor: "mysql" | "mariadb";
  serverId: number;
  serverUuid?: string;
  readOnly: boolean;
  gtidExecuted: string;
  gtidBinlogState?: string;
  replica?: {
    ioRunning: boolean;
    ioConnecting: boolean;
    lastIoErrno: number;
    lastSqlErrno: number;
    retrievedGtids: string;
    sourceServerId: number;
    receivedHeartbeats: number;
    heartbeatPeriodSeconds: number;
    sqlRunning: boolean;
    secondsBehindSource: number | null;
    sourceHost: string;
    sourcePort: number;
    lastIoError: string;
    lastSqlError: string;
  };
}

/** The witness sample (shared/failover/witness.ts) a replica's poll carries. */
export function receiverSample(r: NonNullable<SiteObservation["replica"]>): ReceiverSample {
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
