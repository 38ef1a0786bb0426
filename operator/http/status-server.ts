/**
 * Status API on :8082: `GET /status`, `GET /active-site?namespace=&group=` and the `GET /ws/status`
 * WebSocket (the seeds' monitoring page).
 *
 * Hardening. The original served this port with no authentication and, by default, accepted
 * WebSocket handshakes from any web page. This server:
 *
 * - Token (optional, `token`). When set, all three endpoints require
 *   `Authorization: Bearer <token>`; a missing or wrong token gets 401 with
 *   `WWW-Authenticate: Bearer`. Browsers cannot set headers on a WebSocket, so the handshake also
 *   accepts the token as a subprotocol: offer `["bloodraven.status.v1", "bearer.<token>"]` and the
 *   server selects `bloodraven.status.v1`, never echoing the token (offering only
 *   `bearer.<token>` works too, and gets that echoed back). Tokens are compared in constant time
 *   and must consist of HTTP token characters (hex or base64url are fine). Without a token the API
 *   is open as in the original: keep the port cluster-internal with a NetworkPolicy. The
 *   sidecars' startup safety net calls /active-site, so they need the token once it is set; there
 *   a group's own agent token is taken too, for that group only (groupTokenAuthorizes).
 * - Origin allowlist (`allowedOrigins`, default empty). A handshake that carries an Origin header
 *   comes from a browser page and must match an entry exactly (`https://host[:port]`), else 403.
 *   The empty default refuses every browser until a dashboard origin is configured; `*` allows
 *   any page (the original's default). No Origin header means a non-browser client: allowed.
 * - Client cap (`maxClients`, default 100). Past it the handshake gets 429. Handshakes are checked
 *   in the order token (401), origin (403), cap (429), so an unauthenticated caller learns nothing
 *   about the allowlist or the load. Each refusal is logged as "websocket client rejected".
 * - Slow clients (`maxBufferedBytes`, default 1 MiB). A client whose unsent backlog exceeds the
 *   limit is terminated at the next publish, logged as "websocket client dropped" with reason
 *   slow_consumer and counted in bloodraven_websocket_dropped_clients_total. The poll loop never
 *   waits on a client.
 * - Dead clients (`heartbeatIntervalMs`, default 30 s). Each client is pinged every interval;
 *   one that has not answered by the next ping is terminated (reason heartbeat_timeout).
 * - Client input. The stream is one-way: frames from clients are ignored. A frame larger than
 *   1 KiB closes the connection with 1009 and a malformed one with the matching close code; both
 *   are logged and counted with reason protocol_error. Compression is off: it costs memory per
 *   client and buys little for a few KiB every poll cycle.
 * - Requests. GET and HEAD only (405 with Allow otherwise), exact paths (404 otherwise).
 *   /active-site wants `namespace` and `group` exactly once each, non-empty and no longer than
 *   Kubernetes allows (63 and 253 characters), `site` (an agent's own) at most once, and `phase`
 *   only as `startup` (an agent's safety net), else 400 naming the parameter. Headers must arrive
 *   within 5 s and the whole request within 10 s. Answers carry `Cache-Control: no-store`.
 * - Shutdown. close() sends each WebSocket client a 1001 close frame, cuts those that do not
 *   answer within 1 s, and destroys any HTTP connection still open after 2 s.
 */
import { STATUS_CODES, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders } from "node:http";
import type { Duplex } from "node:stream";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { confirmedPrimary, type GroupStatusMessage } from "../../shared/status-message.js";
import { isSiteName } from "../../shared/annotations.js";
import type { Logger } from "../log.js";
import { BearerToken, OriginPolicy } from "./access.js";
import { HttpListener } from "./listener.js";
import { routes, sendJson, type RouteHandler } from "./respond.js";
import { StatusStream, type StreamMetrics } from "./status-stream.js";

/** What the status server reads; implemented by the registry of topology managers. */
export interface StatusSource {
  /** False on a non-leader replica and during startup: the operator knows nothing current. */
  hasActiveManagers(): boolean;
  snapshot(namespace: string, group: string): GroupStatusMessage | undefined;
  /** This replica runs the group (it may not have a message yet). */
  manages(namespace: string, group: string): boolean;
  snapshots(): GroupStatusMessage[];
  /**
   * An agent of `site` asked (the `site` parameter of /active-site); `confirmed`: the answer
   * stands behind it. Returns the lease the group's agents use (spec.sidecar.leaseTimeout).
   */
  agentAsked(namespace: string, group: string, site: string, confirmed: boolean): AgentSettings | undefined;
  /** The token the group's agents hold (its agent token Secret's), as last read; /active-site of that group takes it. */
  agentToken(namespace: string, group: string): string | undefined;
}

