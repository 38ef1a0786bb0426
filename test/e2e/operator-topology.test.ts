import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { MysqlFailoverGroup } from "../../shared/api/index.js";
import type { GroupStatusMessage } from "../../shared/status-message.js";
import { asList, failoverGroup, namespaceWithCredentials, siteAt } from "../support/fixtures.js";
import { MariaDbSites } from "../../scripts/env/mariadb-sites.js";
import { waitFor } from "../../scripts/env/ports.js";
import { kubectl } from "../support/kubectl.js";
import { OperatorProcess } from "../support/operator.js";

/**
 * The operator's observe-and-report loop against real MariaDB servers and the real API server:
 * status, conditions, events, metrics, the status API and stream, leader election, shutdown.
 */
const ns = `topology-${randomBytes(3).toString("hex")}`;
const GROUP = "orders";
const POLL_MS = 500;

async function group(): Promise<MysqlFailoverGroup> {
  const r = await kubectl(["get", "mfg", GROUP, "-n", ns, "-o", "json"]);
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as MysqlFailoverGroup;
}

async function eventReasons(): Promise<string[]> {
  const r = await kubectl(["get", "events", "-n", ns, "-o", "json"]);
  const list = JSON.parse(r.stdout) as { items: { reason: string; involvedObject: { name: string } }[] };
  return list.items.filter((e) => e.involvedObject.name === GROUP).map((e) => e.reason);
}

function condition(g: MysqlFailoverGroup, type: string) {
  return g.status?.conditions?.find((c) => c.type === type);
}

const siteState = (g: MysqlFailoverGroup, name: string) => g.status?.sites?.find((s) => s.name === name)?.state;

