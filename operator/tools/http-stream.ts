/** Long downloads over HTTP as Node streams: an agent's backup stream. */
import { get as httpGet, type IncomingMessage } from "node:http";
import { get as httpsGet } from "node:https";

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
