import net from "node:net";
import mysql from "mysql2";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ServerError } from "../../../operator/mysql/flavor.js";
import { ConnectionError, DeadlineExceeded, SiteClient } from "../../../operator/mysql/site-client.js";
import type { SiteClientOptions, SiteSession } from "../../../operator/mysql/site-client.js";
import { MariaDbSites, TEST_USERS } from "../../../scripts/env/mariadb-sites.js";
import type { MariaDbSite } from "../../../scripts/env/mariadb-sites.js";

// A correctness bound for "never hangs", not a speed benchmark: a 500 ms deadline plus slack
// for a loaded two-core machine.
const DEADLINE_MS = 500;
const BOUND_MS = 1_500;
const RELAXED: SiteClientOptions = { connectTimeoutMs: 5_000, queryTimeoutMs: 5_000 };

const observe = (s: SiteSession) => s.flavor.observe(s);


/** Runs `attempt`, expecting DeadlineExceeded; returns it with the time it took. */
async function timedFailure(attempt: () => Promise<unknown>): Promise<{ err: DeadlineExceeded; ms: number }> {
  const started = performance.now();
  const err = await attempt().then(
    () => undefined,
    (e: unknown) => e,
  );
  const ms = performance.now() - started;
  expect(err).toBeInstanceOf(DeadlineExceeded);
  return { err: err as DeadlineExceeded, ms };
}

describe("SiteClient deadlines against a hung mariadbd (SIGSTOP)", () => {
  let sites: MariaDbSites;
  let site: MariaDbSite;
  const clients: SiteClient[] = [];
  const measured: Record<string, number> = {};

  const newClient = (options: SiteClientOptions = RELAXED): SiteClient => {
    const { user, password } = TEST_USERS.operator;
    const c = new SiteClient({ host: site.host, port: site.port, user, password }, options);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    sites = await MariaDbSites.start({ names: ["hung"] });
    site = sites.site("hung");
  });

  afterEach(() => {
    // A failed assertion must not leave the server stopped for the next test.
    site.resume();
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await sites?.teardown();
    console.log(`measured deadline failures (ms): ${JSON.stringify(measured)}`);
  });

  it("an already-open connection: observe with a 500 ms deadline rejects in time, then recovers after SIGCONT", async () => {
    const client = newClient();
    await client.run("observe", observe);

    await site.pause();
    const { err, ms } = await timedFailure(() => client.run("observe", observe, DEADLINE_MS));
    measured.openConnection = Math.round(ms);
    expect(ms).toBeLessThan(BOUND_MS);
    expect(err.endpoint).toBe(`127.0.0.1:${site.port}`);
    expect(err.message).toContain(`127.0.0.1:${site.port}: observe exceeded its 500 ms deadline`);
    expect(err.step).toMatch(/^SELECT/);

    site.resume();
    expect((await client.run("observe", observe, 2_000)).serverId).toBe(1);
  });

  it("a fresh connect: the kernel accepts TCP but the greeting never comes", async () => {
    const client = newClient();
    await site.pause();
    const { err, ms } = await timedFailure(() => client.run("observe", observe, DEADLINE_MS));
    measured.freshConnect = Math.round(ms);
    expect(ms).toBeLessThan(BOUND_MS);
    expect(err.step).toBe("connect");

    site.resume();
    expect((await client.run("observe", observe, 2_000)).flavor).toBe("mariadb");
  });

  it("without an overall deadline, queryTimeoutMs and connectTimeoutMs bound each step", async () => {
    const open = newClient({ connectTimeoutMs: 5_000, queryTimeoutMs: DEADLINE_MS });
    await open.run("observe", observe);
    const fresh = newClient({ connectTimeoutMs: DEADLINE_MS, queryTimeoutMs: 5_000 });

    await site.pause();
    const query = await timedFailure(() => open.run("observe", observe));
    const connect = await timedFailure(() => fresh.run("observe", observe));
    measured.queryTimeout = Math.round(query.ms);
    measured.connectTimeout = Math.round(connect.ms);
    expect(query.ms).toBeLessThan(BOUND_MS);
    expect(connect.ms).toBeLessThan(BOUND_MS);
    expect(connect.err.step).toBe("connect");

    site.resume();
    await expect(open.run("observe", observe)).resolves.toMatchObject({ serverId: 1 });
    await expect(fresh.run("observe", observe)).resolves.toMatchObject({ serverId: 1 });
  });

  it("a call queued behind a hung one expires on its own deadline without touching the connection", async () => {
    const client = newClient();
    await client.run("observe", observe);
    await site.pause();
    const first = timedFailure(() => client.run("first", observe, 800));
    const second = timedFailure(() => client.run("second", observe, 300));
    const [a, b] = await Promise.all([first, second]);
    expect(b.err.step).toMatch(/waiting for an earlier call/);
    expect(b.ms).toBeLessThan(800);
    expect(a.ms).toBeLessThan(800 + 1_000);
    site.resume();
    await expect(client.run("observe", observe, 2_000)).resolves.toMatchObject({ serverId: 1 });
  });

  it("a statement sent to a hung server still runs after SIGCONT, although the call timed out", async () => {
    const client = newClient();
    await client.run("observe", observe);
    expect(await site.isReadOnly()).toBe(false);

    await site.pause();
    await timedFailure(() => client.run("fence", (s) => s.query("SET GLOBAL read_only = ON"), DEADLINE_MS));
    site.resume();

    // This is why mutating methods document "re-read state after a DeadlineExceeded".
    const deadline = performance.now() + 3_000;
    let readOnly = false;
    while (!readOnly && performance.now() < deadline) {
      readOnly = (await client.run("observe", observe, 2_000)).readOnly;
    }
    expect(readOnly).toBe(true);
    await site.setReadOnly(false);
  });

  it("close() ends the session with COM_QUIT: the server counts no aborted client", async () => {
    // Read through a client of our own: the harness's helpers drop their connections, which
    // counts as aborted.
    const probe = newClient();
    const abortedClients = async (): Promise<number> =>
      Number((await probe.run("status", (s) => s.query("SHOW GLOBAL STATUS LIKE 'Aborted_clients'")))[0]?.Value);
    const client = newClient();
    await client.run("observe", observe);
    const before = await abortedClients();
    client.close();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await abortedClients()).toBe(before);
    await expect(client.run("observe", observe)).rejects.toBeInstanceOf(ConnectionError);
  });

  it("takes NO_BACKSLASH_ESCAPES out of its session, so that escaped values reach the server intact", async () => {
    const globalMode = await site.variable("sql_mode");
    await site.query("SET GLOBAL sql_mode = CONCAT(@@GLOBAL.sql_mode, ',NO_BACKSLASH_ESCAPES')");
    try {
      const client = newClient();
      const [row] = await client.run("echo", (s) => s.query(mysql.format("SELECT @@SESSION.sql_mode AS mode, ? AS echoed", ["pa'ss\\word"])));
      expect(String(row?.mode)).not.toContain("NO_BACKSLASH_ESCAPES");
      expect(row?.echoed).toBe("pa'ss\\word");
    } finally {
      await site.query("SET GLOBAL sql_mode = ?", [globalMode]);
    }
  });

  it("reports a server refusal as ServerError and a refused TCP connect as ConnectionError", async () => {
    const wrong = new SiteClient({ host: site.host, port: site.port, user: "bloodraven", password: "wrong" }, RELAXED);
    clients.push(wrong);
    await expect(wrong.run("observe", observe, 2_000)).rejects.toBeInstanceOf(ServerError);

    const closedPort = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, "127.0.0.1", () => {
        const port = (probe.address() as net.AddressInfo).port;
        probe.close(() => resolve(port));
      });
    });
    const nobody = new SiteClient({ host: "127.0.0.1", port: closedPort, user: "x", password: "y" }, RELAXED);
    clients.push(nobody);
    await expect(nobody.run("observe", observe, 2_000)).rejects.toBeInstanceOf(ConnectionError);
  });
});

