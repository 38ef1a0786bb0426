import { askCloneJob } from "../../operator/agent/ask.js";
import type { MariaDbSite } from "../../scripts/env/mariadb-sites.js";
import { waitFor } from "../../scripts/env/ports.js";
import type { CloneJob } from "../../shared/agent/clone.js";
import type { MysqlFailoverGroup } from "../../shared/api/index.js";
import { CONDITION_TYPES, METRICS } from "../../shared/names.js";

/**
 * Follows the Bootstrapping condition until a clone of `site` other than the one recorded before
 * (`previous` cloneId) ends, Done or Failed, with the condition written; returns the reasons seen
 * on the way and the group. `explain` adds what the operator said to a timeout.
 */
export async function untilCloned(
  read: () => Promise<MysqlFailoverGroup>,
  site: string,
  previous: string | undefined,
  timeoutMs: number,
  explain: (err: unknown) => Error = (err) => (err instanceof Error ? err : new Error(String(err))),
): Promise<{ reasons: string[]; group: MysqlFailoverGroup }> {
  const reasons: string[] = [];
  const group = await waitFor(
    `clone of ${site} to end`,
    async () => {
      const g = await read();
      const c = g.status?.conditions?.find((x) => x.type === CONDITION_TYPES.bootstrapping);
      if (c && reasons.at(-1) !== c.reason) reasons.push(c.reason);
      const b = g.status?.bootstrap;
      // The condition is written at the end of the cycle that recorded the end.
      return b?.site === site && b.cloneId !== previous && (b.phase === "Done" || b.phase === "Failed") && c?.reason === b.phase ? g : undefined;
    },
    timeoutMs,
    100,
  ).catch((err: unknown) => {
    throw explain(err);
  });
  return { reasons, group };
}

/** bloodraven_reclone_operations_total for one site and result, read from the operator's /metrics. */
export async function recloneCount(metricsUrl: string, site: string, result: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${METRICS.recloneOperationsTotal}{`) && l.includes(`site="${site}"`) && l.includes(`result="${result}"`));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

/** An agent's current clone job (GET /v1/clone), through the operator's own client; throws what it could not read. */
export async function agentCloneJob(agentUrl: string, token: string, timeoutMs = 5_000): Promise<CloneJob | null> {
  const answer = await askCloneJob(agentUrl, token, timeoutMs);
  if (!answer.ok) throw new Error(answer.error);
  return answer.value;
}

/**
 * Writes `seed-0` .. `seed-<count-1>` on the primary, the data a clone copies. A starved machine
 * can make its agent fence it for a moment (self-fencing is tested in the chaos tier): a refused
 * write waits for the server to be made writable again and is written then; none is lost or
 * doubled, since a refused one did nothing.
 */
export async function seedWrites(primary: MariaDbSite, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await waitFor(`seed-${i} written`, async () => {
      try {
        await primary.injectWrite(`seed-${i}`, "app");
        return true;
      } catch (err) {
        if (/read-only|READ-ONLY/.test(String(err))) return false;
        throw err;
      }
    }, 30_000, 200);
  }
}
