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
import { accountForWrites, applyAll, groupReader } from "../support/groups.js";
import { kubectl, testKubeconfig } from "../support/kubectl.js";
import { sampled, underLoad } from "../support/ledger.js";
import { OperatorProcess } from "../support/operator.js";

/**
 * The API server stops answering in the middle of an emergency failover, right after the operator
 * recorded its intent. The operator can no longer renew its Lease: the leadership guard refuses
 * the promotion's next statement (a leader that cannot prove its Lease must not change a server),
 * or the lost Lease stops the worker first, and the target stays read-only through the outage. Once the API server is back the operator
 * leads again, drops the intent (its target never became writable), fails over again, and records
 * that promotion in both copies; the cooldown then holds.
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

  it("no promotion while the Lease cannot be proven; the failover after the outage is recorded in both copies, and the cooldown holds", async () => {
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
        // The failpoint ends with the API server gone, so the Lease cannot be renewed. Either the
        // guard refuses the promotion's next statement (the Lease may be lost within its margin),
        // or, when the pause ends after the renew deadline (the last renewal's phase and the
        // machine's load decide), leadership is lost first and the worker stops before any
        // statement. Both keep the target read-only, which is what is checked here; the guard's
        // own refusal is pinned by test/e2e/leadership-guard.test.ts.
        await waitFor("leadership lost", async () => operator.lines.some((l) => l.msg === LOG_MESSAGES.leaderLost), 20_000, 100);
        expect(await sites.site(target).isReadOnly(), `${target} made writable without a provable Lease`).toBe(true);
        expect(await sites.site(other).isReadOnly()).toBe(true);
        apiserver("SIGCONT");
        resumed = true;
      } finally {
        if (!resumed) apiserver("SIGCONT");
      }

      const g = await waitFor(
        "a promotion after the outage, recorded in both copies",
        async () => {
          const g = await group();
          const a = g.metadata.annotations ?? {};
          const t = g.status?.lastFailoverTarget;
          const done = t !== undefined && t !== "iad" && g.status?.failoverIntent === undefined && a[ANNOTATIONS.lastFailoverTarget] === t && a[ANNOTATIONS.failoverIntent] === undefined;
          return done ? g : undefined;
        },
        40_000,
        200,
      );
      target = g.status?.lastFailoverTarget ?? "";
      other = target === "pdx" ? "lax" : "pdx";
      expect(Date.parse(g.status?.lastFailover ?? "")).toBeGreaterThan(Date.parse(intent.startedAt));
      expect(g.metadata.annotations?.[ANNOTATIONS.lastFailover]).toBe((g.status?.lastFailover ?? "").replace(/\.\d+Z$/, "Z"));
      // The intent of the refused promotion was dropped: its target never became writable.
      expect(operator.lines.some((l) => l.msg === LOG_MESSAGES.failoverIntentDropped && l.site === intent.target)).toBe(true);
      expect(await sites.site(target).isReadOnly()).toBe(false);
      return target;
    });
    // The old primary returns: whatever it acknowledged and the new primary lacks is reported there, exactly.
    await sites.site("iad").restart({ readOnly: true });
    await accountForWrites(group, acked, "outage", sites.site(target), sites.site("iad"));

    // The operator must see the old primary back read-only first: until then it may be writable,
    // and a promotion would be blocked for that reason (OtherWritable), not for the cooldown.
    await waitFor("iad seen read-only", async () => (await group()).status?.sites?.find((s) => s.name === "iad")?.state === "read-only", 30_000, 200);
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
