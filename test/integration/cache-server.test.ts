import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CacheServers } from "../../scripts/env/cache-servers.js";
import { waitFor } from "../../scripts/env/ports.js";
import { rejoinLosesNothing } from "../../shared/dragonfly/decide.js";
import { CacheClient } from "../../operator/dragonfly/cache-client.js";
import { observeCache, promoteNow, replicate, takeOver } from "../../operator/dragonfly/cache-server.js";

/**
 * The cache client and the replication steps against real redis-server processes (the protocol
 * Dragonfly speaks): observing, repointing, a takeover that loses nothing, a promotion with the
 * master gone, and what decides whether a second master may rejoin.
 */
const password = randomBytes(12).toString("hex");
let servers: CacheServers;
const clients: CacheClient[] = [];

function client(name: string, options: { password?: string; beforeWrite?: () => void } = { password }): CacheClient {
  const s = servers.get(name);
  const c = new CacheClient({ host: s.host, port: s.port }, { timeoutMs: 2_000, ...options });
  clients.push(c);
  return c;
}

const observe = (name: string) => observeCache(client(name));

async function synced(replica: string, master: string): Promise<void> {
  const m = servers.get(master);
  await waitFor(
    `${replica} in sync with ${master}`,
    async () => {
      const [r, own] = [await observe(replica), await observe(master)];
      return r.role === "replica" && r.masterPort === m.port && r.linkUp === true && r.syncInProgress === false && r.offset === own.offset;
    },
    10_000,
    50,
  );
}

describe("cache servers: client and replication steps (real redis-server)", () => {
  beforeAll(async () => {
    servers = await CacheServers.start(["iad", "pdx"], { password });
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await servers?.stop();
  });

  it("observes two fresh masters, refuses a wrong password naming AUTH, and runs the guard before writes only", async () => {
    for (const name of ["iad", "pdx"]) expect(await observe(name)).toMatchObject({ role: "master", flavor: "redis", keys: 0, connectedReplicas: 0 });
    await expect(observeCache(client("iad", { password: "wrong" }))).rejects.toThrow(/^cache 127\.0\.0\.1:\d+: AUTH: WRONGPASS/);
    const guarded = client("iad", { password, beforeWrite: () => {
      throw new Error("not the leader");
    } });
    expect((await observeCache(guarded)).role).toBe("master");
    await expect(replicate(guarded, servers.get("pdx"))).rejects.toThrow("not the leader");
    expect((await observe("iad")).role).toBe("master");
  });

  it("a command without an answer within its deadline ends its connection; the next command opens a new one", async () => {
    const pauser = client("iad");
    const victim = client("iad");
    expect(await victim.read(["PING"])).toBe("PONG");
    // Every client, the pauser too, waits out the pause (1 s).
    await pauser.write(["CLIENT", "PAUSE", 1_000, "ALL"]);
    await expect(victim.read(["PING"], 300)).rejects.toThrow(/^cache 127\.0\.0\.1:\d+: no answer to PING within 300 ms$/);
    expect(await victim.read(["PING"], 5_000)).toBe("PONG");
  });

  it("repoints pdx at iad and copies what iad holds", async () => {
    const iad = client("iad");
    for (let i = 0; i < 100; i++) await iad.write(["SET", `session:${i}`, `v${i}`]);
    await replicate(client("pdx"), servers.get("iad"));
    await synced("pdx", "iad");
    expect(await observe("pdx")).toMatchObject({ role: "replica", masterHost: "127.0.0.1", masterPort: servers.get("iad").port, keys: 100 });
    expect((await observe("iad")).connectedReplicas).toBe(1);
  });

  it("takes over from a live master without losing a write made up to the handover", async () => {
    const iad = client("iad");
    await iad.write(["SET", "session:last", "before-takeover"]);
    await takeOver(client("pdx"), client("iad"), "redis", 5_000);
    const [pdx, old] = [await observe("pdx"), await observe("iad")];
    expect(pdx).toMatchObject({ role: "master", keys: 101 });
    expect(await client("pdx").read(["GET", "session:last"])).toBe("before-takeover");
    // The old master follows the new one on its own.
    expect(old).toMatchObject({ role: "replica", masterPort: servers.get("pdx").port });
    await synced("iad", "pdx");
  });

  it("a second master may rejoin only while it holds nothing the promoted one lacks", async () => {
    // pdx is the master, iad its replica: promote iad with pdx alive (as when pdx was only cut off).
    await promoteNow(client("iad"));
    let [iad, pdx] = [await observe("iad"), await observe("pdx")];
    expect(iad.role).toBe("master");
    expect(iad.replid2).toBe(pdx.replid);
    expect(rejoinLosesNothing(pdx, iad)).toBe(true);
    // pdx takes a write iad never sees: rejoining would discard it.
    await client("pdx").write(["SET", "session:only-on-pdx", "x"]);
    [iad, pdx] = [await observe("iad"), await observe("pdx")];
    expect(pdx.offset).toBeGreaterThan((iad.secondOffset ?? 0) - 1);
    expect(rejoinLosesNothing(pdx, iad)).toBe(false);
    // An empty server (a crashed one that came back without its data) may always rejoin.
    await servers.get("pdx").kill();
    await servers.get("pdx").restart();
    expect(rejoinLosesNothing(await observe("pdx"), await observe("iad"))).toBe(true);
  });

  it("promotes a replica whose master is gone, with what it received", async () => {
    await replicate(client("pdx"), servers.get("iad"));
    await synced("pdx", "iad");
    await servers.get("iad").kill();
    await waitFor("pdx sees its master gone", async () => (await observe("pdx")).linkUp === false, 15_000, 100);
    await promoteNow(client("pdx"));
    expect(await observe("pdx")).toMatchObject({ role: "master", keys: 101 });
    await expect(observe("iad")).rejects.toThrow(/^cache 127\.0\.0\.1:\d+: connect ECONNREFUSED/);
    await servers.get("iad").restart();
  });
});
