/** Long downloads over HTTP as Node streams: an agent's backup stream. */
import { get as httpGet, type IncomingMessage } from "node:http";
import { get as httpsGet } from "node:https";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * GET `url` as a plain Node stream: the copy flows from the socket into mbstream without a
 * conversion to and from web streams, which costs the recipient a core at a few hundred MB/s.
 */
export function openStream(url: string, token: string, signal: AbortSignal, idleMs?: number): Promise<IncomingMessage> {
  const get = url.startsWith("https:") ? httpsGet : httpGet;
  return new Promise((resolve, reject) => {
    // A connection of its own (agent: false), so that its byte count is this answer's.
    const req = get(url, { headers: { Authorization: `Bearer ${token}` }, signal, agent: false }, resolve).once("error", reject);
    // A socket silent for idleMs fails the request, or the answer's stream when it has begun.
    if (idleMs !== undefined) req.setTimeout(idleMs, () => req.destroy(new Error(`no data from ${new URL(url).host} for ${idleMs / 1000}s`)));
  });
}

/**
 * openStream, asked again while the answer is 503 (the server cannot serve yet and says when to
 * ask again with Retry-After, in seconds; 5 when it does not say) until `waitMs` has passed; the
 * answer after that is returned whatever it is.
 */
export async function openStreamWhenReady(url: string, token: string, signal: AbortSignal, waitMs: number, idleMs?: number): Promise<IncomingMessage> {
  const until = performance.now() + waitMs;
  for (;;) {
    const res = await openStream(url, token, signal, idleMs);
    const retryMs = 1000 * (Number(res.headers["retry-after"]) || 5);
    if (res.statusCode !== 503 || performance.now() + retryMs > until) return res;
    res.destroy();
    await sleep(retryMs, undefined, { signal });
  }
}

/** The first `max` characters of an answer's body, to say why it was refused; the rest is dropped. */
export async function startOf(res: IncomingMessage, max: number): Promise<string> {
  let text = "";
  for await (const chunk of res) {
    text += String(chunk);
    if (text.length >= max) break;
  }
  res.destroy();
  return text.slice(0, max).trim();
}
