import { existsSync, readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { RUNBOOKS, findRunbook, parseRunbook, renderMarkdown, renderRunbookList } from "../../../cli/commands/runbook.js";
import { colors, stripAnsi } from "../../../cli/format.js";

const dir = fileURLToPath(new URL("../../../cli/runbooks/", import.meta.url));
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".md"))
  .map((f) => f.slice(0, -3))
  .sort();

const REQUIRED = [
  "alerts",
  "planned-failover",
  "manual-promotion",
  "split-brain-recovery",
  "divergent-old-primary",
  "pvc-loss",
  "total-loss",
  "maintenance-mode",
  "credential-rotation",
  "replication-lag-high",
  "operator-unavailable",
];

/** Every `kubectl bloodraven runbook <name>` a text refers to. */
const references = (text: string): string[] => [...text.matchAll(/kubectl bloodraven runbook ([a-z][-a-z]*)/g)].map((m) => m[1]!);

describe("runbooks", () => {
  it("ships every runbook the issue asks for, and every file in cli/runbooks is listed", () => {
    const names = RUNBOOKS.map((r) => r.name);
    expect([...names].sort()).toEqual(files);
    for (const name of REQUIRED) expect(names).toContain(name);
  });

  it.each(RUNBOOKS.map((r) => [r.name, r] as const))("%s has a title, a one-line summary and the sections an incident needs", (name, r) => {
    expect(r.title.length).toBeGreaterThan(3);
    expect(r.summary.length).toBeGreaterThan(20);
    expect(r.summary).not.toContain("\n");
    expect(r.text.startsWith(`# ${r.title}\n`)).toBe(true);
    if (name !== "alerts") {
      expect(r.text).toMatch(/^## (When to use|Checks first)/m);
      expect(r.text).toMatch(/^## Verify/m);
      expect(r.text).toContain("kubectl bloodraven status");
    }
    // Code fences are balanced, or the terminal rendering would swallow the rest.
    expect((r.text.match(/^\s*```/gm) ?? []).length % 2).toBe(0);
  });

  it.each(RUNBOOKS.map((r) => [r.name, r] as const))("%s renders for a terminal with and without colour", (_name, r) => {
    const plain = renderMarkdown(r.text, colors(false));
    expect(plain).toBe(r.text.endsWith("\n") ? r.text : `${r.text}\n`);
    const styled = renderMarkdown(r.text, colors(true));
    expect(styled).toContain("\u001b[");
    const visible = stripAnsi(styled);
    expect(visible).not.toMatch(/^#+ /m);
    expect(visible).not.toContain("```");
    expect(visible.startsWith(`${r.title}\n`)).toBe(true);
  });

  it("renders code blocks indented and headings without their hashes", () => {
    const out = stripAnsi(renderMarkdown("# Title\n\nText with `code`.\n\n## Steps\n\n```sh\nkubectl get mfg\n```\n", colors(true)));
    expect(out).toBe("Title\n\nText with code.\n\nSteps\n\n    kubectl get mfg\n");
  });

  it("the list names every runbook with its summary", () => {
    const list = renderRunbookList(200);
    const lines = list.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^NAME\s+SUMMARY$/);
    expect(lines).toHaveLength(RUNBOOKS.length + 1);
    for (const r of RUNBOOKS) expect(list).toContain(`${r.name} `);
    expect(renderRunbookList(60).split("\n").every((l) => l.length <= 80)).toBe(true);
  });

  it("the alert map covers the seeds' alerts and events and names only existing runbooks", () => {
    const alerts = findRunbook("alerts")!.text;
    for (const alert of [
      "BloodravenNoWritableSite",
      "BloodravenNoPrimary",
      "BloodravenDivergentTransactions",
      "BloodravenReplicationDown",
      "BloodravenReplicationLagging",
      "BloodravenFailoverOccurred",
      "BloodravenHighPollLatency",
      "BloodravenOperatorDown",
      "BloodravenSplitBrain",
      "BloodravenSiteUnreachable",
      "BloodravenPlannedFailoverFailed",
      "SplitBrainDetected",
      "NoPrimaryDetected",
      "TotalLossDetected",
      "DataLossDetected",
    ]) {
      expect(alerts).toContain(alert);
    }
    const named = new Set(references(alerts));
    expect(named.size).toBeGreaterThanOrEqual(8);
    for (const name of named) expect(findRunbook(name), `alerts names ${name}`).toBeDefined();
  });

  it("the alert map names every alert of the chart's PrometheusRule", () => {
    const rule = fileURLToPath(new URL("../../../charts/bloodraven/templates/prometheusrule.yaml", import.meta.url));
    if (!existsSync(rule)) return;
    const alerts = findRunbook("alerts")!.text;
    const names = [...readFileSync(rule, "utf8").matchAll(/- alert: (\w+)/g)].map((m) => m[1]!);
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(alerts, `alerts runbook lacks ${name}`).toContain(`| ${name} |`);
  });

  it("runbooks refer only to runbooks that exist", () => {
    for (const r of RUNBOOKS) {
      for (const name of references(r.text)) expect(findRunbook(name), `${r.name} refers to ${name}`).toBeDefined();
    }
  });

  it("uses the plugin's commands where one exists", () => {
    expect(findRunbook("manual-promotion")!.text).toContain("kubectl bloodraven gtid subset");
    expect(findRunbook("manual-promotion")!.text).toMatch(/fence/i);
    expect(findRunbook("split-brain-recovery")!.text).toContain("kubectl bloodraven gtid subtract");
    expect(findRunbook("divergent-old-primary")!.text).toContain("kubectl bloodraven reclone orders iad");
    expect(findRunbook("planned-failover")!.text).toContain("kubectl bloodraven failover orders pdx");
  });

  it("parseRunbook takes the first paragraph as the summary", () => {
    expect(parseRunbook("x", "# Title\n\nFirst line\ncontinues.\n\nSecond.\n")).toEqual({
      name: "x",
      title: "Title",
      summary: "First line continues.",
      text: "# Title\n\nFirst line\ncontinues.\n\nSecond.\n",
    });
  });
});