describe("SiteClient deadlines against a black hole (accepts TCP, never writes a byte)", () => {
  const held: net.Socket[] = [];
  let closedByClient = 0;
  let server: net.Server;
  let port: number;

  beforeAll(async () => {
    server = net.createServer((socket) => {
      held.push(socket);
      // Flowing, so that the client's FIN is noticed; nothing is ever written back.
      socket.resume();
      socket.on("close", () => closedByClient++);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as net.AddressInfo).port;
  });

  afterAll(async () => {
    for (const socket of held) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("the overall deadline and connectTimeoutMs each end the call in time", async () => {
    const byDeadline = new SiteClient({ host: "127.0.0.1", port, user: "x", password: "y" }, RELAXED);
    const byConnectTimeout = new SiteClient({ host: "127.0.0.1", port, user: "x", password: "y" }, { connectTimeoutMs: DEADLINE_MS, queryTimeoutMs: 5_000 });
    try {
      const a = await timedFailure(() => byDeadline.run("observe", observe, DEADLINE_MS));
      const b = await timedFailure(() => byConnectTimeout.run("observe", observe));
      console.log(`black hole (ms): deadline ${Math.round(a.ms)}, connectTimeout ${Math.round(b.ms)}`);
      for (const { err, ms } of [a, b]) {
        expect(ms).toBeLessThan(BOUND_MS);
        expect(err.step).toBe("connect");
        expect(err.message).toContain(`127.0.0.1:${port}`);
      }
      // The client destroyed its sockets: the server side sees them close.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(held).toHaveLength(2);
      expect(closedByClient).toBe(2);
    } finally {
      byDeadline.close();
      byConnectTimeout.close();
    }
  });
});
