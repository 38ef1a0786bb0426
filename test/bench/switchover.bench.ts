/**
 * npm run bench:switchover: planned failovers (switchovers) back and forth iad↔pdx under about
 * 500 writes/s, with the real operator, API server and MariaDB (pollInterval 500ms, cooldown 1s).
 *
 * The load is several writers on the application account, each with its own connection to the
 * site that the operator's `/active-site` names; on any error a writer drops its connection,
 * re-reads `/active-site` and reconnects. Per switchover:
 *   window     the write unavailability such a client sees: last acknowledged write on the old
 *              primary -> first acknowledged write on the new one; split into the part until
 *              /active-site first names the new primary and the part after (reconnect, first write)
 *   duration   the switchover, request picked up -> Succeeded (status.plannedFailover startTime
 *              -> completionTime, as bloodraven_planned_failover_duration_seconds observes it)
 * Targets: window p50 <= 250 ms, p99 <= 1 s. Exits 1 when one is missed.
 *
 * Then, with the operator stopped, the floor on the same servers and the same load: a minimal
 * hand-written switchover (fence the source, kill its application sessions, wait for the target
 * to reach the source's GTID position, stop and reset the target's replication, lift its fence)
 * with writers that already know where to go (they turn to the target at the fence). This is a
 * baseline, not product code: it checks nothing. The report prints the ratio of the operator's
 * window to the floor's; targets p50 <= 4x, p99 <= 8x.
 */
import type { ChildProcess } from "node:child_process";
import type mysql from "mysql2/promise";
import { ControlPlane } from "../../scripts/env/control-plane.js";
import { MariaDbSites, type MariaDbSite } from "../../scripts/env/mariadb-sites.js";
import { waitFor } from "../../scripts/env/ports.js";
import { installCrds, planeKubectl, startBenchOperator } from "./bench-operator.js";
import { activeSiteOf, writers } from "./site-writers.js";
import { machineInfo, percentiles, stopChild } from "./bench-util.js";
import { asList, failoverGroup, namespaceWithCredentials, siteAt } from "../support/fixtures.js";

const ROUNDS = Number(process.env.SWITCHOVER_ROUNDS ?? 20);
const WRITERS = Number(process.env.SWITCHOVER_WRITERS ?? 4);
const TARGET_RATE = Number(process.env.SWITCHOVER_RATE ?? 500);
const DRAIN_TIMEOUT = process.env.SWITCHOVER_DRAIN_TIMEOUT ?? "1s";
const TARGETS = { window_p50_ms_max: 250, window_p99_ms_max: 1_000, ratio_to_floor_p50_max: 4, ratio_to_floor_p99_max: 8 };
const NS = "bench";
const GROUP = "switchover";
const REQUEST = "bloodraven.shipstream.io/planned-failover";
const REQUEST_ID = "bloodraven.shipstream.io/planned-failover-request-id";
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface PlannedBlock {
  requestId?: string;
  phase?: string;
  reason?: string;
  startTime?: string;
  completionTime?: string;
  transactionsLost?: number;
}

interface GroupStatus {
  activeSite?: string;
  lastFailover?: string;
  sites?: { name: string; replicating?: boolean; recoveryState?: string }[];
  plannedFailover?: PlannedBlock;
}

