/** Database writers for the benchmarks: INSERTs at a steady rate, each acknowledgement timed. */
import type mysql from "mysql2/promise";
import type { MariaDbSite, MariaDbSites } from "../../scripts/env/mariadb-sites.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Ack {
  at: number;
  site: string;
}


export interface Load {
  acks: Ack[];
  /** When the writers' source of truth first named a different site than before. */
  named: Ack[];
  errors: () => number;
  stop: () => Promise<void>;
}

/** The writers' source of truth: the operator's /active-site. */
export function activeSiteOf(sites: MariaDbSites, url: string): (named: Ack[]) => Promise<MariaDbSite | undefined> {
  return async (named) => {
    try {
      const r = await fetch(url);
      if (!r.ok) return undefined;
      const name = ((await r.json()) as { activeSite?: string }).activeSite;
      if (name && named.at(-1)?.site !== name) named.push({ at: performance.now(), site: name });
      return sites.sites.find((s) => s.name === name);
    } catch {
      return undefined;
    }
  };
}

/**
 * `count` writers, `rate` INSERTs a second in all, that go where `whereTo` says; every
 * acknowledged INSERT is recorded with its time and site. On any error a writer drops its
 * connection, asks `whereTo` again and reconnects.
 */
export function writers(whereTo: (named: Ack[]) => Promise<MariaDbSite | undefined>, count: number, rate: number): Load {
  const acks: Ack[] = [];
  const named: Ack[] = [];
  let errors = 0;
  let running = true;
  const activeSite = () => whereTo(named);
  const intervalMs = (1000 * count) / rate;
  const writer = async (w: number): Promise<void> => {
    let site: MariaDbSite | undefined;
    let conn: mysql.Connection | undefined;
    let next = performance.now();
    let n = 0;
    while (running) {
      try {
        if (!conn || !site) {
          site = await activeSite();
          if (!site) throw new Error("no active site");
          conn = await site.connect("app", 1_000);
        }
        await conn.query({ sql: "INSERT INTO bloodraven_test.writes (site, note) VALUES (?, ?)", values: [site.name, `bench-${w}-${n++}`], timeout: 2_000 });
        acks.push({ at: performance.now(), site: site.name });
        next = Math.max(next + intervalMs, performance.now() - intervalMs);
        const wait = next - performance.now();
        if (wait > 0) await sleep(wait);
      } catch {
        errors++;
        conn?.destroy();
        conn = undefined;
        site = undefined;
        await sleep(5);
      }
    }
    conn?.destroy();
  };
  const loops = Array.from({ length: count }, (_, w) => writer(w));
  return {
    acks,
    named,
    errors: () => errors,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}
