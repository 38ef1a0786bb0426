/**
 * The failover record has two durable copies: the status (lastFailover, lastFailoverTarget,
 * failoverIntent) and annotations on the object (last-failover, last-failover-target,
 * failover-intent), which survive a status wipe such as a restore without status. These are the
 * rules for reading them together and for keeping them in agreement. Pure.
 */

import type { MysqlFailoverGroupStatus } from "../api/index.js";
import { ANNOTATIONS } from "../names.js";

/** status.failoverIntent: target, source, start time and the target's executed transactions. */
export type FailoverIntent = NonNullable<MysqlFailoverGroupStatus["failoverIntent"]>;

/** One copy of "the last failover": when, and which site was promoted. */
export interface RecordCopy {
  at: string;
  target: string;
}

/**
 * A copy as a reader shows it: the time, and the target when one is recorded. The operator acts
 * only on complete copies (annotatedRecord, statusRecord); the plugin also shows a time written
 * without its target.
 */
export interface RecordTime {
  at: string;
  target?: string;
}

/** An emergency promotion recorded before its target was made writable, outcome not yet recorded. */
export interface IntentCopy {
  target: string;
  at: string;
}

/** Annotations carry whole seconds (RFC 3339 without a fraction), the status milliseconds. */
export function annotationTime(iso: string): string {
  return iso.replace(/\.\d+Z$/, "Z");
}

const seconds = (iso: string): number => Math.floor(Date.parse(iso) / 1000);

function timeOf(at: string | undefined, target: string | undefined): RecordTime | undefined {
  return at ? { at, ...(target ? { target } : {}) } : undefined;
}

const complete = (copy: RecordTime | undefined): RecordCopy | undefined => (copy?.target ? { at: copy.at, target: copy.target } : undefined);

/** The last-failover annotation, with its target when the target annotation is there too. */
export function annotatedTime(annotations: Readonly<Record<string, string>> | undefined): RecordTime | undefined {
  return timeOf(annotations?.[ANNOTATIONS.lastFailover], annotations?.[ANNOTATIONS.lastFailoverTarget]);
}

/** status.lastFailover, with status.lastFailoverTarget when it is set. */
export function statusTime(status: { lastFailover?: string; lastFailoverTarget?: string } | undefined): RecordTime | undefined {
  return timeOf(status?.lastFailover, status?.lastFailoverTarget);
}

export function annotatedRecord(annotations: Readonly<Record<string, string>> | undefined): RecordCopy | undefined {
  return complete(annotatedTime(annotations));
}

export function statusRecord(status: { lastFailover?: string; lastFailoverTarget?: string } | undefined): RecordCopy | undefined {
  return complete(statusTime(status));
}

export function formatIntent(intent: IntentCopy): string {
  return `${intent.target}@${annotationTime(intent.at)}`;
}

/** `<target>@<time>`; undefined when absent or unreadable (an unreadable one is reported by the caller's decision as unknown). */
export function annotatedIntent(annotations: Readonly<Record<string, string>> | undefined): IntentCopy | undefined {
  const raw = annotations?.[ANNOTATIONS.failoverIntent];
  const at = raw?.lastIndexOf("@") ?? -1;
  if (raw === undefined || at <= 0) return undefined;
  const intent = { target: raw.slice(0, at), at: raw.slice(at + 1) };
  return Number.isNaN(Date.parse(intent.at)) ? undefined : intent;
}

/**
 * The newer of the two copies (the annotation wins only when strictly newer at seconds precision,
 * so the status's milliseconds are kept); an unreadable time never wins.
 */
export function newerRecord<T extends { at: string }>(status: T | undefined, annotated: T | undefined): T | undefined {
  if (annotated === undefined || Number.isNaN(Date.parse(annotated.at))) return status;
  if (status === undefined || Number.isNaN(Date.parse(status.at))) return annotated;
  return seconds(annotated.at) > seconds(status.at) ? annotated : status;
}

/**
 * What to write so that both copies hold the newer record: `status` to patch into the status,
 * `annotations` into the annotations; nothing when they agree (same target, same second).
 */
export function recordRepair(status: RecordCopy | undefined, annotated: RecordCopy | undefined): { status?: RecordCopy; annotations?: RecordCopy } {
  const newer = newerRecord(status, annotated);
  if (newer === undefined) return {};
  const same = (c: RecordCopy | undefined): boolean => c !== undefined && c.target === newer.target && seconds(c.at) === seconds(newer.at);
  return { ...(same(status) ? {} : { status: newer }), ...(same(annotated) ? {} : { annotations: newer }) };
}
