/**
 * A dashboard with its data: every panel's queries run against a Prometheus over a time range.
 * The e2e test against a real Prometheus takes one of each dashboard (and checks it); the
 * renderer (render.ts) draws them as the pictures in docs/monitoring.md.
 */

export interface GridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** The parts of a dashboard's JSON that a snapshot reads. */
export interface DashboardJson {
  uid: string;
  title: string;
  panels: {
    type: string;
    title: string;
    description?: string;
    gridPos: GridPos;
    targets?: { expr: string; legendFormat?: string }[];
    fieldConfig?: { defaults?: { unit?: string; thresholds?: { steps: Threshold[] }; mappings?: { options?: Record<string, { text: string; color: string }> }[] } };
  }[];
}

/** A colour from `value` up (null: from minus infinity). */
export interface Threshold {
  value: number | null;
  color: string;
}

export interface SeriesSnapshot {
  legend: string;
  /** [unix seconds, value]; NaN where Prometheus answered NaN. */
  points: [number, number][];
}

export interface PanelSnapshot {
  type: string;
  title: string;
  description: string;
  gridPos: GridPos;
  unit?: string;
  thresholds?: Threshold[];
  /** Value -> text and colour (state timelines). */
  mappings?: Record<string, { text: string; color: string }>;
  /** One entry per target: the expression and what it returned. */
  queries: { expr: string; series: SeriesSnapshot[] }[];
}

export interface DashboardSnapshot {
  uid: string;
  title: string;
  start: number;
  end: number;
  panels: PanelSnapshot[];
}

/** A range query's answer, as Prometheus' API gives it. */
export type RangeQuery = (expr: string) => Promise<{ metric: Record<string, string>; values?: [number, string][] }[]>;

/** Grafana's legend format: `{{label}}` replaced by the series' label value. */
export function legendOf(format: string | undefined, labels: Record<string, string>): string {
  if (!format) return Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(", ");
  return format.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, name: string) => labels[name] ?? "");
}

/** Runs every query of the dashboard through `query` (which substitutes the variables). */
export async function snapshotDashboard(dashboard: DashboardJson, query: RangeQuery, range: { start: number; end: number }): Promise<DashboardSnapshot> {
  const panels: PanelSnapshot[] = [];
  for (const panel of dashboard.panels) {
    const queries: PanelSnapshot["queries"] = [];
    for (const target of panel.targets ?? []) {
      const result = await query(target.expr);
      queries.push({
        expr: target.expr,
        series: result.map((s) => ({ legend: legendOf(target.legendFormat, s.metric), points: (s.values ?? []).map(([t, v]) => [t, Number(v)] as [number, number]) })),
      });
    }
    const defaults = panel.fieldConfig?.defaults;
    const mappings = defaults?.mappings?.[0]?.options;
    panels.push({
      type: panel.type,
      title: panel.title,
      description: panel.description ?? "",
      gridPos: panel.gridPos,
      ...(defaults?.unit ? { unit: defaults.unit } : {}),
      ...(defaults?.thresholds ? { thresholds: defaults.thresholds.steps } : {}),
      ...(mappings ? { mappings } : {}),
      queries,
    });
  }
  return { uid: dashboard.uid, title: dashboard.title, ...range, panels };
}
