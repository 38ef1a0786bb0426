/**
 * `runbook list` and `runbook <name>`: the operations runbooks, shipped inside the plugin so
 * they are at hand during an incident even when the docs site is not. Each runbook is a Markdown
 * file in cli/runbooks/, bundled as text; on a colour terminal it is lightly rendered (bold
 * headings, indented code), otherwise printed as the Markdown it is.
 */
import type { Command } from "commander";
import type { ChalkInstance } from "chalk";
import alerts from "../runbooks/alerts.md";
import backupRestore from "../runbooks/backup-restore.md";
import credentialRotation from "../runbooks/credential-rotation.md";
import divergentOldPrimary from "../runbooks/divergent-old-primary.md";
import dragonflyDegraded from "../runbooks/dragonfly-degraded.md";
import failedBackup from "../runbooks/failed-backup.md";
import maintenanceMode from "../runbooks/maintenance-mode.md";
import managedSiteChanges from "../runbooks/managed-site-changes.md";
import manualPromotion from "../runbooks/manual-promotion.md";
import operatorUnavailable from "../runbooks/operator-unavailable.md";
import pitrArchiveLagging from "../runbooks/pitr-archive-lagging.md";
import plannedFailover from "../runbooks/planned-failover.md";
import pvcLoss from "../runbooks/pvc-loss.md";
import replicationLagHigh from "../runbooks/replication-lag-high.md";
import siteUnreachable from "../runbooks/site-unreachable.md";
import splitBrainRecovery from "../runbooks/split-brain-recovery.md";
import totalLoss from "../runbooks/total-loss.md";
import { colors, renderTable, useColor } from "../format.js";
import { usageError, writeOut } from "../kube-context.js";

export interface Runbook {
  name: string;
  /** The `# ` heading. */
  title: string;
  /** The first paragraph, on one line: what `runbook list` prints. */
  summary: string;
  text: string;
}

// Listed in this order: the alert map first, then roughly from routine to disaster.
const SOURCES: readonly (readonly [string, string])[] = [
  ["alerts", alerts],
  ["planned-failover", plannedFailover],
  ["maintenance-mode", maintenanceMode],
  ["credential-rotation", credentialRotation],
  ["managed-site-changes", managedSiteChanges],
  ["replication-lag-high", replicationLagHigh],
  ["site-unreachable", siteUnreachable],
  ["failed-backup", failedBackup],
  ["pitr-archive-lagging", pitrArchiveLagging],
  ["backup-restore", backupRestore],
  ["dragonfly-degraded", dragonflyDegraded],
  ["operator-unavailable", operatorUnavailable],
  ["divergent-old-primary", divergentOldPrimary],
  ["split-brain-recovery", splitBrainRecovery],
  ["manual-promotion", manualPromotion],
  ["pvc-loss", pvcLoss],
  ["total-loss", totalLoss],
];

/** Title from the first `# ` line; summary from the first paragraph after it. */
export function parseRunbook(name: string, text: string): Runbook {
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  const titleAt = lines.findIndex((l) => l.startsWith("# "));
  const title = titleAt >= 0 ? lines[titleAt]!.slice(2).trim() : name;
  const paragraph: string[] = [];
  for (const line of lines.slice(titleAt + 1)) {
    if (line.trim() === "") {
      if (paragraph.length > 0) break;
      continue;
    }
    paragraph.push(line.trim());
  }
  return { name, title, summary: paragraph.join(" "), text };
}

export const RUNBOOKS: readonly Runbook[] = SOURCES.map(([name, text]) => parseRunbook(name, text));

export function findRunbook(name: string): Runbook | undefined {
  return RUNBOOKS.find((r) => r.name === name);
}

/** `NAME  SUMMARY` rows; on a terminal `width` wide, each summary is cut to fit one line. */
export function renderRunbookList(width = Number.POSITIVE_INFINITY): string {
  const nameWidth = Math.max(...RUNBOOKS.map((r) => r.name.length));
  const room = Math.max(40, width - nameWidth - 2);
  const cut = (s: string) => (s.length > room ? `${s.slice(0, room - 1)}…` : s);
  return renderTable(
    ["NAME", "SUMMARY"],
    RUNBOOKS.map((r) => [r.name, cut(r.summary)]),
  );
}

function inline(text: string, c: ChalkInstance): string {
  return text
    .replace(/`([^`]+)`/g, (_, code: string) => c.cyan(code))
    .replace(/\*\*([^*]+)\*\*/g, (_, bold: string) => c.bold(bold));
}

/**
 * Markdown for a terminal. With colours: headings bold (and underlined for the top two levels),
 * fenced code indented four spaces without the fences, `code` and **bold** styled. Without
 * colours the Markdown is printed as it is: readable, and still valid Markdown when redirected.
 */
export function renderMarkdown(text: string, c: ChalkInstance): string {
  if (c.level === 0) return text.endsWith("\n") ? text : `${text}\n`;
  const out: string[] = [];
  let inCode = false;
  for (const line of text.replace(/\r\n/g, "\n").replace(/\n$/, "").split("\n")) {
    if (/^\s*```/.test(line)) {
      inCode = !inCode;
      continue;
    }
    if (inCode) {
      out.push(line === "" ? "" : c.cyan(`    ${line}`));
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      const level = heading[1]!.length;
      const title = heading[2]!;
      out.push(level <= 2 ? c.bold.underline(title) : c.bold(title));
      continue;
    }
    out.push(inline(line, c));
  }
  return `${out.join("\n")}\n`;
}

export function registerRunbookCommand(program: Command): void {
  program
    .command("runbook")
    .argument("[name]", 'a runbook name, or "list" (the default)')
    .description("print an operations runbook, or list them")
    .addHelpText(
      "after",
      `
Runbooks: ${RUNBOOKS.map((r) => r.name).join(", ")}.

Examples:
  $ kubectl bloodraven runbook list
  $ kubectl bloodraven runbook split-brain-recovery
  $ kubectl bloodraven runbook alerts          # which runbook answers which alert`,
    )
    .action(function (this: Command, name: string | undefined) {
      if (name === undefined || name === "list") {
        writeOut(this, renderRunbookList(process.stdout.isTTY ? process.stdout.columns || 80 : undefined));
        return;
      }
      const runbook = findRunbook(name);
      if (!runbook) {
        const near = RUNBOOKS.filter((r) => r.name.includes(name) || name.includes(r.name.split("-")[0]!)).map((r) => r.name);
        const hint = near.length > 0 ? `did you mean ${near.join(" or ")}? ` : "";
        usageError(this, `unknown runbook "${name}"; ${hint}kubectl bloodraven runbook list shows them all`);
      }
      writeOut(this, renderMarkdown(runbook.text, colors(useColor())));
    });
}
