import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MysqlFailoverGroup } from "../../shared/api/index.js";
import { ANNOTATIONS } from "../../shared/names.js";
import { FAILPOINTS_ENV } from "../../operator/failpoints.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { MariaDbSites } from "../../scripts/env/mariadb-sites.js";
import { waitFor } from "../../scripts/env/ports.js";
import { failoverGroup, namespaceWithCredentials, siteAt } from "../support/fixtures.js";
import { accountForWrites, applyAll, groupEvents, groupReader } from "../support/groups.js";
import { kubectl, testKubeconfig } from "../support/kubectl.js";
import { sampled, underLoad } from "../support/ledger.js";
import { OperatorProcess } from "../support/operator.js";

/**
 * The API server stops answering in the middle of an emergency failover: after the operator
 * recorded its intent, before it could record the outcome. The operator promotes (its Lease is
 * still valid), cannot write the record, loses its Lease, and campaigns again once the API
 * server is back. The promotion must then be recorded in both copies, and the cooldown must hold.
 */
const ns = `outage-${randomBytes(3).toString("hex")}`;
const GROUP = "orders";

/** SIGSTOP / SIGCONT the test control plane's kube-apiserver (its pid file sits beside the kubeconfig). */
function apiserver(signal: "SIGSTOP" | "SIGCONT"): void {
  const pid = Number(readFileSync(join(dirname(testKubeconfig()), "kube-apiserver.pid"), "utf8"));
  if (!Number.isInteger(pid) || pid <= 0) throw new Error("no kube-apiserver pid");
  process.kill(pid, signal);
}

describe("an API server outage across an emergency failover (real operator, API server and MariaDB)", () => {
  let sites: MariaDbSites;
  let operator: OperatorProcess;

  const readGroup = groupReader(ns);
  const group = (): Promise<MysqlFailoverGroup> => readGroup(GROUP);

  beforeAll(async () => {
    sites = await MariaDbSites.start({ names: ["iad", "pdx", "lax"], primary: "iad" });
    await applyAll([
      ...namespaceWithCredentials(ns),
      failoverGroup(ns, GROUP, { pollInterval: "500ms", failureThreshold: 2, failoverCooldown: "10m", sites: sites.sites.map((s) => siteAt(s)) }),
    ]);
    operator = await OperatorProcess.start({
      identity: "outage-op",
      args: [`--namespaces=${ns}`, `--lease-namespace=${ns}`, "--lease-duration=4s", "--renew-deadline=3s", "--retry-period=1s"],
      env: { [FAILPOINTS_ENV]: "emergency.after.intent=3s" },
    });
    await waitFor("iad is the primary", async () => (await group()).status?.activeSite === "iad", 30_000, 200);
  });

  afterAll(async () => {
    try {
      apiserver("SIGCONT");
    } catch {
      // not stopped
    }
    await operator?.stop("SIGKILL");
    await sites?.teardown();
    await kubectl(["delete", "namespace", ns, "--wait=false"]);
  });

  it("the promotion made during the outage is recorded in both copies afterwards, and the cooldown holds", async () => {
    let target = "";
    let other = "";
    const { acked } = await underLoad(sites.sites, "outage", async () => {
      await sites.site("iad").kill9();
      const intent = await waitFor("the intent recorded", async () => (await group()).status?.failoverIntent, 20_000, 50);
      expect(intent).toMatchObject({ source: "iad" });
      target = intent.target;
      other = target === "pdx" ? "lax" : "pdx";
      apiserver("SIGSTOP");
      let resumed = false;
      try {
        // The failpoint ends and the operator promotes, with the API server gone.
        await waitFor(`${target} writable`, async () => !(await sites.site(target).isReadOnly()), 15_000, 100);
        await waitFor("leadership lost", async () => operator.lines.some((l) => l.msg === LOG_MESSAGES.leaderLost), 20_000, 100);
        // The record's write runs into the client's 10 s request timeout: it fails, and the manager
        // that held it in memory is gone with the leadership.
        await waitFor("the record's write failed", async () => operator.lines.some((l) => l.msg === LOG_MESSAGES.statusPatchFailed && l.record === "failover"), 20_000, 100);
        apiserver("SIGCONT");
        resumed = true;
      } finally {
        if (!resumed) apiserver("SIGCONT");
      }

      const g = await waitFor(
        "the promotion recorded in both copies",
        async () => {
          const g = await group();
          const a = g.metadata.annotations ?? {};
          const done = g.status?.lastFailoverTarget === target && g.status.failoverIntent === undefined && a[ANNOTATIONS.lastFailoverTarget] === target && a[ANNOTATIONS.failoverIntent] === undefined;
          return done ? g : undefined;
        },
        40_000,
        200,
      );
      expect(g.status?.lastFailover).toBe(intent.startedAt);
      expect(g.metadata.annotations?.[ANNOTATIONS.lastFailover]).toBe(intent.startedAt.replace(/\.\d+Z$/, "Z"));
      expect(g.status?.promotionGtidExecuted).toBe(intent.gtidExecuted);
      expect(operator.lines.some((l) => l.msg === LOG_MESSAGES.failoverIntentSettled && l.site === target)).toBe(true);
      expect((await groupEvents(ns, GROUP)).some((e) => e.reason === "FailoverExecuted" && e.message.includes("recorded after an interruption"))).toBe(true);
      return target;
    });
    // The old primary returns: whatever it acknowledged and the new primary lacks is reported there, exactly.
    await sites.site("iad").restart({ readOnly: true });
    await accountForWrites(group, acked, "outage", sites.site(target), sites.site("iad"));

    await sampled(sites.sites, async () => {
      // Inside the cooldown the new primary fails too: the remaining candidate is not promoted.
      await sites.site(target).kill9();
      await waitFor("the cooldown blocks", async () => operator.lines.some((l) => l.msg === LOG_MESSAGES.failoverBlocked && l.reason === "Cooldown"), 20_000, 100);
      await new Promise((r) => setTimeout(r, 2_000));
      expect(await sites.site(other).isReadOnly()).toBe(true);
      expect((await group()).status?.lastFailoverTarget).toBe(target);
    });
  });
});
