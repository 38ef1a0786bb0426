import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MariaDbSites } from "../../scripts/env/mariadb-sites.js";
import { freePort, waitFor } from "../../scripts/env/ports.js";
import type { CloneJob } from "../../shared/agent/clone.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { AgentProcess } from "../support/agent.js";
import { agentCloneJob } from "../support/clones.js";

/**
 * The agents' clone protocol between two real MariaDB servers, with the agents as processes and
 * the recipient's server restarted by a supervisor that runs apply-clone.sh first (as systemd
 * would beside an external site). No operator: the test plays its part (POST /v1/clone, then
 * replication from the donor).
 */
const TOKEN = randomBytes(16).toString("hex");
const NOWHERE = "http://127.0.0.1:9";

async function post(agent: AgentProcess, body: unknown, token = TOKEN): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${agent.url}/v1/clone`, { method: "POST", headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" }, body: JSON.stringify(body), signal: AbortSignal.timeout(5_000) });
  return { status: res.status, body: await res.json() };
}

const job = (agent: AgentProcess): Promise<CloneJob | null> => agentCloneJob(agent.url, TOKEN);

async function finished(agent: AgentProcess, id: string, timeoutMs: number): Promise<CloneJob> {
  return waitFor(
    `clone ${id} to finish`,
    async () => {
      const j = await job(agent);
      return j?.id === id && (j.phase === "Ready" || j.phase === "Failed") ? j : undefined;
    },
    timeoutMs,
    250,
  ).catch((err: unknown) => {
    throw new Error(`${err instanceof Error ? err.message : String(err)}\nrecipient agent:\n${agent.dump()}`);
  });
}

describe("clone between two agents (real MariaDB, mariadb-backup, supervised restart)", () => {
  let sites: MariaDbSites;
  let iad: AgentProcess;
  let pdx: AgentProcess;

  beforeAll(async () => {
    sites = await MariaDbSites.start({ names: ["iad", "pdx"], primary: "iad" });
    sites.site("pdx").superviseRestarts();
    const [iadPort, pdxPort] = [await freePort(), await freePort()];
    const common = { group: "orders", namespace: "clone", operatorUrl: NOWHERE, clone: { token: TOKEN } };
    [iad, pdx] = await Promise.all([
      AgentProcess.start({ ...common, site: "iad", server: sites.site("iad"), port: iadPort, peers: { pdx: `http://127.0.0.1:${pdxPort}` } }),
      AgentProcess.start({ ...common, site: "pdx", server: sites.site("pdx"), port: pdxPort, peers: { iad: `http://127.0.0.1:${iadPort}` } }),
    ]);
    // Both fence their servers at start (no operator answers); the test writes as admin anyway.
    await Promise.all([iad.waitForLog(LOG_MESSAGES.safetyNetFenced, 10_000), pdx.waitForLog(LOG_MESSAGES.safetyNetFenced, 10_000)]);
  });

  afterAll(async () => {
    await Promise.all([iad?.stop("SIGKILL"), pdx?.stop("SIGKILL")]);
    await sites?.teardown();
  });

  it("refuses the clone endpoints without the token, and bad requests with a reason", async () => {
    expect((await fetch(`${pdx.url}/v1/clone`)).status).toBe(401);
    expect((await fetch(`${iad.url}/v1/clone/backup`, { headers: { Authorization: "Bearer wrong-token-of-some-length" } })).status).toBe(401);
    expect((await post(pdx, { id: "x" }, "nope")).status).toBe(401);
    const bad = await post(pdx, { id: "Not_An_Id", donor: { site: "iad", url: iad.url } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain("id must be");
    const noDonor = await post(pdx, { id: "c1", donor: { site: "iad", url: "ftp://x" } });
    expect(noDonor.status).toBe(400);
    expect(JSON.stringify(noDonor.body)).toContain("donor.url");
    expect((await fetch(`${pdx.url}/v1/clone`, { method: "DELETE", headers: { Authorization: `Bearer ${TOKEN}` } })).status).toBe(405);
    expect(await job(pdx)).toBeNull();
  });

  it("replaces a divergent replica's data with the donor's, positions it, and it replicates on", async () => {
    const primary = sites.site("iad");
    const replica = sites.site("pdx");
    for (let i = 0; i < 20; i++) await primary.injectWrite(`before-${i}`);
    // pdx diverges: replication stopped, one write of its own.
    await replica.stopReplication();
    await replica.injectWrite("errant");
    const errant = await replica.gtidBinlogPos();
    expect(errant).toContain("0-2-");

    const accepted = await post(pdx, { id: "clone-1", donor: { site: "iad", url: iad.url } });
    expect(accepted.status).toBe(202);
    // The same id again is the same job, not a second one.
    expect((await post(pdx, { id: "clone-1", donor: { site: "iad", url: iad.url } })).status).toBe(200);
    const done = await finished(pdx, "clone-1", 120_000);
    expect(done.error).toBeUndefined();
    expect(done.phase).toBe("Ready");
    expect(done.bytes).toBeGreaterThan(1_000_000);

    const donorPos = await primary.gtidBinlogPos();
    expect(done.gtid).toBe(donorPos);
    expect(await replica.gtidBinlogPos()).toBe(donorPos);
    expect(await replica.isReadOnly()).toBe(true);
    const notes = (await replica.query<{ note: string }[]>("SELECT note FROM bloodraven_test.writes ORDER BY id")).map((r) => r.note);
    expect(notes).toEqual(Array.from({ length: 20 }, (_, i) => `before-${i}`));
    expect(existsSync(`${replica.dir}/data.clone`)).toBe(false);
    expect(existsSync(`${replica.dir}/data.replaced`)).toBe(false);

    // Replication from the donor picks up at the copy's position.
    await replica.replicateFrom(primary);
    const after = await primary.injectWrite("after-clone");
    expect(await replica.waitForGtid(after, 15)).toBe(true);
    expect((await replica.query<{ n: number }[]>("SELECT COUNT(*) AS n FROM bloodraven_test.writes"))[0]?.n).toBe(21);
    expect(pdx.logged(LOG_MESSAGES.cloneReady)).toHaveLength(1);
    expect(iad.logged(LOG_MESSAGES.cloneDonorFinished)).toHaveLength(1);
  }, 180_000);

  it("never clones over a writable server", async () => {
    const replica = sites.site("pdx");
    await replica.setReadOnly(false);
    try {
      expect((await post(pdx, { id: "clone-2", donor: { site: "iad", url: iad.url } })).status).toBe(202);
      const failed = await finished(pdx, "clone-2", 30_000);
      expect(failed.phase).toBe("Failed");
      expect(failed.error).toContain("writable");
      expect(iad.logged(LOG_MESSAGES.cloneDonorStarted)).toHaveLength(1);
    } finally {
      await replica.setReadOnly(true);
    }
  });
});
