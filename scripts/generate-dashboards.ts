/**
 * Writes the chart's Grafana dashboards, charts/bloodraven/dashboards/<name>.json, from the
 * modules in scripts/dashboards/. Run it after changing a dashboard or a metric:
 *   npm run generate:dashboards
 * test/unit/dashboards.test.ts fails when a committed file differs from what this renders.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Dashboard } from "@grafana/grafana-foundation-sdk/dashboard";
import { archiverDashboard } from "./dashboards/archiver.js";
import { backupsDashboard } from "./dashboards/backups.js";
import { failoverDashboard } from "./dashboards/failover.js";
import { overviewDashboard } from "./dashboards/overview.js";
import type { DashboardKey } from "./dashboards/panels.js";
import { replicationDashboard } from "./dashboards/replication.js";

export const DASHBOARD_DIR = fileURLToPath(new URL("../charts/bloodraven/dashboards/", import.meta.url));

const BUILDERS: Record<DashboardKey, () => Dashboard> = {
  overview: overviewDashboard,
  failover: failoverDashboard,
  replication: replicationDashboard,
  backups: backupsDashboard,
  archiver: archiverDashboard,
};

/** File name in the chart's dashboards/ -> content. */
export function renderDashboards(): Map<string, string> {
  return new Map(Object.entries(BUILDERS).map(([key, build]) => [`${key}.json`, `${JSON.stringify(build(), null, 2)}\n`]));
}

async function main(): Promise<void> {
  await mkdir(DASHBOARD_DIR, { recursive: true });
  for (const [name, content] of renderDashboards()) {
    await writeFile(`${DASHBOARD_DIR}${name}`, content);
    console.log(`wrote charts/bloodraven/dashboards/${name}`);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
