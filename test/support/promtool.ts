/**
 * promtool from Debian's `prometheus` package: it evaluates the chart's alert rules with
 * Prometheus' own engine over series given minute by minute. Missing is a failure, never a skip.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { stringify } from "yaml";
import { run } from "./kubectl.js";

export function promtoolBinary(): string {
  const found = (process.env.PATH ?? "").split(":").map((dir) => join(dir, "promtool")).find((path) => existsSync(path));
  if (!found) throw new Error("promtool is not installed (it evaluates the chart's alerts). Install it with:\n  apt-get install prometheus");
  return found;
}

/**
 * Alert name -> the runbook the plugin's alert map (cli/runbooks/alerts.md, `kubectl bloodraven
 * runbook alerts`) names for it: every alert the rules fire must carry the same one.
 */
export function alertRunbooks(): Map<string, string> {
  const text = readFileSync(new URL("../../cli/runbooks/alerts.md", import.meta.url), "utf8");
  return new Map([...text.matchAll(/^\| (Bloodraven\w+) \| \w+ \| `kubectl bloodraven runbook ([a-z-]+)` \|/gm)].map((m) => [m[1]!, m[2]!]));
}

/** One input series in promtool's notation: `values` per evaluation interval (1 minute here). */
export interface InputSeries {
  series: string;
  values: string;
}

/** An alert expected to fire: its labels beyond the alert's own, and its annotations. */
export interface ExpectedAlert {
  exp_labels: Record<string, string>;
  exp_annotations: Record<string, string>;
}

/**
 * `promtool test rules` of `rulesPath` over `inputSeries`: at each minute of `expected`, exactly
 * the listed alerts named `alertname` fire (none for an empty list), each with the `runbook`
 * annotation of the plugin's alert map besides the listed ones. The test file goes to `dir`.
 */
export async function expectAlerts(rulesPath: string, dir: string, inputSeries: InputSeries[], alertname: string, expected: Record<number, ExpectedAlert[]>): Promise<void> {
  const runbook = alertRunbooks().get(alertname);
  if (!runbook) throw new Error(`${alertname} has no row in cli/runbooks/alerts.md`);
  const test = {
    rule_files: [rulesPath],
    evaluation_interval: "1m",
    tests: [
      {
        interval: "1m",
        input_series: inputSeries,
        alert_rule_test: Object.entries(expected).map(([minute, alerts]) => ({
          eval_time: `${minute}m`,
          alertname,
          exp_alerts: alerts.map((a) => ({ ...a, exp_annotations: { ...a.exp_annotations, runbook: `kubectl bloodraven runbook ${runbook}` } })),
        })),
      },
    ],
  };
  const path = join(dir, `promtool-${randomBytes(4).toString("hex")}.yaml`);
  writeFileSync(path, stringify(test));
  const r = await run(promtoolBinary(), ["test", "rules", path], { timeoutMs: 60_000 });
  expect(r.code, r.stdout + r.stderr).toBe(0);
}

/** A series in promtool's notation: `name{k="v", ...}`. */
export function seriesOf(name: string, labels: Record<string, string>): string {
  return `${name}{${Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ")}}`;
}
