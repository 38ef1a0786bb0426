import type { MariaDbSite } from "../../scripts/env/mariadb-sites.js";

/**
 * Commits rows as the application account to whichever site accepts them (fenced sites refuse),
 * every few milliseconds, until stopped; resolves with the number of acknowledged writes.
 */
export function writeLoad(sites: readonly MariaDbSite[], pauseMs = 10): { acknowledged: () => number; stop: () => Promise<number> } {
  let running = true;
  let acknowledged = 0;
  const loop = (async () => {
    while (running) {
      for (const s of sites) {
        if (!running) break;
        if (!s.running) continue;
        await s.injectWrite("load", "app").then(
          () => acknowledged++,
          () => undefined,
        );
      }
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  })();
  return {
    acknowledged: () => acknowledged,
    stop: async () => {
      running = false;
      await loop;
      return acknowledged;
    },
  };
}
