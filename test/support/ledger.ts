import { expect } from "vitest";
import type { MariaDbSite } from "../../scripts/env/mariadb-sites.js";
import { readOnlySampler } from "./sampler.js";

/**
 * Writers on the application account: each commits unique notes to whichever site accepts them
 * (a fenced or replica site refuses) and records a note in the ledger only once the INSERT was
 * acknowledged. Writing wherever a site accepts is the worst case for a split brain: every
 * writable site gets writes. Bounded by stop(): every loop iteration checks it.
 */
export function ledgerLoad(sites: readonly MariaDbSite[], prefix: string, writers: number): { stop: () => Promise<string[]> } {
  let running = true;
  const acked: string[] = [];
  let n = 0;
  const writer = async (w: number): Promise<void> => {
    let preferred = 0;
    while (running) {
      let ok = false;
      for (let i = 0; i < sites.length && !ok && running; i++) {
        const s = sites[(preferred + i) % sites.length]!;
        const note = `${prefix}-${w}-${n++}`;
        ok = await s.injectWrite(note, "app").then(
          () => (acked.push(note), true),
          () => false,
        );
        if (ok) preferred = (preferred + i) % sites.length;
      }
      await new Promise((r) => setTimeout(r, ok ? 5 : 20));
    }
  };
  const loops = Array.from({ length: writers }, (_, w) => writer(w));
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return acked;
    },
  };
}

/** The notes of `acked` that `site` does not hold. */
export async function missingOn(site: MariaDbSite, acked: readonly string[], prefix: string): Promise<string[]> {
  const rows = await site.query<{ note: string }[]>("SELECT note FROM bloodraven_test.writes WHERE note LIKE ?", [`${prefix}-%`]);
  const present = new Set(rows.map((r) => r.note));
  return acked.filter((note) => !present.has(note));
}

/**
 * Runs `scenario` under the two-writable sampler and fails if two sites that `counts` admits
 * were ever writable at the same instant; returns what the scenario returns.
 */
export async function sampled<T>(sites: readonly MariaDbSite[], scenario: () => Promise<T>, counts?: (site: MariaDbSite) => boolean): Promise<T> {
  const sampler = readOnlySampler(sites, counts);
  let result: T;
  try {
    result = await scenario();
  } finally {
    const { samples, twoWritable } = await sampler.stop();
    expect(twoWritable, "instants with two writable sites").toEqual([]);
    expect(samples).toBeGreaterThan(10);
  }
  return result;
}

/**
 * Runs `scenario` under the write ledger (two writers) and the two-writable sampler; the scenario
 * returns the site that is primary at the end, which must hold every acknowledged write unless
 * the caller checks `missing` itself.
 */
export async function underLoad(
  sites: readonly MariaDbSite[],
  prefix: string,
  scenario: () => Promise<string>,
  counts?: (site: MariaDbSite) => boolean,
): Promise<{ acked: string[]; missing: string[] }> {
  const load = ledgerLoad(sites, prefix, 2);
  let primary: string;
  let acked: string[];
  try {
    primary = await sampled(
      sites,
      async () => {
        await new Promise((r) => setTimeout(r, 500));
        return scenario();
      },
      counts,
    );
  } finally {
    acked = await load.stop();
  }
  expect(acked.length).toBeGreaterThan(20);
  const site = sites.find((s) => s.name === primary);
  if (site === undefined) throw new Error(`no site ${primary}`);
  return { acked, missing: await missingOn(site, acked, prefix) };
}
