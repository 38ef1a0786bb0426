import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MysqlFailoverGroup } from "../../shared/api/index.js";
import { MariaDbSites, type MariaDbSite } from "../../scripts/env/mariadb-sites.js";
import { waitFor } from "../../scripts/env/ports.js";
import { kubectl, testKubeconfig } from "../support/kubectl.js";
import { OperatorProcess } from "../support/operator.js";
import { FAILPOINTS_ENV } from "../../operator/failpoints.js";
import { ANNOTATIONS } from "../../shared/names.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { plannedGroup } from "../support/planned.js";
import { asList, failoverGroup, namespaceWithCredentials, siteAt } from "../support/fixtures.js";
import { ledgerLoad, missingOn } from "../support/ledger.js";
import { readOnlySampler } from "../support/sampler.js";

/**
 * Planned failover, repeated: 20 switchovers back and forth under a write load that keeps a ledger
 * of every acknowledged write, while a sampler watches both servers' @@read_only every 50 ms for
 * an instant with two writable sites. Then the operator is SIGKILLed at exact points of a
 * switchover (a failpoint holds it there; the phases otherwise follow one another within
 * milliseconds): right after each phase is recorded, after the fence, and after the promotion
 * (planned-failover.test.ts also kills it during a real lag wait). The restarted operator finishes
 * or rolls back, and never leaves a fenced group behind.
 */
const ns = `ledger-${randomBytes(3).toString("hex")}`;
const GROUP = "orders";
const { group, request, finished, settled } = plannedGroup(ns, GROUP, 1_000);
const SWITCHOVERS = 20;
const WRITERS = 3;

/** Resolves as soon as a watch on the group shows request `id` in `phase` (a watch: a poll of the API would miss short phases). */
function phaseSeen(id: string, phase: string): { seen: Promise<void>; stop: () => void } {
  const child = spawn("kubectl", ["get", "mfg", GROUP, "-n", ns, "-w", "-o", `jsonpath={.status.plannedFailover.requestId}/{.status.plannedFailover.phase}{"\\n"}`], {
    env: { ...process.env, KUBECONFIG: testKubeconfig() },
    stdio: ["ignore", "pipe", "ignore"],
  });
  const seen = new Promise<void>((resolve, reject) => {
    let buffered = "";
    child.stdout.on("data", (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      if (lines.some((l) => l.trim() === `${id}/${phase}`)) resolve();
    });
    child.once("exit", () => reject(new Error(`watch ended before ${id} reached ${phase}`)));
  });
  seen.catch(() => undefined);
  return { seen, stop: () => void child.kill("SIGKILL") };
}

/** A fenced group is never left behind: exactly one writable site, status.activeSite naming it, the request terminal. */
async function notFenced(sites: MariaDbSites, id: string): Promise<string> {
  return waitFor(
    "one writable site, recorded as the active site",
    async () => {
      const writable: string[] = [];
      for (const s of sites.sites) if (!(await s.isReadOnly())) writable.push(s.name);
      if (writable.length > 1) throw new Error(`two writable sites: ${writable.join(", ")}`);
      const g = await group();
      const b = g.status?.plannedFailover;
      if (writable.length === 1 && g.status?.activeSite === writable[0] && b?.requestId === id && (b.phase === "Succeeded" || b.phase === "Failed")) return writable[0];
      throw new Error(`writable [${writable.join(", ")}], activeSite ${g.status?.activeSite}, request ${b?.requestId} ${b?.phase}`);
    },
    30_000,
    200,
  );
}