async function main(): Promise<void> {
  const plane = await ControlPlane.start({ controllerManager: false });
  const kubectl = planeKubectl(plane);
  let operator: ChildProcess | undefined;
  let sites: MariaDbSites | undefined;
  try {
    await installCrds(kubectl);
    sites = await MariaDbSites.start({ names: ["iad", "pdx"], primary: "iad" });
    await sites.site("iad").injectWrite("bench-setup"); // creates bloodraven_test.writes
    await kubectl(
      ["apply", "-f", "-"],
      asList([
        ...namespaceWithCredentials(NS),
        failoverGroup(NS, GROUP, {
          pollInterval: "500ms",
          failoverCooldown: "1s",
          plannedFailover: { maxLagWait: "20s", drainTimeout: DRAIN_TIMEOUT },
          sites: sites.sites.map((s) => siteAt(s)),
        }),
      ]),
    );
    const bench = await startBenchOperator(plane, NS);
    operator = bench.child;
    const status = async (): Promise<GroupStatus> => JSON.parse((await kubectl(["get", "mfg", GROUP, "-n", NS, "-o", "jsonpath={.status}"])) || "{}") as GroupStatus;
    const settled = async (primary: string): Promise<void> => {
      const s = await waitFor(
        `${primary} primary, group converged`,
        async () => {
          const s = await status();
          return s.activeSite === primary && (s.sites ?? []).length === 2 && (s.sites ?? []).every((x) => !x.recoveryState && (x.name === primary || x.replicating === true)) ? s : undefined;
        },
        60_000,
        100,
      );
      const wait = Date.parse(s.lastFailover ?? "") + 1_150 - Date.now();
      if (wait > 0) await sleep(wait);
    };
    await settled("iad");

    const load = writers(activeSiteOf(sites, bench.url("status", `/active-site?namespace=${NS}&group=${GROUP}`)), WRITERS, TARGET_RATE);
    await sleep(2_000);
    const loadStarted = performance.now();
    const rounds: { from: string; to: string; requestedAt: number; duration_ms: number; window_ms: number; to_active_site_ms: number }[] = [];
    let primary = "iad";
    for (let i = 0; i < ROUNDS; i++) {
      const target = primary === "iad" ? "pdx" : "iad";
      await settled(primary);
      await sleep(300); // steady writes on the old primary before the request
      const requestedAt = performance.now();
      const id = `bench-${i}`;
      await kubectl(["annotate", "--overwrite", "mfg", GROUP, "-n", NS, `${REQUEST}=${target}`, `${REQUEST_ID}=${id}`]);
      const block = await waitFor(
        `switchover ${id} finished`,
        async () => {
          const b = (await status()).plannedFailover;
          return b?.requestId === id && (b.phase === "Succeeded" || b.phase === "Failed") ? b : undefined;
        },
        60_000,
        100,
      );
      if (block.phase !== "Succeeded" || block.transactionsLost !== 0) throw new Error(`switchover ${id} did not succeed: ${JSON.stringify(block)}`);
      // The first acknowledged write on the new primary after the request, and the last one on the old primary before it.
      const first = await waitFor(`a write acknowledged on ${target}`, async () => load.acks.find((a) => a.at > requestedAt && a.site === target), 30_000, 20);
      const last = load.acks.filter((a) => a.at < first.at && a.site === primary).pop();
      if (!last) throw new Error(`no write acknowledged on ${primary} before ${target}`);
      const named = load.named.find((a) => a.at > requestedAt && a.site === target)?.at ?? first.at;
      rounds.push({ from: primary, to: target, requestedAt, duration_ms: Date.parse(block.completionTime ?? "") - Date.parse(block.startTime ?? ""), window_ms: first.at - last.at, to_active_site_ms: named - last.at });
      primary = target;
    }
    await sleep(500);
    const loadMs = performance.now() - loadStarted;
    await load.stop();
    const acked = load.acks.filter((a) => a.at >= loadStarted && a.at <= loadStarted + loadMs).length;

    await stopChild(operator);
    operator = undefined;
    const floor = percentiles(await floorWindows(sites, primary));

    const windows = percentiles(rounds.map((r) => r.window_ms));
    const toActiveSite = percentiles(rounds.map((r) => r.to_active_site_ms));
    const unavailableMs = rounds.reduce((sum, r) => sum + r.window_ms, 0);
    const durations = percentiles(rounds.map((r) => r.duration_ms));
    const ratio = { p50: windows.p50_ms / floor.p50_ms, p99: windows.p99_ms / floor.p99_ms };
    const checks = {
      window_p50_ok: windows.p50_ms <= TARGETS.window_p50_ms_max,
      window_p99_ok: windows.p99_ms <= TARGETS.window_p99_ms_max,
      ratio_p50_ok: ratio.p50 <= TARGETS.ratio_to_floor_p50_max,
      ratio_p99_ok: ratio.p99 <= TARGETS.ratio_to_floor_p99_max,
    };
    const pass = Object.values(checks).every(Boolean);
    console.log(
      JSON.stringify(
        {
          benchmark: "switchover",
          machine: machineInfo(),
          settings: { pollInterval: "500ms", failoverCooldown: "1s", drainTimeout: DRAIN_TIMEOUT, writers: WRITERS, target_writes_per_s: TARGET_RATE },
          rounds: rounds.length,
          achieved_writes_per_s: Math.round((acked / loadMs) * 1000),
          achieved_writes_per_s_outside_windows: Math.round((acked / (loadMs - unavailableMs)) * 1000),
          acknowledged_writes: load.acks.length,
          write_errors: load.errors(),
          window: windows,
          floor_window: floor,
          window_to_floor_ratio: { p50: Number(ratio.p50.toFixed(1)), p99: Number(ratio.p99.toFixed(1)) },
          window_until_active_site_names_new_primary: toActiveSite,
          duration: durations,
          windows_ms: rounds.map((r) => Math.round(r.window_ms)),
          targets: TARGETS,
          checks,
          pass,
        },
        null,
        2,
      ),
    );
    process.exitCode = pass ? 0 : 1;
  } finally {
    await stopChild(operator);
    await sites?.teardown();
    await plane.stop();
  }
}

