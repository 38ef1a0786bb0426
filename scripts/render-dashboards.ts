/**
 * The pictures of docs/monitoring.md: runs the two tests that check the dashboards on a real
 * Prometheus, which leave each dashboard's data in a folder, and draws each dashboard from it into
 * docs/images/dashboards/. test/e2e/prometheus.test.ts (the operator through a switchover, a
 * failover and the other faults) gives all five; test/cluster/backups.test.ts (backups,
 * verifications, the archive and a restore on the real node) then replaces the Backups and PITR
 * Archiver ones with data. About ten minutes, most of it the cluster test; run as root.
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
  for (const [project, file] of [
    ["e2e", "test/e2e/prometheus.test.ts"],
    ["cluster", "test/cluster/backups.test.ts"],
  ] as const) {
    const test = spawnSync("npx", ["vitest", "run", "--project", project, file], {
      cwd: root,
      stdio: "inherit",
      env: { ...process.env, BLOODRAVEN_DASHBOARD_SNAPSHOTS: snapshots },
      timeout: 1_800_000,
    });
    if (test.status !== 0) throw new Error(`${file} failed (exit ${test.status}): no pictures drawn`);
  }
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
