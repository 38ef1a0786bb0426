// `npm test`: builds, then runs every tier in order (unit, integration, e2e, chaos, cluster), each in its own
// vitest run so the tiers that own real processes never compete for the machine's two cores. The
// one exception is e2e, the longest tier and mostly waiting: its two halves (the plugin's, the chart's and
// the monitoring files, the rest) run side by side, each on its own control plane, since a test may change what is
// cluster-wide (CRDs, nodes). A tier that cannot get its prerequisites fails; nothing is skipped.
// Ends with one summary line, after a digest of every failure (CI keeps only the end of a long log).
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const e2eFiles = readdirSync("test/e2e").filter((f) => f.endsWith(".test.ts")).map((f) => `test/e2e/${f}`);
/** The halves take about as long (near 550 s each under CI's load): keep them even when adding files. */
const pluginOrChartFile = (f) => /^test\/e2e\/(cli-|plugin|chart|prometheus)/.test(f);
/** Runs of one tier that go side by side; `files` narrows a run to those files. */
const tiers = [
  [{ tier: "unit" }],
  [{ tier: "integration" }],
  [
    { tier: "e2e", label: "e2e (plugin, chart, monitoring)", files: e2eFiles.filter(pluginOrChartFile) },
    { tier: "e2e", label: "e2e (operator)", files: e2eFiles.filter((f) => !pluginOrChartFile(f)) },
  ],
  [{ tier: "chaos" }],
  [{ tier: "cluster" }],
];
const reportDir = mkdtempSync(join(tmpdir(), "bloodraven-test-"));
const totals = { passed: 0, failed: 0, skipped: 0 };
const failedTiers = [];

const digests = [];
const DIGEST_LINES = 150;

/** vitest's own account of its failures (from "Failed Suites/Tests" on), without the processes' JSON log lines. */
function failureDigest(label, output) {
  // eslint-disable-next-line no-control-regex
  const lines = output.replace(/\x1b\[[0-9;]*m/g, "").split("\n");
  const start = lines.findIndex((l) => /⎯ Failed (Suites|Tests) \d+ ⎯/.test(l));
  if (start < 0) return;
  const kept = lines.slice(start).filter((l) => !l.trimStart().startsWith('{"time"'));
  digests.push(`--- ${label}: failures\n${kept.slice(0, DIGEST_LINES).join("\n")}${kept.length > DIGEST_LINES ? "\n(cut)" : ""}`);
}

/**
 * Runs a command with its output kept for the failure digest: passed through as it comes, or,
 * with `held` (a run beside another), printed whole when it ends so the two never interleave.
 */
function step(label, command, args, held = false) {
  const started = Date.now();
  console.log(`\n=== ${label}${held ? " (output when it ends)" : ""} ===`);
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ["inherit", "pipe", "pipe"] });
    let output = "";
    const keep = (chunk, sink) => {
      if (!held) sink.write(chunk);
      output += chunk.toString();
    };
    child.stdout.on("data", (c) => keep(c, process.stdout));
    child.stderr.on("data", (c) => keep(c, process.stderr));
    child.on("close", (code) => {
      const ok = code === 0;
      if (held) console.log(`\n=== ${label}: its output ===\n${output}`);
      console.log(`=== ${label}: ${ok ? "ok" : "FAILED"} in ${((Date.now() - started) / 1000).toFixed(1)}s ===`);
      if (!ok) failureDigest(label, output);
      resolve(ok);
    });
  });
}

if (!(await step("build", "npm", ["run", "--silent", "build"]))) process.exit(1);

/** One vitest run; its report's counts go into the totals. */
async function run({ tier, label = tier, files }, index) {
  // An empty list would make vitest run the whole tier in this half too.
  if (files?.length === 0) throw new Error(`${label}: no test files matched`);
  const report = join(reportDir, `${tier}-${index}.json`);
  const args = ["vitest", "run", "--project", tier, "--reporter=default", "--reporter=json", `--outputFile.json=${report}`, ...(files ?? [])];
  const ok = await step(`${label} tests`, "npx", args, index > 0);
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
  if (!ok || !counted) failedTiers.push(counted ? label : `${label} (no tests ran)`);
}

for (const runs of tiers) await Promise.all(runs.map(run));

for (const digest of digests) console.log(`\n${digest}`);
console.log(`\nTests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
if (totals.skipped > 0) failedTiers.push("skipped tests are not allowed");
if (failedTiers.length > 0) {
  console.log(`failed: ${failedTiers.join(", ")}`);
  process.exit(1);
}
