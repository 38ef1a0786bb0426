import { afterEach, describe, expect, it } from "vitest";
import { OperatorMetrics } from "../../../operator/http/metrics.js";
import { StatusServer, type StatusServerOptions } from "../../../operator/http/status-server.js";
import { capturedLogger, groupMessage, MemorySource } from "./support.js";

const TOKEN = "s3cr3t-token_0123456789abcdef";

describe("status API", () => {
  let server: StatusServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function start(
    options: Partial<StatusServerOptions> = {},
  ): Promise<{ base: string; source: MemorySource }> {
    const source = new MemorySource();
    source.put(groupMessage("default", "orders", "iad"));
    source.put(groupMessage("billing", "orders", ""));
    server = new StatusServer({ source, metrics: new OperatorMetrics(), log: capturedLogger().log, ...options });
    const port = await server.listen(0, "127.0.0.1");
    return { base: `http://127.0.0.1:${port}`, source };
  }

  async function json(res: Response): Promise<unknown> {
    expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("no-store");
    return res.json();
  }

  describe("GET /status", () => {
    it("returns every group keyed namespace/group with its full message", async () => {
      const { base } = await start();
      const res = await fetch(`${base}/status`);
      expect(res.status).toBe(200);
      const body = (await json(res)) as Record<string, unknown>;
      expect(Object.keys(body)).toEqual(["billing/orders", "default/orders"]);
      expect(body["default/orders"]).toEqual(groupMessage("default", "orders", "iad"));
    });

    it("returns an empty object when no group is managed here", async () => {
      const { base, source } = await start();
      source.groups.clear();
      const res = await fetch(`${base}/status`);
      expect(res.status).toBe(200);
      expect(await json(res)).toEqual({});
    });
  });

  describe("GET /active-site", () => {
    it("returns 200 with the active site", async () => {
      const { base } = await start();
      const res = await fetch(`${base}/active-site?namespace=default&group=orders`);
      expect(res.status).toBe(200);
      expect(await json(res)).toEqual({ namespace: "default", group: "orders", activeSite: "iad", confirmedPrimary: expect.any(String), lastKnownPrimary: expect.any(String), observedAgoMs: expect.any(Number) });
    });

    it("stands behind the primary only while the last poll sees it writable, and tells an agent that names its site", async () => {
      const { base, source } = await start();
      const message = { ...groupMessage("default", "orders", "iad"), lastKnownPrimary: "iad" };
      source.put(message);
      const ask = async (site: string) => (await (await fetch(`${base}/active-site?namespace=default&group=orders&site=${site}`)).json()) as Record<string, unknown>;
      expect(await ask("iad")).toMatchObject({ activeSite: "iad", confirmedPrimary: "iad", leaseTimeoutMs: 20_000, peers: { pdx: "http://pdx.db:8080" } });
      expect(await ask("pdx")).toMatchObject({ confirmedPrimary: "iad" });
      source.put({ ...message, activeSite: "", sites: message.sites.map((s) => (s.name === "iad" ? { ...s, state: "unreachable" as const } : s)) });
      expect(await ask("iad")).toMatchObject({ activeSite: "", confirmedPrimary: "", lastKnownPrimary: "iad" });
      expect(source.agentCalls).toEqual([
        { namespace: "default", group: "orders", site: "iad", confirmed: true },
        { namespace: "default", group: "orders", site: "pdx", confirmed: false },
        { namespace: "default", group: "orders", site: "iad", confirmed: false },
      ]);
      // A safety net at start: standing behind iad is recorded although the poll does not see it writable.
      await fetch(`${base}/active-site?namespace=default&group=orders&site=iad&phase=startup`);
      expect(source.agentCalls.at(-1)).toEqual({ namespace: "default", group: "orders", site: "iad", confirmed: true });
      expect((await fetch(`${base}/active-site?namespace=default&group=orders&phase=later`)).status).toBe(400);
      const bad = await fetch(`${base}/active-site?namespace=default&group=orders&site=IAD`);
      expect(bad.status).toBe(400);
      expect(await json(bad)).toEqual({ error: "query parameter site must be given at most once, as a site name (a DNS label)" });
    });

    it('returns 200 with activeSite "" when no single site is writable', async () => {
      const { base } = await start();
      const res = await fetch(`${base}/active-site?group=orders&namespace=billing`);
      expect(res.status).toBe(200);
      expect(await json(res)).toEqual({ namespace: "billing", group: "orders", activeSite: "", confirmedPrimary: expect.any(String), lastKnownPrimary: expect.any(String), observedAgoMs: expect.any(Number) });
    });

    it.each<[query: string, error: string]>([
      ["group=orders", "missing query parameter namespace"],
      ["namespace=default", "missing query parameter group"],
      ["", "missing query parameter namespace; missing query parameter group"],
      ["namespace=&group=orders", "missing query parameter namespace"],
      ["namespace=default&group=", "missing query parameter group"],
      ["namespace=default&namespace=other&group=orders", "query parameter namespace given 2 times"],
      ["namespace=default&group=orders&group=orders", "query parameter group given 2 times"],
      [`namespace=${"n".repeat(64)}&group=orders`, "query parameter namespace is longer than 63 characters"],
      [`namespace=default&group=${"g".repeat(254)}`, "query parameter group is longer than 253 characters"],
    ])("returns 400 for ?%s", async (query, error) => {
      const { base } = await start();
      const res = await fetch(`${base}/active-site?${query}`);
      expect(res.status).toBe(400);
      expect(await json(res)).toEqual({ error });
    });

    it("accepts names at the Kubernetes length limits", async () => {
      const { base, source } = await start();
      const namespace = "n".repeat(63);
      const group = "g".repeat(253);
      source.put(groupMessage(namespace, group, "pdx"));
      const res = await fetch(`${base}/active-site?namespace=${namespace}&group=${group}`);
      expect(res.status).toBe(200);
      expect(await json(res)).toEqual({ namespace, group, activeSite: "pdx", confirmedPrimary: expect.any(String), lastKnownPrimary: expect.any(String), observedAgoMs: expect.any(Number) });
    });

    it("returns 404 for a group this operator does not manage", async () => {
      const { base } = await start();
      const res = await fetch(`${base}/active-site?namespace=default&group=payments`);
      expect(res.status).toBe(404);
      expect(await json(res)).toEqual({ error: "failover group default/payments is not managed by this operator" });
    });

    it("returns 503 for a managed group before its first cycle, and while a site has no debounced state yet", async () => {
      const { base, source } = await start();
      source.starting.add("default/payments");
      const first = await fetch(`${base}/active-site?namespace=default&group=payments`);
      expect(first.status).toBe(503);
      expect(first.headers.get("retry-after")).toBe("1");
      expect(await json(first)).toEqual({ error: "failover group default/payments is starting: not every site has been observed yet; retry in a few seconds" });
      const warming = groupMessage("default", "payments", "");
      warming.sites = warming.sites.map((s) => ({ ...s, state: s.name === "iad" ? "unknown" : s.state }));
      source.put(warming);
      expect((await fetch(`${base}/active-site?namespace=default&group=payments`)).status).toBe(503);
      source.put(groupMessage("default", "payments", "iad"));
      expect((await fetch(`${base}/active-site?namespace=default&group=payments`)).status).toBe(200);
    });

    it("returns 503 when there are no active topology managers, even for a known group", async () => {
      const { base, source } = await start();
      source.active = false;
      const res = await fetch(`${base}/active-site?namespace=default&group=orders`);
      expect(res.status).toBe(503);
      expect(await json(res)).toHaveProperty("error");
    });

    it("still answers 400 for a bad request while not active", async () => {
      const { base, source } = await start();
      source.active = false;
      expect((await fetch(`${base}/active-site?namespace=default`)).status).toBe(400);
    });
  });

  describe("with a token configured", () => {
    it.each([
      ["/status", undefined],
      ["/status", "Bearer wrong"],
      ["/status", `Basic ${TOKEN}`],
      ["/status", `Bearer ${TOKEN}x`],
      ["/active-site?namespace=default&group=orders", undefined],
      ["/active-site?namespace=default&group=orders", `Bearer ${TOKEN.slice(1)}`],
      ["/ws/status", undefined],
    ])("returns 401 for %s with Authorization %j", async (path, authorization) => {
      const { base } = await start({ token: TOKEN });
      const res = await fetch(`${base}${path}`, { headers: authorization ? { authorization } : {} });
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe("Bearer");
      expect(await json(res)).toEqual({ error: "missing or invalid bearer token" });
    });

    it("serves requests that carry the token", async () => {
      const { base } = await start({ token: TOKEN });
      const headers = { authorization: `bearer ${TOKEN}` };
      expect((await fetch(`${base}/status`, { headers })).status).toBe(200);
      const res = await fetch(`${base}/active-site?namespace=default&group=orders`, { headers });
      expect(res.status).toBe(200);
      expect(await json(res)).toEqual({ namespace: "default", group: "orders", activeSite: "iad", confirmedPrimary: expect.any(String), lastKnownPrimary: expect.any(String), observedAgoMs: expect.any(Number) });
    });

    it("takes a group's agent token for that group's /active-site only: not another group's, not /status", async () => {
      const { base, source } = await start({ token: TOKEN });
      const agentToken = "group-agent-token-0123456789abcdef";
      source.agentTokens.set("default/orders", agentToken);
      source.put({ ...source.snapshot("default", "orders")!, group: "carts" });
      const headers = { authorization: `Bearer ${agentToken}` };
      const own = await fetch(`${base}/active-site?namespace=default&group=orders&site=iad`, { headers });
      expect(own.status).toBe(200);
      expect(await json(own)).toMatchObject({ group: "orders", activeSite: "iad", leaseTimeoutMs: 20_000 });
      expect((await fetch(`${base}/active-site?namespace=default&group=carts`, { headers })).status).toBe(401);
      expect((await fetch(`${base}/active-site?namespace=default`, { headers })).status).toBe(401);
      expect((await fetch(`${base}/status`, { headers })).status).toBe(401);
      // A group whose token is not read yet takes only the status token.
      source.agentTokens.clear();
      expect((await fetch(`${base}/active-site?namespace=default&group=orders`, { headers })).status).toBe(401);
    });

    it("does not take the token from a subprotocol header outside a WebSocket handshake", async () => {
      const { base } = await start({ token: TOKEN });
      const res = await fetch(`${base}/status`, { headers: { "sec-websocket-protocol": `bearer.${TOKEN}` } });
      expect(res.status).toBe(401);
    });

    it("refuses a token that could not travel as a subprotocol", () => {
      const options = { source: new MemorySource(), metrics: new OperatorMetrics(), log: capturedLogger().log };
      expect(() => new StatusServer({ ...options, token: "" })).toThrow(/token/);
      expect(() => new StatusServer({ ...options, token: "has space" })).toThrow(/token/);
      expect(() => new StatusServer({ ...options, token: "a/b=" })).toThrow(/token/);
    });
  });

  it("answers 405 with Allow for methods other than GET and HEAD", async () => {
    const { base } = await start();
    for (const path of ["/status", "/active-site?namespace=default&group=orders"]) {
      const res = await fetch(`${base}${path}`, { method: "POST", body: "{}" });
      expect(res.status).toBe(405);
      expect(res.headers.get("allow")).toBe("GET, HEAD");
    }
    expect((await fetch(`${base}/status`, { method: "HEAD" })).status).toBe(200);
  });

  it("answers 404 for unknown paths, including near misses", async () => {
    const { base } = await start();
    for (const path of ["/", "/statuses", "/status/", "/active-site/x", "//evil/status", "/pitr-cutoff"]) {
      expect((await fetch(`${base}${path}`)).status, path).toBe(404);
    }
  });

  it("answers a plain GET of /ws/status with 426 Upgrade Required", async () => {
    const { base } = await start();
    const res = await fetch(`${base}/ws/status`);
    expect(res.status).toBe(426);
    expect(res.headers.get("upgrade")).toBe("websocket");
  });
});
