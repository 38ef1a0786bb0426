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

export function annotatedRecord(annotations: Readonly<Record<string, string>> | undefined): RecordCopy | undefined {
  const at = annotations?.[ANNOTATIONS.lastFailover];
  const target = annotations?.[ANNOTATIONS.lastFailoverTarget];
  return at && target ? { at, target } : undefined;
}

export function statusRecord(status: { lastFailover?: string; lastFailoverTarget?: string } | undefined): RecordCopy | undefined {
  return status?.lastFailover && status.lastFailoverTarget ? { at: status.lastFailover, target: status.lastFailoverTarget } : undefined;
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
