import { afterEach, describe, expect, it } from "vitest";
import { createHealthServer, type Readiness } from "../../../operator/http/health-server.js";
import type { HttpListener } from "../../../operator/http/listener.js";
import { capturedLogger } from "./support.js";

describe("health server", () => {
  let server: HttpListener | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function start(ready: () => Readiness): Promise<string> {
    server = createHealthServer(ready, capturedLogger().log);
    return `http://127.0.0.1:${await server.listen(0, "127.0.0.1")}`;
  }

  it("answers /healthz with 200 whatever the readiness", async () => {
    const base = await start(() => ({ ready: false, reason: "informers not synced" }));
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("ok\n");
  });

  it("answers /readyz from the callback on every probe, with the reason when not ready", async () => {
    let readiness: Readiness = { ready: false, reason: "informers not synced" };
    const base = await start(() => readiness);

    const notReady = await fetch(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.text()).toBe("not ready: informers not synced\n");

    readiness = { ready: true };
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.text()).toBe("ok\n");
  });

  it("answers 500 when the readiness callback throws, and logs it", async () => {
    const { log, records } = capturedLogger();
    server = createHealthServer(() => {
      throw new Error("boom");
    }, log);
    const base = `http://127.0.0.1:${await server.listen(0, "127.0.0.1")}`;
    expect((await fetch(`${base}/readyz`)).status).toBe(500);
    expect(records()).toContainEqual(expect.objectContaining({ msg: "http handler failed", path: "/readyz", error: "boom" }));
  });

  it("answers 404 for other paths and 405 for other methods", async () => {
    const base = await start(() => ({ ready: true }));
    expect((await fetch(`${base}/livez`)).status).toBe(404);
    expect((await fetch(`${base}/healthz`, { method: "DELETE" })).status).toBe(405);
    expect((await fetch(`${base}/healthz`, { method: "HEAD" })).status).toBe(200);
  });

  it("reports the bound port and closes", async () => {
    server = createHealthServer(() => ({ ready: true }), capturedLogger().log);
    const port = await server.listen(0, "127.0.0.1");
    expect(port).toBeGreaterThan(0);
    await server.close();
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });
});
