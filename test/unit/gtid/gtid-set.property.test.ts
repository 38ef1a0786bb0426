import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GtidSet, MAX_SEQUENCE_NUMBER } from "../../../shared/gtid/gtid-set.js";

const UUIDS = [
  "3e11fa47-71ca-11e1-9e33-c80aa9429562",
  "8a94f357-aab4-11df-86ab-c80aa9429562",
  "ffffffff-ffff-ffff-ffff-ffffffffffff",
];
const TAGS = ["", "alpha", "beta_2"];
// Interval starts cluster near 1, around 2^53 (where bounds switch from number to bigint) and
// just below the largest sequence number, so every code path and boundary is crossed.
const REGIONS = [1n, 2n ** 53n - 12n, MAX_SEQUENCE_NUMBER - 40n];

interface RawInterval {
  uuid: number;
  tag: number;
  first: bigint;
  last: bigint; // may be below first (even 0): a reversed, empty interval
}

const arbInterval: fc.Arbitrary<RawInterval> = fc
  .record({
    uuid: fc.integer({ min: 0, max: UUIDS.length - 1 }),
    tag: fc.integer({ min: 0, max: TAGS.length - 1 }),
    region: fc.integer({ min: 0, max: REGIONS.length - 1 }),
    offset: fc.integer({ min: 0, max: 30 }),
    length: fc.integer({ min: -2, max: 8 }),
  })
  .map(({ uuid, tag, region, offset, length }) => {
    const first = REGIONS[region]! + BigInt(offset);
    const last = first + BigInt(length);
    return { uuid, tag, first, last: last < 0n ? 0n : last };
  });

/** Text MySQL would accept, in random order, case and spacing, with repeats and overlaps. */
function toText(intervals: readonly RawInterval[], upper: readonly boolean[], separators: readonly string[]): string {
  return intervals
    .map((iv, i) => {
      const uuid = upper[i] ? UUIDS[iv.uuid]!.toUpperCase() : UUIDS[iv.uuid]!;
      const tag = TAGS[iv.tag] === "" ? "" : `:${upper[i] ? TAGS[iv.tag]!.toUpperCase() : TAGS[iv.tag]}`;
      const range = iv.first === iv.last ? `${iv.first}` : `${iv.first}-${iv.last}`;
      return `${uuid}${tag}:${range}${separators[i % separators.length]}`;
    })
    .join("");
}

const arbText = fc
  .array(arbInterval, { maxLength: 12 })
  .chain((intervals) =>
    fc.tuple(
      fc.constant(intervals),
      fc.array(fc.boolean(), { minLength: intervals.length, maxLength: intervals.length }),
      fc.array(fc.constantFrom(",", ",\n", " , ", ",,"), { minLength: 1, maxLength: 3 }),
    ),
  )
  .map(([intervals, upper, separators]) => ({ intervals, text: toText(intervals, upper, separators) }));

const arbSet = arbText.map(({ text }) => GtidSet.parse(text));

/** The set as explicit transactions, read back from canonical text: an oracle independent of the algebra. */
function expand(set: GtidSet): Set<string> {
  const out = new Set<string>();
  const text = set.toString();
  if (text === "") return out;
  for (const entry of text.split(",\n")) {
    const [uuid, ...fields] = entry.split(":");
    let tag = "";
    for (const field of fields) {
      if (/^[a-z_]/.test(field)) {
        tag = field;
        continue;
      }
      const [first, last = first] = field.split("-").map((n) => BigInt(n));
      for (let n = first!; n <= last!; n++) out.add(`${uuid}:${tag}#${n}`);
    }
  }
  return out;
}

function expandRaw(intervals: readonly RawInterval[]): Set<string> {
  const out = new Set<string>();
  for (const iv of intervals) {
    for (let n = iv.first; n <= iv.last; n++) out.add(`${UUIDS[iv.uuid]}:${TAGS[iv.tag]}#${n}`);
  }
  return out;
}

