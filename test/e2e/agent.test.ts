import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MariaDbSites, type MariaDbSite } from "../../scripts/env/mariadb-sites.js";
import { freePort, waitFor } from "../../scripts/env/ports.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { AgentProcess, AgentSet } from "../support/agent.js";
import { groupReader, namespaceWithOperator } from "../support/groups.js";

/**
 * The per-site agent as a process beside real MariaDB servers, asking the real operator: the
 * startup safety net, rule 1 (the operator names another site) and rule 2 (neither the operator
 * nor a majority reachable for the lease).
 */
const ns = `agent-${randomBytes(3).toString("hex")}`;
const CLOSED = "http://127.0.0.1:9";

describe("the per-site agent beside external sites (real operator, API server and MariaDB)", () => {
  const { operator, freshGroup } = namespaceWithOperator(ns, "agent-e2e");
  const agents = new AgentSet();
  const extra: MariaDbSites[] = [];
  let sites: MariaDbSites;

  beforeAll(async () => {
    sites = await freshGroup("orders");
    // One agent per site, each listing the other two as peers.
    const ports = Object.fromEntries(await Promise.all(["iad", "pdx", "sfo"].map(async (s) => [s, await freePort()] as const)));
    await Promise.all(
      ["iad", "pdx", "sfo"].map(async (site) => {
        const peers = Object.fromEntries(Object.entries(ports).filter(([s]) => s !== site).map(([s, port]) => [s, `http://127.0.0.1:${port}`]));
        agents.set(site, await AgentProcess.start({ site, group: "orders", namespace: ns, server: sites.site(site), operatorUrl: operator().url("status", ""), port: ports[site] ?? 0, peers }));
      }),
    );
  });

  afterAll(async () => {
    await Promise.all([...agents.values()].map((a) => a.stop("SIGKILL")));
    await Promise.all(extra.map((s) => s.teardown()));
  });

  it("fences the primary at start, then lifts the fence because the operator names its site", async () => {
    const iad = agents.of("iad");
    await iad.waitForLog(LOG_MESSAGES.safetyNetLifted, 10_000);
    const order = iad.lines.map((l) => l.msg).filter((m) => m.startsWith("safety net"));
    expect(order).toEqual([LOG_MESSAGES.safetyNetFenced, LOG_MESSAGES.safetyNetLifted]);
    expect(await sites.site("iad").isReadOnly()).toBe(false);
    await iad.waitForLog(LOG_MESSAGES.selfFenceArmed, 5_000);
    // Renewed by the operator and by its peers: it stays writable over several leases.
    await new Promise((r) => setTimeout(r, 7_000));
    expect(iad.logged(LOG_MESSAGES.selfFencing)).toEqual([]);
    expect(await sites.site("iad").isReadOnly()).toBe(false);
  });

  it("gives the primary back at once when only its agent restarts: the operator still stands behind it", async () => {
    const old = agents.of("iad");
    const url = new URL(old.url);
    await old.stop("SIGKILL");
    const peers = Object.fromEntries(["pdx", "sfo"].map((s) => [s, agents.of(s).url]));
    const restarted = await AgentProcess.start({ site: "iad", group: "orders", namespace: ns, server: sites.site("iad"), operatorUrl: operator().url("status", ""), port: Number(url.port), peers });
    agents.set("iad", restarted);
    expect(await restarted.waitForLog(LOG_MESSAGES.safetyNetLifted, 10_000)).toMatchObject({ wasWritable: true });
    expect(await sites.site("iad").isReadOnly()).toBe(false);
    await new Promise((r) => setTimeout(r, 4_000));
    expect(restarted.logged(LOG_MESSAGES.selfFencing)).toEqual([]);
    expect((await groupReader(ns)("orders")).status?.activeSite).toBe("iad");
  });

  it("keeps the replicas fenced: the operator names iad", async () => {
    for (const site of ["pdx", "sfo"]) {
      const kept = await agents.of(site).waitForLog(LOG_MESSAGES.safetyNetKept, 10_000);
      // iad's own agent fences iad at its start too, so an answer in that moment names no site.
      expect(["the operator names iad", "the operator names no active site"]).toContain(kept.reason);
      expect(await sites.site(site).isReadOnly()).toBe(true);
    }
  });

  it("keeps a writable server fenced when the operator does not answer, or does not know the group; a lone agent fences a server made writable by hand at once", async () => {
    const solo = await MariaDbSites.start({ names: ["solo", "lone"], primary: "solo" });
    extra.push(solo);
    await solo.site("lone").setReadOnly(false);
    const start = async (site: string, group: string, operatorUrl: string) =>
      AgentProcess.start({ site, group, namespace: ns, server: solo.site(site), operatorUrl, port: await freePort() });
    const closed = await start("solo", "orders", CLOSED);
    const unknown = await start("lone", "nope", operator().url("status", ""));
    agents.set("solo", closed);
    agents.set("lone", unknown);
    expect((await closed.waitForLog(LOG_MESSAGES.safetyNetKept, 10_000)).reason).toMatch(/^no answer from the operator: /);
    expect((await unknown.waitForLog(LOG_MESSAGES.safetyNetKept, 10_000)).reason).toMatch(/^no answer from the operator: HTTP 404/);
    expect(await solo.site("solo").isReadOnly()).toBe(true);
    expect(await solo.site("lone").isReadOnly()).toBe(true);
    // No peers and no operator standing behind it: it never held a lease.
    await solo.site("solo").setReadOnly(false);
    await closed.waitForLog(LOG_MESSAGES.selfFenced, 5_000);
    expect(closed.logged(LOG_MESSAGES.selfFencing)[0]).toMatchObject({ rule: "lease", reason: "no confirmation from the operator for 3000 ms, and no peers configured" });
    expect(await solo.site("solo").isReadOnly()).toBe(true);
  });

  it("fences a replica made writable by hand once the operator stands behind another site, and kills its application sessions", async () => {
    const pdxAgent = agents.of("pdx");
    const pdx = sites.site("pdx");
    const session = await pdx.connect("app");
    const killed = new Promise<void>((resolve) => session.once("error", () => resolve()));
    await pdx.setReadOnly(false);
    const fenced = await pdxAgent.waitForLog(LOG_MESSAGES.selfFenced, 10_000);
    // Its peers answer, so its lease holds: rule 1 fences it, not the lease.
    expect(fenced).toMatchObject({ rule: "topology" });
    expect(pdxAgent.logged(LOG_MESSAGES.selfFencing)[0]?.reason).toBe("the operator stands behind iad as primary");
    expect(await pdx.isReadOnly()).toBe(true);
    await killed;
    await expect(session.query("SELECT 1")).rejects.toThrow();
    session.destroy();
  });
});

