/**
 * What the five dashboards share: the data source and group variables, the links between them,
 * and the three panel shapes they use. A panel is described by what an on-call engineer needs
 * (title, what to do when it looks wrong, unit, queries); layout and styling are decided here once.
 */
import type * as cog from "@grafana/grafana-foundation-sdk/cog";
import {
  DashboardBuilder,
  DashboardCursorSync,
  DashboardLinkBuilder,
  DashboardLinkType,
  DatasourceVariableBuilder,
  MappingType,
  QueryVariableBuilder,
  RowBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  VariableRefresh,
  VariableSort,
  type Dashboard,
  type Panel,
} from "@grafana/grafana-foundation-sdk/dashboard";
import { BigValueGraphMode, LegendDisplayMode, LegendPlacement, ReduceDataOptionsBuilder, VizLegendOptionsBuilder } from "@grafana/grafana-foundation-sdk/common";
import { DataqueryBuilder } from "@grafana/grafana-foundation-sdk/prometheus";
import { PanelBuilder as StatPanelBuilder } from "@grafana/grafana-foundation-sdk/stat";
import { PanelBuilder as StateTimelinePanelBuilder } from "@grafana/grafana-foundation-sdk/statetimeline";
import { PanelBuilder as TimeseriesPanelBuilder } from "@grafana/grafana-foundation-sdk/timeseries";
import { METRICS } from "../../shared/names.js";

/** The five dashboards, in the order of the links at the top of each. */
export const DASHBOARD_UIDS = {
  overview: "bloodraven-overview",
  failover: "bloodraven-failover",
  replication: "bloodraven-replication",
  backups: "bloodraven-backups",
  archiver: "bloodraven-archiver",
} as const;
export type DashboardKey = keyof typeof DASHBOARD_UIDS;

const TITLES: Record<DashboardKey, string> = {
  overview: "Bloodraven / Overview",
  failover: "Bloodraven / Failover & Topology",
  replication: "Bloodraven / Replication & Recovery",
  backups: "Bloodraven / Backups & Verification",
  archiver: "Bloodraven / PITR Archiver",
};

/** Every query goes to the data source the viewer picks. */
const DATASOURCE = { type: "prometheus", uid: "${datasource}" };

/** The label matchers of the group variables, for series labelled namespace and group. */
export const IN_GROUPS = 'namespace=~"$namespace", group=~"$group"';

/** `metric{<extra>, namespace=~"$namespace", group=~"$group"}`. */
export function groupSeries(metric: string, extra?: string): string {
  return `${metric}{${extra ? `${extra}, ` : ""}${IN_GROUPS}}`;
}

/** Starts the sentence of a panel's description that says when the panel has data (PanelSpec.onlyWhen). */
export const NO_DATA_UNLESS = "No data unless";

export interface Query {
  expr: string;
  legend: string;
}

export interface PanelSpec {
  title: string;
  /** What the panel shows and what to do when it looks wrong: Grafana shows it on hover. */
  description: string;
  unit?: string;
  queries: Query[];
  /**
   * When the panel has data at all, for panels about a feature a group may not use or an event
   * that may never happen: said in the description as "No data unless <onlyWhen>." (the e2e test
   * against a real Prometheus allows these panels, and only these, to be empty).
   */
  onlyWhen?: string;
  /** Grid columns of 24; panels flow left to right. */
  width?: number;
}

function target(q: Query, i: number, instant = false): DataqueryBuilder {
  const b = new DataqueryBuilder().expr(q.expr).legendFormat(q.legend).refId(String.fromCharCode(65 + i)).datasource(DATASOURCE);
  return instant ? b.instant() : b.range();
}

/** The builder methods every panel kind has. */
interface PanelBuilderBase<B> {
  title(title: string): B;
  description(description: string): B;
  datasource(datasource: typeof DATASOURCE): B;
  height(h: number): B;
  span(w: number): B;
  unit(unit: string): B;
  withTarget(target: DataqueryBuilder): B;
}

/** Title, description, data source, size, unit and queries: the part of a panel every kind shares. */
function framed<B extends PanelBuilderBase<B>>(b: B, spec: PanelSpec, size: { height: number; width: number }, instant = false): B {
  b.title(spec.title).description(spec.onlyWhen ? `${spec.description} ${NO_DATA_UNLESS} ${spec.onlyWhen}.` : spec.description).datasource(DATASOURCE).height(size.height).span(spec.width ?? size.width);
  if (spec.unit) b.unit(spec.unit);
  spec.queries.forEach((q, i) => b.withTarget(target(q, i, instant)));
  return b;
}

