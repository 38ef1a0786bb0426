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
 * before it promotes, never sooner. GET and HEAD only, exact paths, and the listener's header and
 * request deadlines.
 */
import { SERVER_STATES, type ServerState } from "../../shared/agent/fencing.js";
import { isSiteName } from "../../shared/annotations.js";
import { HttpListener } from "../http/listener.js";
import { routes, sendJson, sendText } from "../http/respond.js";
import type { Logger } from "../log.js";
import type { PeerAnswer } from "./ask.js";

export interface AgentViewSource {
  /** What /v1/view answers. */
  view(): PeerAnswer;
  /** A peer asked: it reaches this agent, and its server was in `server` at its last read. */
  heardFrom(site: string, server: ServerState): void;
}

export class AgentServer {
  private readonly listener: HttpListener;

  constructor(source: AgentViewSource, log: Logger) {
    const handler = routes(
      "agent",
      {
        "/healthz": (_req, res) => sendText(res, 200, "ok"),
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
