// `npm test`: builds, then runs every tier in order (unit, integration, e2e, chaos, cluster), each in its own
// vitest run so the tiers that own real processes never compete for the machine's two cores.
// A tier that cannot get its prerequisites fails; nothing is skipped. Ends with one summary line,
// after a digest of every failure (CI keeps only the end of a long log).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const tiers = ["unit", "integration", "e2e", "chaos", "cluster"];
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

/** Runs a command with its output passed through and kept for the failure digest. */
function step(label, command, args) {
  const started = Date.now();
  console.log(`\n=== ${label} ===`);
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ["inherit", "pipe", "pipe"] });
    let output = "";
    const keep = (chunk, sink) => {
      sink.write(chunk);
      output += chunk.toString();
    };
    child.stdout.on("data", (c) => keep(c, process.stdout));
    child.stderr.on("data", (c) => keep(c, process.stderr));
    child.on("close", (code) => {
      const ok = code === 0;
      console.log(`=== ${label}: ${ok ? "ok" : "FAILED"} in ${((Date.now() - started) / 1000).toFixed(1)}s ===`);
      if (!ok) failureDigest(label, output);
      resolve(ok);
    });
  });
}

if (!(await step("build", "npm", ["run", "--silent", "build"]))) process.exit(1);

for (const tier of tiers) {
  const report = join(reportDir, `${tier}.json`);
  const ok = await step(`${tier} tests`, "npx", ["vitest", "run", "--project", tier, "--reporter=default", "--reporter=json", `--outputFile.json=${report}`]);
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

for (const digest of digests) console.log(`\n${digest}`);
console.log(`\nTests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
if (totals.skipped > 0) failedTiers.push("skipped tests are not allowed");
if (failedTiers.length > 0) {
  console.log(`failed: ${failedTiers.join(", ")}`);
  process.exit(1);
}