describe("planned failover, repeated under a write ledger (real operator, API server and MariaDB)", () => {
  let sites: MariaDbSites;
  let operator: OperatorProcess;
  let primary = "iad";
  const start = (env: NodeJS.ProcessEnv = {}) => OperatorProcess.start({ identity: `ledger-${randomBytes(2).toString("hex")}`, args: [`--namespaces=${ns}`, "--no-leader-election"], env });

  /**
   * Requests a switchover away from the current primary from an operator that pauses at
   * `failpoint`; once the watch shows `phase` and `there(source, target)` holds, SIGKILLs it,
   * starts a plain operator and checks the outcome.
   */
  async function killAt(failpoint: string, phase: string, there: (source: MariaDbSite, target: MariaDbSite) => Promise<boolean>, lag = false): Promise<MysqlFailoverGroup> {
    const id = `kill-${failpoint.replaceAll(".", "-").toLowerCase()}`;
    await operator.stop();
    operator = await start({ [FAILPOINTS_ENV]: `${failpoint}=60s` });
    await settled(primary);
    const source = sites.site(primary);
    const target = sites.site(primary === "iad" ? "pdx" : "iad");
    const watch = phaseSeen(id, phase);
    try {
      await new Promise((r) => setTimeout(r, 300)); // the watch is established
      if (lag) {
        // WaitingForLag is written only when the target has not caught up at the first wait.
        await target.setReplicationDelay(3);
        await source.injectWrite("lagging", "app");
      }
      await request(target.name, id);
      await watch.seen;
      // The kill waits for the operator to say it paused: a state seen on the servers alone can
      // come a few milliseconds before the failpoint, and the kill would land elsewhere.
      await waitFor(`${failpoint} reached`, async () => operator.logged(LOG_MESSAGES.failpointReached).some((l) => l.failpoint === failpoint), 15_000, 20);
      expect(await there(source, target), `the servers at ${failpoint}`).toBe(true);
      expect(operator.logged(LOG_MESSAGES.failpointsActive)).toHaveLength(1);
      await operator.stop("SIGKILL");
    } finally {
      watch.stop();
    }
    const atKill = (await group()).status?.plannedFailover;
    expect(atKill, `killed at ${failpoint}: ${JSON.stringify(atKill)}`).toMatchObject({ requestId: id, phase });
    operator = await start();
    const withLog = (err: unknown): never => {
      throw new Error(`${err instanceof Error ? err.message : String(err)}\noperator output:\n${operator.dump(80)}`);
    };
    const g = await finished(id, 90_000).catch(withLog);
    primary = await notFenced(sites, id).catch(withLog);
    console.log(JSON.stringify({ killedAt: failpoint, outcome: g.status?.plannedFailover?.phase, reason: g.status?.plannedFailover?.reason, primary }));
    // The two durable copies of the failover record agree, whichever write the kill cut short, and
    // a switchover that went through is recorded (the cooldown and the emergency core read it).
    const succeeded = g.status?.plannedFailover?.phase === "Succeeded";
    const started = Date.parse(g.status?.plannedFailover?.startTime ?? "");
    await waitFor(
      "status and annotations hold the same failover record, this switchover's if it succeeded",
      async () => {
        const now = await group();
        const a = now.metadata.annotations ?? {};
        const status = now.status?.lastFailover ?? "";
        const agree = status !== "" && a[ANNOTATIONS.lastFailover] === status.replace(/\.\d+Z$/, "Z") && a[ANNOTATIONS.lastFailoverTarget] === now.status?.lastFailoverTarget;
        const ours = now.status?.lastFailoverTarget === primary && Date.parse(status) >= started;
        if (agree && (!succeeded || ours)) return true;
        throw new Error(`record: status ${status} → ${now.status?.lastFailoverTarget}, annotations ${a[ANNOTATIONS.lastFailover]} → ${a[ANNOTATIONS.lastFailoverTarget]}; switchover to ${primary} started ${g.status?.plannedFailover?.startTime}`);
      },
      10_000,
      100,
    );
    return g;
  }

  beforeAll(async () => {
    sites = await MariaDbSites.start({ names: ["iad", "pdx"], primary: "iad" });
    const items = [
      ...namespaceWithCredentials(ns),
      failoverGroup(ns, GROUP, {
        pollInterval: "500ms",
        failureThreshold: 2,
        recoveryThreshold: 2,
        failoverCooldown: "1s",
        plannedFailover: { maxLagWait: "20s", drainTimeout: "1s" },
        sites: sites.sites.map((s) => siteAt(s)),
      }),
    ];
    const r = await kubectl(["apply", "-f", "-"], { input: asList(items) });
    expect(r.code, r.stderr).toBe(0);
    operator = await start();
    await settled("iad");
  });

  afterAll(async () => {
    await operator?.stop("SIGKILL");
    await sites?.teardown();
    await kubectl(["delete", "namespace", ns, "--wait=false"]);
  });

  it(`${SWITCHOVERS} switchovers iad↔pdx: each Succeeded with transactionsLost=0, never two writable sites, every acknowledged write on the final primary`, { timeout: 300_000 }, async () => {
    const load = ledgerLoad(sites.sites, "ledger", WRITERS);
    const sampler = readOnlySampler(sites.sites);
    const durations: number[] = [];
    try {
      for (let i = 0; i < SWITCHOVERS; i++) {
        const target = primary === "iad" ? "pdx" : "iad";
        await settled(primary);
        await request(target, `ledger-${i}`);
        const g = await finished(`ledger-${i}`);
        const b = g.status?.plannedFailover;
        expect(b, `switchover ${i}: ${JSON.stringify(b)}`).toMatchObject({ phase: "Succeeded", target, source: primary, transactionsLost: 0 });
        durations.push(Date.parse(b?.completionTime ?? "") - Date.parse(b?.startTime ?? ""));
        primary = target;
      }
    } finally {
      const acked = await load.stop();
      const sampled = await sampler.stop();
      const missing = await missingOn(sites.site(primary), acked, "ledger");
      console.log(JSON.stringify({ switchovers: durations.length, durationsMs: durations, acknowledged: acked.length, missing: missing.length, samples: sampled.samples, twoWritable: sampled.twoWritable }));
      expect(sampled.twoWritable, "instants with both sites writable").toEqual([]);
      expect(sampled.samples).toBeGreaterThan(100);
      expect(acked.length).toBeGreaterThan(SWITCHOVERS * 10);
      expect(missing, "acknowledged writes missing on the final primary").toEqual([]);
    }
    expect(durations).toHaveLength(SWITCHOVERS);
    expect(await sites.site(primary).isReadOnly()).toBe(false);
    const text = await (await fetch(operator.url("metrics", "/metrics"))).text();
    expect(text).toContain(`bloodraven_planned_failover_duration_seconds_count{namespace="${ns}",group="${GROUP}"} ${SWITCHOVERS}`);
    // Every switchover's promotion counts as a failover of kind planned, none as an emergency.
    for (const site of ["iad", "pdx"]) {
      expect(text).toContain(`bloodraven_failovers_total{namespace="${ns}",group="${GROUP}",target_site="${site}",kind="planned"} ${SWITCHOVERS / 2}`);
      expect(text).toContain(`bloodraven_failovers_total{namespace="${ns}",group="${GROUP}",target_site="${site}",kind="emergency"} 0`);
    }
    expect(text).toContain(`bloodraven_planned_failover_lag_wait_seconds_count{namespace="${ns}",group="${GROUP}"} ${SWITCHOVERS}`);
  });

  it("a request posted after a switchover ended, before the operator removed its annotations, is not wiped", { timeout: 120_000 }, async () => {
    await operator.stop();
    // The operator pauses between writing Succeeded and removing the request annotations.
    operator = await start({ [FAILPOINTS_ENV]: "planned.after.persist.Succeeded=4s" });
    await settled(primary);
    const back = primary;
    const target = primary === "iad" ? "pdx" : "iad";
    await request(target, "race-1");
    await waitFor(
      "race-1 Succeeded, its annotations still in place",
      async () => {
        const g = await group();
        return g.status?.plannedFailover?.requestId === "race-1" && g.status.plannedFailover.phase === "Succeeded" && g.metadata.annotations?.[ANNOTATIONS.plannedFailoverRequestId] === "race-1";
      },
      15_000,
      20,
    );
    const r = await kubectl(["bloodraven", "failover", GROUP, back, "-n", ns, "--wait", "--timeout", "60s"], { timeoutMs: 90_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const id = /\(request ([^)]+)\)/.exec(r.stdout)?.[1];
    expect(id, r.stdout).toBeTruthy();
    const g = await finished(id ?? "", 30_000);
    expect(g.status?.plannedFailover).toMatchObject({ requestId: id, phase: "Succeeded", target: back, transactionsLost: 0 });
    primary = await notFenced(sites, id ?? "");
    expect(primary).toBe(back);
    await operator.stop();
    operator = await start();
  });

  const readOnly = (site: MariaDbSite): Promise<boolean> => site.isReadOnly();
  const writable = async (site: MariaDbSite): Promise<boolean> => !(await site.isReadOnly());

  it.each([
    { failpoint: "planned.after.persist.Pending", phase: "Pending", there: (source: MariaDbSite) => writable(source) },
    { failpoint: "planned.after.persist.Validating", phase: "Validating", there: (source: MariaDbSite) => writable(source) },
    { failpoint: "planned.after.persist.Draining", phase: "Draining", there: (source: MariaDbSite) => writable(source) },
    { failpoint: "planned.after.drain", phase: "Draining", there: (source: MariaDbSite) => readOnly(source) },
    { failpoint: "planned.after.persist.WaitingForLag", phase: "WaitingForLag", there: (source: MariaDbSite) => readOnly(source), lag: true },
    { failpoint: "planned.after.persist.Promoting", phase: "Promoting", there: (_s: MariaDbSite, target: MariaDbSite) => readOnly(target) },
    { failpoint: "planned.before.record", phase: "Promoting", there: (_s: MariaDbSite, target: MariaDbSite) => writable(target) },
    { failpoint: "planned.after.promote", phase: "Promoting", there: (_s: MariaDbSite, target: MariaDbSite) => writable(target) },
    { failpoint: "planned.after.persist.Resuming", phase: "Resuming", there: (_s: MariaDbSite, target: MariaDbSite) => writable(target) },
  ])("an operator SIGKILLed at $failpoint ($phase) finishes the switchover after restart", { timeout: 180_000 }, async ({ failpoint, phase, there, lag }) => {
    const g = await killAt(failpoint, phase, there, lag);
    expect(g.status?.plannedFailover).toMatchObject({ phase: "Succeeded", transactionsLost: 0 });
  });
});
