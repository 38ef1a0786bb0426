/**
 * GTID-set benchmark: two sets of 50 UUIDs x 1,000 intervals that overlap partially (40 shared
 * UUIDs; on those, every interval of one set overlaps one of the other). Prints one JSON object
 * and exits 1 when a target is missed.
 *
 *   node --import tsx test/bench/gtid.bench.ts
 */

import { GtidSet } from "../../shared/gtid/gtid-set.js";
import { machineInfo, timeIt } from "./bench-util.js";
import type { Timing } from "./bench-util.js";

const UUIDS = 50;
const INTERVALS = 1_000;
const RUN = { warmup: 50, iterations: 200 };

const uuid = (i: number): string => `${i.toString(16).padStart(8, "0")}-71ca-11e1-9e33-c80aa9429562`;

/** `uuid:1-6:11-16:...` style text; `base` moves the numbers, e.g. above 2^53 for the BigInt path. */
function buildText(firstUuid: number, from: number, to: number, base: bigint): string {
  const entries: string[] = [];
  for (let u = firstUuid; u < firstUuid + UUIDS; u++) {
    let entry = uuid(u);
    for (let k = 0; k < INTERVALS; k++) {
      const start = base + BigInt(k * 10);
      entry += `:${start + BigInt(from)}-${start + BigInt(to)}`;
    }
    entries.push(entry);
  }
  return entries.join(",\n");
}

function buildPair(base: bigint): [string, GtidSet, GtidSet] {
  const textA = buildText(0, 1, 6, base);
  return [textA, GtidSet.parse(textA), GtidSet.parse(buildText(10, 4, 8, base))];
}

const [textA, a, b] = buildPair(0n);
const [, bigA, bigB] = buildPair(2n ** 62n);
const aOrB = a.union(b);

// Every result feeds a counter so that no call can be optimised away.
let sink = 0;
const use = (set: GtidSet): number => (sink += set.isEmpty() ? 0 : 1);
const results: Record<string, Timing> = {
  subtract: timeIt(() => use(a.subtract(b)), RUN),
  isSubsetOf: timeIt(() => (sink += a.isSubsetOf(aOrB) ? 1 : 0), RUN),
  union: timeIt(() => use(a.union(b)), RUN),
  intersect: timeIt(() => use(a.intersect(b)), RUN),
  parse_format: timeIt(() => (sink += GtidSet.parse(textA).toString().length), RUN),
  count: timeIt(() => (sink += Number(a.count())), RUN),
  subtract_above_2e53: timeIt(() => use(bigA.subtract(bigB)), RUN),
};

const targets = {
  subtract_p50_ms_max: 5,
  isSubsetOf_p50_ms_max: 5,
  union_p50_ms_max: 5,
  intersect_p50_ms_max: 5,
  parse_format_p50_ms_max: 25,
  count_p50_ms_max: 5,
  subtract_above_2e53_p50_ms_max: 5,
};

const missed = Object.entries(targets).filter(([name, max]) => {
  const op = name.replace(/_p50_ms_max$/, "");
  return !(results[op] !== undefined && results[op].p50_ms <= max);
});

const sanity = a.subtract(b).count() === 10_000n * 6n + 40_000n * 3n && a.isSubsetOf(aOrB) && sink > 0;

process.stdout.write(
  `${JSON.stringify(
    {
      benchmark: "gtid",
      machine: machineInfo(),
      workload: { uuids: UUIDS, intervals_per_uuid: INTERVALS, shared_uuids: 40, ...RUN },
      results,
      targets,
      missed: missed.map(([name]) => name),
      pass: missed.length === 0 && sanity,
    },
    null,
    2,
  )}\n`,
);
if (missed.length > 0 || !sanity) process.exitCode = 1;
