/**
 * `reclone --wait`: follows one reclone request to its end (follow.ts). The request's clone is the
 * status.bootstrap that carries the posted annotation value as `request` and is not the clone
 * recorded when the request was posted: a previous attempt with the same value keeps its cloneId
 * and startTime. A request the operator refuses starts no clone: the annotation goes, and the
 * reason is only in a RecloneRejected event, told apart from earlier ones by the occurrences
 * recorded before the post.
 */
import type { Command } from "commander";
import type { CoreV1Event } from "@kubernetes/client-node";
import type { BootstrapStatus, MysqlFailoverGroup } from "../shared/api/index.js";
import { formatDuration } from "../shared/duration.js";
import { errorText } from "../shared/errors.js";
import { ANNOTATIONS, EVENT_REASONS, FAILOVER_GROUP } from "../shared/names.js";
import { cloneInFlight } from "../shared/reclone/step.js";
import { formatBytes } from "./format.js";
import { followGroup, type Follow, type WaitEnd } from "./follow.js";
import { OPERATOR_PODS_HINT } from "./group-actions.js";
import { explainApiError, type KubeContext } from "./kube-context.js";

/** The request followed. */
export interface RecloneRequest {
  site: string;
  /** The reclone-site annotation value posted. */
  value: string;
  /** The runbook of the situation (divergent-old-primary, pvc-loss), named after a failure. */
  runbook: string;
}

// ---------------------------------------------------------------------------------------------
// Where the request stands (pure)

/** The clone in status.bootstrap when the request was posted: whatever it is, not this request's. */
export type PriorClone = Pick<BootstrapStatus, "cloneId" | "startTime">;

export function priorClone(posted: MysqlFailoverGroup): PriorClone | undefined {
  const b = posted.status?.bootstrap;
  return b ? { cloneId: b.cloneId, startTime: b.startTime } : undefined;
}

export type RecloneProgress =
  /** The annotation still holds the request and no clone of it is recorded; `other`: a clone that runs meanwhile. */
  | { state: "pending"; other?: BootstrapStatus }
  /** The annotation no longer holds the request (removed, or replaced `by` another) and no clone of it is recorded. */
  | { state: "withdrawn"; by?: string }
  | { state: "running"; record: BootstrapStatus }
  | { state: "done"; ok: boolean; record: BootstrapStatus };

/** Where a request stands while the wait goes on. */
export type Unfinished = Exclude<RecloneProgress, { state: "done" }>;

const isPrior = (record: BootstrapStatus, prior: PriorClone | undefined): boolean => prior !== undefined && record.cloneId === prior.cloneId && record.startTime === prior.startTime;

/**
 * Where request `value` stands in `g`. A recorded clone of it wins over a missing annotation: the
 * operator removes the annotation at the end of an attempt just before it records Done or Failed.
 */
export function recloneProgress(g: MysqlFailoverGroup, value: string, prior: PriorClone | undefined): RecloneProgress {
  const record = g.status?.bootstrap;
  if (record && record.request === value && !isPrior(record, prior)) {
    if (record.phase === "Done" || record.phase === "Failed") return { state: "done", ok: record.phase === "Done", record };
    return { state: "running", record };
  }
  const annotation = g.metadata.annotations?.[ANNOTATIONS.recloneSite];
  if (annotation === value) return record && cloneInFlight(record) !== undefined ? { state: "pending", other: record } : { state: "pending" };
  return annotation === undefined ? { state: "withdrawn" } : { state: "withdrawn", by: annotation };
}

// ---------------------------------------------------------------------------------------------
// What is printed (pure)

/** Shown again only when it changes: the byte count alone does not make a new line. */
export function recloneStepKey(record: BootstrapStatus): string {
  return `${record.cloneId}|${record.phase}|${record.message ?? ""}`;
}

/** One step of a clone: `Cloning (45.2 MiB copied): receiving the copy from iad`. */
export function recloneStepText(record: BootstrapStatus): string {
  const bytes = record.bytes ? ` (${formatBytes(record.bytes)} copied)` : "";
  // The operator opens its messages with "reclone of <site> from <donor>: ", which every line would repeat.
  const opening = `${record.source} of ${record.site} from ${record.donor}: `;
  const message = record.message?.startsWith(opening) ? record.message.slice(opening.length) : record.message;
  return `${record.phase}${bytes}${message ? `: ${message}` : ""}`;
}

const groupKey = (g: MysqlFailoverGroup): string => `${g.metadata.namespace ?? ""}/${g.metadata.name ?? ""}`;
const describeCommand = (g: MysqlFailoverGroup): string => `kubectl describe mfg ${g.metadata.name ?? ""} -n ${g.metadata.namespace ?? ""}`;

