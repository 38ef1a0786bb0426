/** bloodraven-archiver: the per-site binary log archive that point-in-time recovery replays. */
import type { Dashboard } from "@grafana/grafana-foundation-sdk/dashboard";
import { METRICS } from "../../shared/names.js";
import { dashboard, groupSeries, timeseries } from "./panels.js";

const SITE = "{{namespace}}/{{group}} {{site}}";

export function archiverDashboard(): Dashboard {
  return dashboard("archiver", "The point-in-time archive per site: the age of the last uploaded binary log, the backlog of sealed ones not yet uploaded, and upload failures.", [
    { row: "Archive" },
    timeseries({
      title: "Age of the last archived binary log",
      onlyWhen: "the group archives binary logs (spec.backup.pitr)",
      description: "Per site, the time since its agent last uploaded a binary log (the whole range since 1970 when it never did). Only the primary uploads; its line should stay below the binary log rotation period. Growing on the primary: `kubectl bloodraven runbook pitr-archive-lagging`.",
      unit: "s",
      width: 8,
      queries: [{ expr: `time() - max by (namespace, group, site) (${groupSeries(METRICS.archiverLastUploadTimestampSeconds)})`, legend: SITE }],
    }),
    timeseries({
      title: "Sealed binary logs not archived",
      onlyWhen: "the group archives binary logs (spec.backup.pitr)",
      description: "Sealed binary logs the primary lists that its archive did not hold at the agent's last scan. A point-in-time restore cannot reach past them. Above 0 for 15 minutes: BloodravenPITRArchiveLagging.",
      width: 8,
      queries: [{ expr: `max by (namespace, group, site) (${groupSeries(METRICS.archiverBacklogFiles)})`, legend: SITE }],
    }),
    timeseries({
      title: "Upload failures",
      onlyWhen: "the group archives binary logs (spec.backup.pitr)",
      description: "Binary logs whose upload failed, per interval (the agent's counter restarts with the agent). Any: the store refused or was unreachable; the primary's sidecar log has `binlog archive scan failed` lines.",
      width: 8,
      queries: [{ expr: `sum by (namespace, group, site) (increase(${groupSeries(METRICS.archiverUploadFailures)}[$__rate_interval]))`, legend: SITE }],
    }),
  ]);
}
