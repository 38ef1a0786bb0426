/**
 * An update of the cache servers the operator runs, one server at a time, the master last and
 * only once it has been handed over: nextRollStep (which pod restarts, when) with decideDragonfly
 * told which server is being updated.
 */
import { describe, expect, it } from "vitest";
import { decideDragonfly, type CacheSite } from "../../shared/dragonfly/decide.js";
import { cacheServerPods, nextRollStep, type CacheServerPod, type RollInput } from "../../shared/dragonfly/roll.js";
import type { CacheReplication } from "../../shared/dragonfly/replication.js";

const PORTS: Record<string, number> = { iad: 6379, pdx: 6380 };
const master = (keys = 10): CacheSite["observed"] => ({ role: "master", connectedReplicas: 1, replicas: [], keys });
const replicaOf = (of: string, extra: Partial<CacheReplication> = {}): CacheSite["observed"] => ({ role: "replica", masterHost: "10.0.0.1", masterPort: PORTS[of]!, linkUp: true, syncInProgress: false, connectedReplicas: 0, replicas: [], ...extra });
const site = (name: string, observed: CacheSite["observed"]): CacheSite => ({ name, host: "10.0.0.1", port: PORTS[name]!, ...(observed ? { observed } : { error: "connect ECONNREFUSED" }) });
const pod = (site: string, current: boolean, uid = `${site}-1`): CacheServerPod => ({ site, current, pod: { name: `dragonfly-orders-${site}-0`, uid } });
const input = (servers: CacheServerPod[], extra: Partial<RollInput> = {}): RollInput => ({ servers, master: "iad", inSync: new Set(["pdx"]), restarted: new Set(), ...extra });

describe("updating the cache servers the operator runs", () => {
  it("does nothing while every pod runs the current template", () => {
    expect(nextRollStep(input([pod("iad", true), pod("pdx", true)]))).toEqual({ kind: "idle" });
  });

  it("restarts a replica first, once, and waits until it is back on the new template and caught up", () => {
    const servers = [pod("iad", false), pod("pdx", false)];
    expect(nextRollStep(input(servers))).toEqual({ kind: "restart", rolling: "pdx", pod: { name: "dragonfly-orders-pdx-0", uid: "pdx-1" } });
    // The same pod is never deleted twice; a new one (new uid) on the old template would be.
    expect(nextRollStep(input(servers, { rolling: "pdx", inSync: new Set(), restarted: new Set(["pdx-1"]) }))).toMatchObject({ kind: "wait", rolling: "pdx" });
    const back = [pod("iad", false), pod("pdx", true, "pdx-2")];
    expect(nextRollStep(input(back, { rolling: "pdx", inSync: new Set(), restarted: new Set(["pdx-1"]) }))).toEqual({ kind: "wait", rolling: "pdx", why: "pdx runs the new template and catches up with iad" });
    // Caught up: the master is next, and it waits for the master to move off it.
    expect(nextRollStep(input(back, { rolling: "pdx", restarted: new Set(["pdx-1"]) }))).toEqual({ kind: "wait", rolling: "iad", why: "the master moves off iad before it restarts" });
  });

  it("starts nothing while a replica is behind or no master answers", () => {
    const servers = [pod("iad", false), pod("pdx", false)];
    expect(nextRollStep(input(servers, { inSync: new Set() }))).toEqual({ kind: "wait", why: "pdx not caught up with iad" });
    const { master: _m, ...noMaster } = input(servers);
    expect(nextRollStep(noMaster)).toEqual({ kind: "wait", why: "no cache master answers" });
  });

  it("a lone server restarts as the master: there is nobody to hand it to", () => {
    expect(nextRollStep(input([pod("iad", false)], { inSync: new Set() }))).toEqual({ kind: "restart", rolling: "iad", pod: { name: "dragonfly-orders-iad-0", uid: "iad-1" } });
  });

  it("walks a whole update with the decision: the master handed over by takeovers, no server restarted while it is the master", () => {
    // pdx already updated; iad, the master on the database's primary, is next.
    let d = decideDragonfly({ dbPrimary: "iad", updating: "iad", sites: [site("iad", master()), site("pdx", replicaOf("iad"))] });
    expect(d.actions).toEqual([{ kind: "promote", site: "pdx", method: "takeover", from: "iad" }]);
    expect(nextRollStep(input([pod("iad", false), pod("pdx", true, "pdx-2")], { rolling: "iad", master: d.master! }))).toMatchObject({ kind: "wait", rolling: "iad" });

    // After the takeover pdx is the master and iad its replica: iad may restart now.
    d = decideDragonfly({ dbPrimary: "iad", updating: "iad", sites: [site("iad", replicaOf("pdx")), site("pdx", master())] });
    expect(d).toMatchObject({ target: "pdx", actions: [], phase: "Reconciling", message: "pdx is the master; iad is being updated; the master stays on pdx until it is back and caught up" });
    expect(nextRollStep(input([pod("iad", false), pod("pdx", true, "pdx-2")], { rolling: "iad", master: "pdx", inSync: new Set(d.caughtUp) }))).toEqual({ kind: "restart", rolling: "iad", pod: { name: "dragonfly-orders-iad-0", uid: "iad-1" } });

    // iad back empty, as a master: it copies the sessions from pdx, and stays a replica meanwhile.
    d = decideDragonfly({ dbPrimary: "iad", updating: "iad", sites: [site("iad", master(0)), site("pdx", master())] });
    expect(d.actions).toEqual([{ kind: "replicate", site: "iad", master: "pdx" }]);
    d = decideDragonfly({ dbPrimary: "iad", updating: "iad", sites: [site("iad", replicaOf("pdx", { syncInProgress: true })), site("pdx", master())] });
    expect(nextRollStep(input([pod("iad", true, "iad-2"), pod("pdx", true, "pdx-2")], { rolling: "iad", master: "pdx", inSync: new Set(d.caughtUp), restarted: new Set(["iad-1"]) }))).toMatchObject({ kind: "wait", rolling: "iad" });

    // Caught up: the update is over, and the master goes back to the database's site by a takeover.
    d = decideDragonfly({ dbPrimary: "iad", updating: "iad", sites: [site("iad", replicaOf("pdx")), site("pdx", master())] });
    expect(nextRollStep(input([pod("iad", true, "iad-2"), pod("pdx", true, "pdx-2")], { rolling: "iad", master: "pdx", inSync: new Set(d.caughtUp) }))).toEqual({ kind: "idle" });
    d = decideDragonfly({ dbPrimary: "iad", sites: [site("iad", replicaOf("pdx")), site("pdx", master())] });
    expect(d.actions).toEqual([{ kind: "promote", site: "iad", method: "takeover", from: "pdx" }]);
  });

  it("reads from the objects which pods run the current template", () => {
    const existing = {
      statefulSets: [{ name: "dragonfly-orders-iad", updateRevision: "r2", settled: true }, { name: "dragonfly-orders-pdx", updateRevision: "r2", settled: true }, { name: "dragonfly-orders-dr", settled: true }],
      services: [],
      pods: [
        { name: "dragonfly-orders-iad-0", uid: "u1", revision: "r1" },
        { name: "dragonfly-orders-pdx-0", uid: "u2", revision: "r2" },
      ],
    };
    expect(cacheServerPods("orders", ["iad", "pdx", "dr", "sfo"], existing)).toEqual([
      { site: "iad", current: false, pod: { name: "dragonfly-orders-iad-0", uid: "u1" } },
      { site: "pdx", current: true, pod: { name: "dragonfly-orders-pdx-0", uid: "u2" } },
      { site: "dr", current: false },
    ]);
  });
});
