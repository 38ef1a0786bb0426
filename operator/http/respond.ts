import type { IncomingMessage, OutgoingHttpHeaders, RequestListener, ServerResponse } from "node:http";
import { errorText } from "../../shared/errors.js";
import type { Logger } from "../log.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";

/** Handles one route; `query` is the parsed query string. */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => void | Promise<void>;

const ALLOWED_METHODS = "GET, HEAD";

/**
 * A request listener for a fixed set of read-only routes: 404 for an unknown path, 405 for any
 * method but GET and HEAD (Node drops the body of a HEAD response itself), 500 when a handler
 * throws. Paths match exactly; the query string is split off by hand rather than with `new URL`,
 * which would read `//host/status` as a host plus a path.
 */
export function routes(server: string, table: Record<string, RouteHandler>, log: Logger): RequestListener {
  const handlers = new Map(Object.entries(table));
  return (req, res) => {
    const target = req.url ?? "/";
    const queryAt = target.indexOf("?");
    const path = queryAt === -1 ? target : target.slice(0, queryAt);
    const query = new URLSearchParams(queryAt === -1 ? "" : target.slice(queryAt + 1));

    const handler = handlers.get(path);
    if (handler === undefined) {
      sendJson(res, 404, { error: `no such endpoint: ${path.slice(0, 100)}` });
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      sendJson(res, 405, { error: `method ${req.method} not allowed` }, { Allow: ALLOWED_METHODS });
      return;
    }
    Promise.resolve()
      .then(() => handler(req, res, query))
      .catch((err: unknown) => {
        log.error(LOG_MESSAGES.httpHandlerFailed, { server, path, error: errorText(err) });
        if (res.headersSent) res.destroy();
        else sendJson(res, 500, { error: "internal error" });
      });
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: OutgoingHttpHeaders = {}): void {
  send(res, status, "application/json; charset=utf-8", `${JSON.stringify(body)}\n`, headers);
}

export function sendText(res: ServerResponse, status: number, text: string, headers: OutgoingHttpHeaders = {}): void {
  send(res, status, "text/plain; charset=utf-8", `${text}\n`, headers);
}

export function send(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  headers: OutgoingHttpHeaders = {},
): void {
  res.writeHead(status, {
    "Content-Type": contentType,
    "Content-Length": Buffer.byteLength(body),
    // Every answer describes the operator's state at one instant; a cached copy is a wrong answer.
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    ...headers,
  });
  res.end(body);
}
