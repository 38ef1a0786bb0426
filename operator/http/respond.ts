import type { IncomingMessage, OutgoingHttpHeaders, RequestListener, ServerResponse } from "node:http";
import { errorText } from "../../shared/errors.js";
import type { Logger } from "../log.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";

/** Handles one route; `query` is the parsed query string. */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => void | Promise<void>;

/** A route that takes other methods than GET and HEAD. */
export interface Route {
  readonly methods: readonly string[];
  readonly handle: RouteHandler;
}

const READ_ONLY: readonly string[] = ["GET", "HEAD"];

/**
 * A request listener for a fixed set of routes: 404 for an unknown path, 405 for a method the
 * route does not take (GET and HEAD for a bare handler; Node drops the body of a HEAD response
 * itself), 500 when a handler throws. Paths match exactly; the query string is split off by hand
 * rather than with `new URL`, which would read `//host/status` as a host plus a path.
 */
export function routes(server: string, table: Record<string, RouteHandler | Route>, log: Logger): RequestListener {
  const handlers = new Map(Object.entries(table).map(([path, r]) => [path, typeof r === "function" ? { methods: READ_ONLY, handle: r } : r]));
  return (req, res) => {
    const target = req.url ?? "/";
    const queryAt = target.indexOf("?");
    const path = queryAt === -1 ? target : target.slice(0, queryAt);
    const query = new URLSearchParams(queryAt === -1 ? "" : target.slice(queryAt + 1));

    const route = handlers.get(path);
    if (route === undefined) {
      sendJson(res, 404, { error: `no such endpoint: ${path.slice(0, 100)}` });
      return;
    }
    if (!route.methods.includes(req.method ?? "")) {
      sendJson(res, 405, { error: `method ${req.method} not allowed` }, { Allow: route.methods.join(", ") });
      return;
    }
    Promise.resolve()
      .then(() => route.handle(req, res, query))
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

/** Reads a request body of at most `limit` bytes as JSON; throws a message fit for a 400. */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new BadRequest(`the body is larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
  } catch {
    throw new BadRequest("the body is not JSON");
  }
}

export class BadRequest extends Error {}
