/**
 * The renderer of docs/monitoring.md's dashboard pictures: Grafana's grid, each panel kind drawn
 * from its data, values with their units, and a PNG from the SVG (real resvg, Debian's fonts).
 */
import { describe, expect, it } from "vitest";
import { formatValue, renderDashboardSvg, svgToPng } from "../../scripts/dashboards/render.js";
import { legendOf, snapshotDashboard, type DashboardJson } from "../../scripts/dashboards/snapshot.js";

const dashboard: DashboardJson = {
  uid: "bloodraven-test",
  title: "Bloodraven / Test",
  panels: [
    { type: "row", title: "Health", gridPos: { x: 0, y: 0, w: 24, h: 1 } },
    {
      type: "stat",
      title: "Groups without a writable site",
      gridPos: { x: 0, y: 1, w: 4, h: 4 },
      targets: [{ expr: "stat_expr", legendFormat: "groups" }],
      fieldConfig: { defaults: { thresholds: { steps: [{ value: null, color: "green" }, { value: 1, color: "red" }] } } },
    },
    { type: "timeseries", title: "Replication lag", gridPos: { x: 4, y: 1, w: 20, h: 8 }, targets: [{ expr: "lag_expr", legendFormat: "{{namespace}}/{{group}} {{site}}" }], fieldConfig: { defaults: { unit: "s" } } },
    {
      type: "state-timeline",
      title: "Site state",
      gridPos: { x: 0, y: 9, w: 24, h: 8 },
      targets: [{ expr: "state_expr", legendFormat: "{{site}}" }],
      fieldConfig: { defaults: { mappings: [{ options: { "3": { text: "writable", color: "green" }, "1": { text: "unreachable", color: "red" } } }] } },
    },
    { type: "timeseries", title: "Backups", description: "No data unless the group has spec.backup.", gridPos: { x: 0, y: 17, w: 12, h: 8 }, targets: [{ expr: "backup_expr" }] },
  ],
};

const answers: Record<string, { metric: Record<string, string>; values: [number, string][] }[]> = {
  stat_expr: [{ metric: {}, values: [[100, "0"], [102, "1"]] }],
  lag_expr: [{ metric: { namespace: "shop", group: "orders", site: "pdx" }, values: [[100, "0.5"], [102, "NaN"], [104, "2"], [106, "3"]] }],
  state_expr: [{ metric: { site: "iad" }, values: [[100, "3"], [104, "1"]] }],
  backup_expr: [],
};

describe("dashboard pictures", () => {
  it("takes a snapshot with every query's series and the panel's unit, thresholds and mappings", async () => {
    const snapshot = await snapshotDashboard(dashboard, async (expr) => answers[expr]!, { start: 100, end: 106 });
    expect(snapshot.panels.map((p) => p.title)).toEqual(["Health", "Groups without a writable site", "Replication lag", "Site state", "Backups"]);
    const lag = snapshot.panels[2]!;
    expect(lag.unit).toBe("s");
    expect(lag.queries[0]!.series[0]!.legend).toBe("shop/orders pdx");
    expect(lag.queries[0]!.series[0]!.points[1]![1]).toBeNaN();
    expect(snapshot.panels[1]!.thresholds).toEqual([{ value: null, color: "green" }, { value: 1, color: "red" }]);
    expect(snapshot.panels[3]!.mappings?.["3"]?.text).toBe("writable");
  });

  it("draws each panel kind: the stat's last value in its threshold's colour, lines broken at NaN, state bands, 'No data'", async () => {
    const svg = renderDashboardSvg(await snapshotDashboard(dashboard, async (expr) => answers[expr]!, { start: 100, end: 106 }));
    expect(svg).toMatch(/^<svg /);
    expect(svg).toContain(">Bloodraven / Test</text>");
    // The stat's last value, 1, is at the red step.
    expect(svg).toMatch(/fill="#f2495c" text-anchor="middle" font-weight="bold">1<\/text>/);
    // One point before the NaN (a dot), then a line of two.
    expect(svg.match(/<circle /g)).toHaveLength(1);
    expect(svg.match(/<polyline /g)).toHaveLength(1);
    expect(svg).toContain(">shop/orders pdx</text>");
    expect(svg).toContain(">writable</text>");
    expect(svg).toContain(">No data</text>");
  });

  it("writes values with their units, and legends from label values", () => {
    expect([formatValue(0.25, "s"), formatValue(90, "s"), formatValue(7_200, "s"), formatValue(1_500_000, "bytes"), formatValue(2.5), formatValue(Number.NaN)]).toEqual(["250 ms", "1.5 min", "2 h", "1.5 MB", "2.5", "NaN"]);
    expect(legendOf("{{ site }} p99", { site: "iad" })).toBe("iad p99");
    expect(legendOf(undefined, { site: "iad", thread: "io" })).toBe("site=iad, thread=io");
  });

  it("turns the SVG into a PNG", async () => {
    const png = svgToPng(renderDashboardSvg(await snapshotDashboard(dashboard, async (expr) => answers[expr]!, { start: 100, end: 106 })));
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.length).toBeGreaterThan(5_000);
  });
});
