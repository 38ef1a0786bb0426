import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocket, WebSocketServer } from "ws";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import type { WebsocketDropReason } from "../../shared/names.js";
import type { GroupStatusMessage } from "../../shared/status-message.js";
import { errorText } from "../../shared/errors.js";
import type { Logger } from "../log.js";
import { BEARER_SUBPROTOCOL_PREFIX } from "./access.js";
import type { OperatorMetrics } from "./metrics.js";

/** The subprotocol a client offers next to `bearer.<token>` so the server never echoes the token. */
export const STATUS_SUBPROTOCOL = "bloodraven.status.v1";

/** Clients only listen; anything they send is ignored, and a frame above this closes them (1009). */
export const MAX_CLIENT_PAYLOAD_BYTES = 1024;

/** How long a client gets to answer the close frame at shutdown before its socket is cut. */
const CLOSE_GRACE_MS = 1_000;

export type StreamMetrics = Pick<OperatorMetrics, "setWebsocketClients" | "recordWebsocketDrop">;

export interface StreamOptions {
  maxBufferedBytes: number;
  heartbeatIntervalMs: number;
}

interface Client {
  remote: string;
  /** Answered the last ping. */
  alive: boolean;
}

/**
 * The `/ws/status` fan-out. One JSON message per group per poll cycle goes to every client; on
 * connect a client first gets every group's latest message, so a dashboard renders at once
 * instead of after the next cycle.
 *
 * publish() runs inside the poll loop and must never wait on a client. A client that does not
 * read keeps its unsent messages in our memory (ws.bufferedAmount); past `maxBufferedBytes` it
 * is cut off rather than allowed to grow the heap without bound. A client whose peer vanished
 * without a FIN is found by the ping/pong heartbeat: two intervals without a pong and it goes.
 */
export class StatusStream {
  private readonly wss: WebSocketServer;
  private readonly clients = new Map<WebSocket, Client>();
  private readonly heartbeat: NodeJS.Timeout;

  constructor(
    private readonly snapshots: () => GroupStatusMessage[],
    private readonly metrics: StreamMetrics,
    private readonly log: Logger,
    private readonly options: StreamOptions,
  ) {
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: MAX_CLIENT_PAYLOAD_BYTES,
      handleProtocols: selectProtocol,
    });
    this.heartbeat = setInterval(() => this.checkHeartbeats(), options.heartbeatIntervalMs);
    this.heartbeat.unref();
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Completes a handshake the caller has already authorized. */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => this.add(ws, req));
  }

  publish(message: GroupStatusMessage): void {
    if (this.clients.size === 0) return;
    const data = JSON.stringify(message);
    for (const [ws, client] of this.clients) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      if (ws.bufferedAmount > this.options.maxBufferedBytes) {
        this.drop(ws, client, "slow_consumer", { bufferedBytes: ws.bufferedAmount });
        continue;
      }
      ws.send(data);
    }
  }

  /** Sends every client a 1001 close frame and resolves when all are gone. */
  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    await Promise.all(
      [...this.clients.keys()].map(
        (ws) =>
          new Promise<void>((resolve) => {
            ws.once("close", () => resolve());
            ws.close(1001, "operator shutting down");
            setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
          }),
      ),
    );
  }

  private add(ws: WebSocket, req: IncomingMessage): void {
    const client: Client = { remote: `${req.socket.remoteAddress}:${req.socket.remotePort}`, alive: true };
    this.clients.set(ws, client);
    this.metrics.setWebsocketClients(this.clients.size);

    ws.on("pong", () => {
      client.alive = true;
    });
    // An oversized or malformed frame: ws has already started closing the connection.
    ws.on("error", (err) => this.dropped(client, "protocol_error", { error: errorText(err) }));
    ws.on("close", () => {
      this.clients.delete(ws);
      this.metrics.setWebsocketClients(this.clients.size);
    });

    // Runs inside the server's upgrade event, where a throw would take the process down.
    try {
      for (const message of this.snapshots()) ws.send(JSON.stringify(message));
    } catch (err) {
      this.log.error(LOG_MESSAGES.httpHandlerFailed, { server: "status", path: "/ws/status", error: errorText(err) });
      ws.close(1011, "internal error");
    }
  }

  private checkHeartbeats(): void {
    for (const [ws, client] of this.clients) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      if (!client.alive) {
        this.drop(ws, client, "heartbeat_timeout", {});
        continue;
      }
      client.alive = false;
      ws.ping();
    }
  }

  private drop(ws: WebSocket, client: Client, reason: WebsocketDropReason, fields: Record<string, unknown>): void {
    this.dropped(client, reason, fields);
    ws.terminate();
  }

  private dropped(client: Client, reason: WebsocketDropReason, fields: Record<string, unknown>): void {
    this.log.warn(LOG_MESSAGES.websocketDropped, { remote: client.remote, reason, ...fields });
    this.metrics.recordWebsocketDrop(reason);
  }
}

/**
 * Browsers fail the handshake unless the server selects one of the offered subprotocols. Prefer
 * the named protocol so the token is not echoed in the response; a client that offered only
 * `bearer.<token>` gets it echoed back, which tells it nothing new.
 */
function selectProtocol(offered: Set<string>): string | false {
  if (offered.has(STATUS_SUBPROTOCOL)) return STATUS_SUBPROTOCOL;
  return [...offered].find((protocol) => protocol.startsWith(BEARER_SUBPROTOCOL_PREFIX)) ?? false;
}
