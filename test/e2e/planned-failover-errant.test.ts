import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MariaDbSites } from "../../scripts/env/mariadb-sites.js";
import { kubectl } from "../support/kubectl.js";
import { OperatorProcess } from "../support/operator.js";
import { plannedGroup } from "../support/planned.js";
import { failoverGroup, namespaceWithCredentials, siteAt } from "../support/fixtures.js";
import { applyAll } from "../support/groups.js";

/**
 * A planned failover to a target that holds a transaction the primary never had (an errant
 * write): zero RPO proves the target holds the source's transactions, not that it holds nothing
 * else. Validating refuses it, naming the errant GTIDs, unless the request accepts them.
 */
const ns = `errant-${randomBytes(3).toString("hex")}`;
const GROUP = "orders";
const { group, request, finished, settled } = plannedGroup(ns, GROUP, 1_000);

describe("planned failover to a target with an errant transaction (real operator, API server and MariaDB)", () => {
  let sites: MariaDbSites;
  let operator: OperatorProcess;

  beforeAll(async () => {
    sites = await MariaDbSites.start({ names: ["iad", "pdx"], primary: "iad" });
    await applyAll([
      ...namespaceWithCredentials(ns),
      failoverGroup(ns, GROUP, { pollInterval: "500ms", failureThreshold: 2, failoverCooldown: "1s", sites: sites.sites.map((s) => siteAt(s)) }),
    ]);
    operator = await OperatorProcess.start({ identity: "errant-op", args: [`--namespaces=${ns}`, "--no-leader-election"] });
    await settled("iad");
  });

  afterAll(async () => {
    await operator?.stop("SIGKILL");
    await sites?.teardown();
    await kubectl(["delete", "namespace", ns, "--wait=false"]);
  });

  it("is rejected with the errant GTID named, and goes through only with acceptErrant=true", async () => {
    const [iad, pdx] = [sites.site("iad"), sites.site("pdx")];
    await iad.injectWrite("before");
    await pdx.waitForGtid(await iad.gtidBinlogPos(), 10);
    // As root, which read_only does not stop: one transaction only pdx has, under its server_id 2.
    const errant = (await pdx.injectWrite("errant", "admin")).split(",").find((g) => g.startsWith("0-2-"));
    expect(errant).toBeDefined();

    await request("pdx", "errant-1");
    const rejected = await finished("errant-1");
    expect(rejected.status?.plannedFailover).toMatchObject({ phase: "Failed", reason: "TargetHasErrantTransactions" });
    expect(rejected.status?.plannedFailover?.message).toContain(`pdx holds 1 transaction(s) the primary iad never had (${errant})`);
    expect(await iad.isReadOnly()).toBe(false);
    expect(await pdx.isReadOnly()).toBe(true);

    const r = await kubectl(["bloodraven", "failover", GROUP, "pdx", "--accept-errant", "--wait", "--timeout", "60s", "-n", ns], { timeoutMs: 90_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const g = await group();
    expect(g.status?.plannedFailover).toMatchObject({ phase: "Succeeded", target: "pdx", acceptErrant: true, transactionsLost: 0 });
    expect(await pdx.isReadOnly()).toBe(false);
    expect(await iad.isReadOnly()).toBe(true);
  });
});
