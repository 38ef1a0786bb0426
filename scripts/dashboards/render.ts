/**
 * Draws a dashboard snapshot the way Grafana lays it out (its 24-column grid, dark theme): rows,
 * stat values coloured by their thresholds, time series, state timelines. Grafana itself does not
 * run here; these pictures, taken from the e2e test's real Prometheus, are what docs/monitoring.md
 * shows. SVG first (pure), PNG through resvg with the DejaVu fonts Debian ships.
 */
import { Resvg } from "@resvg/resvg-js";
import type { DashboardSnapshot, PanelSnapshot, SeriesSnapshot } from "./snapshot.js";

const WIDTH = 1600;
const COLUMN = WIDTH / 24;
const ROW_HEIGHT = 30;
const HEADER = 44;
const GAP = 4;
const FONT = "DejaVu Sans";
const THEME = { background: "#111217", panel: "#181b1f", border: "#2c3235", text: "#ccccdc", muted: "#8e8e9e", grid: "#2c3235" };
const PALETTE = ["#73bf69", "#f2cc0c", "#8ab8ff", "#ff780a", "#f2495c", "#5794f2", "#b877d9", "#fade2a", "#37872d", "#c4162a"];
const NAMED: Record<string, string> = { green: "#73bf69", red: "#f2495c", blue: "#5794f2", gray: "#808080", yellow: "#fade2a" };
const FONT_FILES = ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"];

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function text(x: number, y: number, content: string, attrs: { size?: number; fill?: string; anchor?: "start" | "middle" | "end"; bold?: boolean } = {}): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-family="${FONT}" font-size="${attrs.size ?? 12}" fill="${attrs.fill ?? THEME.text}" text-anchor="${attrs.anchor ?? "start"}"${attrs.bold ? ' font-weight="bold"' : ""}>${escape(content)}</text>`;
}

function colour(name: string): string {
  return NAMED[name] ?? name;
}

/** A value with its unit, short: 12.3 s, 4.5 min, 1.2 MB, 0.25. */
export function formatValue(value: number, unit?: string): string {
  if (!Number.isFinite(value)) return "NaN";
  const round = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2).replace(/\.?0+$/, ""));
  if (unit === "s") {
    const abs = Math.abs(value);
    if (abs >= 86_400) return `${round(value / 86_400)} d`;
    if (abs >= 3_600) return `${round(value / 3_600)} h`;
    if (abs >= 60) return `${round(value / 60)} min`;
    if (abs > 0 && abs < 1) return `${round(value * 1_000)} ms`;
    return `${round(value)} s`;
  }
  if (unit === "bytes") {
    const units = ["B", "kB", "MB", "GB", "TB"];
    let v = value;
    let i = 0;
    while (Math.abs(v) >= 1_000 && i < units.length - 1) {
      v /= 1_000;
      i++;
    }
    return `${round(v)} ${units[i]}`;
  }
  return round(value);
}

function clock(seconds: number): string {
  return new Date(seconds * 1_000).toISOString().slice(11, 19);
}

function allSeries(panel: PanelSnapshot): SeriesSnapshot[] {
  return panel.queries.flatMap((q) => q.series);
}

function noData(x: number, y: number, w: number, h: number): string {
  return text(x + w / 2, y + h / 2, "No data", { size: 14, fill: THEME.muted, anchor: "middle" });
}

function lastFinite(series: SeriesSnapshot | undefined): number | undefined {
  const points = series?.points.filter(([, v]) => Number.isFinite(v)) ?? [];
  return points.at(-1)?.[1];
}

function stat(panel: PanelSnapshot, x: number, y: number, w: number, h: number): string {
  const value = lastFinite(allSeries(panel)[0]);
  if (value === undefined) return noData(x, y, w, h);
  const steps = panel.thresholds ?? [];
  const step = [...steps].reverse().find((s) => s.value === null || value >= s.value);
  return text(x + w / 2, y + h / 2 + 16, formatValue(value, panel.unit), { size: 36, anchor: "middle", fill: colour(step?.color ?? THEME.text), bold: true });
}

function timeseries(panel: PanelSnapshot, range: { start: number; end: number }, x: number, y: number, w: number, h: number): string {
  const series = allSeries(panel);
  if (series.length === 0) return noData(x, y, w, h);
  const perLine = Math.max(1, Math.floor(w / 260));
  const legendLines = Math.min(3, Math.ceil(series.length / perLine));
  const plot = { left: x + 62, top: y + 8, right: x + w - 12, bottom: y + h - 22 - legendLines * 15 };
  const values = series.flatMap((s) => s.points.map(([, v]) => v)).filter(Number.isFinite);
  let [min, max] = values.length > 0 ? [Math.min(...values), Math.max(...values)] : [0, 1];
  if (min > 0 && min < max / 2) min = 0;
  if (max === min) [min, max] = [min - 1, max + 1];
  const px = (t: number) => plot.left + ((t - range.start) / (range.end - range.start)) * (plot.right - plot.left);
  const py = (v: number) => plot.bottom - ((v - min) / (max - min)) * (plot.bottom - plot.top);
  const out: string[] = [];
  for (const v of [min, (min + max) / 2, max]) {
    out.push(`<line x1="${plot.left}" x2="${plot.right}" y1="${py(v).toFixed(1)}" y2="${py(v).toFixed(1)}" stroke="${THEME.grid}" stroke-width="1"/>`);
    out.push(text(plot.left - 6, py(v) + 4, formatValue(v, panel.unit), { size: 10, fill: THEME.muted, anchor: "end" }));
  }
  out.push(text(plot.left, plot.bottom + 14, clock(range.start), { size: 10, fill: THEME.muted }));
  out.push(text(plot.right, plot.bottom + 14, `${clock(range.end)} UTC`, { size: 10, fill: THEME.muted, anchor: "end" }));
  series.forEach((s, i) => {
    const stroke = PALETTE[i % PALETTE.length]!;
    // A gap (NaN, or no sample) breaks the line, as Grafana draws it.
    let run: string[] = [];
    const flush = () => {
      if (run.length === 1) out.push(`<circle cx="${run[0]!.split(",")[0]}" cy="${run[0]!.split(",")[1]}" r="2" fill="${stroke}"/>`);
      else if (run.length > 1) out.push(`<polyline fill="none" stroke="${stroke}" stroke-width="1.5" points="${run.join(" ")}"/>`);
      run = [];
    };
    let previous: number | undefined;
    for (const [t, v] of s.points) {
      if (!Number.isFinite(v) || (previous !== undefined && t - previous > 10)) flush();
      if (Number.isFinite(v)) run.push(`${px(t).toFixed(1)},${py(v).toFixed(1)}`);
      previous = t;
    }
    flush();
  });
  series.slice(0, legendLines * perLine).forEach((s, i) => {
    const lx = x + 12 + (i % perLine) * ((w - 24) / perLine);
    const ly = plot.bottom + 30 + Math.floor(i / perLine) * 15;
    out.push(`<rect x="${lx}" y="${ly - 8}" width="10" height="3" fill="${PALETTE[i % PALETTE.length]}"/>`);
    out.push(text(lx + 14, ly - 3, s.legend.slice(0, Math.floor((w - 24) / perLine / 6.5)), { size: 10 }));
  });
  return out.join("");
}

function stateTimeline(panel: PanelSnapshot, range: { start: number; end: number }, x: number, y: number, w: number, h: number): string {
  const series = allSeries(panel);
  if (series.length === 0) return noData(x, y, w, h);
  const label = 200;
  const plot = { left: x + label, right: x + w - 12, top: y + 8, bottom: y + h - 40 };
  const band = (plot.bottom - plot.top) / series.length;
  const px = (t: number) => plot.left + ((t - range.start) / (range.end - range.start)) * (plot.right - plot.left);
  const out: string[] = [];
  series.forEach((s, i) => {
    const top = plot.top + i * band;
    out.push(text(x + 12, top + band / 2 + 4, s.legend, { size: 11 }));
    s.points.forEach(([t, v], j) => {
      const next = s.points[j + 1]?.[0] ?? Math.min(range.end, t + 2);
      const fill = colour(panel.mappings?.[String(v)]?.color ?? THEME.border);
      out.push(`<rect x="${px(t).toFixed(1)}" y="${(top + 2).toFixed(1)}" width="${Math.max(0.5, px(next) - px(t)).toFixed(1)}" height="${(band - 4).toFixed(1)}" fill="${fill}" fill-opacity="0.8"/>`);
    });
  });
  const states = Object.values(panel.mappings ?? {});
  states.forEach((m, i) => {
    const lx = x + 12 + i * 120;
    out.push(`<rect x="${lx}" y="${plot.bottom + 22}" width="10" height="10" fill="${colour(m.color)}"/>`);
    out.push(text(lx + 14, plot.bottom + 31, m.text, { size: 10 }));
  });
  out.push(text(plot.left, plot.bottom + 14, clock(range.start), { size: 10, fill: THEME.muted }));
  out.push(text(plot.right, plot.bottom + 14, `${clock(range.end)} UTC`, { size: 10, fill: THEME.muted, anchor: "end" }));
  return out.join("");
}

/** The dashboard as an SVG document. */
export function renderDashboardSvg(snapshot: DashboardSnapshot): string {
  const bottom = Math.max(...snapshot.panels.map((p) => p.gridPos.y + p.gridPos.h));
  const height = HEADER + bottom * ROW_HEIGHT + GAP * 2;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}">`,
    `<rect width="${WIDTH}" height="${height}" fill="${THEME.background}"/>`,
    text(GAP * 3, 28, snapshot.title, { size: 18, bold: true }),
    text(WIDTH - GAP * 3, 28, `${new Date(snapshot.start * 1_000).toISOString().slice(0, 19)}Z to ${clock(snapshot.end)}Z`, { size: 12, fill: THEME.muted, anchor: "end" }),
  ];
  for (const panel of snapshot.panels) {
    const x = panel.gridPos.x * COLUMN + GAP;
    const y = HEADER + panel.gridPos.y * ROW_HEIGHT + GAP;
    const w = panel.gridPos.w * COLUMN - GAP * 2;
    const h = panel.gridPos.h * ROW_HEIGHT - GAP * 2;
    if (panel.type === "row") {
      out.push(text(x, y + h - 4, panel.title, { size: 15, bold: true }));
      continue;
    }
    out.push(`<rect x="${x}" y="${y}" width="${w}" height="${h}" rx="3" fill="${THEME.panel}" stroke="${THEME.border}"/>`);
    out.push(text(x + 10, y + 18, panel.title, { size: 13, bold: true }));
    const body = { x, y: y + 24, w, h: h - 24 };
    if (panel.type === "stat") out.push(stat(panel, body.x, body.y, body.w, body.h));
    else if (panel.type === "state-timeline") out.push(stateTimeline(panel, snapshot, body.x, body.y, body.w, body.h));
    else out.push(timeseries(panel, snapshot, body.x, body.y, body.w, body.h));
  }
  out.push("</svg>");
  return out.join("\n");
}

/** The SVG as PNG, text set in DejaVu Sans (Debian's fonts-dejavu-core). */
export function svgToPng(svg: string): Buffer {
  const resvg = new Resvg(svg, { font: { loadSystemFonts: false, fontFiles: FONT_FILES, defaultFontFamily: FONT } });
  return resvg.render().asPng();
}
