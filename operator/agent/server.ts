/**
 * The agent's HTTP API (default :8080), for the operator and the peer agents:
 * - `GET /healthz`: 200 while the event loop answers (the container's liveness probe).
 * - `GET /v1/view?from=<site>&server=<state>`: this site's name, the operator's view it holds
 *   with its age, and its server's state at the last read. `from` names the asking peer and
 *   `server` its server's state: the agent records when each peer last reached it while that
 *   peer's server could be writable.
 * Both are open: the view holds site names and ages, nothing secret, and agents only ever pull
 * views from the peers they were configured with, so a stranger cannot plant one. A forged
 * `from` can only make a site look reachable for longer, which makes the operator wait longer
 * before it promotes, never sooner.
 * The clone endpoints (shared/agent/clone.ts) copy or replace a whole database, so they need the
 * agent token (`Authorization: Bearer`), compared in constant time; without a token configured
 * they answer 403:
 * - `GET /v1/clone/backup`: the donor's backup stream, one at a time (409 while one runs);
 * - `POST /v1/clone`: start a clone onto this site (202; the same id again: 200 with that job);
 * - `GET /v1/clone`: the last job, or null.
 * Exact paths, and the listener's header and request deadlines.
 */
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { parseCloneRequest } from "../../shared/agent/clone.js";
import { SERVER_STATES, type ServerState } from "../../shared/agent/fencing.js";
import { isSiteName } from "../../shared/annotations.js";
import { HttpListener } from "../http/listener.js";
import { BadRequest, readJsonBody, routes, sendJson, sendText, type RouteHandler } from "../http/respond.js";
import type { ArchiverStatus } from "../../shared/agent/archiver-status.js";
import type { CloneRecipient } from "./clone.js";
import type { Logger } from "../log.js";
import type { PeerAnswer } from "./ask.js";

export interface AgentViewSource {
  /** What /v1/view answers. */
  view(): PeerAnswer;
  /** A peer asked: it reaches this agent, and its server was in `server` at its last read. */
  heardFrom(site: string, server: ServerState): void;
}

/** The clone roles, when the agent has a datadir and a token. */
export interface AgentCloneRoles {
  token: string;
  recipient: CloneRecipient;
  /** Streams a backup into res; resolves when it ended either way. */
  donate(res: ServerResponse): Promise<void>;
}

const MAX_BODY = 4_096;

function authorized(req: IncomingMessage, token: string): boolean {
  const given = Buffer.from(req.headers.authorization ?? "");
  const wanted = Buffer.from(`Bearer ${token}`);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

export class AgentServer {
  private readonly listener: HttpListener;

  private donating = false;

  constructor(source: AgentViewSource, log: Logger, clone?: AgentCloneRoles, archiver?: { status(): ArchiverStatus }) {
    const guarded =
      (handle: RouteHandler): RouteHandler =>
      async (req, res, query) => {
        if (!clone) {
          sendJson(res, 403, { error: "clone is off on this agent: it needs --datadir and BLOODRAVEN_AGENT_TOKEN (docs/agent.md)" });
          return;
        }
        if (!authorized(req, clone.token)) {
          sendJson(res, 401, { error: "a valid agent token is required (Authorization: Bearer <token>)" }, { "WWW-Authenticate": "Bearer" });
          return;
        }
        await handle(req, res, query);
      };
    const handler = routes(
      "agent",
      {
        "/healthz": (_req, res) => sendText(res, 200, "ok"),
        // What the archive holds and whether this agent uploads; no secret, the store's address at most.
        "/archiver/status": (_req, res) => sendJson(res, 200, archiver?.status() ?? { enabled: false }),
        "/v1/view": (_req, res, query) => {
          const from = query.getAll("from");
          if (from.length > 1 || (from[0] !== undefined && !isSiteName(from[0]))) {
            sendJson(res, 400, { error: "query parameter from must be one site name (a DNS label)" });
            return;
          }
          // An agent that does not say counts as one whose server may be writable.
          const server = query.getAll("server");
          const state = server.length === 0 ? "unknown" : SERVER_STATES.find((s) => server.length === 1 && s === server[0]);
          if (state === undefined) {
            sendJson(res, 400, { error: `query parameter server must be one of ${SERVER_STATES.join(", ")}` });
            return;
          }
          if (from[0] !== undefined) source.heardFrom(from[0], state);
          sendJson(res, 200, source.view());
        },
        "/v1/clone/backup": guarded(async (_req, res) => {
          if (this.donating) {
            sendJson(res, 409, { error: "a backup is already streaming from this site; one at a time" });
            return;
          }
          this.donating = true;
          try {
            await clone?.donate(res);
          } finally {
            this.donating = false;
          }
        }),
        "/v1/clone": {
          methods: ["GET", "HEAD", "POST"],
          handle: guarded(async (req, res) => {
            const recipient = clone?.recipient;
            if (!recipient) return;
            if (req.method !== "POST") {
              sendJson(res, 200, { job: recipient.current() ?? null });
              return;
            }
            let body: unknown;
            try {
              body = await readJsonBody(req, MAX_BODY);
            } catch (err) {
              if (!(err instanceof BadRequest)) throw err;
              sendJson(res, 400, { error: err.message });
              return;
            }
            const request = parseCloneRequest(body);
            if (!request.ok) {
              sendJson(res, 400, { error: request.error });
              return;
            }
            const started = recipient.start(request.value);
            if ("refused" in started) sendJson(res, 409, { error: started.refused });
            else sendJson(res, started.started ? 202 : 200, { job: started.job });
          }),
        },
      },
      log,
    );
    this.listener = new HttpListener("agent", handler, log);
  }

  listen(port: number, host: string): Promise<number> {
    return this.listener.listen(port, host);
  }

  close(): Promise<void> {
    return this.listener.close();
  }
}
