import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MysqlFailoverGroup } from "../../shared/api/index.js";
import { formatMaintenance } from "../../shared/maintenance.js";
import type { GroupStatusMessage } from "../../shared/status-message.js";
import { asList, failoverGroup, namespaceWithCredentials, siteAt } from "../support/fixtures.js";
import { MariaDbSites } from "../../scripts/env/mariadb-sites.js";
import { waitFor } from "../../scripts/env/ports.js";
import { kubectl } from "../support/kubectl.js";
import { groupEvents } from "../support/groups.js";
import { OperatorProcess } from "../support/operator.js";

/**
 * Maintenance mode with real servers: a group that never failed over (so the cooldown protects
 * nothing) keeps its dead primary while maintenance is on, also across an operator restart; turning
 * it off lets the failover proceed; an expired maintenance ends by itself.
 */
const ns = `maint-${randomBytes(3).toString("hex")}`;
const GROUP = "orders";
const MAINTENANCE = "bloodraven.shipstream.io/maintenance";

async function group(): Promise<MysqlFailoverGroup> {
  const r = await kubectl(["get", "mfg", GROUP, "-n", ns, "-o", "json"]);
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as MysqlFailoverGroup;
}

const condition = (g: MysqlFailoverGroup, type: string) => g.status?.conditions?.find((c) => c.type === type);

async function eventReasons(): Promise<string[]> {
  const r = await kubectl(["get", "events", "-n", ns, "-o", "json"]);
  return (JSON.parse(r.stdout) as { items: { reason: string }[] }).items.map((e) => e.reason);
}

async function setMaintenance(untilMs: number, reason: string): Promise<void> {
  const value = formatMaintenance({ until: new Date(Date.now() + untilMs).toISOString(), reason, by: "e2e" });
  const r = await kubectl(["annotate", "--overwrite", "mfg", GROUP, "-n", ns, `${MAINTENANCE}=${value}`]);
  expect(r.code).toBe(0);
}

describe("maintenance mode (real operator, API server and MariaDB)", () => {
  let sites: MariaDbSites;
  let operator: OperatorProcess;
  const start = () => OperatorProcess.start({ identity: `maint-${randomBytes(2).toString("hex")}`, args: [`--namespaces=${ns}`, "--no-leader-election"] });

  beforeAll(async () => {
    sites = await MariaDbSites.start({ names: ["iad", "pdx"], primary: "iad" });
    const items = [
      ...namespaceWithCredentials(ns),
      failoverGroup(ns, GROUP, {
        pollInterval: "500ms",
        failureThreshold: 2,
        failoverCooldown: "1s",
        sites: sites.sites.map((s) => siteAt(s)),
      }),
    ];
    const r = await kubectl(["apply", "-f", "-"], { input: asList(items) });
    expect(r.code).toBe(0);
    operator = await start();
    await waitFor("healthy", async () => (await group()).status?.activeSite === "iad", 20_000, 200);
  });

  afterAll(async () => {
    await operator?.stop("SIGKILL");
    await sites?.teardown();
    await kubectl(["delete", "namespace", ns, "--wait=false"]);
  });

  it("shows maintenance everywhere: condition, gauge, event, /status", async () => {
    await setMaintenance(10 * 60_000, "network work in iad");
    const g = await waitFor("Maintenance condition", async () => {
      const g = await group();
      return condition(g, "Maintenance")?.status === "True" ? g : undefined;
    }, 10_000, 200);
    expect(condition(g, "Maintenance")).toMatchObject({ reason: "MaintenanceActive" });
    expect(condition(g, "Maintenance")?.message).toContain("network work in iad");
    const metrics = await (await fetch(operator.url("metrics", "/metrics"))).text();
    expect(metrics).toContain(`bloodraven_maintenance_mode{namespace="${ns}",group="${GROUP}"} 1`);
    const status = (await (await fetch(operator.url("status", "/status"))).json()) as Record<string, GroupStatusMessage>;
    expect(status[`${ns}/${GROUP}`]?.maintenance).toMatchObject({ reason: "network work in iad", by: "e2e" });
    await waitFor("MaintenanceStarted", async () => (await eventReasons()).includes("MaintenanceStarted"), 10_000, 200);
  });

  it("keeps a dead primary dead: no promotion, and the status says why, also after an operator restart", async () => {
    await sites.site("iad").kill9();
    const g = await waitFor("NoPrimary", async () => {
      const g = await group();
      return condition(g, "Degraded")?.reason === "NoPrimary" ? g : undefined;
    }, 10_000, 200);
    expect(condition(g, "Degraded")?.message).toContain("maintenance");
    await waitFor("FailoverBlocked", async () => (await eventReasons()).includes("FailoverBlocked"), 10_000, 200);
    // The event and Ready say that maintenance is why, not only Degraded.
    const blocked = (await groupEvents(ns, GROUP)).filter((e) => e.reason === "FailoverBlocked").map((e) => e.message);
    expect(blocked.some((m) => m.includes("automatic failover is off (maintenance)"))).toBe(true);
    await waitFor("Ready names maintenance", async () => condition(await group(), "Ready")?.message.includes("(maintenance)") === true, 10_000, 200);
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await sites.site("pdx").isReadOnly()).toBe(true);

    await operator.stop("SIGKILL");
    operator = await start();
    await new Promise((r) => setTimeout(r, 4_000));
    expect(await sites.site("pdx").isReadOnly()).toBe(true);
    expect(condition(await group(), "Maintenance")?.status).toBe("True");
    expect(operator.logged("failover")).toHaveLength(0);
  });

  it("maintenance off: the failover proceeds at the next polls", async () => {
    const r = await kubectl(["annotate", "mfg", GROUP, "-n", ns, `${MAINTENANCE}-`]);
    expect(r.code).toBe(0);
    await waitFor("pdx promoted", async () => !(await sites.site("pdx").isReadOnly()), 10_000, 50);
    await waitFor("status pdx", async () => (await group()).status?.activeSite === "pdx", 10_000, 200);
    await waitFor("MaintenanceEnded", async () => (await eventReasons()).includes("MaintenanceEnded"), 10_000, 200);
    expect(condition(await group(), "Maintenance")).toMatchObject({ status: "False", reason: "NotInMaintenance" });
  });

  it("expires by itself", async () => {
    await setMaintenance(3_000, "short");
    await waitFor("active", async () => condition(await group(), "Maintenance")?.status === "True", 5_000, 100);
    const g = await waitFor("expired", async () => {
      const g = await group();
      return condition(g, "Maintenance")?.reason === "Expired" ? g : undefined;
    }, 10_000, 200);
    expect(condition(g, "Maintenance")?.status).toBe("False");
    const metrics = await (await fetch(operator.url("metrics", "/metrics"))).text();
    expect(metrics).toContain(`bloodraven_maintenance_mode{namespace="${ns}",group="${GROUP}"} 0`);
  });

  it("reports an unreadable annotation and keeps automatic failover on", async () => {
    const r = await kubectl(["annotate", "--overwrite", "mfg", GROUP, "-n", ns, `${MAINTENANCE}=until tomorrow`]);
    expect(r.code).toBe(0);
    const g = await waitFor("invalid reported", async () => {
      const g = await group();
      return condition(g, "Maintenance")?.reason === "InvalidAnnotation" ? g : undefined;
    }, 10_000, 200);
    expect(condition(g, "Maintenance")?.message).toMatch(/not JSON/);
    await waitFor("MaintenanceInvalid", async () => (await eventReasons()).includes("MaintenanceInvalid"), 10_000, 200);
  });
});
