import { afterAll, beforeAll, expect } from "vitest";
import type { MysqlFailoverGroup } from "../../shared/api/index.js";
import { MariaDbSites, type MariaDbSite } from "../../scripts/env/mariadb-sites.js";
import { waitFor } from "../../scripts/env/ports.js";
import { asList, failoverGroup, namespaceWithCredentials, siteAt } from "./fixtures.js";
import { kubectl } from "./kubectl.js";
import { missingOn } from "./ledger.js";
import { OperatorProcess } from "./operator.js";

/** `kubectl apply` of the objects as one List; throws with kubectl's error. */
export async function applyAll(items: readonly object[]): Promise<void> {
  const r = await kubectl(["apply", "-f", "-"], { input: asList(items) });
  if (r.code !== 0) throw new Error(r.stderr);
}

/** Reads groups of namespace `ns` from the API server. */
export function groupReader(ns: string): (name: string) => Promise<MysqlFailoverGroup> {
  return async (name) => {
    const r = await kubectl(["get", "mfg", name, "-n", ns, "-o", "json"]);
    if (r.code !== 0) throw new Error(r.stderr);
    return JSON.parse(r.stdout) as MysqlFailoverGroup;
  };
}

/** The Events of namespace `ns` about group `name`. */
export async function groupEvents(ns: string, name: string): Promise<{ reason: string; message: string; time: string }[]> {
  const r = await kubectl(["get", "events", "-n", ns, "-o", "json"]);
  if (r.code !== 0) throw new Error(r.stderr);
  type Event = { reason: string; message: string; involvedObject: { name: string }; eventTime?: string; lastTimestamp?: string };
  const list = JSON.parse(r.stdout) as { items: Event[] };
  return list.items.filter((e) => e.involvedObject.name === name).map((e) => ({ ...e, time: e.lastTimestamp ?? e.eventTime ?? "" }));
}

/**
 * Inside a describe: namespace `ns` with the test credentials and one operator watching it
 * (beforeAll), torn down with every server that `freshGroup` started (afterAll). `freshGroup`
 * starts three servers (iad primary, pdx candidate, sfo reader) and a group over them (poll
 * 500 ms, failureThreshold 2, cooldown 1 s; `spec` adds or overrides) and waits until iad leads.
 */
export function namespaceWithOperator(
  ns: string,
  identity: string,
  opts: { env?: NodeJS.ProcessEnv } = {},
): { operator: () => OperatorProcess; freshGroup: (name: string, spec?: Record<string, unknown>) => Promise<MariaDbSites> } {
  let operator: OperatorProcess | undefined;
  const started: MariaDbSites[] = [];
  beforeAll(async () => {
    await applyAll(namespaceWithCredentials(ns));
    operator = await OperatorProcess.start({ identity, args: [`--namespaces=${ns}`, "--no-leader-election"], ...(opts.env ? { env: opts.env } : {}) });
  });
  afterAll(async () => {
    await operator?.stop("SIGKILL");
    await Promise.all(started.map((s) => s.teardown()));
    await kubectl(["delete", "namespace", ns, "--wait=false"]);
  });
  return {
    operator: () => {
      if (operator === undefined) throw new Error("the operator starts in beforeAll");
      return operator;
    },
    freshGroup: async (name, spec = {}) => {
      const sites = await MariaDbSites.start({ names: ["iad", "pdx", "sfo"], primary: "iad" });
      started.push(sites);
      const roles = { role: "primary-candidate" };
      await applyAll([
        failoverGroup(ns, name, {
          pollInterval: "500ms",
          failureThreshold: 2,
          failoverCooldown: "1s",
          sites: sites.sites.map((site) => siteAt(site, site.name === "sfo" ? { role: "read-only" } : roles)),
          ...spec,
        }),
      ]);
      // lastKnownPrimary: the decision core stands behind iad, not only a first poll's verdict.
      const read = groupReader(ns);
      await waitFor(`${name} healthy`, async () => (await read(name)).status?.lastKnownPrimary === "iad", 20_000, 200);
      return sites;
    },
  };
}

/**
 * After an emergency failover under the ledger: every acknowledged write is on the new primary,
 * or it is on the old primary (back, read-only) and reported there exactly: RecoveryBlocked with
 * a divergentTransactionCount equal to the number of such writes (asynchronous replication can
 * lose the last writes of a primary that dies; the operator must say which, never drop them).
 */
export async function accountForWrites(
  readGroup: () => Promise<MysqlFailoverGroup>,
  acked: readonly string[],
  prefix: string,
  primary: MariaDbSite,
  oldPrimary: MariaDbSite,
): Promise<void> {
  const missing = await missingOn(primary, acked, prefix);
  if (missing.length === 0) return;
  expect(await missingOn(oldPrimary, missing, prefix), "writes on neither site").toEqual([]);
  const reported = await waitFor(
    `${oldPrimary.name}'s extra writes reported`,
    async () => (await readGroup()).status?.sites?.find((s) => s.name === oldPrimary.name && s.recoveryState === "RecoveryBlocked"),
    20_000,
    200,
  );
  expect(reported.divergentTransactionCount).toBe(missing.length);
}
