import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { openStreamWhenReady, startOf } from "../../operator/tools/http-stream.js";

/**
 * openStreamWhenReady against a real HTTP server on loopback: a donor that answers 503 (its
 * server refuses its agent's password) is asked again after its Retry-After, until it streams or
 * the wait is over.
 */
describe("openStreamWhenReady", () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((done) => (server ? server.close(() => done()) : done())));

  /** A server answering 503 `refusals` times (Retry-After: 1), then 200 with a body; counts requests and their tokens. */
  async function donor(refusals: number): Promise<{ url: string; asked: string[] }> {
    const asked: string[] = [];
    server = createServer((req, res) => {
      asked.push(req.headers.authorization ?? "");
      if (asked.length <= refusals) {
        res.writeHead(503, { "Retry-After": "1", "Content-Type": "application/json" }).end('{"error":"refuses its agent\'s password"}');
        return;
      }
      res.writeHead(200).end("the copy");
    });
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
    return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}/v1/clone/backup`, asked };
  }

  it("asks again after Retry-After while the answer is 503, and returns the stream once it comes", async () => {
    const { url, asked } = await donor(2);
    const started = performance.now();
    const res = await openStreamWhenReady(url, "tok", AbortSignal.timeout(10_000), 10_000);
    expect(res.statusCode).toBe(200);
    expect(await startOf(res, 100)).toBe("the copy");
    expect(asked).toEqual(["Bearer tok", "Bearer tok", "Bearer tok"]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(2_000);
  });

  it("gives the 503 back once the next ask would fall after the wait, with its reason", async () => {
    const { url, asked } = await donor(10);
    const res = await openStreamWhenReady(url, "tok", AbortSignal.timeout(10_000), 1_500);
    expect(res.statusCode).toBe(503);
    expect(await startOf(res, 300)).toContain("refuses its agent's password");
    expect(asked).toHaveLength(2);
  });

  it("stops waiting when its signal aborts", async () => {
    const { url } = await donor(10);
    await expect(openStreamWhenReady(url, "tok", AbortSignal.timeout(500), 10_000)).rejects.toThrow(/abort|timeout/i);
  });
});
