/**
 * `report <group>`: a support bundle, what someone helping with a group asks for first, in one
 * gzip-compressed tar file: the group, its backups and verifications, the objects it owns, the
 * Events about them, the logs of its pods' containers, and from the operator that leads its log
 * lines about the group, its status API entry and its metrics for the group. Secrets are never
 * read, and credentials written where they do not belong are redacted (report/contents.ts). A
 * part that cannot be read is listed in report.json with the reason, and the rest is written.
 */
import { writeFileSync } from "node:fs";
import type { ConfigurationOptions } from "@kubernetes/client-node";
import type { Command } from "commander";
import { stringify } from "yaml";
import { errorText } from "../../shared/errors.js";
import { API_GROUP, LABELS } from "../../shared/names.js";
import { COMMIT, VERSION } from "../../shared/version.js";
import { connect, explainApiError, readGroup, writeErr, writeOut, type KubeContext } from "../kube-context.js";
import { addOperatorLocationOptions, leaderPod, OPERATOR_CONTAINER, type OperatorLocation } from "../leading-operator.js";
import { readPodLog, sinceFlag } from "../pod-log.js";
import { groupMetrics, isGroupEvent, redact, redactLogLines } from "../report/contents.js";
import { tarGz, type TarEntry } from "../report/tarball.js";
import { groupRecord } from "./logs.js";

/** The chart's fixed container ports of the operator (charts/bloodraven/templates/deployment.yaml). */
const METRICS_PORT = 8080;
const STATUS_PORT = 8082;
/** The last lines of each container of the group's pods. */
const POD_LOG_LINES = 2_000;

interface ReportOptions extends OperatorLocation {
  file?: string;
  since: string;
}

/** One file of the bundle, or why it is missing. */
interface Part {
  file: string;
  error?: string;
}

class Bundle {
  readonly entries: TarEntry[] = [];
  readonly parts: Part[] = [];

  /**
   * Reads one part; a failure is recorded, not thrown, so one refused read costs only its file.
   * An answer that says "try again" (429, 5xx) is retried twice, a second apart.
   */
  async add(file: string, read: () => Promise<string>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        this.entries.push({ name: file, content: await read() });
        this.parts.push({ file });
        return;
      } catch (err) {
        if (attempt < 3 && transient(err)) {
          await new Promise((resolve) => setTimeout(resolve, 1_000));
          continue;
        }
        this.skip(file, errorText(err));
        return;
      }
    }
  }

  skip(file: string, error: string): void {
    this.parts.push({ file, error });
  }
}

/** An API answer worth asking again: too many requests, or the server's own trouble. */
function transient(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const status = (e as { status?: unknown }).status;
    if (typeof status === "number" && status !== 0) return status === 429 || status >= 500;
  }
  return false;
}

const yaml = (value: unknown): string => stringify(redact(value), { lineWidth: 0 });
const named = (o: { metadata?: { name?: string } }): string => o.metadata?.name ?? "";

/** A GET through the API server's proxy to a port of the leading operator's pod. */
async function fromOperator(ctx: KubeContext, namespace: string, pod: string, port: number, path: string): Promise<string> {
  const body: unknown = await ctx.kube
    .call(`get pods/proxy ${namespace}/${pod}:${port}/${path}`, (o) => ctx.kube.core.connectGetNamespacedPodProxyWithPath({ namespace, name: `${pod}:${port}`, path }, o))
    .catch((err: unknown) => {
      throw explainApiError(err, { verb: "get", resource: "pods/proxy", namespace, name: pod }, ctx);
    });
  return typeof body === "string" ? body : JSON.stringify(body);
}

/** Every log line of a container, or the last `tailLines`, since `sinceSeconds`. */
async function podLog(ctx: KubeContext, namespace: string, pod: string, container: string, sinceSeconds: number, tailLines?: number): Promise<string[]> {
  const lines: string[] = [];
  await readPodLog(ctx, { namespace, pod, container, sinceSeconds, ...(tailLines !== undefined ? { tailLines } : {}) }, (line) => lines.push(line));
  return lines;
}

