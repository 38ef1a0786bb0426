import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type mysql from "mysql2/promise";
import { FenceFailed, ServerError } from "../../../operator/mysql/flavor.js";
import type { ReplicationSource } from "../../../operator/mysql/flavor.js";
import type { ServerObservation } from "../../../shared/topology/site-observation.js";
import { SiteClient } from "../../../operator/mysql/site-client.js";
import type { SiteSession } from "../../../operator/mysql/site-client.js";
import { MariaDbSites, TEST_USERS } from "../../../scripts/env/mariadb-sites.js";
import { waitFor } from "../../../scripts/env/ports.js";
import type { MariaDbSite } from "../../../scripts/env/mariadb-sites.js";

// The tests run in order and share one history: iad starts as primary, pdx is promoted later,
// and iad and sfo end up replicating from it.
describe("MariaDB flavor against real mariadbd", () => {
  let sites: MariaDbSites;
  const clients = new Map<string, SiteClient>();
  let iad: MariaDbSite;
  let pdx: MariaDbSite;
  let sfo: MariaDbSite;

  const client = (site: MariaDbSite): SiteClient => {
    let c = clients.get(site.name);
    if (c === undefined) {
      const { user, password } = TEST_USERS.operator;
      c = new SiteClient({ host: site.host, port: site.port, user, password }, { connectTimeoutMs: 2_000, queryTimeoutMs: 5_000 });
      clients.set(site.name, c);
    }
    return c;
  };
  const on = <T>(site: MariaDbSite, operation: string, fn: (s: SiteSession) => Promise<T>): Promise<T> => client(site).run(operation, fn);
  const observe = (site: MariaDbSite): Promise<ServerObservation> => on(site, "observe", (s) => s.flavor.observe(s));
  const waitForReceived = (site: MariaDbSite, pos: string): Promise<unknown> =>
    waitFor(`${site.name} received ${pos}`, async () => (await observe(site)).replica?.retrievedGtids === pos, 10_000, 50);
  const replicationFrom = (site: MariaDbSite): ReplicationSource => ({ host: site.host, port: site.port, ...TEST_USERS.replication });

  beforeAll(async () => {
    sites = await MariaDbSites.start({ names: ["iad", "pdx", "sfo"], primary: "iad" });
    [iad, pdx, sfo] = [sites.site("iad"), sites.site("pdx"), sites.site("sfo")];
  });

  afterAll(async () => {
    for (const c of clients.values()) c.close();
    await sites?.teardown();
  });

  it("observes the primary: flavor, server_id, writable, GTID positions, no replication", async () => {
    const pos = await iad.injectWrite("first");
    const seen = await observe(iad);
    expect(seen).toMatchObject({ flavor: "mariadb", serverId: 1, readOnly: false, superReadOnly: false, gtidExecuted: pos, replica: undefined });
    expect(seen.version).toContain("MariaDB");
    expect(seen.gtidBinlogState).toBe(await iad.variable("gtid_binlog_state"));
    expect(seen.gtidCurrentPos).toBe(pos);
    expect(seen.gtidSlavePos).toBe("");
  });

  it("observes a replica: read-only, replicated position, running threads with their source", async () => {
    const pos = await iad.injectWrite("to replicas");
    expect(await pdx.waitForGtid(pos, 10)).toBe(true);
    const seen = await observe(pdx);
    expect(seen).toMatchObject({ serverId: 2, readOnly: true, superReadOnly: true, gtidExecuted: pos, gtidSlavePos: pos, gtidCurrentPos: pos });
    expect(seen.replica).toMatchObject({
      ioRunning: true,
      ioConnecting: false,
      sqlRunning: true,
      secondsBehindSource: 0,
      sourceHost: "127.0.0.1",
      sourcePort: iad.port,
      gtidAutoPosition: true,
      retrievedGtids: pos,
      lastIoErrno: 0,
      lastIoError: "",
      lastSqlErrno: 0,
      lastSqlError: "",
      sqlDelay: 0,
      sourceServerId: 1,
      heartbeatPeriodSeconds: 1,
    });
    expect(seen.replica?.ioThreadState).toMatch(/waiting for master/i);
  });

  it("the witness evidence: an idle source's heartbeats keep arriving at its replica", async () => {
    const first = (await observe(pdx)).replica?.receivedHeartbeats ?? -1;
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const later = (await observe(pdx)).replica?.receivedHeartbeats ?? -1;
    expect(first).toBeGreaterThanOrEqual(0);
    expect(later).toBeGreaterThan(first);
  });

  it("startApplier resumes a stopped applier; removeApplyDelay lets a delayed replica apply what it received at once", async () => {
    await sfo.query("STOP REPLICA SQL_THREAD");
    const pos = await iad.injectWrite("held back");
    await waitForReceived(sfo, pos);
    expect((await observe(sfo)).gtidExecuted).not.toBe(pos);
    await on(sfo, "start applier", (s) => s.flavor.startApplier(s));
    expect(await sfo.waitForGtid(pos, 10)).toBe(true);

    await sfo.setReplicationDelay(3600);
    const delayed = await iad.injectWrite("delayed an hour");
    await waitForReceived(sfo, delayed);
    await on(sfo, "remove delay", (s) => s.flavor.removeApplyDelay(s));
    expect(await sfo.waitForGtid(delayed, 10)).toBe(true);
    // The receiver stays stopped, and MariaDB drops GTID positioning once a relay log position is
    // given: the promotion that follows resets replication anyway.
    expect((await observe(sfo)).replica).toMatchObject({ sqlDelay: 0, ioRunning: false, sqlRunning: true, sourcePort: iad.port, gtidAutoPosition: false });
    await sfo.replicateFrom(iad);
  });

  it("waitForGtid: true once applied, false within the timeout while MASTER_DELAY holds the applier back", async () => {
    await sfo.setReplicationDelay(30);
    const pos = await iad.injectWrite("delayed");
    expect(await on(pdx, "wait", (s) => s.flavor.waitForGtid(s, pos, 5))).toBe(true);

    const started = performance.now();
    expect(await on(sfo, "wait", (s) => s.flavor.waitForGtid(s, pos, 1))).toBe(false);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(3_000);

    // Lag as the poll sees it: received but not applied, and the configured delay.
    const lagging = await observe(sfo);
    expect(lagging.replica).toMatchObject({ sqlDelay: 30, retrievedGtids: pos, ioRunning: true, sqlRunning: true });
    expect(lagging.gtidExecuted).not.toBe(pos);

    await sfo.setReplicationDelay(0);
    expect(await on(sfo, "wait", (s) => s.flavor.waitForGtid(s, pos, 10))).toBe(true);
  });

  it("fence stops the app account; unfence lets it write again", async () => {
    await on(iad, "fence", (s) => s.flavor.fence(s, { lockWaitTimeoutSeconds: 2 }));
    expect(await observe(iad)).toMatchObject({ readOnly: true, superReadOnly: true });
    await expect(iad.injectWrite("app while fenced", "app")).rejects.toThrow(/read-only/i);

    await on(iad, "unfence", (s) => s.flavor.unfence(s));
    expect((await observe(iad)).readOnly).toBe(false);
    await expect(iad.injectWrite("app after unfence", "app")).resolves.toMatch(/^0-1-\d+$/);
  });

  it("a fence blocked by LOCK TABLES ... WRITE fails within the lock wait timeout and leaves read_only=0", async () => {
    const locker = await iad.connect("admin");
    try {
      await locker.query("LOCK TABLES bloodraven_test.writes WRITE");
      const started = performance.now();
      const failure = await on(iad, "fence", (s) => s.flavor.fence(s, { lockWaitTimeoutSeconds: 1 })).catch((err: unknown) => err);
      const elapsed = performance.now() - started;
      expect(failure).toBeInstanceOf(FenceFailed);
      expect((failure as FenceFailed).state).toEqual({ readOnly: false, superReadOnly: false });
      // ER_LOCK_WAIT_TIMEOUT
      expect(((failure as FenceFailed).cause as ServerError).errno).toBe(1205);
      expect(elapsed).toBeGreaterThanOrEqual(900);
      expect(elapsed).toBeLessThan(3_000);
      expect(await iad.isReadOnly()).toBe(false);
    } finally {
      await locker.query("UNLOCK TABLES");
      locker.destroy();
    }
    // The client reconnects after the failure.
    expect((await observe(iad)).readOnly).toBe(false);
  });

  it("killApplicationConnections kills app sessions, spares replication on both ends", async () => {
    const appSession = async (site: MariaDbSite): Promise<{ conn: mysql.Connection; lost: Promise<unknown> }> => {
      const conn = await site.connect("app");
      const lost = new Promise((resolve) => conn.on("error", resolve));
      return { conn, lost };
    };

    const onPrimary = await appSession(iad);
    const killed = await on(iad, "kill", (s) => s.flavor.killApplicationConnections(s, { spareUsers: [TEST_USERS.operator.user] }));
    expect(killed).toHaveLength(1);
    await onPrimary.lost;
    await expect(onPrimary.conn.query("SELECT 1")).rejects.toThrow();
    onPrimary.conn.destroy();

    const onReplica = await appSession(pdx);
    expect(await on(pdx, "kill", (s) => s.flavor.killApplicationConnections(s, { spareUsers: [TEST_USERS.operator.user] }))).toHaveLength(1);
    await onReplica.lost;
    onReplica.conn.destroy();

    const pos = await iad.injectWrite("after kills");
    for (const replica of [pdx, sfo]) {
      expect(await replica.waitForGtid(pos, 10)).toBe(true);
      expect((await observe(replica)).replica).toMatchObject({ ioRunning: true, sqlRunning: true });
    }
  });

  it("promotes a replica: replication removed, writable, executed GTIDs recorded", async () => {
    await on(iad, "fence", (s) => s.flavor.fence(s, { lockWaitTimeoutSeconds: 2 }));
    const last = await iad.gtidBinlogPos();
    expect(await on(pdx, "drain", (s) => s.flavor.waitForGtid(s, last, 10))).toBe(true);

    const { gtidExecuted } = await on(pdx, "promote", (s) => s.flavor.promote(s));
    expect(gtidExecuted).toBe(last);
    const seen = await observe(pdx);
    expect(seen).toMatchObject({ readOnly: false, replica: undefined, gtidExecuted: last });
    await expect(pdx.injectWrite("on the new primary", "app")).resolves.toMatch(/^0-2-\d+$/);
  });

  it("repoints the other replica and the old primary (formerPrimary) to the new primary; writes flow", async () => {
    await on(sfo, "repoint", (s) => s.flavor.repoint(s, replicationFrom(pdx), { formerPrimary: false, heartbeatSeconds: 1, connectRetrySeconds: 1 }));
    await on(iad, "repoint", (s) => s.flavor.repoint(s, replicationFrom(pdx), { formerPrimary: true, heartbeatSeconds: 1, connectRetrySeconds: 1 }));

    const pos = await pdx.injectWrite("after repoint", "app");
    for (const follower of [sfo, iad]) {
      expect(await on(follower, "wait", (s) => s.flavor.waitForGtid(s, pos, 10))).toBe(true);
      const seen = await observe(follower);
      expect(seen).toMatchObject({ readOnly: true, gtidExecuted: pos, gtidSlavePos: pos });
      expect(seen.replica).toMatchObject({ ioRunning: true, sqlRunning: true, sourcePort: pdx.port, gtidAutoPosition: true, lastSqlErrno: 0, lastIoErrno: 0 });
      const rows = await follower.query<{ note: string }[]>("SELECT note FROM bloodraven_test.writes ORDER BY id DESC LIMIT 1");
      expect(rows[0]?.note).toBe("after repoint");
    }
    await expect(iad.variable("gtid_slave_pos")).resolves.toBe(pos);
  });

  it("stopReplica and resetReplica leave no replication configured", async () => {
    await on(sfo, "stop", (s) => s.flavor.stopReplica(s));
    expect((await observe(sfo)).replica).toMatchObject({ ioRunning: false, sqlRunning: false, secondsBehindSource: null });
    await on(sfo, "reset", (s) => s.flavor.resetReplica(s));
    expect((await observe(sfo)).replica).toBeUndefined();
  });

  it("a refused statement surfaces as ServerError with the server's errno", async () => {
    const failure = await on(iad, "bad", (s) => s.query("SELECT no_such_column FROM bloodraven_test.writes")).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ServerError);
    expect(failure).toMatchObject({ errno: 1054, endpoint: `127.0.0.1:${iad.port}` });
  });
});