describe("rule 2: the lease (agents only, the operator unreachable)", () => {
  let trio: MariaDbSites;
  const agents = new AgentSet();

  beforeAll(async () => {
    trio = await MariaDbSites.start({ names: ["a", "b", "c"], primary: "a" });
    const ports = Object.fromEntries(await Promise.all(["a", "b", "c"].map(async (s) => [s, await freePort()] as const)));
    for (const site of ["a", "b", "c"]) {
      const peers = Object.fromEntries(Object.entries(ports).filter(([s]) => s !== site).map(([s, port]) => [s, `http://127.0.0.1:${port}`]));
      agents.set(site, await AgentProcess.start({ site, group: "trio", namespace: ns, operatorUrl: CLOSED, server: trio.site(site), port: ports[site] ?? 0, peers }));
    }
  });

  afterAll(async () => {
    await Promise.all([...agents.values()].map((a) => a.stop("SIGKILL")));
    await trio?.teardown();
  });


  it("keeps a writable server writable while it reaches a majority of the sites, and fences it within the lease once it does not", async () => {
    const a = trio.site("a");
    await agents.of("a").waitForLog(LOG_MESSAGES.safetyNetKept, 10_000);
    // Made writable by hand (the operator is gone): armed with a fresh lease.
    await a.setReadOnly(false);
    await agents.of("a").waitForLog(LOG_MESSAGES.selfFenceArmed, 5_000);
    // a + b + c, then a + b: a majority of three either way, over several lease lengths.
    await new Promise((r) => setTimeout(r, 4_000));
    await agents.of("c").stop("SIGKILL");
    await new Promise((r) => setTimeout(r, 5_000));
    expect(agents.of("a").logged(LOG_MESSAGES.selfFencing)).toEqual([]);
    expect(await a.isReadOnly()).toBe(false);

    // a alone: one site of three. Fenced within the lease (3 s) of b's last answer.
    const cut = Date.now();
    await agents.of("b").stop("SIGKILL");
    const fenced = await agents.of("a").waitForLog(LOG_MESSAGES.selfFenced, 10_000);
    expect(Date.parse(String(fenced.time)) - cut).toBeLessThan(3_000 + 1_000);
    expect(agents.of("a").logged(LOG_MESSAGES.selfFencing)[0]).toMatchObject({ rule: "lease" });
    expect(await a.isReadOnly()).toBe(true);
    // It never lifts its own fence.
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await a.isReadOnly()).toBe(true);
  });
});

