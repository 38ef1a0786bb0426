/**
 * Pure text helpers for the plugin's output: kubectl-style ages, replication lag, byte counts,
 * aligned tables, timestamps, and the one decision whether to colour anything.
 */
import { Chalk, supportsColor, type ChalkInstance } from "chalk";
import { formatDuration } from "../shared/duration.js";

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * An elapsed time the way `kubectl get` prints AGE (Go's duration.HumanDuration): `5s`, `90s`,
 * `7m30s`, `12m`, `3h45m`, `20h`, `2d6h`, `30d`, `2y10d`. Precision falls as the age grows, so the
 * column stays narrow. Slightly negative values (clock skew) count as 0s; more than a second in
 * the future is `<invalid>`, as in kubectl.
 */
export function formatAge(ms: number): string {
  if (!Number.isFinite(ms)) return "<invalid>";
  // Truncated toward zero as Go's int(d.Seconds()): up to 2 s in the future still reads 0s.
  const seconds = Math.trunc(ms / SECOND);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 2 * 60) return `${seconds}s`;
  const minutes = Math.floor(ms / MINUTE);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 3 * 60) return `${minutes}m`;
  const hours = Math.floor(ms / HOUR);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    const d = Math.floor(hours / 24);
    return h === 0 ? `${d}d` : `${d}d${h}h`;
  }
  const days = Math.floor(ms / DAY);
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (hours < 24 * 365 * 8) {
    const d = days % 365;
    return d === 0 ? `${years}y` : `${years}y${d}d`;
  }
  return `${years}y`;
}

/** Age of an RFC 3339 timestamp at `now`; `-` when the timestamp is missing or unreadable. */
export function ageOf(timestamp: string | undefined | null, now: number): string {
  if (!timestamp) return "-";
  const at = Date.parse(timestamp);
  return Number.isNaN(at) ? "-" : formatAge(now - at);
}

/**
 * Replication lag in seconds (`Seconds_Behind_Source`): `-` when unknown (null: not replicating,
 * or no value at all), `?` when negative (a server bug), else `0s`, `12s`, `5m3s`, `1h2m`.
 */
export function formatLag(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "-";
  if (seconds < 0) return "?";
  return formatDuration(Math.floor(seconds) * SECOND);
}

const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB"] as const;

/** A byte count in binary units, as the operator's clone messages count them: `512 B`, `45.2 MiB`, `1.3 GiB`. */
export function formatBytes(bytes: number): string {
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${BYTE_UNITS[unit]}`;
}

/** A timestamp at second precision in UTC, as the API serves it: `2026-11-22T02:46:26Z`. */
export function formatTime(timestamp: string | undefined | null): string {
  if (!timestamp) return "-";
  const at = Date.parse(timestamp);
  return Number.isNaN(at) ? timestamp : `${new Date(at).toISOString().slice(0, 19)}Z`;
}

// CSI sequences (colours, underline) take no room on screen.
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

/** The number of terminal columns a cell takes: escape sequences excluded, one per code point. */
export function visibleWidth(text: string): number {
  return [...text.replace(ANSI, "")].length;
}

export function stripAnsi(text: string): string {
  return text.replace(ANSI, "");
}

export interface TableOptions {
  /** Text in front of every line (e.g. two spaces inside a block). */
  indent?: string;
  /** Styles each header cell after padding (e.g. bold); padding is computed on the plain text. */
  styleHeader?: (text: string) => string;
}

/**
 * A table like `kubectl get` prints: upper-case headers, columns left-aligned and separated by
 * two spaces, no trailing spaces, one line per row with a final newline. Empty cells print `-`.
 * Cells may already carry colour: widths ignore escape sequences.
 */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[], opts: TableOptions = {}): string {
  const head = headers.map((h) => h.toUpperCase());
  const body = rows.map((row) => head.map((_, i) => (row[i] === undefined || row[i] === "" ? "-" : row[i]!)));
  const widths = head.map((h, i) => Math.max(visibleWidth(h), ...body.map((row) => visibleWidth(row[i]!))));
  const indent = opts.indent ?? "";
  const line = (cells: readonly string[], style?: (text: string) => string): string => {
    const parts = cells.map((cell, i) => {
      const last = i === cells.length - 1;
      const padded = last ? cell : cell + " ".repeat(widths[i]! - visibleWidth(cell));
      return style ? style(padded) : padded;
    });
    return `${indent}${parts.join("  ")}`.trimEnd();
  };
  return [line(head, opts.styleHeader), ...body.map((row) => line(row))].map((l) => `${l}\n`).join("");
}

/** `Label:  value` lines with the values aligned, as in `kubectl describe`. */
export function renderFields(fields: readonly (readonly [string, string])[], opts: { indent?: string; styleLabel?: (text: string) => string } = {}): string {
  const width = Math.max(0, ...fields.map(([label]) => visibleWidth(label) + 1));
  const style = opts.styleLabel ?? ((t: string) => t);
  return fields
    .map(([label, value]) => `${opts.indent ?? ""}${style(`${label}:`)}${" ".repeat(width - visibleWidth(label) - 1)}  ${value}`.trimEnd() + "\n")
    .join("");
}

export interface ColorEnv {
  isTTY?: boolean;
  env?: NodeJS.ProcessEnv;
}

/**
 * The one colour decision: only when stdout is a terminal and NO_COLOR is not set to a non-empty
 * value (https://no-color.org). Piped output, files and tests never see escape sequences.
 */
export function useColor(opts: ColorEnv = {}): boolean {
  const isTTY = opts.isTTY ?? process.stdout.isTTY === true;
  const env = opts.env ?? process.env;
  return isTTY && !(env.NO_COLOR !== undefined && env.NO_COLOR !== "");
}

/** A chalk instance that colours exactly when `enabled`; use `colors(useColor())`. */
export function colors(enabled: boolean): ChalkInstance {
  const detected = supportsColor === false ? 0 : supportsColor.level;
  return new Chalk({ level: enabled ? Math.max(1, detected) as 1 | 2 | 3 : 0 });
}
