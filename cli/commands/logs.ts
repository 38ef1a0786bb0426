/**
 * `logs <group>`: the operator's log lines about one group, from the pod that leads (the holder of
 * the leader Lease, which does all the work): what on-call reads first when a group misbehaves.
 * The operator writes one JSON object a line (docs/log-schema.md); the lines whose namespace and
 * group are the group's are kept, and printed as `time LEVEL msg key=value ...`, or as written
 * with -o json. `--follow` streams until Ctrl-C.
 */
import { Option, type Command } from "commander";
import { connect, readGroup, writeErr, writeOut } from "../kube-context.js";
import { addOperatorLocationOptions, leaderPod, OPERATOR_CONTAINER, type OperatorLocation } from "../leading-operator.js";
import { readPodLog, sinceFlag } from "../pod-log.js";

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

interface LogsOptions extends OperatorLocation {
  follow?: boolean;
  since?: string;
  output: "text" | "json";
}

export function registerLogsCommand(program: Command): void {
  addOperatorLocationOptions(program.command("logs").argument("<group>", "name of a MysqlFailoverGroup").description("print the operator's log lines about one group, from the operator that leads"))
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
      const sinceSeconds = opts.since === undefined ? undefined : sinceFlag(this, opts.since);
      const ctx = await connect(this);
      const namespace = ctx.namespace;
      await readGroup(ctx, name);
      const pod = await leaderPod(ctx, opts);
      let printed = 0;
      await readPodLog(ctx, { namespace: opts.operatorNamespace, pod, container: OPERATOR_CONTAINER, follow: opts.follow === true, ...(sinceSeconds !== undefined ? { sinceSeconds } : {}) }, (line) => {
        const record = groupRecord(line, namespace, name);
        if (!record) return;
        printed++;
        writeOut(this, `${opts.output === "json" ? line : formatRecord(record)}\n`);
      });
      if (printed === 0 && !opts.follow) writeErr(this, `the leading operator (${opts.operatorNamespace}/${pod}) logged nothing about ${namespace}/${name}${opts.since ? ` in the last ${opts.since}` : ""}\n`);
      if (opts.follow) writeErr(this, `the log of ${opts.operatorNamespace}/${pod} ended (a restart, or another operator leads now): run the command again\n`);
    });
}
