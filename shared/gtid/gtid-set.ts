/**
 * Immutable MySQL GTID sets with the server's semantics: the same normalisation as
 * `@@gtid_executed`, and the same answers as GTID_SUBTRACT / GTID_SUBSET.
 *
 * A transaction source is a UUID plus an optional tag (MySQL 8.3+), and the tag is part of the
 * identity: `A:tag:1` is not a subset of `A:1-10`. Sequence numbers run from 1 to 2^63-2 and
 * are exact (`count()` is a bigint). Every operation is a linear merge of sorted interval lists,
 * so cost grows with the number of intervals, never with the number of transactions.
 */

import { compareKeys, formatGtidText, parseGtidText } from "./gtid-text.js";
import type { TsidIntervals } from "./gtid-text.js";
import * as iv from "./intervals.js";

export { GtidSetParseError, MAX_SEQUENCE_NUMBER } from "./gtid-text.js";

/**
 * A MySQL GTID set's text as `@@gtid_executed` prints it (entries joined by ",\n"): the form in
 * which the operator observes and records a MySQL server's GTIDs, so that they compare as text.
 */
export function canonicalGtidSet(text: string): string {
  return GtidSet.parse(text).toString();
}

export class GtidSet {
  private static readonly EMPTY = new GtidSet([]);

  /** Entries sorted by key, each with at least one interval. */
  private constructor(private readonly entries: readonly TsidIntervals[]) {
    Object.freeze(this);
  }

  /** Parses MySQL GTID-set text; throws GtidSetParseError where MySQL would refuse it. */
  static parse(text: string): GtidSet {
    const entries = parseGtidText(text);
    return entries.length === 0 ? GtidSet.EMPTY : new GtidSet(entries);
  }

  static empty(): GtidSet {
    return GtidSet.EMPTY;
  }

  /** Canonical text, byte for byte as `@@gtid_executed` prints it ("" when empty). */
  toString(): string {
    return formatGtidText(this.entries);
  }

  /** So that sets logged or stored as JSON read as their text, not as `{}`. */
  toJSON(): string {
    return this.toString();
  }

  isEmpty(): boolean {
    return this.entries.length === 0;
  }

  /** Number of transactions. */
  count(): bigint {
    let total = 0n;
    for (const entry of this.entries) total += iv.count(entry.bounds);
    return total;
  }

  /** The distinct server UUIDs, sorted, whether their transactions are tagged or not. */
  sources(): string[] {
    const uuids: string[] = [];
    for (const entry of this.entries) if (uuids[uuids.length - 1] !== entry.uuid) uuids.push(entry.uuid);
    return uuids;
  }

  /**
   * Whether some server UUID has transactions in both sets. Tags are ignored on purpose: a tag
   * labels a stream of writes, but the UUID names the server lineage that produced them, and that
   * lineage is what "do these two servers share history?" asks about.
   */
  sharesSourceWith(other: GtidSet): boolean {
    const mine = new Set(this.sources());
    return other.sources().some((uuid) => mine.has(uuid));
  }

  union(other: GtidSet): GtidSet {
    if (other.isEmpty()) return this;
    if (this.isEmpty()) return other;
    return this.merge(other, true, true, iv.union);
  }

  /** This minus `other`, like GTID_SUBTRACT(this, other). */
  subtract(other: GtidSet): GtidSet {
    if (this.isEmpty() || other.isEmpty()) return this;
    return this.merge(other, true, false, iv.subtract);
  }

  intersect(other: GtidSet): GtidSet {
    if (this.isEmpty()) return this;
    if (other.isEmpty()) return other;
    return this.merge(other, false, false, iv.intersect);
  }

  /** Whether every transaction of this set is in `other`, like GTID_SUBSET(this, other). */
  isSubsetOf(other: GtidSet): boolean {
    const theirs = other.entries;
    let j = 0;
    for (const entry of this.entries) {
      while (j < theirs.length && theirs[j]!.key < entry.key) j++;
      const match = theirs[j];
      if (match === undefined || match.key !== entry.key || !iv.isSubset(entry.bounds, match.bounds)) return false;
    }
    return true;
  }

  equals(other: GtidSet): boolean {
    if (this.entries.length !== other.entries.length) return false;
    return this.entries.every((entry, i) => {
      const theirs = other.entries[i]!;
      return entry.key === theirs.key && iv.boundsEqual(entry.bounds, theirs.bounds);
    });
  }

  /**
   * Walks both entry lists in key order. Sources only in this set are kept when `keepOwn`, those
   * only in `other` when `keepTheirs`; sources in both get `combine`, and empty results are dropped.
   */
  private merge(
    other: GtidSet,
    keepOwn: boolean,
    keepTheirs: boolean,
    combine: (a: iv.Bounds, b: iv.Bounds) => iv.Bounds,
  ): GtidSet {
    const a = this.entries;
    const b = other.entries;
    const out: TsidIntervals[] = [];
    let i = 0;
    let j = 0;
    while (i < a.length || j < b.length) {
      const order = i >= a.length ? 1 : j >= b.length ? -1 : compareKeys(a[i]!, b[j]!);
      if (order < 0) {
        if (keepOwn) out.push(a[i]!);
        i++;
      } else if (order > 0) {
        if (keepTheirs) out.push(b[j]!);
        j++;
      } else {
        const mine = a[i]!;
        const bounds = combine(mine.bounds, b[j]!.bounds);
        if (bounds.length > 0) out.push(bounds === mine.bounds ? mine : { ...mine, bounds });
        i++;
        j++;
      }
    }
    return out.length === 0 ? GtidSet.EMPTY : new GtidSet(out);
  }
}