async function collect(ctx: KubeContext, bundle: Bundle, group: string, opts: ReportOptions, sinceSeconds: number): Promise<void> {
  const { namespace, kube } = ctx;
  /** The items of one list call in the group's namespace, with a refusal explained. */
  const list = async <T>(resource: string, read: (o: ConfigurationOptions) => Promise<{ items: T[] }>): Promise<T[]> => {
    const answer = await kube.call(`list ${resource} in ${namespace}`, read).catch((err: unknown) => {
      throw explainApiError(err, { verb: "list", resource, namespace }, ctx);
    });
    return answer.items;
  };

  const related = new Set<string>([group]);
  const prefixes = [`mysql-${group}-`];
  // What the group holds: each of these names a Job whose pods' Events matter too.
  type Held = { metadata?: { name?: string }; spec?: { failoverGroupRef?: { name?: string } }; status?: { jobName?: string } };
  const held: [file: string, resource: string, read: () => Promise<{ items: Held[] }>][] = [
    ["backups.yaml", `mysqlbackups.${API_GROUP}`, () => kube.listBackups(namespace)],
    ["verifications.yaml", `mysqlbackupverifications.${API_GROUP}`, () => kube.listVerifications(namespace)],
  ];
  for (const [file, resource, read] of held) {
    await bundle.add(file, async () => {
      const answer = await read().catch((err: unknown) => {
        throw explainApiError(err, { verb: "list", resource, namespace }, ctx);
      });
      const items = answer.items.filter((o) => o.spec?.failoverGroupRef?.name === group);
      for (const o of items) {
        related.add(named(o));
        if (o.status?.jobName) prefixes.push(o.status.jobName);
      }
      return yaml(items);
    });
  }

  const labelSelector = `${LABELS.failoverGroup}=${group}`;
  // The cache servers the operator runs carry their own label (shared/dragonfly/objects.ts).
  const selectors = [labelSelector, `${LABELS.dragonflyGroup}=${group}`];
  const withEither = async <T>(resource: string, read: (selector: string, o: ConfigurationOptions) => Promise<{ items: T[] }>): Promise<T[]> =>
    (await Promise.all(selectors.map((selector) => list(resource, (o) => read(selector, o))))).flat();
  let pods: { name: string; phase: string; containers: { name: string; started: boolean }[] }[] = [];
  await bundle.add("objects.yaml", async () => {
    const [statefulSets, podList, claims, services, jobs, cronJobs, budgets] = await Promise.all([
      withEither("statefulsets.apps", (sel, o) => kube.apps.listNamespacedStatefulSet({ namespace, labelSelector: sel }, o)),
      withEither("pods", (sel, o) => kube.core.listNamespacedPod({ namespace, labelSelector: sel }, o)),
      list("persistentvolumeclaims", (o) => kube.core.listNamespacedPersistentVolumeClaim({ namespace, labelSelector }, o)),
      withEither("services", (sel, o) => kube.core.listNamespacedService({ namespace, labelSelector: sel }, o)),
      list("jobs.batch", (o) => kube.batch.listNamespacedJob({ namespace, labelSelector }, o)),
      list("cronjobs.batch", (o) => kube.batch.listNamespacedCronJob({ namespace, labelSelector }, o)),
      list("poddisruptionbudgets.policy", (o) => kube.policy.listNamespacedPodDisruptionBudget({ namespace, labelSelector }, o)),
    ]);
    pods = podList.map((p) => ({
      name: named(p),
      phase: p.status?.phase ?? "Pending",
      containers: (p.spec?.containers ?? []).map((c) => {
        const status = p.status?.containerStatuses?.find((s) => s.name === c.name);
        return { name: c.name, started: status?.state?.running !== undefined || status?.state?.terminated !== undefined || status?.lastState?.terminated !== undefined };
      }),
    }));
    // List items come without their kind: each gets it back, so the file reads like kubectl's.
    const kinds: [string, string, { metadata?: { name?: string } }[]][] = [
      ["apps/v1", "StatefulSet", statefulSets],
      ["v1", "Pod", podList],
      ["v1", "PersistentVolumeClaim", claims],
      ["v1", "Service", services],
      ["batch/v1", "Job", jobs],
      ["batch/v1", "CronJob", cronJobs],
      ["policy/v1", "PodDisruptionBudget", budgets],
    ];
    const objects = kinds.flatMap(([apiVersion, kind, items]) => items.map((o) => ({ apiVersion, kind, ...o })));
    for (const o of objects) related.add(named(o));
    return objects.map((o) => `---\n${yaml(o)}`).join("");
  });
  await bundle.add("events.yaml", async () => {
    const events = await list("events", (o) => kube.core.listNamespacedEvent({ namespace }, o));
    const about = events.filter((e) => isGroupEvent(e, related, prefixes));
    about.sort((a, b) => String(a.lastTimestamp ?? a.eventTime ?? "").localeCompare(String(b.lastTimestamp ?? b.eventTime ?? "")));
    return yaml(about);
  });
  for (const pod of pods) {
    for (const container of pod.containers) {
      const file = `pods/${pod.name}/${container.name}.log`;
      if (!container.started) bundle.skip(file, `container ${container.name} of pod ${pod.name} has not started (pod ${pod.phase})`);
      else await bundle.add(file, async () => `${(await podLog(ctx, namespace, pod.name, container.name, sinceSeconds, POD_LOG_LINES)).join("\n")}\n`);
    }
  }

  const operatorNs = opts.operatorNamespace;
  let pod: string | undefined;
  let leaderError: unknown;
  await leaderPod(ctx, opts).then(
    (name) => (pod = name),
    (err: unknown) => (leaderError = err),
  );
  const fromLeader = (read: (pod: string) => Promise<string>) => () => (pod === undefined ? Promise.reject(leaderError as Error) : read(pod));
  await bundle.add(
    "operator/logs.jsonl",
    fromLeader(async (p) => redactLogLines((await podLog(ctx, operatorNs, p, OPERATOR_CONTAINER, sinceSeconds)).filter((line) => groupRecord(line, namespace, group) !== undefined))),
  );
  await bundle.add(
    "operator/status.json",
    fromLeader(async (p) => {
      const all = JSON.parse(await fromOperator(ctx, operatorNs, p, STATUS_PORT, "status")) as Record<string, unknown>;
      const entry = all[`${namespace}/${group}`];
      if (entry === undefined) throw new Error(`the leading operator ${operatorNs}/${p} reports no status for ${namespace}/${group} (not yet observed, or not watched by it)`);
      return `${JSON.stringify(redact(entry), null, 2)}\n`;
    }),
  );
  await bundle.add(
    "operator/metrics.txt",
    fromLeader(async (p) => groupMetrics(await fromOperator(ctx, operatorNs, p, METRICS_PORT, "metrics"), namespace, group)),
  );
}

