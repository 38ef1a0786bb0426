/**
 * The chart's dashboards against a real Prometheus: every query of the named dashboards run over
 * a time range with the variables filled in, as Grafana would; what came back empty, and the
 * snapshots that `npm run docs:dashboards` draws (written to $BLOODRAVEN_DASHBOARD_SNAPSHOTS).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { PrometheusServer } from "../../scripts/env/prometheus-server.js";
import { NO_DATA_UNLESS } from "../../scripts/dashboards/panels.js";
import { snapshotDashboard, type DashboardJson } from "../../scripts/dashboards/snapshot.js";
import { DASHBOARD_DIR } from "../../scripts/generate-dashboards.js";

export interface DashboardRun {
  queries: number;
  /** `<file>: <panel>: <expr>` of every query that returned no series. */
  empty: string[];
  /** The same, leaving out panels whose description says when they have no data. */
  emptyUnexpectedly: string[];
}

/**
 * Runs the queries of `files` (e.g. "overview.json") for one group. Throws, naming Prometheus'
 * parse error, when a query is not valid PromQL. `rateInterval` stands for `$__rate_interval`
 * (at least four scrape intervals).
 */
export async function runDashboards(
  prometheus: PrometheusServer,
  files: string[],
  vars: { namespace: string; group: string; rateInterval: string },
  range: { start: number; end: number },
): Promise<DashboardRun> {
  const substitute = (expr: string) =>
    expr
      .replaceAll("$namespace", vars.namespace)
      .replaceAll("$group", vars.group)
      .replaceAll("$__rate_interval", vars.rateInterval)
      .replaceAll("$__range", `${Math.ceil(range.end - range.start)}s`);
  const run: DashboardRun = { queries: 0, empty: [], emptyUnexpectedly: [] };
  const step = Math.max(1, Math.ceil((range.end - range.start) / 500));
  for (const file of files) {
    const dashboard = JSON.parse(readFileSync(join(DASHBOARD_DIR, file), "utf8")) as DashboardJson;
    const snapshot = await snapshotDashboard(dashboard, (expr) => prometheus.queryRange(substitute(expr), range.start, range.end, step), range);
    for (const panel of snapshot.panels) {
      for (const q of panel.queries) {
        run.queries++;
        if (q.series.length > 0) continue;
        run.empty.push(`${file}: ${panel.title}: ${q.expr}`);
        if (!panel.description.includes(NO_DATA_UNLESS)) run.emptyUnexpectedly.push(`${file}: ${panel.title}: ${q.expr}`);
      }
    }
    const out = process.env.BLOODRAVEN_DASHBOARD_SNAPSHOTS;
    if (out) writeFileSync(join(out, file), JSON.stringify(snapshot));
  }
  return run;
}