describe("operator topology loop (real operator, API server and MariaDB)", () => {
  let sites: MariaDbSites;
  let leader: OperatorProcess;
  let standby: OperatorProcess | undefined;

  beforeAll(async () => {
    sites = await MariaDbSites.start({ names: ["iad", "pdx", "sfo"], primary: "iad" });
    const site = (name: string, role: string) => siteAt(sites.site(name), { role });
    const manifest = [
      ...namespaceWithCredentials(ns),
      failoverGroup(ns, GROUP, {
        pollInterval: `${POLL_MS}ms`,
        failureThreshold: 2,
        recoveryThreshold: 2,
        sites: [site("iad", "primary-candidate"), site("pdx", "primary-candidate"), site("sfo", "read-only")],
      }),
    ];
    const applied = await kubectl(["apply", "-f", "-"], { input: asList(manifest) });
    expect(applied.stderr).toBe("");
    leader = await OperatorProcess.start({
      identity: "op-a",
      args: [`--namespaces=${ns}`, `--lease-namespace=${ns}`, "--lease-duration=3s", "--renew-deadline=2s", "--retry-period=500ms"],
    });
  });

  afterAll(async () => {
    await standby?.stop("SIGKILL");
    await leader?.stop("SIGKILL");
    await sites?.teardown();
    await kubectl(["delete", "namespace", ns, "--wait=false"]);
  });

  it("converges: active site, site states, GTIDs, replication, Ready", async () => {
    const pos = await sites.site("iad").injectWrite("converge");
    const g = await waitFor(
      "status to converge",
      async () => {
        const g = await group();
        const pdx = g.status?.sites?.find((s) => s.name === "pdx");
        return g.status?.activeSite === "iad" && condition(g, "Ready")?.status === "True" && pdx?.gtidExecuted === pos ? g : undefined;
      },
      20_000,
      200,
    );
    expect(g.status?.summary).toBe("1W/2RO/0X");
    expect(g.status?.observedGeneration).toBe(g.metadata.generation);
    expect(siteState(g, "iad")).toBe("writable");
    expect(g.status?.sites?.find((s) => s.name === "pdx")).toMatchObject({ state: "read-only", replicating: true, secondsBehindSource: 0, sourceHost: "127.0.0.1" });
    expect(condition(g, "Degraded")).toMatchObject({ status: "False", reason: "Healthy" });
    const printed = await kubectl(["get", "mfg", GROUP, "-n", ns]);
    expect(printed.stdout).toMatch(/orders\s+iad\s+True\s+1W\/2RO\/0X/);
  });

  it("serves /status and /active-site with the seeds' status codes", async () => {
    const status = (await (await fetch(leader.url("status", "/status"))).json()) as Record<string, GroupStatusMessage>;
    expect(status[`${ns}/${GROUP}`]).toMatchObject({ namespace: ns, group: GROUP, activeSite: "iad" });
    const ok = await fetch(leader.url("status", `/active-site?namespace=${ns}&group=${GROUP}`));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ namespace: ns, group: GROUP, activeSite: "iad", confirmedPrimary: expect.any(String), lastKnownPrimary: expect.any(String), observedAgoMs: expect.any(Number) });
    expect((await fetch(leader.url("status", `/active-site?namespace=${ns}`))).status).toBe(400);
    expect((await fetch(leader.url("status", `/active-site?namespace=${ns}&group=nope`))).status).toBe(404);
  });

  it("streams one WebSocket message per group per poll cycle", async () => {
    const ws = new WebSocket(leader.wsUrl());
    const messages: GroupStatusMessage[] = [];
    ws.on("message", (data: Buffer) => messages.push(JSON.parse(data.toString()) as GroupStatusMessage));
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    await new Promise((r) => setTimeout(r, 2_600));
    ws.close();
    const ours = messages.filter((m) => m.namespace === ns);
    // The first message is the snapshot on connect; then about one per 500 ms cycle.
    expect(ours.length).toBeGreaterThanOrEqual(4);
    expect(ours.length).toBeLessThanOrEqual(8);
    expect(ours.at(-1)?.sites.map((s) => s.name)).toEqual(["iad", "pdx", "sfo"]);
  });

  it("exports the seeds' metrics, labelled with namespace and group", async () => {
    const text = await (await fetch(leader.url("metrics", "/metrics"))).text();
    const labels = `namespace="${ns}",group="${GROUP}"`;
    expect(text).toContain(`bloodraven_site_state{${labels},site="iad",state="writable"} 1`);
    expect(text).toContain(`bloodraven_site_state{${labels},site="iad",state="read-only"} 0`);
    expect(text).toContain(`bloodraven_replication_running{${labels},site="pdx",thread="io"} 1`);
    expect(text).toContain(`bloodraven_replication_lag_seconds{${labels},site="pdx"} 0`);
    expect(text).toMatch(new RegExp(`bloodraven_poll_latency_seconds_count\\{${labels},site="sfo"\\} [1-9]`));
    expect(text).toMatch(new RegExp(`bloodraven_state_transitions_total\\{${labels},site="iad",from="unknown",to="writable"\\} 1`));
  });

  it("a killed replica turns unreachable after the threshold, then recovers", async () => {
    const pdx = sites.site("pdx");
    await pdx.kill9();
    const down = await waitFor("pdx unreachable", async () => {
      const g = await group();
      return siteState(g, "pdx") === "unreachable" ? g : undefined;
    }, 10_000, 200);
    expect(condition(down, "Degraded")).toMatchObject({ status: "True", reason: "Degraded" });
    expect(condition(down, "Ready")?.status).toBe("False");
    expect(down.status?.activeSite).toBe("iad");
    await waitFor("SiteUnreachable event", async () => (await eventReasons()).includes("SiteUnreachable"), 10_000, 200);

    await pdx.restart({ readOnly: true });
    const back = await waitFor("pdx back", async () => {
      const g = await group();
      return siteState(g, "pdx") === "read-only" && condition(g, "Ready")?.status === "True" ? g : undefined;
    }, 15_000, 200);
    expect(condition(back, "Degraded")?.status).toBe("False");
    await waitFor("SiteRecovered event", async () => (await eventReasons()).includes("SiteRecovered"), 10_000, 200);
  });

  it("keeps its poll period for the other sites while one server hangs (SIGSTOP)", async () => {
    const sfo = sites.site("sfo");
    const ws = new WebSocket(leader.wsUrl());
    const times: number[] = [];
    ws.on("message", (data: Buffer) => {
      const m = JSON.parse(data.toString()) as GroupStatusMessage;
      if (m.namespace === ns) times.push(Date.parse(m.pollTime));
    });
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    await sfo.pause();
    try {
      await new Promise((r) => setTimeout(r, 4_000));
      const g = await group();
      expect(siteState(g, "sfo")).toBe("unreachable");
      expect(siteState(g, "iad")).toBe("writable");
    } finally {
      sfo.resume();
      ws.close();
    }
    const gaps = times.slice(2).map((t, i) => t - (times[i + 1] ?? t));
    expect(gaps.length).toBeGreaterThanOrEqual(5);
    // A hung site may cost at most its deadline (poll interval - 200 ms), so cycles stay on
    // period; without deadlines one cycle would last as long as the server stays stopped.
    expect(Math.max(...gaps)).toBeLessThan(2 * POLL_MS + 100);
    await waitFor("sfo back", async () => siteState(await group(), "sfo") === "read-only", 10_000, 200);
  });

  it("detects split brain: activeSite empty, SplitBrainDetected, nothing changed by itself", async () => {
    const pdx = sites.site("pdx");
    await pdx.setReadOnly(false);
    try {
      const g = await waitFor("split brain", async () => {
        const g = await group();
        return condition(g, "Degraded")?.reason === "SplitBrain" ? g : undefined;
      }, 10_000, 200);
      expect(g.status?.activeSite).toBe("");
      const active = await fetch(leader.url("status", `/active-site?namespace=${ns}&group=${GROUP}`));
      expect(await active.json()).toMatchObject({ activeSite: "" });
      await waitFor("SplitBrainDetected event", async () => (await eventReasons()).includes("SplitBrainDetected"), 10_000, 200);
      expect(await pdx.isReadOnly()).toBe(false);
      expect(await sites.site("iad").isReadOnly()).toBe(false);
    } finally {
      await pdx.setReadOnly(true);
    }
    await waitFor("healthy again", async () => (await group()).status?.activeSite === "iad", 10_000, 200);
  });

  it("elects exactly one leader; a standby takes over within the lease after the leader dies", async () => {
    standby = await OperatorProcess.start({
      identity: "op-b",
      args: [`--namespaces=${ns}`, `--lease-namespace=${ns}`, "--lease-duration=3s", "--renew-deadline=2s", "--retry-period=500ms"],
    });
    await waitFor("standby informer synced", async () => (await fetch(standby!.url("health", "/readyz"))).ok, 15_000, 200);
    expect((await fetch(standby.url("status", `/active-site?namespace=${ns}&group=${GROUP}`))).status).toBe(503);
    const lease = JSON.parse((await kubectl(["get", "lease", "bloodraven-leader", "-n", ns, "-o", "json"])).stdout) as { spec: { holderIdentity: string; renewTime: string } };
    expect(lease.spec.holderIdentity).toBe("op-a");
    expect(lease.spec.renewTime).toMatch(/\.\d{6}Z$/);

    const readyBefore = condition(await group(), "Ready");
    expect(readyBefore?.status).toBe("True");
    const killed = Date.now();
    await leader.stop("SIGKILL");
    // 503 until the new leader has seen every site; its first 200 already names the primary.
    const codes = new Set<number>();
    const active = await waitFor(
      "standby leads",
      async () => {
        const res = await fetch(standby!.url("status", `/active-site?namespace=${ns}&group=${GROUP}`));
        codes.add(res.status);
        return res.status === 200 ? ((await res.json()) as { activeSite: string }) : undefined;
      },
      10_000,
      50,
    );
    // Lease duration 3 s + retry period 0.5 s, plus the polls that debounce every site.
    expect(Date.now() - killed).toBeLessThan(5_000);
    expect(active.activeSite).toBe("iad");
    expect([...codes].sort()).toEqual([200, 503]);
    // A leader change moves no condition whose status did not change.
    await new Promise((r) => setTimeout(r, 4 * POLL_MS));
    expect(condition(await group(), "Ready")).toEqual(readyBefore);
  });

  it("stops on SIGTERM within 10 s with exit code 0 and hands the lease over", async () => {
    const op = standby!;
    const { code, ms } = await op.stop("SIGTERM");
    expect(code).toBe(0);
    expect(ms).toBeLessThan(10_000);
    expect(op.logged("operator stopped")[0]).toMatchObject({ clean: true });
    const lease = JSON.parse((await kubectl(["get", "lease", "bloodraven-leader", "-n", ns, "-o", "json"])).stdout) as { spec: { holderIdentity?: string } };
    expect(lease.spec.holderIdentity ?? "").toBe("");
    standby = undefined;
  });
});
