// `npm test`: builds, then runs every tier in order (unit, integration, e2e, chaos, cluster), each in its own
// vitest run so the tiers that own real processes never compete for the machine's two cores.
// A tier that cannot get its prerequisites fails; nothing is skipped. Ends with one summary line.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const tiers = ["unit", "integration", "e2e", "chaos", "cluster"];
const reportDir = mkdtempSync(join(tmpdir(), "bloodraven-test-"));
const totals = { passed: 0, failed: 0, skipped: 0 };
const failedTiers = [];

function step(label, command, args) {
  const started = Date.now();
  console.log(`\n=== ${label} ===`);
  const result = spawnSync(command, args, { stdio: "inherit" });
  console.log(`=== ${label}: ${result.status === 0 ? "ok" : "FAILED"} in ${((Date.now() - started) / 1000).toFixed(1)}s ===`);
  return result.status === 0;
}

if (!step("build", "npm", ["run", "--silent", "build"])) process.exit(1);

for (const tier of tiers) {
  const report = join(reportDir, `${tier}.json`);
  const ok = step(`${tier} tests`, "npx", ["vitest", "run", "--project", tier, "--reporter=default", "--reporter=json", `--outputFile.json=${report}`]);
  let counted = false;
  try {
    const r = JSON.parse(readFileSync(report, "utf8"));
    totals.passed += r.numPassedTests;
    totals.failed += r.numFailedTests;
    totals.skipped += r.numPendingTests + r.numTodoTests;
    counted = r.numTotalTests > 0;
  } catch {
    // No report: the run died before writing one, which the exit status already says.
  }
  if (!ok || !counted) failedTiers.push(counted ? tier : `${tier} (no tests ran)`);
}

console.log(`\nTests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
if (totals.skipped > 0) failedTiers.push("skipped tests are not allowed");
if (failedTiers.length > 0) {
  console.log(`failed: ${failedTiers.join(", ")}`);
  process.exit(1);
}
