/**
 * The pictures of docs/monitoring.md: runs test/e2e/prometheus.test.ts (a real Prometheus scraping
 * the real operator through a switchover, a failover and the other faults), which leaves each
 * dashboard's data in a folder, and draws each dashboard from it into docs/images/dashboards/.
 *   npm run docs:dashboards
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { renderDashboardSvg, svgToPng } from "./dashboards/render.js";
import type { DashboardSnapshot } from "./dashboards/snapshot.js";

const root = fileURLToPath(new URL("../", import.meta.url));
const outDir = join(root, "docs/images/dashboards");
const snapshots = mkdtempSync(join(tmpdir(), "bloodraven-dashboards-"));
try {
  const test = spawnSync("npx", ["vitest", "run", "--project", "e2e", "test/e2e/prometheus.test.ts"], {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, BLOODRAVEN_DASHBOARD_SNAPSHOTS: snapshots },
    timeout: 600_000,
  });
  if (test.status !== 0) throw new Error(`test/e2e/prometheus.test.ts failed (exit ${test.status}): no pictures drawn`);
  mkdirSync(outDir, { recursive: true });
  for (const file of readdirSync(snapshots)) {
    const snapshot = JSON.parse(readFileSync(join(snapshots, file), "utf8")) as DashboardSnapshot;
    const png = join(outDir, file.replace(/\.json$/, ".png"));
    writeFileSync(png, svgToPng(renderDashboardSvg(snapshot)));
    console.log(`wrote ${png.slice(root.length)}`);
  }
} finally {
  rmSync(snapshots, { recursive: true, force: true });
}