/** `bloodraven-report-<namespace>-<group>-<UTC time>.tar.gz` in the current directory. */
function defaultFile(namespace: string, group: string, at: Date): string {
  const stamp = at.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  return `bloodraven-report-${namespace}-${group}-${stamp}.tar.gz`;
}

export function registerReportCommand(program: Command): void {
  addOperatorLocationOptions(
    program
      .command("report")
      .argument("<group>", "name of a MysqlFailoverGroup")
      .description("write a support bundle for one group: its objects, events, pod logs, and the operator's logs, status and metrics for it"),
  )
    .option("--file <path>", "where to write the gzip-compressed tar file; - for standard output (default: bloodraven-report-<namespace>-<group>-<time>.tar.gz)")
    .option("--since <duration>", "how far back the logs go, e.g. 2h or 3d", "24h")
    .addHelpText(
      "after",
      `
The bundle holds:
  report.json           what was collected, by whom and when; each missing part with the reason
  group.yaml            the MysqlFailoverGroup, spec and status
  backups.yaml          its MysqlBackups;  verifications.yaml: its MysqlBackupVerifications
  objects.yaml          what it owns (label ${LABELS.failoverGroup}=<group>): StatefulSets,
                        pods, PVCs, Services, Jobs, CronJobs, PodDisruptionBudgets; and its
                        cache servers (label ${LABELS.dragonflyGroup}=<group>)
  events.yaml           the Events about all of these
  pods/<pod>/<c>.log    the last ${POD_LOG_LINES} lines of each container of the group's pods
  operator/logs.jsonl   the leading operator's log lines about the group (docs/log-schema.md)
  operator/status.json  the group's entry in the leading operator's status API (GET /status)
  operator/metrics.txt  the leading operator's metrics for the group and for itself

Secrets are never read; values named like passwords or tokens, and literal environment values of
variables named so, are replaced by <redacted>. A part that cannot be read (RBAC, no operator
leading) is left out and named in report.json and on standard error; the bundle is still written.
The operator's parts need get on the Lease, pods/log and pods/proxy in its namespace (the chart's
Role <release>-operator-diagnostics).

Examples:
  $ kubectl bloodraven report orders -n shop
  $ kubectl bloodraven report orders -n shop --since 3d --file /tmp/orders.tar.gz
  $ kubectl bloodraven report orders -n shop --file - | tar -tzf -`,
    )
    .action(async function (this: Command, name: string, opts: ReportOptions) {
      const sinceSeconds = sinceFlag(this, opts.since);
      const ctx = await connect(this);
      const namespace = ctx.namespace;
      const group = await readGroup(ctx, name);
      const createdAt = new Date();
      const bundle = new Bundle();
      await bundle.add("group.yaml", () => Promise.resolve(yaml(group)));
      await collect(ctx, bundle, name, opts, sinceSeconds);
      const missing = bundle.parts.filter((p) => p.error !== undefined);
      const manifest = {
        plugin: { version: VERSION, commit: COMMIT },
        createdAt: createdAt.toISOString(),
        server: ctx.server,
        context: ctx.contextName,
        namespace,
        group: name,
        since: opts.since,
        operator: { namespace: opts.operatorNamespace, lease: opts.lease },
        files: bundle.parts.filter((p) => p.error === undefined).map((p) => p.file),
        missing,
      };
      const archive = tarGz([{ name: "report.json", content: `${JSON.stringify(manifest, null, 2)}\n` }, ...bundle.entries], createdAt);
      const file = opts.file ?? defaultFile(namespace, name, createdAt);
      if (file === "-") process.stdout.write(archive);
      else writeFileSync(file, archive, { mode: 0o600 });
      for (const part of missing) writeErr(this, `warning: ${part.file} left out: ${part.error}\n`);
      const summary = `${file === "-" ? "wrote the report to standard output" : `wrote ${file}`} (${bundle.entries.length + 1} files, ${Math.ceil(archive.length / 1024)} KiB${missing.length > 0 ? `, ${missing.length} part(s) missing: see report.json` : ""})\n`;
      if (file === "-") writeErr(this, summary);
      else writeOut(this, summary);
    });
}