/**
 * What an agent that names its site is told besides the topology: the group's lease, the other
 * sites' agents, and how far its binary log archive may be pruned.
 */
export interface AgentSettings {
  leaseTimeoutMs: number;
  peers: Record<string, string>;
  /** The GTID position every retained Succeeded backup holds; absent: prune nothing. */
  archiveFloor?: string;
}

export interface StatusServerOptions {
  source: StatusSource;
  metrics: StreamMetrics;
  log: Logger;
  token?: string | undefined;
  allowedOrigins?: readonly string[];
  maxClients?: number;
  maxBufferedBytes?: number;
  heartbeatIntervalMs?: number;
}

export const STATUS_SERVER_DEFAULTS = {
  allowedOrigins: [] as readonly string[],
  maxClients: 100,
  maxBufferedBytes: 1024 * 1024,
  heartbeatIntervalMs: 30_000,
};

export const WS_STATUS_PATH = "/ws/status";

// Kubernetes limits: namespaces are DNS labels, object names DNS subdomains.
const PARAMETER_MAX_LENGTH = { namespace: 63, group: 253 } as const;

export class StatusServer {
  private readonly listener: HttpListener;
  private readonly stream: StatusStream;
  private readonly token: BearerToken | undefined;
  private readonly origins: OriginPolicy;
  private readonly maxClients: number;
  private readonly log: Logger;
  private closing = false;

  constructor(options: StatusServerOptions) {
    const { source, log } = options;
    this.log = log;
    this.token = options.token === undefined ? undefined : new BearerToken(options.token);
    this.origins = new OriginPolicy(options.allowedOrigins ?? STATUS_SERVER_DEFAULTS.allowedOrigins);
    this.maxClients = options.maxClients ?? STATUS_SERVER_DEFAULTS.maxClients;
    this.stream = new StatusStream(() => source.snapshots(), options.metrics, log, {
      maxBufferedBytes: options.maxBufferedBytes ?? STATUS_SERVER_DEFAULTS.maxBufferedBytes,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? STATUS_SERVER_DEFAULTS.heartbeatIntervalMs,
    });

    const handler = routes(
      "status",
      {
        "/status": this.authorized((_req, res) => {
          const groups = source.snapshots().map((message) => [`${message.namespace}/${message.group}`, message] as const);
          groups.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
          sendJson(res, 200, Object.fromEntries(groups));
        }),
        "/active-site": (req, res, query) => {
          const params = activeSiteParams(query);
          if (this.token !== undefined && !this.token.authorizes(req.headers, { subprotocol: false }) && !groupTokenAuthorizes(source, params, req.headers)) {
            sendJson(res, 401, { error: "missing or invalid bearer token" }, { "WWW-Authenticate": "Bearer" });
            return;
          }
          if ("problems" in params) {
            sendJson(res, 400, { error: params.problems.join("; ") });
            return;
          }
          if (!source.hasActiveManagers()) {
            sendJson(res, 503, { error: "no active topology managers on this operator (starting up, or not the leader)" });
            return;
          }
          const { namespace, group } = params;
          if (!source.manages(namespace, group)) {
            sendJson(res, 404, { error: `failover group ${namespace}/${group} is not managed by this operator` });
            return;
          }
          // Until every site has a debounced state, an empty activeSite would only mean "not
          // looked yet" (after an operator start or a leader change), not "no single primary".
          const message = source.snapshot(namespace, group);
          if (message === undefined || message.sites.some((s) => s.state === "unknown")) {
            sendJson(res, 503, { error: `failover group ${namespace}/${group} is starting: not every site has been observed yet; retry in a few seconds` }, { "Retry-After": "1" });
            return;
          }
          // The age lets an agent tell an answer observed before its own promotion from one after.
          const observedAgoMs = Math.max(0, Date.now() - Date.parse(message.pollTime));
          const primary = confirmedPrimary(message);
          const lastKnownPrimary = message.lastKnownPrimary ?? "";
          // An agent renews its lease on confirmedPrimary, and its startup safety net may lift its
          // fence on lastKnownPrimary: both are recorded as standing behind the site.
          const confirmed = params.site === primary || (params.startup && params.site === lastKnownPrimary);
          const settings = params.site === undefined ? undefined : source.agentAsked(namespace, group, params.site, confirmed);
          sendJson(res, 200, { namespace, group, activeSite: message.activeSite, confirmedPrimary: primary, lastKnownPrimary, observedAgoMs, ...settings });
        },
        [WS_STATUS_PATH]: this.authorized((_req, res) => {
          sendJson(res, 426, { error: "WebSocket endpoint: send an Upgrade: websocket handshake" }, { Upgrade: "websocket" });
        }),
      },
      log,
    );
    this.listener = new HttpListener("status", handler, log);
    this.listener.server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.upgrade(req, socket, head),
    );
  }

  /** Resolves with the bound port (an ephemeral one when `port` is 0). */
  listen(port: number, host: string): Promise<number> {
    return this.listener.listen(port, host);
  }

  /** Streams one group's end-of-cycle message to every WebSocket client. */
  publish(message: GroupStatusMessage): void {
    this.stream.publish(message);
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([this.stream.close(), this.listener.close()]);
  }

  private authorized(handler: RouteHandler): RouteHandler {
    return (req, res, query) => {
      if (this.token !== undefined && !this.token.authorizes(req.headers, { subprotocol: false })) {
        sendJson(res, 401, { error: "missing or invalid bearer token" }, { "WWW-Authenticate": "Bearer" });
        return;
      }
      return handler(req, res, query);
    };
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // A client that resets mid-handshake must not take the process down with an unhandled error.
    socket.on("error", () => socket.destroy());
    const path = (req.url ?? "/").split("?", 1)[0];
    const origin = req.headers.origin;
    let refusal: [status: number, reason: string, headers?: OutgoingHttpHeaders] | undefined;
    if (path !== WS_STATUS_PATH) refusal = [404, "no such endpoint"];
    else if (this.token !== undefined && !this.token.authorizes(req.headers, { subprotocol: true })) {
      refusal = [401, "missing or invalid bearer token", { "WWW-Authenticate": "Bearer" }];
    } else if (!this.origins.allows(origin)) refusal = [403, "origin not allowed"];
    else if (this.closing) refusal = [503, "operator shutting down"];
    else if (this.stream.clientCount >= this.maxClients) refusal = [429, "too many WebSocket clients"];

    if (refusal === undefined) {
      this.stream.accept(req, socket, head);
      return;
    }
    const [status, reason, headers] = refusal;
    if (status !== 404) {
      this.log.warn(LOG_MESSAGES.websocketRejected, {
        remote: `${req.socket.remoteAddress}:${req.socket.remotePort}`,
        status,
        reason,
        origin,
      });
    }
    refuseUpgrade(socket, status, reason, headers);
  }
}