/** `kubectl annotate` that withdraws a pending reclone request. */
export function withdrawCommand(g: MysqlFailoverGroup): string {
  return `kubectl annotate mfg ${g.metadata.name ?? ""} -n ${g.metadata.namespace ?? ""} ${ANNOTATIONS.recloneSite}-`;
}

/** The end of the request's clone: what the site started from on Done, the operator's reason on Failed. */
export function cloneEnd(record: BootstrapStatus, g: MysqlFailoverGroup, request: RecloneRequest, elapsedMs: number): WaitEnd {
  const what = `reclone of ${record.site} in ${groupKey(g)}`;
  if (record.phase !== "Done") {
    return { code: 1, stream: "err", text: `error: ${what} failed: ${record.message ?? "the operator gave no reason"}; see ${describeCommand(g)} and kubectl bloodraven runbook ${request.runbook}\n` };
  }
  const took = formatDuration(Math.round(elapsedMs / 1000) * 1000);
  const from = record.gtid ? `started from GTID ${record.gtid.replace(/\s+/g, "")}` : "started from the copy (its GTID position was not reported)";
  const copied = record.bytes ? `; ${formatBytes(record.bytes)} copied` : "";
  return { code: 0, stream: "out", text: `${what} done after ${took}: ${record.site} ${from} and replicates from ${record.donor}${copied}\n` };
}

/** The operator refused the request: the RecloneRejected event's message (`<Code>: <reason>...`). */
export function rejectedEnd(message: string, g: MysqlFailoverGroup, request: RecloneRequest): WaitEnd {
  return {
    code: 1,
    stream: "err",
    text: `error: the operator rejected the reclone of ${request.site} in ${groupKey(g)} (${ANNOTATIONS.recloneSite}=${request.value}): ${message.replace(/\.\s*$/, "")}; see ${describeCommand(g)} and kubectl bloodraven runbook ${request.runbook}\n`,
  };
}

/** The request vanished without a clone and no rejection of it was found (`unreadable`: why the events could not be read). */
export function withdrawnEnd(progress: { by?: string }, g: MysqlFailoverGroup, request: RecloneRequest, unreadable?: string): WaitEnd {
  const how = progress.by === undefined ? "removed" : `replaced by ${ANNOTATIONS.recloneSite}=${progress.by}`;
  const events = unreadable === undefined ? "no RecloneRejected event for it was found" : `the events that would say why cannot be read (${unreadable})`;
  return { code: 1, stream: "err", text: `error: the reclone request ${ANNOTATIONS.recloneSite}=${request.value} was ${how} on ${groupKey(g)} without a clone starting, and ${events}; see ${describeCommand(g)}\n` };
}

/** What is still going on when --timeout ends the wait: the clone goes on, or the request stays. */
export function timedOutEnd(progress: Unfinished, g: MysqlFailoverGroup, request: RecloneRequest, timeoutMs: number): WaitEnd {
  const base = `error: timed out after ${formatDuration(timeoutMs)} waiting for the reclone of ${request.site} in ${groupKey(g)}`;
  switch (progress.state) {
    case "running":
      return { code: 1, stream: "err", text: `${base}: it is still running (${recloneStepText(progress.record)}) and the clone continues; follow it with ${describeCommand(g)}\n` };
    case "pending": {
      const why = progress.other
        ? `a clone of ${progress.other.site} is still running (${progress.other.phase}) and this request waits for it`
        : `the operator has not started the clone: is it running? (${OPERATOR_PODS_HINT}); it also waits for a confirmed active primary and for ${request.site}'s server to answer read-only`;
      return { code: 1, stream: "err", text: `${base}: ${why}. The request stays in place; withdraw it with: ${withdrawCommand(g)}\n` };
    }
    case "withdrawn":
      return withdrawnEnd(progress, g, request);
  }
}

/** Ctrl-C: waiting stops, the operator does not. */
export function interruptedEnd(progress: Unfinished, g: MysqlFailoverGroup, request: RecloneRequest): WaitEnd {
  const text =
    progress.state === "running"
      ? `interrupted: the clone continues (${recloneStepText(progress.record)}); follow it with ${describeCommand(g)}\n`
      : `interrupted: the reclone request ${ANNOTATIONS.recloneSite}=${request.value} stays in place and the operator acts on it; follow it with ${describeCommand(g)}, or withdraw it before its clone starts with: ${withdrawCommand(g)}\n`;
  return { code: 130, stream: "err", text };
}

// ---------------------------------------------------------------------------------------------
// RecloneRejected events

/** A RecloneRejected event of the group, as far as telling occurrences apart needs. */
export interface RejectionEvent {
  name: string;
  count: number;
  /** RFC 3339; "" when the event has none. */
  lastTimestamp: string;
  message: string;
}

