import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MariaDbSites, TEST_USERS, type MariaDbSite } from "../../scripts/env/mariadb-sites.js";
import { freePort, waitFor } from "../../scripts/env/ports.js";
import { DONOR_RETRY_AFTER_S, type CloneJob } from "../../shared/agent/clone.js";
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

/** Sets the operator account's password on one server only (not written to its binary log). */
async function setOperatorPassword(server: MariaDbSite, password: string): Promise<void> {
  const conn = await server.connect();
  try {
    await conn.query("SET SESSION sql_log_bin = 0");
    await conn.query(`ALTER USER '${TEST_USERS.operator.user}'@'%' IDENTIFIED BY '${password}'`);
  } finally {
    conn.destroy();
  }
}

describe("clone between two agents (real MariaDB, mariadb-backup, supervised restart)", () => {
  let sites: MariaDbSites;
  let iad: AgentProcess;
  let pdx: AgentProcess;
  /** Each agent's password file: written by the test as a kubelet writes a mounted Secret's. */
  const secrets = mkdtempSync(join(tmpdir(), "bloodraven-agent-password-"));
  const passwordFile = (site: string): string => join(secrets, site);

  beforeAll(async () => {
    sites = await MariaDbSites.start({ names: ["iad", "pdx"], primary: "iad" });
    sites.site("pdx").superviseRestarts();
    const [iadPort, pdxPort] = [await freePort(), await freePort()];
    for (const site of ["iad", "pdx"]) writeFileSync(passwordFile(site), `${TEST_USERS.operator.password}\n`);
    const common = { group: "orders", namespace: "clone", operatorUrl: NOWHERE, clone: { token: TOKEN } };
    const fromFile = (site: string) => ({ BLOODRAVEN_MYSQL_PASSWORD: undefined, BLOODRAVEN_MYSQL_PASSWORD_FILE: passwordFile(site) });
    [iad, pdx] = await Promise.all([
      AgentProcess.start({ ...common, site: "iad", server: sites.site("iad"), port: iadPort, peers: { pdx: `http://127.0.0.1:${pdxPort}` }, env: fromFile("iad") }),
      AgentProcess.start({ ...common, site: "pdx", server: sites.site("pdx"), port: pdxPort, peers: { iad: `http://127.0.0.1:${iadPort}` }, env: fromFile("pdx") }),
    ]);
    // Both fence their servers at start (no operator answers); the test writes as admin anyway.
    await Promise.all([iad.waitForLog(LOG_MESSAGES.safetyNetFenced, 10_000), pdx.waitForLog(LOG_MESSAGES.safetyNetFenced, 10_000)]);
  });

  afterAll(async () => {
    await Promise.all([iad?.stop("SIGKILL"), pdx?.stop("SIGKILL")]);
    await sites?.teardown();
    rmSync(secrets, { recursive: true, force: true });
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

  it("makes the recipient wait while the donor's server refuses its agent's password, and clones once the donor's password file holds the rotated one", async () => {
    const rotated = `rotated-${randomBytes(6).toString("hex")}`;
    // As after a rotation: both servers have the new password, the recipient's file too (its pod
    // is new), the donor's file not yet (its kubelet has not refreshed the mounted Secret).
    await Promise.all([setOperatorPassword(sites.site("iad"), rotated), setOperatorPassword(sites.site("pdx"), rotated)]);
    writeFileSync(passwordFile("pdx"), `${rotated}\n`);
    try {
      const refused = await fetch(`${iad.url}/v1/clone/backup`, { headers: { Authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(10_000) });
      expect(refused.status).toBe(503);
      expect(refused.headers.get("retry-after")).toBe(String(DONOR_RETRY_AFTER_S));
      expect(((await refused.json()) as { error: string }).error).toContain("refuses its agent's password");

      expect((await post(pdx, { id: "clone-3", donor: { site: "iad", url: iad.url } })).status).toBe(202);
      await sleep(2 * DONOR_RETRY_AFTER_S * 1000);
      expect(await job(pdx)).toMatchObject({ id: "clone-3", phase: "Cloning", bytes: 0 });
      expect(iad.logged(LOG_MESSAGES.cloneDonorNotReady).length).toBeGreaterThanOrEqual(2);

      writeFileSync(passwordFile("iad"), `${rotated}\n`);
      const done = await finished(pdx, "clone-3", 120_000);
      expect(done.error).toBeUndefined();
      expect(done.phase).toBe("Ready");
      expect(done.gtid).toBe(await sites.site("iad").gtidBinlogPos());
    } finally {
      await Promise.all([setOperatorPassword(sites.site("iad"), TEST_USERS.operator.password), setOperatorPassword(sites.site("pdx"), TEST_USERS.operator.password)]);
      for (const site of ["iad", "pdx"]) writeFileSync(passwordFile(site), `${TEST_USERS.operator.password}\n`);
    }
  }, 180_000);
});
