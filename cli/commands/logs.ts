/**
 * `logs <group>`: the operator's log lines about one group, from the pod that leads (the holder of
 * the leader Lease, which does all the work): what on-call reads first when a group misbehaves.
 * The operator writes one JSON object a line (docs/log-schema.md); the lines whose namespace and
 * group are the group's are kept, and printed as `time LEVEL msg key=value ...`, or as written
 * with -o json. `--follow` streams until Ctrl-C.
 */
import { Writable } from "node:stream";
import { Option, type Command } from "commander";
import { parsePositiveDuration } from "../../shared/duration.js";
import { errorText } from "../../shared/errors.js";
import { FAILOVER_GROUP } from "../../shared/names.js";
import { connect, explainApiError, isNotFound, usageError, writeErr, writeOut, type KubeContext } from "../kube-context.js";

/** The chart's defaults: the release namespace of docs/install.md and the Lease name of values.yaml. */
const DEFAULT_OPERATOR_NAMESPACE = "bloodraven";
const DEFAULT_LEASE = "bloodraven-leader";
/** The operator's container in the chart's Deployment. */
const OPERATOR_CONTAINER = "operator";
/** Without --follow, the whole log must have arrived by then. */
const READ_MS = 60_000;
/** Fields every line has, shown in front or not at all. */
const FRONT_FIELDS = new Set(["time", "level", "msg", "namespace", "group", "identity"]);

export type LogRecord = Readonly<Record<string, unknown>> & { readonly time?: unknown; readonly level?: unknown; readonly msg?: unknown };

/** The line's record when it is the operator's JSON about this group; undefined for any other line. */
export function groupRecord(line: string, namespace: string, group: string): LogRecord | undefined {
  if (!line.startsWith("{")) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const record = value as LogRecord;
  return record.namespace === namespace && record.group === group ? record : undefined;
}

/** `2026-12-05T04:18:24.470Z INFO  restore started site=iad job=mysql-copy-restore ...`. */
export function formatRecord(record: LogRecord): string {
  const text = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v));
  // A string is quoted only when it would not read as one word; anything else is its JSON.
  const value = (v: unknown): string => (typeof v !== "string" ? JSON.stringify(v) : /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v));
  const fields = Object.entries(record)
    .filter(([key]) => !FRONT_FIELDS.has(key))
    .map(([key, v]) => `${key}=${value(v)}`);
  return [text(record.time ?? ""), text(record.level ?? "").padEnd(5), text(record.msg ?? ""), ...fields].join(" ");
}

/** Splits a stream of log text into lines and hands each kept record to `emit`. */
function lineFilter(keep: (line: string) => void): Writable {
  let rest = "";
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      const lines = (rest + chunk.toString("utf8")).split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) keep(line);
      done();
    },
    final(done) {
      if (rest !== "") keep(rest);
      done();
    },
  });
}

interface LogsOptions {
  operatorNamespace: string;
  lease: string;
  follow?: boolean;
  since?: string;
  output: "text" | "json";
}

/** The pod that holds the leader Lease, with what to do when there is none. */
async function leaderPod(ctx: KubeContext, namespace: string, lease: string): Promise<string> {
  const read = await ctx.kube
    .call(`get lease ${namespace}/${lease}`, (o) => ctx.kube.coordination.readNamespacedLease({ namespace, name: lease }, o))
    .catch((err: unknown) => {
      if (isNotFound(err, lease)) {
        throw new Error(`there is no Lease ${namespace}/${lease}: is the operator installed in namespace ${namespace}? Give its namespace with --operator-namespace and, when its values change leaderElection.leaseName, the Lease with --lease`);
      }
      throw explainApiError(err, { verb: "get", resource: "leases.coordination.k8s.io", namespace, name: lease }, ctx);
    });
  const holder = read.spec?.holderIdentity;
  if (!holder) throw new Error(`the Lease ${namespace}/${lease} has no holder: no operator leads, so none acts on any group (kubectl get pods -n ${namespace})`);
  return holder;
}

