import { describe, expect, it } from "vitest";
import { decideDragonfly, rejoinLosesNothing, type CacheSite } from "../../shared/dragonfly/decide.js";
import { cacheFlavor, parseReplication, type CacheReplication } from "../../shared/dragonfly/replication.js";

const PORTS: Record<string, number> = { iad: 6379, pdx: 6380, dr: 6381 };
const master = (extra: Partial<CacheReplication> & { keys?: number } = {}): CacheSite["observed"] => ({ role: "master", connectedReplicas: 0, replicas: [], keys: 10, ...extra });
const replicaOf = (of: string, extra: Partial<CacheReplication> = {}): CacheSite["observed"] => ({
  role: "replica",
  masterHost: "10.0.0.1",
  masterPort: PORTS[of]!,
  linkUp: true,
  syncInProgress: false,
  connectedReplicas: 0,
  replicas: [],
  ...extra,
});
const site = (name: string, observed: CacheSite["observed"]): CacheSite => ({ name, host: "10.0.0.1", port: PORTS[name]!, ...(observed ? { observed } : { error: "connect ECONNREFUSED" }) });

describe("dragonfly: where the cache master goes", () => {
  it("Ready when the master is on the database's primary and every other site streams from it", () => {
    const d = decideDragonfly({ dbPrimary: "iad", sites: [site("iad", master()), site("pdx", replicaOf("iad")), site("dr", replicaOf("iad"))] });
    expect(d).toEqual({ target: "iad", master: "iad", actions: [], roles: { iad: "master", pdx: "replica", dr: "replica" }, stale: [], caughtUp: ["pdx", "dr"], phase: "Ready", message: "iad is the master" });
  });

  it("takes over on the database's new primary while the old master answers; REPLICAOF NO ONE when it does not", () => {
    const live = decideDragonfly({ dbPrimary: "pdx", sites: [site("iad", master()), site("pdx", replicaOf("iad"))] });
    expect(live).toMatchObject({ target: "pdx", master: "iad", phase: "Promoting", actions: [{ kind: "promote", site: "pdx", method: "takeover", from: "iad" }] });
    const gone = decideDragonfly({ dbPrimary: "pdx", sites: [site("iad", undefined), site("pdx", replicaOf("iad", { linkUp: false }))] });
    expect(gone).toMatchObject({ target: "pdx", phase: "Promoting", actions: [{ kind: "promote", site: "pdx", method: "replicaof-no-one" }], roles: { iad: "unreachable", pdx: "replica" } });
    // A link that is down even though the master answers: no takeover (it would wait in vain).
    const cut = decideDragonfly({ dbPrimary: "pdx", sites: [site("iad", master()), site("pdx", replicaOf("iad", { linkUp: false }))] });
    expect(cut.actions).toEqual([{ kind: "promote", site: "pdx", method: "replicaof-no-one" }]);
  });

  it("repoints replicas that follow another server, and rejoins a second master that loses nothing by it", () => {
    const d = decideDragonfly({
      dbPrimary: "pdx",
      sites: [site("iad", master({ replid: "old", offset: 500 })), site("pdx", master({ replid: "new", replid2: "old", secondOffset: 501 })), site("dr", replicaOf("iad"))],
    });
    expect(d).toMatchObject({ target: "pdx", phase: "Reconciling", stale: [], actions: [{ kind: "replicate", site: "iad", master: "pdx" }, { kind: "replicate", site: "dr", master: "pdx" }] });
    expect(d.message).toBe("repointing iad, dr at pdx");
  });

  it("an empty master on the database's site copies the sessions from the master that holds them before it takes over", () => {
    const d = decideDragonfly({ dbPrimary: "pdx", activeSite: "iad", sites: [site("iad", master({ keys: 50 })), site("pdx", master({ keys: 0 }))] });
    expect(d).toEqual({
      target: "pdx",
      master: "iad",
      actions: [{ kind: "replicate", site: "pdx", master: "iad" }],
      roles: { iad: "master", pdx: "master" },
      stale: [],
      caughtUp: [],
      phase: "Reconciling",
      message: "pdx is empty while iad holds the sessions: it copies them from iad before it takes over",
    });
    // Both empty (a new group): the database's site is the master, the other joins it.
    expect(decideDragonfly({ dbPrimary: "pdx", sites: [site("iad", master({ keys: 0 })), site("pdx", master({ keys: 0 }))] }).actions).toEqual([{ kind: "replicate", site: "iad", master: "pdx" }]);
  });

  it("leaves a second master that holds writes the master lacks alone, and says so", () => {
    const d = decideDragonfly({ dbPrimary: "pdx", sites: [site("iad", master({ replid: "old", offset: 900 })), site("pdx", master({ replid: "new", replid2: "old", secondOffset: 501 }))] });
    expect(d).toMatchObject({ target: "pdx", phase: "Degraded", actions: [], stale: ["iad"], roles: { iad: "stale-master", pdx: "master" } });
    expect(d.message).toBe("pdx is the master; iad is a second master holding writes pdx lacks (left alone: repointing it would discard them)");
  });

  it("keeps the master where it is when the database's site has no cache that answers, or the database no primary", () => {
    const d = decideDragonfly({ dbPrimary: "pdx", activeSite: "iad", sites: [site("iad", master()), site("pdx", undefined)] });
    expect(d).toMatchObject({ target: "iad", phase: "Degraded", actions: [] });
    expect(d.message).toBe("iad is the master; the database's primary pdx has no cache that answers; the master stays on iad; pdx unreachable");
    expect(decideDragonfly({ activeSite: "iad", sites: [site("iad", master()), site("pdx", replicaOf("iad"))] })).toMatchObject({ target: "iad", phase: "Ready" });
  });

  it("with no master answering at all, promotes the replica that received the most (the database healthy elsewhere)", () => {
    const d = decideDragonfly({
      dbPrimary: "iad",
      sites: [site("iad", undefined), site("pdx", replicaOf("iad", { linkUp: false, offset: 90 })), site("dr", replicaOf("iad", { linkUp: false, offset: 120 }))],
    });
    expect(d).toMatchObject({ target: "dr", actions: [{ kind: "promote", site: "dr", method: "replicaof-no-one" }], message: "promoting dr (no cache master answers on the database's site)" });
  });

  it("reports replicas still loading or cut off, and no site answering", () => {
    const d = decideDragonfly({ dbPrimary: "iad", sites: [site("iad", master()), site("pdx", replicaOf("iad", { syncInProgress: true })), site("dr", replicaOf("iad", { linkUp: false }))] });
    expect(d).toMatchObject({ phase: "Degraded", message: "iad is the master; pdx is loading a full copy from iad; dr's link to iad is down" });
    expect(decideDragonfly({ dbPrimary: "iad", sites: [site("iad", undefined), site("pdx", undefined)] })).toEqual({ actions: [], roles: { iad: "unreachable", pdx: "unreachable" }, stale: [], caughtUp: [], phase: "Degraded", message: "no cache site answers (iad, pdx)" });
  });

  it("rejoinLosesNothing: only an empty server, or the promoted one's old stream not written past the promotion", () => {
    const promoted = master({ replid: "new", replid2: "old", secondOffset: 501 });
    expect(rejoinLosesNothing(master({ keys: 0, replid: "x", offset: 5 }), promoted)).toBe(true);
    expect(rejoinLosesNothing(master({ replid: "old", offset: 500 }), promoted)).toBe(true);
    expect(rejoinLosesNothing(master({ replid: "old", offset: 501 }), promoted)).toBe(false);
    expect(rejoinLosesNothing(master({ replid: "other", offset: 10 }), promoted)).toBe(false);
    // Without the fields (a server that does not report them): it cannot be shown, so no.
    expect(rejoinLosesNothing(master({}), master({}))).toBe(false);
    expect(rejoinLosesNothing(master({ replid: "old", offset: 1 }), master({ replid2: "old", secondOffset: -1 }))).toBe(false);
  });
});