/** The occurrences recorded so far, by event name: the operator folds a repeat into the same Event (count, lastTimestamp). */
export type RejectionMarks = ReadonlyMap<string, string>;

const occurrence = (e: RejectionEvent): string => `${e.count}@${e.lastTimestamp}`;

export function rejectionMarks(events: readonly RejectionEvent[]): RejectionMarks {
  return new Map(events.map((e) => [e.name, occurrence(e)]));
}

/** The latest rejection recorded since `marks`: a new Event, or a known one that occurred again. */
export function newRejection(events: readonly RejectionEvent[], marks: RejectionMarks): RejectionEvent | undefined {
  return events.filter((e) => marks.get(e.name) !== occurrence(e)).sort((a, b) => b.lastTimestamp.localeCompare(a.lastTimestamp))[0];
}

const isoOf = (t: Date | undefined): string => (t instanceof Date && !Number.isNaN(t.getTime()) ? t.toISOString() : "");

function asRejection(e: CoreV1Event): RejectionEvent {
  return { name: e.metadata.name ?? "", count: e.count ?? 1, lastTimestamp: isoOf(e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp), message: e.message ?? "" };
}

/** The group's RecloneRejected events. */
export async function listRejections(ctx: KubeContext, name: string): Promise<RejectionEvent[]> {
  const fieldSelector = `involvedObject.kind=${FAILOVER_GROUP.kind},involvedObject.name=${name},reason=${EVENT_REASONS.recloneRejected}`;
  try {
    const list = await ctx.kube.call(`list events of ${ctx.namespace}/${name}`, (o) => ctx.kube.core.listNamespacedEvent({ namespace: ctx.namespace, fieldSelector }, o));
    return list.items.map(asRejection);
  } catch (err) {
    throw explainApiError(err, { verb: "list", resource: "events", namespace: ctx.namespace }, ctx);
  }
}

// ---------------------------------------------------------------------------------------------
// --wait

/**
 * How long a request that vanished without a clone is looked up in the events, and how often. The
 * operator sends the event just before it removes the annotation, but does not wait for it.
 */
const REJECTION_GRACE_MS = 10_000;
const REJECTION_POLL_MS = 500;

/**
 * Follows `request`, posted as `posted`, to its end and returns the exit code: 0 when its clone is
 * Done, 1 when it failed, was rejected or vanished, or on --timeout, 130 on Ctrl-C. `marks` are the
 * rejections recorded before the post, or why they could not be read.
 */
export function waitForReclone(
  command: Command,
  ctx: KubeContext,
  posted: MysqlFailoverGroup,
  request: RecloneRequest,
  marks: RejectionMarks | Error,
  times: { startedAt: number; timeoutMs: number },
): Promise<number> {
  const prior = priorClone(posted);
  const name = posted.metadata.name ?? "";
  let last: Unfinished = { state: "pending" };
  let looking = false;

  const lookForRejection = async (follow: Follow, until: number): Promise<void> => {
    let found: RejectionEvent | undefined;
    let unreadable = marks instanceof Error ? marks.message : undefined;
    if (!(marks instanceof Error)) {
      try {
        found = newRejection(await listRejections(ctx, name), marks);
      } catch (err) {
        unreadable = errorText(err);
      }
    }
    if (last.state !== "withdrawn") {
      // A clone of the request showed up meanwhile: the watch follows it.
      looking = false;
      return;
    }
    if (found) return follow.finish(rejectedEnd(found.message, follow.latest, request));
    if (Date.now() >= until || marks instanceof Error) return follow.finish(withdrawnEnd(last, follow.latest, request, unreadable));
    follow.later(REJECTION_POLL_MS, () => void lookForRejection(follow, until));
  };

  return followGroup(command, ctx, {
    posted,
    ...times,
    awaiting: `the operator to clone ${request.site} (${ANNOTATIONS.recloneSite}=${request.value})`,
    examine: (g, follow) => {
      const progress = recloneProgress(g, request.value, prior);
      if (progress.state === "done") {
        follow.show(recloneStepKey(progress.record), recloneStepText(progress.record), { ok: progress.ok });
        return follow.finish(cloneEnd(progress.record, g, request, follow.elapsedMs()));
      }
      last = progress;
      switch (last.state) {
        case "pending":
          if (last.other) follow.show(`other|${last.other.cloneId}`, `waiting for the clone of ${last.other.site} to end first: ${recloneStepText(last.other)}`);
          return;
        case "running":
          return follow.show(recloneStepKey(last.record), recloneStepText(last.record));
        case "withdrawn":
          if (looking) return;
          looking = true;
          void lookForRejection(follow, Date.now() + REJECTION_GRACE_MS);
      }
    },
    timedOut: (latest) => timedOutEnd(last, latest, request, times.timeoutMs),
    interrupted: (latest) => interruptedEnd(last, latest, request),
  });
}