const sorted = (s: Set<string>): string[] => [...s].sort();
const RUNS = { numRuns: 600 };

describe("GtidSet properties", () => {
  it("parses to exactly the transactions written, whatever the order, case or spacing", () => {
    fc.assert(
      fc.property(arbText, ({ intervals, text }) => {
        expect(sorted(expand(GtidSet.parse(text)))).toEqual(sorted(expandRaw(intervals)));
      }),
      RUNS,
    );
  });

  it("parse(format(x)) equals x, and normalising is idempotent", () => {
    fc.assert(
      fc.property(arbSet, (a) => {
        const text = a.toString();
        const again = GtidSet.parse(text);
        expect(again.equals(a)).toBe(true);
        expect(again.toString()).toBe(text);
      }),
      RUNS,
    );
  });

  it("union, subtract and intersect agree with explicit sets", () => {
    fc.assert(
      fc.property(arbSet, arbSet, (a, b) => {
        const ea = expand(a);
        const eb = expand(b);
        expect(sorted(expand(a.union(b)))).toEqual(sorted(new Set([...ea, ...eb])));
        expect(sorted(expand(a.subtract(b)))).toEqual([...ea].filter((x) => !eb.has(x)).sort());
        expect(sorted(expand(a.intersect(b)))).toEqual([...ea].filter((x) => eb.has(x)).sort());
        expect(a.isSubsetOf(b)).toBe([...ea].every((x) => eb.has(x)));
        expect(a.count()).toBe(BigInt(ea.size));
      }),
      RUNS,
    );
  });

  it("A − B ⊆ A", () => {
    fc.assert(fc.property(arbSet, arbSet, (a, b) => a.subtract(b).isSubsetOf(a)), RUNS);
  });

  it("A ⊆ B iff A − B is empty", () => {
    fc.assert(fc.property(arbSet, arbSet, (a, b) => a.isSubsetOf(b) === a.subtract(b).isEmpty()), RUNS);
  });

  it("A ⊆ A ∪ B, and A ∩ B ⊆ A", () => {
    fc.assert(fc.property(arbSet, arbSet, (a, b) => a.isSubsetOf(a.union(b)) && a.intersect(b).isSubsetOf(a)), RUNS);
  });

  it("(A − B) ∪ (A ∩ B) = A", () => {
    fc.assert(fc.property(arbSet, arbSet, (a, b) => a.subtract(b).union(a.intersect(b)).equals(a)), RUNS);
  });

  it("(A − B) ∩ B is empty", () => {
    fc.assert(fc.property(arbSet, arbSet, (a, b) => a.subtract(b).intersect(b).isEmpty()), RUNS);
  });

  it("union and intersection are commutative", () => {
    fc.assert(
      fc.property(arbSet, arbSet, (a, b) => a.union(b).equals(b.union(a)) && a.intersect(b).equals(b.intersect(a))),
      RUNS,
    );
  });

  it("count(A ∪ B) = count(A) + count(B) − count(A ∩ B)", () => {
    fc.assert(
      fc.property(arbSet, arbSet, (a, b) => a.union(b).count() === a.count() + b.count() - a.intersect(b).count()),
      RUNS,
    );
  });

  it("equals agrees with mutual inclusion", () => {
    fc.assert(fc.property(arbSet, arbSet, (a, b) => a.equals(b) === (a.isSubsetOf(b) && b.isSubsetOf(a))), RUNS);
  });

  it("sharesSourceWith is true iff some UUID has transactions in both, tags aside", () => {
    const uuidsOf = (set: GtidSet) => new Set([...expand(set)].map((gtid) => gtid.slice(0, 36)));
    fc.assert(
      fc.property(arbSet, arbSet, (a, b) => {
        const theirs = uuidsOf(b);
        return a.sharesSourceWith(b) === [...uuidsOf(a)].some((u) => theirs.has(u));
      }),
      RUNS,
    );
  });
});
