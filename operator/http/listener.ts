import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import type { Logger } from "../log.js";

/**
 * How long in-flight requests get once close() is called before their connections are cut.
 * Three servers close in parallel, so the operator's shutdown stays well inside its 10 s budget.
 */
export const SHUTDOWN_GRACE_MS = 2_000;

// Every endpoint answers from memory in microseconds; a client that needs longer to send its
// request is either broken or holding a connection open on purpose (slowloris).
const HEADERS_TIMEOUT_MS = 5_000;
const REQUEST_TIMEOUT_MS = 10_000;

/** One HTTP server's lifecycle: bind, report the bound port, close with a deadline. */
export class HttpListener {
  readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private closing: Promise<void> | undefined;

  constructor(
    private readonly name: string,
    handler: RequestListener,
    private readonly log: Logger,
  ) {
    this.server = createServer({ headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS }, handler);
    // Node's own connection bookkeeping forgets upgraded (WebSocket) sockets; this set does not,
    // so the shutdown deadline covers them too.
    this.server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
    });
  }

  /** Resolves with the bound port, which differs from `port` when `port` is 0. */
  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        const bound = (this.server.address() as AddressInfo).port;
        this.log.info(LOG_MESSAGES.httpListening, { server: this.name, host, port: bound });
        resolve(bound);
      });
    });
  }

  /** Resolves once every connection is closed; stragglers are destroyed after the grace period. */
  close(): Promise<void> {
    this.closing ??= new Promise((resolve) => {
      if (!this.server.listening) {
        resolve();
        return;
      }
      const deadline = setTimeout(() => {
        for (const socket of this.sockets) socket.destroy();
      }, SHUTDOWN_GRACE_MS);
      deadline.unref();
      this.server.close(() => {
        clearTimeout(deadline);
        resolve();
      });
      this.server.closeIdleConnections();
    });
    return this.closing;
  }
}