/** A line per series over time. */
export function timeseries(spec: PanelSpec): TimeseriesPanelBuilder {
  return framed(new TimeseriesPanelBuilder(), spec, { height: 8, width: 12 }).legend(
    new VizLegendOptionsBuilder().showLegend(true).displayMode(LegendDisplayMode.List).placement(LegendPlacement.Bottom),
  );
}

/** One number, green at 0 and red from `redFrom` (a count of things that should not exist), or red below `greenFrom`. */
export function stat(spec: PanelSpec & { redFrom?: number; greenFrom?: number }): StatPanelBuilder {
  const steps =
    spec.greenFrom !== undefined
      ? [{ value: null, color: "red" }, { value: spec.greenFrom, color: "green" }]
      : [{ value: null, color: "green" }, { value: spec.redFrom ?? 1, color: "red" }];
  return framed(new StatPanelBuilder(), spec, { height: 4, width: 4 }, true)
    .graphMode(BigValueGraphMode.None)
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(["lastNotNull"]))
    .thresholds(new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps(steps as never));
}

/** A band per series whose colour is the text its value maps to. */
export function stateTimeline(spec: PanelSpec & { states: Record<number, { text: string; color: string }> }): StateTimelinePanelBuilder {
  const options = Object.fromEntries(Object.entries(spec.states).map(([value, r], index) => [value, { ...r, index }]));
  return framed(new StateTimelinePanelBuilder(), spec, { height: 8, width: 24 }).mappings([{ type: MappingType.ValueToText, options }]);
}

export type PanelOrRow = cog.Builder<Panel> | { row: string };

/**
 * A dashboard with the shared variables (data source, namespace, group), a link to each of the
 * other four by UID (keeping the time range and the variables), and the panels in order.
 */
export function dashboard(key: DashboardKey, description: string, items: PanelOrRow[]): Dashboard {
  const b = new DashboardBuilder(TITLES[key])
    .uid(DASHBOARD_UIDS[key])
    .description(description)
    .tags(["bloodraven", "mysql"])
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .refresh("30s")
    .time({ from: "now-6h", to: "now" })
    .timezone("browser")
    .withVariable(new DatasourceVariableBuilder("datasource").label("Data source").type("prometheus"))
    .withVariable(groupVariable("namespace", "Namespace", `label_values(${METRICS.siteState}, namespace)`))
    .withVariable(groupVariable("group", "Group", `label_values(${METRICS.siteState}{namespace=~"$namespace"}, group)`));
  for (const other of Object.keys(DASHBOARD_UIDS) as DashboardKey[]) {
    if (other === key) continue;
    b.link(
      new DashboardLinkBuilder(TITLES[other].replace("Bloodraven / ", ""))
        .type(DashboardLinkType.Link)
        .url(`/d/${DASHBOARD_UIDS[other]}`)
        .icon("dashboard")
        .tooltip(TITLES[other])
        .keepTime(true)
        .includeVars(true)
        .asDropdown(false)
        .targetBlank(false),
    );
  }
  for (const item of items) {
    if ("row" in item) b.withRow(new RowBuilder(item.row));
    else b.withPanel(item);
  }
  const built = b.build();
  // Grafana keys panel state (links to a panel, edits) by id, which the builders leave unset.
  built.panels?.forEach((p, i) => (p.id = i + 1));
  // The SDK files every link under the controls menu; without a placement Grafana shows the links
  // beside the variables at the top left, where the monitoring guide promises them.
  for (const link of built.links ?? []) delete link.placement;
  return built;
}

function groupVariable(name: string, label: string, query: string): QueryVariableBuilder {
  return new QueryVariableBuilder(name)
    .label(label)
    .datasource(DATASOURCE)
    .query({ query, refId: `${name}-values` })
    .definition(query)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue(".*");
}

/** Quantiles of a histogram, summed over the series that differ only in `by`'s absence. */
export function quantiles(metric: string, by: string, legendPrefix: string): Query[] {
  return [0.5, 0.99].map((q) => ({
    expr: `histogram_quantile(${q}, sum by (${by}, le) (rate(${groupSeries(`${metric}_bucket`)}[$__rate_interval])))`,
    legend: `${legendPrefix} p${q * 100}`,
  }));
}
