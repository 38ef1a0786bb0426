/**
 * Sorted interval lists over GTID sequence numbers: the inner loops of the GTID-set algebra.
 *
 * A list is a flat array `[start0, end0, start1, end1, ...]` of half-open intervals
 * `[start, end)`, sorted, disjoint and never adjacent (`start[i+1] > end[i]`). Half-open bounds
 * make every set operation a pure comparison merge, with no `+ 1` in the loops.
 *
 * Sequence numbers reach 2^63-2, beyond the exact range of a JS number, but almost every real
 * one is far below 2^53 and BigInt arithmetic is several times slower. So a bound is stored as a
 * `number` when it is a safe integer and as a `bigint` only above that (`Seq`). That rule makes
 * the representation unique, so `===` is exact equality; and `<` between a number and a bigint
 * compares the mathematical values exactly, so the merges below are correct for any mix.
 */

export type Seq = number | bigint;
export type Bounds = readonly Seq[];

const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);

/** Puts a value in its canonical form: a number when it is a safe integer, else a bigint. */
export function toSeq(value: bigint): Seq {
  return value <= MAX_SAFE_BIG ? Number(value) : value;
}

export function toBigInt(value: Seq): bigint {
  return typeof value === "bigint" ? value : BigInt(value);
}

/** `value + 1` in canonical form: turns an inclusive end into the exclusive one stored. */
export function successor(value: Seq): Seq {
  return typeof value === "number" && value < Number.MAX_SAFE_INTEGER ? value + 1 : toBigInt(value) + 1n;
}

/** `value - 1` in canonical form: the inclusive end printed for a stored exclusive one. */
export function predecessor(value: Seq): Seq {
  return typeof value === "number" ? value - 1 : toSeq(value - 1n);
}

/**
 * Accumulates intervals in any order. Input from MySQL is almost always sorted, so intervals that
 * extend the last one are merged on the fly and a sort happens only when one arrives out of order.
 */
export class BoundsBuilder {
  private readonly bounds: Seq[] = [];
  private sorted = true;

  /** Adds `[start, end)`; the caller guarantees `start < end`. */
  add(start: Seq, end: Seq): void {
    const b = this.bounds;
    const n = b.length;
    if (n === 0 || start > b[n - 1]!) {
      b.push(start, end);
    } else if (start >= b[n - 2]!) {
      if (end > b[n - 1]!) b[n - 1] = end;
    } else {
      this.sorted = false;
      b.push(start, end);
    }
  }

  build(): Bounds {
    return this.sorted ? this.bounds : sortAndMerge(this.bounds);
  }
}

function sortAndMerge(raw: readonly Seq[]): Bounds {
  const order: number[] = [];
  for (let i = 0; i < raw.length; i += 2) order.push(i);
  order.sort((x, y) => {
    const a = raw[x]!;
    const b = raw[y]!;
    return a < b ? -1 : a > b ? 1 : 0;
  });
  const out: Seq[] = [];
  for (const i of order) {
    const start = raw[i]!;
    const end = raw[i + 1]!;
    const n = out.length;
    if (n > 0 && start <= out[n - 1]!) {
      if (end > out[n - 1]!) out[n - 1] = end;
    } else {
      out.push(start, end);
    }
  }
  return out;
}

export function union(a: Bounds, b: Bounds): Bounds {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out: Seq[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let start: Seq;
    let end: Seq;
    if (j >= b.length || (i < a.length && a[i]! <= b[j]!)) {
      start = a[i]!;
      end = a[i + 1]!;
      i += 2;
    } else {
      start = b[j]!;
      end = b[j + 1]!;
      j += 2;
    }
    const n = out.length;
    if (n > 0 && start <= out[n - 1]!) {
      if (end > out[n - 1]!) out[n - 1] = end;
    } else {
      out.push(start, end);
    }
  }
  return out;
}

export function subtract(a: Bounds, b: Bounds): Bounds {
  if (a.length === 0 || b.length === 0) return a;
  const out: Seq[] = [];
  let changed = false;
  let j = 0;
  for (let i = 0; i < a.length; i += 2) {
    let start = a[i]!;
    const end = a[i + 1]!;
    while (j < b.length && b[j + 1]! <= start) j += 2;
    // b[j] may also overlap the next interval of a, so it is only passed once fully used.
    while (j < b.length && b[j]! < end) {
      changed = true;
      if (b[j]! > start) out.push(start, b[j]!);
      if (b[j + 1]! >= end) {
        start = end;
        break;
      }
      start = b[j + 1]!;
      j += 2;
    }
    if (start < end) out.push(start, end);
  }
  return changed ? out : a;
}

export function intersect(a: Bounds, b: Bounds): Bounds {
  const out: Seq[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const lo = a[i]! > b[j]! ? a[i]! : b[j]!;
    const aEnd = a[i + 1]!;
    const bEnd = b[j + 1]!;
    const hi = aEnd < bEnd ? aEnd : bEnd;
    if (lo < hi) out.push(lo, hi);
    if (aEnd < bEnd) i += 2;
    else j += 2;
  }
  return out;
}

export function isSubset(a: Bounds, b: Bounds): boolean {
  let j = 0;
  for (let i = 0; i < a.length; i += 2) {
    const start = a[i]!;
    while (j < b.length && b[j + 1]! <= start) j += 2;
    // b is normalised, so a single interval of b must hold all of [start, end).
    if (j >= b.length || b[j]! > start || b[j + 1]! < a[i + 1]!) return false;
  }
  return true;
}

export function boundsEqual(a: Bounds, b: Bounds): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Number of sequence numbers in the list; sums in plain numbers while that stays exact. */
export function count(bounds: Bounds): bigint {
  let total = 0n;
  let small = 0;
  for (let i = 0; i < bounds.length; i += 2) {
    const start = bounds[i]!;
    const end = bounds[i + 1]!;
    if (typeof start === "number" && typeof end === "number") {
      const length = end - start;
      if (length > Number.MAX_SAFE_INTEGER - small) {
        total += BigInt(small);
        small = 0;
      }
      small += length;
    } else {
      total += toBigInt(end) - toBigInt(start);
    }
  }
  return total + BigInt(small);
}
