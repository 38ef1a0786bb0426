import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MysqlFailoverGroup } from "../../shared/api/index.js";
import { asList, failoverGroup, namespaceWithCredentials, siteAt } from "../support/fixtures.js";
import { MariaDbSites } from "../../scripts/env/mariadb-sites.js";
import { waitFor } from "../../scripts/env/ports.js";
import { kubectl } from "../support/kubectl.js";
import { OperatorProcess } from "../support/operator.js";

/**
 * The on-call path end to end: `kubectl bloodraven failover <group> <site> --wait` through the
 * real kubectl, against the real operator doing the switchover on real MariaDB servers, and
 * `failover <group> --cancel --wait` withdrawing one that waits for a lagging target.
 */
const ns = `cli-live-${randomBytes(3).toString("hex")}`;

async function group(): Promise<MysqlFailoverGroup> {
  return JSON.parse((await kubectl(["get", "mfg", "orders", "-n", ns, "-o", "json"])).stdout) as MysqlFailoverGroup;
}

describe("kubectl bloodraven failover --wait against the real operator", () => {
  let sites: MariaDbSites;
  let operator: OperatorProcess;

  beforeAll(async () => {
    sites = await MariaDbSites.start({ names: ["iad", "pdx"], primary: "iad" });
    const items = [
      ...namespaceWithCredentials(ns),
      failoverGroup(ns, "orders", {
        pollInterval: "500ms",
        failureThreshold: 2,
        failoverCooldown: "1s",
        sites: sites.sites.map((s) => siteAt(s)),
      }),
    ];
    expect((await kubectl(["apply", "-f", "-"], { input: asList(items) })).code).toBe(0);
    operator = await OperatorProcess.start({ identity: "cli-live", args: [`--namespaces=${ns}`, "--no-leader-election"] });
    await waitFor("healthy", async () => (await group()).status?.activeSite === "iad", 20_000, 200);
    // The replica must have been seen replicating before it is a valid target.
    await waitFor("pdx replicating", async () => (await group()).status?.sites?.find((s) => s.name === "pdx")?.replicating === true, 10_000, 200);
  });

  afterAll(async () => {
    await operator?.stop("SIGKILL");
    await sites?.teardown();
    await kubectl(["delete", "namespace", ns, "--wait=false"]);
  });

  it("switches over and exits 0 with zero transactions lost", async () => {
    await sites.site("iad").injectWrite("before switchover", "app");
    const r = await kubectl(["bloodraven", "failover", "orders", "pdx", "-n", ns, "--wait", "--timeout", "60s"], { timeoutMs: 90_000 });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/succeeded after/);
    expect(r.stdout).toMatch(/transactions lost: 0/);
    expect(await sites.site("pdx").isReadOnly()).toBe(false);
    expect(await sites.site("iad").isReadOnly()).toBe(true);
    await waitFor("status pdx", async () => (await group()).status?.activeSite === "pdx", 10_000, 200);
  });

  it("a lagging target: exits 1 with LagTimeout and the source is writable again", async () => {
    const iad = sites.site("iad");
    await waitFor("iad replicates from pdx", async () => (await iad.replicaStatus())?.masterPort === sites.site("pdx").port, 15_000, 200);
    await waitFor("iad seen replicating", async () => (await group()).status?.sites?.find((s) => s.name === "iad")?.replicating === true, 10_000, 200);
    await iad.setReplicationDelay(60);
    await sites.site("pdx").injectWrite("not yet on iad", "app");
    await new Promise((r) => setTimeout(r, 1_500));
    const r = await kubectl(["bloodraven", "failover", "orders", "iad", "-n", ns, "--max-lag-wait", "2s", "--wait", "--timeout", "60s"], { timeoutMs: 90_000 });
    expect(r.code).toBe(1);
    expect(`${r.stdout}${r.stderr}`).toMatch(/LagTimeout/);
    await waitFor("pdx writable again", async () => !(await sites.site("pdx").isReadOnly()), 10_000, 100);
    await iad.setReplicationDelay(0);
  });

  it("--cancel withdraws a switchover waiting for a lagging target: the source is writable again", async () => {
    const iad = sites.site("iad");
    const pdx = sites.site("pdx");
    const none = await kubectl(["bloodraven", "failover", "orders", "-n", ns, "--cancel", "--yes"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no planned failover is pending or in progress/);
    await waitFor("iad seen replicating", async () => (await group()).status?.sites?.find((s) => s.name === "iad")?.replicating === true, 15_000, 200);
    await iad.setReplicationDelay(60);
    await pdx.injectWrite("not yet on iad", "app");
    await new Promise((r) => setTimeout(r, 1_500));
    const posted = await kubectl(["bloodraven", "failover", "orders", "iad", "-n", ns, "--max-lag-wait", "5m", "--yes"]);
    expect(posted.code, posted.stderr).toBe(0);
    await waitFor("WaitingForLag", async () => (await group()).status?.plannedFailover?.phase === "WaitingForLag", 20_000, 100);
    const r = await kubectl(["bloodraven", "failover", "orders", "-n", ns, "--cancel", "--yes", "--wait", "--timeout", "60s"], { timeoutMs: 90_000 });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/cancelled: the request was withdrawn/);
    const g = await group();
    expect(g.status?.plannedFailover).toMatchObject({ phase: "Failed", reason: "Cancelled", target: "iad" });
    expect(await pdx.isReadOnly()).toBe(false);
    expect(await iad.isReadOnly()).toBe(true);
    await iad.setReplicationDelay(0);
  });
});