type ActiveSiteParams = { namespace: string; group: string; site?: string; startup: boolean } | { problems: string[] };

function activeSiteParams(query: URLSearchParams): ActiveSiteParams {
  const problems: string[] = [];
  const value = (name: keyof typeof PARAMETER_MAX_LENGTH): string => {
    const values = query.getAll(name);
    const first = values[0] ?? "";
    if (values.length > 1) problems.push(`query parameter ${name} given ${values.length} times`);
    else if (first === "") problems.push(`missing query parameter ${name}`);
    else if (first.length > PARAMETER_MAX_LENGTH[name]) {
      problems.push(`query parameter ${name} is longer than ${PARAMETER_MAX_LENGTH[name]} characters`);
    }
    return first;
  };
  const namespace = value("namespace");
  const group = value("group");
  // Optional: an agent names its own site.
  const sites = query.getAll("site");
  if (sites.length > 1 || (sites[0] !== undefined && !isSiteName(sites[0]))) problems.push("query parameter site must be given at most once, as a site name (a DNS label)");
  const site = sites[0];
  const phase = query.getAll("phase");
  if (phase.length > 1 || (phase[0] !== undefined && phase[0] !== "startup")) problems.push("query parameter phase must be absent or startup");
  return problems.length > 0 ? { problems } : { namespace, group, ...(site === undefined ? {} : { site }), startup: phase[0] === "startup" };
}

/** Answers a refused handshake on the raw socket: after `upgrade` there is no ServerResponse. */
function refuseUpgrade(socket: Duplex, status: number, reason: string, headers: OutgoingHttpHeaders = {}): void {
  const body = `${JSON.stringify({ error: reason })}\n`;
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}`,
    "Connection: close",
    "Content-Type: application/json; charset=utf-8",
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${String(value)}`),
  ];
  socket.once("finish", () => socket.destroy());
  socket.end(`${lines.join("\r\n")}\r\n\r\n${body}`);
}

/**
 * A group's own agents may ask /active-site of that group with the group's agent token (the
 * managed sites' sidecars mount it; the status token lives in the operator's namespace, which
 * their pods cannot reference). It opens nothing else: not another group, not /status.
 */
function groupTokenAuthorizes(source: StatusSource, params: ReturnType<typeof activeSiteParams>, headers: IncomingHttpHeaders): boolean {
  if ("problems" in params) return false;
  const token = source.agentToken(params.namespace, params.group);
  if (token === undefined) return false;
  try {
    return new BearerToken(token).authorizes(headers, { subprotocol: false });
  } catch {
    // A token of characters a bearer cannot carry authorizes nobody.
    return false;
  }
}