/**
 * The floor: ROUNDS minimal switchovers by hand on the same servers (operator stopped), under the
 * same writers, who turn to the target the moment the source is fenced. Returns each round's
 * window (last write acknowledged on the source -> first on the target).
 */
async function floorWindows(sites: MariaDbSites, first: string): Promise<number[]> {
  let current = sites.site(first);
  const load = writers(async () => current, WRITERS, TARGET_RATE);
  const admin = new Map<string, mysql.Connection>();
  for (const s of sites.sites) admin.set(s.name, await s.connect("admin"));
  const sql = async (site: MariaDbSite, text: string): Promise<mysql.RowDataPacket[]> => (await (admin.get(site.name) as mysql.Connection).query({ sql: text, timeout: 10_000 }))[0] as mysql.RowDataPacket[];
  const windows: number[] = [];
  try {
    await sleep(1_000);
    for (let i = 0; i < ROUNDS; i++) {
      const source = current;
      const target = sites.sites.find((s) => s !== source) as MariaDbSite;
      await sleep(300); // steady writes on the source first
      const fencedAt = performance.now();
      await sql(source, "SET GLOBAL read_only = ON");
      current = target;
      for (const row of await sql(source, "SELECT id FROM information_schema.processlist WHERE user = 'app'")) await sql(source, `KILL CONNECTION ${Number(row.id)}`).catch(() => undefined);
      const gtid = String((await sql(source, "SELECT @@gtid_binlog_pos AS g"))[0]?.g ?? "");
      await sql(target, `SELECT MASTER_GTID_WAIT('${gtid}', 10) AS w`);
      await sql(target, "STOP SLAVE");
      await sql(target, "RESET SLAVE ALL");
      await sql(target, "SET GLOBAL read_only = OFF");
      const firstAck = await waitFor(`a write acknowledged on ${target.name}`, async () => load.acks.find((a) => a.at > fencedAt && a.site === target.name), 30_000, 5);
      const lastAck = load.acks.filter((a) => a.at < firstAck.at && a.site === source.name).pop();
      if (!lastAck) throw new Error(`floor round ${i}: no write acknowledged on ${source.name} before ${target.name}`);
      windows.push(firstAck.at - lastAck.at);
      // The old source follows the new primary before the next round.
      await source.replicateFrom(target);
      await waitFor(`${source.name} replicating`, async () => (await source.replicaStatus())?.sqlRunning === "Yes" && (await source.waitForGtid(await target.gtidBinlogPos(), 5)), 30_000, 100);
    }
  } finally {
    await load.stop();
    for (const c of admin.values()) c.destroy();
  }
  return windows;
}

await main();