export function registerLogsCommand(program: Command): void {
  program
    .command("logs")
    .argument("<group>", "name of a MysqlFailoverGroup")
    .description("print the operator's log lines about one group, from the operator that leads")
    .option("--operator-namespace <namespace>", "the namespace the operator runs in", DEFAULT_OPERATOR_NAMESPACE)
    .option("--lease <name>", "the operator's leader Lease (the chart's leaderElection.leaseName)", DEFAULT_LEASE)
    .option("-f, --follow", "keep printing new lines until Ctrl-C")
    .option("--since <duration>", "only lines of the last duration, e.g. 10m or 2h (default: all the pod still has)")
    .addOption(new Option("-o, --output <format>", "text: time, level, message and fields; json: the lines as the operator wrote them").choices(["text", "json"]).default("text"))
    .addHelpText(
      "after",
      `
The operator that holds the leader Lease does all the work, so its log is the one that tells
what happened to a group; the lines of the other replicas are not read. The lines are those of
its current container: after a restart, kubectl logs --previous on the pod shows the earlier ones.
Needs get on the group, on the Lease and on pods/log in the operator's namespace.

Examples:
  $ kubectl bloodraven logs orders -n shop
  $ kubectl bloodraven logs orders -n shop --since 30m -o json | jq 'select(.level != "INFO")'
  $ kubectl bloodraven logs orders -n shop --operator-namespace platform -f`,
    )
    .action(async function (this: Command, name: string, opts: LogsOptions) {
      let sinceSeconds: number | undefined;
      if (opts.since !== undefined) {
        try {
          sinceSeconds = Math.max(1, Math.ceil(parsePositiveDuration(opts.since) / 1000));
        } catch (err) {
          usageError(this, `--since: ${errorText(err)}`);
        }
      }
      const ctx = await connect(this);
      const namespace = ctx.namespace;
      await ctx.kube.getFailoverGroup(namespace, name).catch((err: unknown) => {
        if (isNotFound(err, name)) throw new Error(`${FAILOVER_GROUP.kind} ${namespace}/${name} does not exist`);
        throw explainApiError(err, { verb: "get", namespace, name }, ctx);
      });
      const pod = await leaderPod(ctx, opts.operatorNamespace, opts.lease);
      const { Log } = await import("@kubernetes/client-node");
      let printed = 0;
      const sink = lineFilter((line) => {
        const record = groupRecord(line, namespace, name);
        if (!record) return;
        printed++;
        writeOut(this, `${opts.output === "json" ? line : formatRecord(record)}\n`);
      });
      const ended = new Promise<void>((resolve, reject) => {
        sink.once("finish", resolve);
        sink.once("error", reject);
      });
      const request = new Log(ctx.config).log(opts.operatorNamespace, pod, OPERATOR_CONTAINER, sink, { follow: opts.follow === true, ...(sinceSeconds !== undefined ? { sinceSeconds } : {}) });
      let timer: NodeJS.Timeout | undefined;
      const answered = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ctx.timeoutMs} ms`)), ctx.timeoutMs)));
      const controller = await Promise.race([request, answered])
        .catch((err: unknown) => {
          throw new Error(`reading the log of the leading operator pod ${opts.operatorNamespace}/${pod}: ${errorText(err)} (kubectl auth can-i get pods/log -n ${opts.operatorNamespace})`);
        })
        .finally(() => clearTimeout(timer));
      if (!opts.follow) {
        const reading = setTimeout(() => {
          controller.abort();
          sink.destroy(new Error(`the log of ${opts.operatorNamespace}/${pod} did not arrive within ${READ_MS / 1000}s: narrow it with --since`));
        }, READ_MS);
        void ended.finally(() => clearTimeout(reading)).catch(() => undefined);
      }
      await ended;
      if (printed === 0 && !opts.follow) writeErr(this, `the leading operator (${opts.operatorNamespace}/${pod}) logged nothing about ${namespace}/${name}${opts.since ? ` in the last ${opts.since}` : ""}\n`);
      if (opts.follow) writeErr(this, `the log of ${opts.operatorNamespace}/${pod} ended (a restart, or another operator leads now): run the command again\n`);
    });
}
