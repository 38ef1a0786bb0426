import type { Logger } from "../log.js";
import { HttpListener } from "./listener.js";
import { routes, sendText } from "./respond.js";

/** Why the operator cannot serve yet, e.g. "informers not synced"; shown in the 503 body. */
export type Readiness = { ready: true } | { ready: false; reason: string };

/**
 * `:8081` probes. `/healthz` answers while the event loop does, so the kubelet restarts only a
 * wedged process. `/readyz` asks `ready()` on every probe: the original answered "ok"
 * unconditionally, so a pod whose informers had not synced received traffic.
 */
export function createHealthServer(ready: () => Readiness, log: Logger): HttpListener {
  const handler = routes(
    "health",
    {
      "/healthz": (_req, res) => sendText(res, 200, "ok"),
      "/readyz": (_req, res) => {
        const readiness = ready();
        if (readiness.ready) sendText(res, 200, "ok");
        else sendText(res, 503, `not ready: ${readiness.reason}`);
      },
    },
    log,
  );
  return new HttpListener("health", handler, log);
}
