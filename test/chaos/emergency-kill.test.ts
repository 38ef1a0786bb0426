import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANNOTATIONS } from "../../shared/names.js";
import { FAILPOINTS_ENV } from "../../operator/failpoints.js";
import { MariaDbSites } from "../../scripts/env/mariadb-sites.js";
import { waitFor } from "../../scripts/env/ports.js";
import { failoverGroup, namespaceWithCredentials, siteAt } from "../support/fixtures.js";
import { accountForWrites, applyAll, groupReader } from "../support/groups.js";
import { kubectl } from "../support/kubectl.js";
import { underLoad } from "../support/ledger.js";
import { OperatorProcess } from "../support/operator.js";

/**
 * The operator is SIGKILLed in the middle of an emergency promotion (a failpoint holds it there):
 * after the intent was recorded, and after the target was made writable. The restarted operator
 * settles the intent from the servers, and both copies of the failover record end up agreeing,
 * with exactly one writable site.
 */
const ns = `ekill-${randomBytes(3).toString("hex")}`;

describe("an operator killed inside an emergency promotion (real operator, API server and MariaDB)", () => {
  const started: MariaDbSites[] = [];
  let operator: OperatorProcess | undefined;
  const start = (env: NodeJS.ProcessEnv = {}) => OperatorProcess.start({ identity: `ekill-${randomBytes(2).toString("hex")}`, args: [`--namespaces=${ns}`, "--no-leader-election"], env });

  const group = groupReader(ns);

  beforeAll(async () => {
    await applyAll(namespaceWithCredentials(ns));
  });

  afterAll(async () => {
    await operator?.stop("SIGKILL");
    await Promise.all(started.map((s) => s.teardown()));
    await kubectl(["delete", "namespace", ns, "--wait=false"]);
  });

  it.each([
    { failpoint: "emergency.after.intent", targetWritableAtKill: false },
    { failpoint: "emergency.after.promote", targetWritableAtKill: true },
  ])("killed at $failpoint: the restarted operator settles the intent; one writable site, both copies agree", async ({ failpoint, targetWritableAtKill }) => {
    const name = failpoint.replaceAll(".", "-");
    const sites = await MariaDbSites.start({ names: ["iad", "pdx"], primary: "iad" });
    started.push(sites);
    const manifest = failoverGroup(ns, name, { pollInterval: "500ms", failureThreshold: 2, failoverCooldown: "10m", sites: sites.sites.map((s) => siteAt(s)) });
    await applyAll([manifest]);
    operator = await start({ [FAILPOINTS_ENV]: `${failpoint}=60s` });
    // lastKnownPrimary: the decision core stands behind iad (not only the first poll's verdict).
    await waitFor(`${name} healthy`, async () => (await group(name)).status?.lastKnownPrimary === "iad", 20_000, 200);

    const { acked } = await underLoad(sites.sites, name, async () => {
      await sites.site("iad").injectWrite("before", "app");
      await sites.site("pdx").waitForGtid(await sites.site("iad").gtidBinlogPos(), 10);
      await sites.site("iad").kill9();
      await waitFor("the intent recorded", async () => (await group(name)).status?.failoverIntent?.target === "pdx", 20_000, 50);
      await waitFor(`pdx ${targetWritableAtKill ? "writable" : "still read-only"} at the failpoint`, async () => (await sites.site("pdx").isReadOnly()) !== targetWritableAtKill, 10_000, 50);
      await new Promise((r) => setTimeout(r, 300));
      await operator?.stop("SIGKILL");
      expect(await sites.site("pdx").isReadOnly()).toBe(!targetWritableAtKill);

      operator = await start();
      const g = await waitFor(
        "pdx the recorded primary, the intent settled in both copies",
        async () => {
          const g = await group(name);
          const a = g.metadata.annotations ?? {};
          const at = g.status?.lastFailover ?? "";
          const agree = at !== "" && a[ANNOTATIONS.lastFailover] === at.replace(/\.\d+Z$/, "Z") && a[ANNOTATIONS.lastFailoverTarget] === "pdx";
          return g.status?.activeSite === "pdx" && g.status.lastFailoverTarget === "pdx" && g.status.failoverIntent === undefined && a[ANNOTATIONS.failoverIntent] === undefined && agree ? g : undefined;
        },
        30_000,
        200,
      );
      expect(await sites.site("pdx").isReadOnly()).toBe(false);
      expect(g.status?.promotionGtidExecuted).not.toBe("");
      return "pdx";
    });
    // The old primary returns: whatever it acknowledged and pdx lacks is reported there, exactly.
    await sites.site("iad").restart({ readOnly: true });
    await accountForWrites(() => group(name), acked, name, sites.site("pdx"), sites.site("iad"));
    await operator.stop("SIGKILL");
    operator = undefined;
  });

  it("a status wiped while the operator is down is restored from the annotations after a restart", async () => {
    const name = "emergency-after-promote";
    const before = await group(name);
    const at = before.metadata.annotations?.[ANNOTATIONS.lastFailover];
    expect(at).toBeDefined();
    const wiped = await kubectl(["patch", "mfg", name, "-n", ns, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status: { lastFailover: null, lastFailoverTarget: null } })]);
    expect(wiped.code, wiped.stderr).toBe(0);
    expect((await group(name)).status?.lastFailover).toBeUndefined();
    operator = await start();
    await waitFor("status restored", async () => {
      const g = await group(name);
      return g.status?.lastFailover === at && g.status?.lastFailoverTarget === "pdx";
    }, 20_000, 200);
  });
});
