import { describe, expect, it } from "vitest";
import { managedSpec } from "../../support/fixtures.js";
import { decisionSites } from "../../../shared/failover/decision-input.js";
import type { ReplicaState, ServerObservation } from "../../../shared/topology/site-observation.js";

const replica = (extra: Partial<ReplicaState> = {}): ReplicaState => ({
  ioRunning: false,
  ioConnecting: false,
  sqlRunning: false,
  ioThreadState: "",
  sqlThreadState: "",
  secondsBehindSource: null,
  sourceHost: "mysql-orders-iad.shop.svc",
  sourcePort: 3306,
  gtidAutoPosition: true,
  retrievedGtids: "",
  lastIoErrno: 0,
  lastIoError: "",
  lastSqlErrno: 0,
  lastSqlError: "",
  sqlDelay: 0,
  sourceServerId: 0,
  receivedHeartbeats: 0,
  heartbeatPeriodSeconds: 1,
  ...extra,
});
const observation = (r: ReplicaState): ServerObservation => ({ flavor: "mariadb", version: "10.11", serverId: 2, readOnly: true, superReadOnly: true, gtidExecuted: "0-1-5", replica: r });

describe("decision sites: replication stopped by a restart", () => {
  const spec = managedSpec({ reader: "ext" });
  const addresses = new Map([
    ["iad", { host: "mysql-orders-iad.shop.svc", port: 3306 }],
    ["pdx", { host: "mysql-orders-pdx.shop.svc", port: 3306 }],
    ["ext", { host: "ext.db", port: 3306 }],
  ]);
  const flags = (pdx: ReplicaState, ext: ReplicaState = pdx) =>
    decisionSites({ spec, states: new Map(), addresses, observations: new Map([["pdx", observation(pdx)], ["ext", observation(ext)]]) })
      .filter((s) => s.name !== "iad")
      .map((s) => [s.name, s.replicationStopped === true]);

  it("marks a managed site whose threads both stopped without an error; never an external one", () => {
    expect(flags(replica())).toEqual([["pdx", true], ["ext", false]]);
  });

  it.each([
    ["running", { ioRunning: true, sqlRunning: true }],
    ["reconnecting", { ioConnecting: true }],
    ["stopped on a receiver error", { lastIoErrno: 1236 }],
    ["stopped on an applier error", { lastSqlErrno: 1062 }],
    ["applier still running", { sqlRunning: true }],
  ] as const)("not when %s", (_what, extra) => {
    expect(flags(replica(extra))[0]).toEqual(["pdx", false]);
  });
});