describe("dragonfly: INFO replication", () => {
  it("reads Redis's master and replica answers", () => {
    const m = parseReplication(
      "# Replication\r\nrole:master\r\nconnected_slaves:1\r\nslave0:ip=10.1.2.3,port=6380,state=online,offset=42,lag=0\r\nmaster_failover_state:no-failover\r\nmaster_replid:aaaa\r\nmaster_replid2:0000000000000000000000000000000000000000\r\nmaster_repl_offset:42\r\nsecond_repl_offset:-1\r\n",
    );
    expect(m).toEqual({ role: "master", connectedReplicas: 1, replicas: [{ ip: "10.1.2.3", port: 6380, state: "online" }], replid: "aaaa", offset: 42, secondOffset: -1 });
    const r = parseReplication(
      "role:slave\nmaster_host:10.1.2.4\nmaster_port:6379\nmaster_link_status:down\nmaster_last_io_seconds_ago:-1\nmaster_sync_in_progress:1\nslave_repl_offset:40\nconnected_slaves:0\nmaster_replid:bbbb\nmaster_replid2:aaaa\nmaster_repl_offset:40\nsecond_repl_offset:41\n",
    );
    expect(r).toEqual({ role: "replica", masterHost: "10.1.2.4", masterPort: 6379, linkUp: false, syncInProgress: true, connectedReplicas: 0, replicas: [], replid: "bbbb", replid2: "aaaa", offset: 40, secondOffset: 41 });
  });

  it("reads Dragonfly's shape (role:replica, no offsets) and tells the flavors apart", () => {
    expect(parseReplication("role:replica\nmaster_host:df-iad\nmaster_port:6379\nmaster_link_status:up\nmaster_last_io_seconds_ago:0\nmaster_sync_in_progress:0\n")).toEqual({
      role: "replica",
      masterHost: "df-iad",
      masterPort: 6379,
      linkUp: true,
      lastIOSecondsAgo: 0,
      syncInProgress: false,
      connectedReplicas: 0,
      replicas: [],
    });
    expect(cacheFlavor("# Server\nredis_version:7.0.15\ndragonfly_version:df-v1.34.2\n")).toBe("dragonfly");
    expect(cacheFlavor("# Server\nredis_version:7.0.15\n")).toBe("redis");
    expect(() => parseReplication("role:sentinel\n")).toThrow("INFO replication without a known role (role:sentinel)");
  });
});
