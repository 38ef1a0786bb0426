import type mysql from "mysql2/promise";
import type { MariaDbSite } from "../../scripts/env/mariadb-sites.js";

/**
 * Polls every site's @@read_only every 50 ms (in parallel, on admin connections it re-opens when
 * killed) and records each instant at which two or more sites that `counts` admits were writable
 * (by default every site: a site applications cannot reach takes no writes, so a test of an
 * isolated site may leave it out).
 */
export function readOnlySampler(
  sites: readonly MariaDbSite[],
  counts: (site: MariaDbSite) => boolean = () => true,
): { stop: () => Promise<{ samples: number; twoWritable: string[] }> } {
  let running = true;
  let samples = 0;
  const twoWritable: string[] = [];
  const conns = new Map<string, mysql.Connection>();
  const readOnly = async (s: MariaDbSite): Promise<boolean | undefined> => {
    try {
      let c = conns.get(s.name);
      if (!c) conns.set(s.name, (c = await s.connect("admin", 1_000)));
      const [rows] = await c.query<mysql.RowDataPacket[]>({ sql: "SELECT @@GLOBAL.read_only AS r", timeout: 1_000 });
      return Number(rows[0]?.r) === 1;
    } catch {
      conns.get(s.name)?.destroy();
      conns.delete(s.name);
      return undefined;
    }
  };
  const loop = (async () => {
    while (running) {
      const started = Date.now();
      const states = await Promise.all(sites.map(async (s) => ({ s, ro: await readOnly(s) })));
      samples++;
      const writable = states.filter(({ s, ro }) => ro === false && counts(s)).map(({ s }) => s.name);
      if (writable.length >= 2) twoWritable.push(`${new Date(started).toISOString()} ${writable.join(",")}`);
      await new Promise((r) => setTimeout(r, Math.max(0, 50 - (Date.now() - started))));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      for (const c of conns.values()) c.destroy();
      return { samples, twoWritable };
    },
  };
}
