import { afterEach, describe, expect, it } from "vitest";
import type { ClientOptions } from "ws";
import { OperatorMetrics } from "../../../operator/http/metrics.js";
import { StatusServer, type StatusServerOptions } from "../../../operator/http/status-server.js";
import { STATUS_SUBPROTOCOL } from "../../../operator/http/status-stream.js";
import { METRICS } from "../../../shared/names.js";
import type { GroupStatusMessage } from "../../../shared/status-message.js";
import {
  capturedLogger,
  connect,
  groupMessage,
  MemorySource,
  parseExposition,
  refusalStatus,
  until,
  type Client,
} from "./support.js";

const TOKEN = "0123456789abcdef0123456789abcdef";

interface Harness {
  url: string;
  server: StatusServer;
  source: MemorySource;
  metrics: OperatorMetrics;
  records: () => Record<string, unknown>[];
}

describe("/ws/status", () => {
  let harness: Harness | undefined;
  const clients: Client[] = [];

  afterEach(async () => {
    for (const client of clients.splice(0)) client.ws.terminate();
    await harness?.server.close();
    harness = undefined;
  });

  async function start(options: Partial<StatusServerOptions> = {}): Promise<Harness> {
    const source = new MemorySource();
    source.put(groupMessage("default", "orders", "iad"));
    source.put(groupMessage("default", "payments", "pdx"));
    const metrics = new OperatorMetrics();
    const { log, records } = capturedLogger();
    const server = new StatusServer({ source, metrics, log, ...options });
    const port = await server.listen(0, "127.0.0.1");
    harness = { url: `ws://127.0.0.1:${port}/ws/status`, server, source, metrics, records };
    return harness;
  }

  async function open(url: string, protocols: string[] = [], options: ClientOptions = {}): Promise<Client> {
    const client = await connect(url, protocols, options);
    clients.push(client);
    return client;
  }

  async function connectedGauge(metrics: OperatorMetrics): Promise<number | undefined> {
    const exposed = parseExposition(await metrics.metricsText());
    return exposed.get(METRICS.websocketConnectedClients)?.samples[0]?.value;
  }

  async function dropped(metrics: OperatorMetrics, reason: string): Promise<number | undefined> {
    const exposed = parseExposition(await metrics.metricsText());
    return exposed.get(METRICS.websocketDroppedClientsTotal)?.samples.find((sample) => sample.labels.reason === reason)
      ?.value;
  }

  it("sends every group's snapshot on connect, then one message per publish", async () => {
    const { url, server } = await start();
    const client = await open(url);
    await until(() => client.messages.length === 2);
    expect([...client.messages].sort((a, b) => a.group.localeCompare(b.group))).toEqual([
      groupMessage("default", "orders", "iad"),
      groupMessage("default", "payments", "pdx"),
    ]);

    const next: GroupStatusMessage = { ...groupMessage("default", "orders", "pdx"), pollTime: "2026-04-10T00:00:02Z" };
    server.publish(next);
    server.publish(groupMessage("default", "payments", "pdx"));
    await until(() => client.messages.length === 4);
    expect(client.messages[2]).toEqual(next);
  });

  it("tracks connected clients in the gauge", async () => {
    const { url, metrics } = await start();
    expect(await connectedGauge(metrics)).toBe(0);
    const first = await open(url);
    await open(url);
    await until(async () => (await connectedGauge(metrics)) === 2);
    first.ws.close();
    await until(async () => (await connectedGauge(metrics)) === 1);
  });

  describe("origin allowlist", () => {
    it("refuses any browser origin by default with 403, and logs it", async () => {
      const { url, records } = await start();
      expect(await refusalStatus(connect(url, [], { origin: "https://dash.example.com" }))).toBe(403);
      expect(records()).toContainEqual(
        expect.objectContaining({ msg: "websocket client rejected", status: 403, origin: "https://dash.example.com" }),
      );
    });

    it("accepts clients without an Origin header", async () => {
      const { url } = await start();
      const client = await open(url);
      await until(() => client.messages.length === 2);
    });

    it("accepts a listed origin and refuses an unlisted one", async () => {
      const { url } = await start({ allowedOrigins: ["https://dash.example.com", "http://localhost:3000"] });
      await open(url, [], { origin: "https://dash.example.com" });
      await open(url, [], { origin: "http://localhost:3000" });
      expect(await refusalStatus(connect(url, [], { origin: "https://evil.example.com" }))).toBe(403);
      expect(await refusalStatus(connect(url, [], { origin: "http://localhost:3001" }))).toBe(403);
      expect(await refusalStatus(connect(url, [], { origin: "null" }))).toBe(403);
    });

    it("accepts any origin with *", async () => {
      const { url } = await start({ allowedOrigins: ["*"] });
      await open(url, [], { origin: "https://anywhere.example.org" });
    });

    it("refuses to start with an entry that is not an origin", () => {
      const options = { source: new MemorySource(), metrics: new OperatorMetrics(), log: capturedLogger().log };
      expect(() => new StatusServer({ ...options, allowedOrigins: ["dash.example.com"] })).toThrow(/origin/);
      expect(() => new StatusServer({ ...options, allowedOrigins: ["https://dash.example.com/app"] })).toThrow(/origin/);
    });
  });

  it("refuses handshakes past the client cap with 429 and accepts again once a client leaves", async () => {
    const { url, metrics } = await start({ maxClients: 2 });
    const first = await open(url);
    await open(url);
    expect(await refusalStatus(connect(url))).toBe(429);
    first.ws.close();
    await until(async () => (await connectedGauge(metrics)) === 1);
    await open(url);
  });

  describe("token", () => {
    it("refuses a handshake without a token or with a wrong one with 401", async () => {
      const { url } = await start({ token: TOKEN });
      expect(await refusalStatus(connect(url))).toBe(401);
      expect(await refusalStatus(connect(url, [], { headers: { authorization: "Bearer nope" } }))).toBe(401);
      expect(await refusalStatus(connect(url, [STATUS_SUBPROTOCOL, "bearer.nope"]))).toBe(401);
    });

    it("accepts the token in the Authorization header", async () => {
      const { url } = await start({ token: TOKEN });
      const client = await open(url, [], { headers: { authorization: `Bearer ${TOKEN}` } });
      await until(() => client.messages.length === 2);
    });

    it("accepts the token as a subprotocol and selects the named protocol instead of echoing it", async () => {
      const { url } = await start({ token: TOKEN });
      const client = await open(url, [STATUS_SUBPROTOCOL, `bearer.${TOKEN}`]);
      expect(client.ws.protocol).toBe(STATUS_SUBPROTOCOL);
      await until(() => client.messages.length === 2);
    });

    it("accepts a bearer subprotocol offered alone", async () => {
      const { url } = await start({ token: TOKEN });
      const client = await open(url, [`bearer.${TOKEN}`]);
      expect(client.ws.protocol).toBe(`bearer.${TOKEN}`);
    });

    it("checks the token before the origin and the cap", async () => {
      const { url } = await start({ token: TOKEN, maxClients: 0 });
      expect(await refusalStatus(connect(url, [], { origin: "https://evil.example.com" }))).toBe(401);
    });
  });

  it("refuses handshakes on other paths with 404", async () => {
    const { url } = await start();
    expect(await refusalStatus(connect(url.replace("/ws/status", "/ws/other")))).toBe(404);
    expect(await refusalStatus(connect(url.replace("/ws/status", "/status")))).toBe(404);
  });

  it("drops a client that stops reading while the others keep receiving", async () => {
    const { url, server, metrics, records } = await start();
    const slow = await open(url);
    const healthy = await open(url);
    await until(() => slow.messages.length === 2 && healthy.messages.length === 2);
    slow.ws.pause();

    // Large messages fill the kernel's socket buffers first; only then does ws buffer in memory.
    const big = groupMessage("default", "orders", "iad");
    big.sites[1] = { ...(big.sites[1] as GroupStatusMessage["sites"][number]), gtidExecuted: "x".repeat(256 * 1024) };
    let published = 0;
    const isDropped = () => records().some((record) => record.msg === "websocket client dropped");
    while (!isDropped()) {
      if (published > 400) throw new Error("slow client was never dropped");
      server.publish({ ...big, pollTime: String(published) });
      published += 1;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }

    expect(records()).toContainEqual(expect.objectContaining({ msg: "websocket client dropped", reason: "slow_consumer" }));
    expect(await dropped(metrics, "slow_consumer")).toBe(1);
    await until(async () => (await connectedGauge(metrics)) === 1);

    server.publish(groupMessage("default", "orders", "pdx"));
    await until(() => healthy.messages.length === 2 + published + 1, 10_000);
    expect(healthy.messages.slice(2, -1).map((message) => message.pollTime)).toEqual(
      Array.from({ length: published }, (_, index) => String(index)),
    );
    expect(healthy.messages.at(-1)?.activeSite).toBe("pdx");
  }, 30_000);

  it("reaps a client that stops answering pings", async () => {
    const { url, metrics } = await start({ heartbeatIntervalMs: 50 });
    const dead = await open(url, [], { autoPong: false });
    const alive = await open(url);
    const { code } = await dead.closed;
    expect(code).toBe(1006);
    expect(await dropped(metrics, "heartbeat_timeout")).toBe(1);
    // Several more intervals: the client that answers pings stays.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(alive.ws.readyState).toBe(alive.ws.OPEN);
    expect(await connectedGauge(metrics)).toBe(1);
  });

  it("closes a client that sends a frame larger than the limit, and keeps serving others", async () => {
    const { url, server, metrics } = await start();
    const chatty = await open(url);
    const quiet = await open(url);
    chatty.ws.send("ping"); // small frames are ignored
    chatty.ws.send("x".repeat(4096));
    expect((await chatty.closed).code).toBe(1009);
    expect(await dropped(metrics, "protocol_error")).toBe(1);
    server.publish(groupMessage("default", "orders", "pdx"));
    await until(() => quiet.messages.length === 3);
  });

  it("closes a client with 1011 when the snapshot cannot be read, and keeps running", async () => {
    const { url, source, records } = await start();
    source.snapshots = () => {
      throw new Error("registry broken");
    };
    const client = await open(url);
    expect((await client.closed).code).toBe(1011);
    expect(records()).toContainEqual(expect.objectContaining({ msg: "http handler failed", error: "registry broken" }));
  });

  it("close() finishes promptly with clients connected, including one that does not read", async () => {
    const { url, server, metrics } = await start();
    const first = await open(url);
    const second = await open(url);
    const stalled = await open(url);
    stalled.ws.pause();
    // An idle keep-alive HTTP connection must not hold the shutdown up either.
    await fetch(url.replace("ws://", "http://").replace("/ws/status", "/status"));

    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(3_000);
    expect((await first.closed).code).toBe(1001);
    expect((await second.closed).code).toBe(1001);
    expect(await connectedGauge(metrics)).toBe(0);
    harness = undefined;
  });
});