describe("the server's own fence deadline (an agent that hangs)", () => {
  const LEASE_MS = 3_000;
  let pair: MariaDbSites;
  const agents = new AgentSet();
  /** Seconds from now to the server's deadline; null when none is set. */
  const deadline = async (server: MariaDbSite) => {
    const [row] = await server.query<{ left: string | null }[]>("SELECT at - UNIX_TIMESTAMP(NOW(6)) AS `left` FROM mysql.bloodraven_fence_deadline WHERE id = 1");
    return row?.left === undefined || row.left === null ? null : Number(row.left);
  };
  const becomesReadOnly = (server: MariaDbSite, timeoutMs: number) => waitFor(`${server.name} read-only`, async () => ((await server.isReadOnly()) ? Date.now() : undefined), timeoutMs, 50);

  beforeAll(async () => {
    pair = await MariaDbSites.start({ names: ["x", "y"], primary: "x" });
    const ports = { x: await freePort(), y: await freePort() };
    for (const [site, port] of Object.entries(ports)) {
      const peers = Object.fromEntries(Object.entries(ports).filter(([s]) => s !== site).map(([s, p]) => [s, `http://127.0.0.1:${p}`]));
      agents.set(site, await AgentProcess.start({ site, group: "pair", namespace: ns, operatorUrl: CLOSED, server: pair.site(site), port, peers, leaseTimeout: `${LEASE_MS}ms` }));
    }
    await agents.of("x").waitForLog(LOG_MESSAGES.safetyNetKept, 10_000);
  });

  afterAll(async () => {
    for (const a of agents.values()) a.thaw();
    await Promise.all([...agents.values()].map((a) => a.stop("SIGKILL")));
    await pair?.teardown();
  });

  it("fences a writable server whose agent is frozen within the lease, without a transaction of its own; the event clears the deadline", async () => {
    const x = pair.site("x");
    // Writable by hand; its lease is kept by y, one of two sites.
    await x.setReadOnly(false);
    await agents.of("x").waitForLog(LOG_MESSAGES.fenceDeadlineArmed, 5_000);
    expect(await deadline(x)).toBeGreaterThan(0);
    const gtid = await x.gtidBinlogPos();

    const frozenAt = Date.now();
    agents.of("x").freeze();
    try {
      const fencedAt = await becomesReadOnly(x, 2 * LEASE_MS);
      // The last renewal came before the freeze: the lease ends within LEASE_MS of it, the deadline 300 ms later.
      expect(fencedAt - frozenAt).toBeLessThanOrEqual(LEASE_MS + 300 + 200);
      expect(agents.of("x").logged(LOG_MESSAGES.selfFencing)).toEqual([]);
      // Nothing of the deadline is a transaction of x's; the event cleared it after fencing.
      expect(await x.gtidBinlogPos()).toBe(gtid);
      expect(await deadline(x)).toBeNull();
    } finally {
      agents.of("x").thaw();
    }
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await x.isReadOnly()).toBe(true);
    expect(agents.of("x").logged(LOG_MESSAGES.fenceDeadlineUnavailable)).toEqual([]);
  });

  it("keeps a writable server writable while a backup holds DDL back for longer than the lease: the deadline moves without DDL", async () => {
    const x = pair.site("x");
    await x.setReadOnly(false);
    await waitFor("x's deadline set", async () => ((await deadline(x)) ?? 0) > 0, 5_000, 100);
    const gtid = await x.gtidBinlogPos();
    // What mariadb-backup holds while it copies: DDL waits, row changes go on.
    const backup = await x.connect();
    try {
      await backup.query("BACKUP STAGE START");
      await backup.query("BACKUP STAGE FLUSH");
      await backup.query("BACKUP STAGE BLOCK_DDL");
      const until = Date.now() + 3 * LEASE_MS;
      let checks = 0;
      while (Date.now() < until && checks < 100) {
        expect(await x.isReadOnly(), "x writable while DDL is blocked").toBe(false);
        expect(await deadline(x)).toBeGreaterThan(0);
        checks++;
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(checks).toBeGreaterThan(10);
    } finally {
      await backup.query("BACKUP STAGE END").catch(() => undefined);
      await backup.end();
    }
    expect(await x.gtidBinlogPos()).toBe(gtid);
    expect(agents.of("x").logged(LOG_MESSAGES.fenceDeadlineUnavailable)).toEqual([]);
    await x.setReadOnly(true);
  });

  it("ignores a deadline armed before the server started (what a restored copy of this very server carries), and keeps one armed since", async () => {
    const x = pair.site("x");
    await x.setReadOnly(false);
    await waitFor("x's deadline set", async () => ((await deadline(x)) ?? 0) > 0, 5_000, 100);
    agents.of("x").freeze();
    try {
      const setRow = async (armed: string) => {
        const c = await x.connect();
        try {
          await c.query("SET SESSION sql_log_bin = 0");
          await c.query(`UPDATE mysql.bloodraven_fence_deadline SET armed = ${armed}, at = UNIX_TIMESTAMP(NOW(6)) + 0.5 WHERE id = 1`);
        } finally {
          await c.end();
        }
      };
      const gtid = await x.gtidBinlogPos();
      // As a copy would bring it: armed before this server started, due in half a second.
      await setRow("UNIX_TIMESTAMP(NOW(6)) - 86400 * 365");
      await new Promise((r) => setTimeout(r, 2_500));
      expect(await x.isReadOnly(), "fenced by a deadline from before the server started").toBe(false);
      // The control: the same deadline armed now fences.
      await setRow("UNIX_TIMESTAMP(NOW(6))");
      await becomesReadOnly(x, 3_000);
      expect(await x.gtidBinlogPos()).toBe(gtid);
    } finally {
      agents.of("x").thaw();
      // The thawed agent's lease ran out while it was frozen: its own fence (which kills the
      // application's sessions, a test's included) runs now, not in the middle of the next test.
      await new Promise((r) => setTimeout(r, 2_000));
    }
  });

  it("without the event scheduler the agent says so, and a frozen agent leaves its server writable: what the deadline prevents", async () => {
    const x = pair.site("x");
    await x.query("SET GLOBAL event_scheduler = OFF");
    try {
      await x.setReadOnly(false);
      const unavailable = await agents.of("x").waitForLog(LOG_MESSAGES.fenceDeadlineUnavailable, 5_000);
      expect(String(unavailable.reason)).toContain("event_scheduler = ON");
      agents.of("x").freeze();
      try {
        await new Promise((r) => setTimeout(r, LEASE_MS + 1_500));
        expect(await x.isReadOnly()).toBe(false);
      } finally {
        agents.of("x").thaw();
      }
    } finally {
      // The thawed agent may fence x itself (its lease ran out while it was frozen), killing this
      // test's sessions as it does: tried again until both hold.
      await waitFor(
        "x read-only with its event scheduler on",
        async () => {
          await x.setReadOnly(true).catch(() => undefined);
          await x.query("SET GLOBAL event_scheduler = ON").catch(() => undefined);
          return (await x.isReadOnly().catch(() => false)) && (await x.variable("event_scheduler").catch(() => "")) === "ON";
        },
        15_000,
        250,
      );
    }
  });
});

