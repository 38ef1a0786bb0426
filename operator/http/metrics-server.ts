import type { Logger } from "../log.js";
import { HttpListener } from "./listener.js";
import type { OperatorMetrics } from "./metrics.js";
import { routes, send } from "./respond.js";

/** `:8080/metrics`: the Prometheus exposition of the operator's own registry. */
export function createMetricsServer(metrics: OperatorMetrics, log: Logger): HttpListener {
  const handler = routes(
    "metrics",
    {
      "/metrics": async (_req, res) => {
        send(res, 200, metrics.contentType, await metrics.metricsText());
      },
    },
    log,
  );
  return new HttpListener("metrics", handler, log);
}
