import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MariaDbSites, type MariaDbSite } from "../../scripts/env/mariadb-sites.js";
import { freePort, waitFor } from "../../scripts/env/ports.js";
import { autoPrefix } from "../../cli/commands/reclone.js";
import type { MysqlFailoverGroup } from "../../shared/api/index.js";
import { ANNOTATIONS, CONDITION_TYPES, EVENT_REASONS } from "../../shared/names.js";
import { AgentProcess } from "../support/agent.js";
import { recloneCount, seedWrites, untilCloned } from "../support/clones.js";
import { failoverGroup, siteAt } from "../support/fixtures.js";
import { applyAll, groupEvents, groupReader, namespaceWithOperator } from "../support/groups.js";
import { kubectl, mustKubectl } from "../support/kubectl.js";
import { ledgerLoad, missingOn } from "../support/ledger.js";

/**
 * Reclone and auto-clone of external sites for real: the operator (with the agents' token), one
 * agent process per MariaDB server, and each server restarted by a supervisor that swaps the
 * staged copy in first (images/mariadb/apply-clone.sh), as systemd would beside an external site.
 */
const ns = `reclone-${randomBytes(3).toString("hex")}`;
const TOKEN = randomBytes(16).toString("hex");
const GROUP = "orders";

describe("reclone and auto-clone of external sites (real operator, agents and MariaDB)", () => {
  const { operator } = namespaceWithOperator(ns, "reclone-e2e", { env: { BLOODRAVEN_AGENT_TOKEN: TOKEN } });
  const read = groupReader(ns);
  const agents: AgentProcess[] = [];
  const servers: MariaDbSites[] = [];
  const agentUrl = new Map<string, string>();
  let sites: MariaDbSites;
  let iad: MariaDbSite;
  let pdx: MariaDbSite;

  const startAgent = async (server: MariaDbSite): Promise<void> => {
    server.superviseRestarts();
    agents.push(await AgentProcess.start({ site: server.name, group: GROUP, namespace: ns, server, operatorUrl: operator().url("status", ""), port: Number(new URL(agentUrl.get(server.name) ?? "").port), clone: { token: TOKEN } }));
  };
  const groupSites = (all: readonly MariaDbSite[]): object[] =>
    all.map((s) => siteAt(s, { role: s.name === "sfo" ? "read-only" : "primary-candidate", agentUrl: agentUrl.get(s.name) }));
  const apply = (all: readonly MariaDbSite[], extra: readonly object[] = []): Promise<void> =>
    applyAll([failoverGroup(ns, GROUP, { pollInterval: "500ms", failureThreshold: 2, failoverCooldown: "1s", sites: [...groupSites(all), ...extra] })]);
  /** `kubectl bloodraven reclone <GROUP> ...` through the real kubectl, as on-call runs it. */
  const reclone = (args: readonly string[], timeoutMs = 60_000) => kubectl(["bloodraven", "reclone", GROUP, ...args, "-n", ns], { timeoutMs });
  const annotate = (value: string): Promise<string> => mustKubectl(["annotate", "mfg", GROUP, "-n", ns, "--overwrite", `${ANNOTATIONS.recloneSite}=${value}`]);
  const siteStatus = async (name: string) => (await read(GROUP)).status?.sites?.find((s) => s.name === name);
  const annotation = async (): Promise<string | undefined> => (await read(GROUP)).metadata.annotations?.[ANNOTATIONS.recloneSite];
  const explained = (err: unknown): Error =>
    new Error(
      `${err instanceof Error ? err.message : String(err)}\noperator:\n${operator()
        .lines.map((l) => JSON.stringify(l))
        .filter((l) => /clone|bootstrap|sfo|repoint|reconfigured|error/i.test(l))
        .slice(-40)
        .join("\n")}`,
    );

  const cloned = (site: string, previous: string | undefined, timeoutMs: number) => untilCloned(() => read(GROUP), site, previous, timeoutMs, explained);

  /** Posts each value in turn and waits for its RecloneRejected event (code first) and the annotation's removal. */
  const rejected = async (cases: readonly (readonly [value: string, code: string])[]): Promise<void> => {
    for (const [value, code] of cases) {
      await annotate(value);
      await waitFor(`${value} rejected`, async () => (await groupEvents(ns, GROUP)).some((e) => e.reason === EVENT_REASONS.recloneRejected && e.message.startsWith(`${code}:`)), 15_000, 200);
      await waitFor(`annotation ${value} removed`, async () => (await annotation()) === undefined, 10_000, 100);
    }
  };
  const lastClone = async (): Promise<string | undefined> => (await read(GROUP)).status?.bootstrap?.cloneId;
  const reclones = (site: string, result: string): Promise<number> => recloneCount(operator().url("metrics", "/metrics"), site, result);

  beforeAll(async () => {
    sites = await MariaDbSites.start({ names: ["iad", "pdx"], primary: "iad" });
    servers.push(sites);
    iad = sites.site("iad");
    pdx = sites.site("pdx");
    for (const s of ["iad", "pdx", "sfo", "ord"]) agentUrl.set(s, `http://127.0.0.1:${await freePort()}`);
    await apply(sites.sites);
    await waitFor("iad leads", async () => (await read(GROUP)).status?.lastKnownPrimary === "iad", 20_000, 200);
    await Promise.all([startAgent(iad), startAgent(pdx)]);
    await waitFor("iad writable again after its agent's safety net", async () => !(await iad.isReadOnly()), 15_000, 100);
    await seedWrites(iad, 50);
  });

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop("SIGKILL")));
    await Promise.all(servers.map((s) => s.teardown()));
  });

  it("rejects an unknown site, the active primary and a prefix on a site without divergence, removing the annotation", async () => {
    await rejected([
      ["lax", "UnknownSite"],
      ["iad", "ActivePrimary"],
      ["pdx:deadbeef", "ConfirmRequired"],
      ["pdx:confirm=payments", "ConfirmMismatch"],
    ]);
    expect((await read(GROUP)).status?.bootstrap).toBeUndefined();
    expect(await reclones("pdx", "rejected")).toBe(2);
  });

  it("the plugin: bad flags exit 2 before anything is posted; --wait reports the operator's rejection with exit 1", async () => {
    for (const [args, error] of [
      [["pdx", "--cold", "--yes", "--timeout", "5m"], /^error: --timeout only applies with --wait\n/],
      [["pdx", "--cold", "--yes", "--wait", "--timeout", "soon"], /^error: --timeout: /],
    ] as const) {
      const r = await reclone(args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(error);
      expect(await annotation()).toBeUndefined();
    }
    const dry = await reclone(["pdx", "--cold", "--wait", "--dry-run"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`  set ${ANNOTATIONS.recloneSite}=pdx:confirm=${GROUP}\n  then follow the clone until it ends, at most 30m (--wait)\n`);

    // A site without an agent: the plugin cannot tell, the operator refuses to clone into it.
    const lax = { name: "lax", role: "read-only", endpoint: { host: "127.0.0.1", port: await freePort() } };
    await apply(sites.sites, [lax]);
    try {
      await waitFor("lax in status", async () => (await siteStatus("lax")) !== undefined, 20_000, 200);
      const r = await reclone(["lax", "--cold", "--yes", "--wait", "--timeout", "1m"], 90_000);
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(1);
      expect(r.stdout).toContain(`requested reclone of lax in ${ns}/${GROUP} (${ANNOTATIONS.recloneSite}=lax:confirm=${GROUP})\n`);
      expect(r.stderr).toMatch(/^error: the operator rejected the reclone of lax in \S+ \(\S+=lax:confirm=orders\): NoAgent: lax runs no agent/);
      expect(r.stderr).toContain(`see kubectl describe mfg ${GROUP} -n ${ns} and kubectl bloodraven runbook pvc-loss\n`);
      expect(await annotation()).toBeUndefined();
      expect((await read(GROUP)).status?.bootstrap).toBeUndefined();
    } finally {
      await apply(sites.sites);
      await waitFor("lax gone from status", async () => (await read(GROUP)).status?.sites?.every((s) => s.name !== "lax"), 20_000, 200);
    }
  }, 120_000);

  it("reclones a divergent site with the plugin's --wait: its divergent writes are gone, the primary unchanged", async () => {
    // pdx diverges: out of replication, one write of its own (as an old primary would come back).
    await pdx.stopReplication();
    await pdx.injectWrite("divergent");
    const divergent = await waitFor("pdx reported divergent", async () => (await siteStatus("pdx"))?.divergentGtid || undefined, 20_000, 200);
    expect((await siteStatus("pdx"))?.recoveryState).toBe("RecoveryBlocked");

    // A wrong prefix and the bare name are refused: the divergence must be quoted.
    await rejected([
      ["pdx:99999999", "PrefixMismatch"],
      ["pdx", "PrefixRequired"],
    ]);

    const primaryBefore = await iad.gtidBinlogPos();
    // The plugin quotes the divergent set itself and follows the clone to its end.
    const r = await reclone(["pdx", "--yes", "--wait", "--timeout", "2m"], 150_000);
    if (r.code !== 0) throw explained(new Error(`reclone --wait exited ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`));
    expect(r.stderr).toBe("");
    const value = `pdx:${autoPrefix(divergent) ?? ""}`;
    expect(r.stdout).toContain(`requested reclone of pdx in ${ns}/${GROUP} (${ANNOTATIONS.recloneSite}=${value})\n`);
    // Lines like `2026-11-22T03:00:04Z +3s Cloning (1.2 MiB copied): receiving the copy from iad`, one per new step.
    const phases = r.stdout.split("\n").flatMap((l) => /^\S+Z \+\S+ (\w+)/.exec(l)?.[1] ?? []);
    const order = ["Cloning", "WaitingForRestart", "SetupReplication", "Done"];
    expect(phases[0]).toBe("Cloning");
    expect(phases).toContain("SetupReplication");
    expect(phases.at(-1)).toBe("Done");
    expect(phases.map((p) => order.indexOf(p))).toEqual([...phases.map((p) => order.indexOf(p))].sort((a, b) => a - b));
    expect(r.stdout).toMatch(new RegExp(`\nreclone of pdx in ${ns}/${GROUP} done after \\S+: pdx started from GTID \\S+ and replicates from iad; \\S+ \\w+ copied\n$`));
    const { group } = await cloned("pdx", undefined, 20_000);
    expect(group.status?.bootstrap).toMatchObject({ site: "pdx", source: "reclone", phase: "Done", donor: "iad", request: value });
    const condition = group.status?.conditions?.find((c) => c.type === CONDITION_TYPES.bootstrapping);
    expect(condition).toMatchObject({ status: "False", reason: "Done" });
    expect(condition?.message).toContain("reclone of pdx from iad");
    expect(group.metadata.annotations?.[ANNOTATIONS.recloneSite]).toBeUndefined();
    const reasonsSeen = (await groupEvents(ns, GROUP)).map((e) => e.reason);
    expect(reasonsSeen).toContain(EVENT_REASONS.recloneRequested);
    expect(reasonsSeen).toContain(EVENT_REASONS.cloneCompleted);

    // The divergent write is gone, pdx replicates from iad again, and iad never took anything from pdx.
    await waitFor("pdx recovered in status", async () => {
      const s = await siteStatus("pdx");
      return !s?.divergentGtid && !s?.recoveryState && s?.state === "read-only" ? s : undefined;
    }, 20_000, 200).catch((err: unknown) => {
      throw explained(err);
    });
    const after = await iad.injectWrite("after-reclone", "app");
    expect(await pdx.waitForGtid(after, 15)).toBe(true);
    expect(await pdx.query("SELECT note FROM bloodraven_test.writes WHERE note = 'divergent'")).toEqual([]);
    expect(await iad.query("SELECT note FROM bloodraven_test.writes WHERE note = 'divergent'")).toEqual([]);
    expect(primaryBefore).not.toContain("0-2-");
    expect(await pdx.isReadOnly()).toBe(true);
    expect(await reclones("pdx", "success")).toBe(1);
  }, 240_000);

  it("cold-reclones a site by its bare name under write load: no acknowledged write is lost", async () => {
    const load = ledgerLoad([iad], "cold", 2);
    try {
      await new Promise((r) => setTimeout(r, 500));
      const previous = await lastClone();
      await annotate("pdx");
      const { group } = await cloned("pdx", previous, 120_000);
      expect(group.status?.bootstrap).toMatchObject({ source: "reclone", phase: "Done" });
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      const acked = await load.stop();
      expect(acked.length).toBeGreaterThan(20);
      const last = await iad.gtidBinlogPos();
      expect(await pdx.waitForGtid(last, 20)).toBe(true);
      expect(await missingOn(iad, acked, "cold")).toEqual([]);
      expect(await missingOn(pdx, acked, "cold")).toEqual([]);
    }
  }, 240_000);

  it("auto-clones two new, empty sites added at once under writes, the candidate first, the other left alone until its turn", async () => {
    const extra = await MariaDbSites.start({ names: ["sfo", "ord"], firstServerId: 3 });
    servers.push(extra);
    const [sfo, ord] = [extra.site("sfo"), extra.site("ord")];
    for (const s of [sfo, ord]) {
      await s.setReadOnly(true);
      expect(await s.gtidBinlogPos()).toBe("");
      await startAgent(s);
    }
    const load = ledgerLoad([iad], "auto", 2);
    let acked: string[] = [];
    try {
      await apply([iad, pdx, sfo, ord]);
      // ord is a candidate, sfo read-only: ord first. Meanwhile sfo is neither repointed nor written.
      let samples = 0;
      const touched: string[] = [];
      let seen: NonNullable<MysqlFailoverGroup["status"]>["bootstrap"];
      const first = await waitFor(
        "ord's clone to end",
        async () => {
          const b = (await read(GROUP)).status?.bootstrap;
          if (b?.site === "ord") seen = b;
          if (b?.site === "ord" && b.phase !== "Done" && b.phase !== "Failed") {
            const [replica, gtid] = [await sfo.replicaStatus(), await sfo.gtidBinlogPos()];
            if (replica !== undefined || gtid !== "") touched.push(`${b.phase}: sfo replicates (${JSON.stringify(replica)}), gtid ${gtid}`);
            samples++;
          }
          if (b?.site === "ord" && b.phase === "Done") return b;
          // sfo's clone starts the cycle after ord's ended, so ord's Done may be in status for less
          // than one read of a busy machine: then ord's CloneCompleted event says it ended.
          const completed = b?.site === "sfo" && (await groupEvents(ns, GROUP)).some((e) => e.reason === EVENT_REASONS.cloneCompleted && e.message.includes("ord"));
          return completed ? seen : undefined;
        },
        120_000,
        100,
      ).catch((err: unknown) => {
        throw explained(err);
      });
      expect(first).toMatchObject({ source: "auto-clone", donor: "iad" });
      expect(samples).toBeGreaterThan(3);
      expect(touched).toEqual([]);
      const { group } = await cloned("sfo", undefined, 120_000);
      expect(group.status?.bootstrap).toMatchObject({ site: "sfo", source: "auto-clone", phase: "Done", donor: "iad" });
      expect(group.status?.bootstrap?.bytes).toBeGreaterThan(1_000_000);
    } finally {
      acked = await load.stop();
    }
    const last = await iad.gtidBinlogPos();
    const rows = async (s: MariaDbSite): Promise<number> => Number((await s.query<{ n: number }[]>("SELECT COUNT(*) AS n FROM bloodraven_test.writes"))[0]?.n);
    for (const s of [sfo, ord]) {
      expect(await s.waitForGtid(last, 20)).toBe(true);
      expect(await missingOn(s, acked, "auto")).toEqual([]);
      expect(await rows(s)).toBe(await rows(iad));
      expect((await siteStatus(s.name))?.state).toBe("read-only");
    }
  }, 240_000);
});