describe("the startup question answered before the operator names any site (real agent and MariaDB)", () => {
  let solo: MariaDbSites;
  let agent: AgentProcess | undefined;
  let operatorAnswers: Server | undefined;

  afterAll(async () => {
    await agent?.stop("SIGKILL");
    operatorAnswers?.close();
    await solo?.teardown();
  });

  it("keeps the fence and asks again while the operator names no site; lifts it once the operator stands behind this site, as it does for a first answer", async () => {
    // The operator's answers as they went in a new group of managed sites: its bootstrap made
    // `seed` writable, the agent's safety net fenced it a moment later and asked while the
    // operator's snapshot still named no site; the operator's next cycle records `seed` as
    // the primary it stands behind. A real operator cannot be held in that moment on purpose,
    // so this endpoint answers the agent's question in the operator's own shape, in that order.
    solo = await MariaDbSites.start({ names: ["seed"], primary: "seed" });
    let asked = 0;
    operatorAnswers = createServer((_req, res) => {
      asked += 1;
      const lastKnownPrimary = asked <= 2 ? "" : "seed";
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ namespace: ns, group: "fresh", activeSite: "", confirmedPrimary: "", lastKnownPrimary, observedAgoMs: 0 }));
    });
    await new Promise<void>((resolve) => operatorAnswers?.listen(0, "127.0.0.1", resolve));
    const port = (operatorAnswers.address() as AddressInfo).port;
    agent = await AgentProcess.start({ site: "seed", group: "fresh", namespace: ns, server: solo.site("seed"), operatorUrl: `http://127.0.0.1:${port}`, port: await freePort() });
    expect((await agent.waitForLog(LOG_MESSAGES.safetyNetKept, 10_000)).reason).toBe("the operator names no active site");
    expect(await solo.site("seed").isReadOnly()).toBe(true);
    expect(await agent.waitForLog(LOG_MESSAGES.safetyNetLifted, 20_000)).toMatchObject({ wasWritable: true });
    expect(asked).toBeGreaterThanOrEqual(3);
    expect(agent.logged(LOG_MESSAGES.safetyNetKept)).toHaveLength(1);
  });
});
