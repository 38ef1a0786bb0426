import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EnvDir } from "../../scripts/env/env-dir.js";
import { MariaDbSites, type MariaDbSite } from "../../scripts/env/mariadb-sites.js";
import { freePort, waitFor } from "../../scripts/env/ports.js";
import type { CloneJob } from "../../shared/agent/clone.js";
import type { BootstrapPhase } from "../../shared/names.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { ANNOTATIONS, CONDITION_TYPES, EVENT_REASONS } from "../../shared/names.js";
import { AgentProcess } from "../support/agent.js";
import { agentCloneJob, recloneCount, seedWrites, untilCloned } from "../support/clones.js";
import { failoverGroup, namespaceWithCredentials, siteAt } from "../support/fixtures.js";
import { applyAll, groupEvents, groupReader } from "../support/groups.js";
import { kubectl, mustKubectl } from "../support/kubectl.js";
import { OperatorProcess } from "../support/operator.js";

/**
 * A clone that goes wrong, for real: the donor's or the recipient's agent killed mid-stream, the
 * recipient's disk full, the operator killed in each phase. Each ends with pdx fenced and the
 * primary untouched, or with the same clone carried on to Done; a new request then succeeds.
 * The donor's backups are slowed (a wrapper first on its agent's PATH paces mariadb-backup's
 * stream) so that the test can act while the copy streams.
 */
const ns = `clonefault-${randomBytes(3).toString("hex")}`;
const TOKEN = randomBytes(16).toString("hex");
const GROUP = "orders";
/** stdin to stdout at 4 MiB/s at most. */
const PACE = `const rate = 4 * 1024 * 1024;
const start = Date.now();
let sent = 0;
process.stdin.on("data", (chunk) => {
  sent += chunk.length;
  process.stdout.write(chunk);
  const ahead = (sent / rate) * 1000 - (Date.now() - start);
  if (ahead > 0) {
    process.stdin.pause();
    setTimeout(() => process.stdin.resume(), ahead);
  }
});
process.stdin.on("end", () => process.stdout.end());
`;

describe("clone faults (real operator, agents and MariaDB)", () => {
  const env = new EnvDir("clonefault");
  const read = groupReader(ns);
  let operator: OperatorProcess;
  let sites: MariaDbSites;
  let iad: MariaDbSite;
  let pdx: MariaDbSite;
  const agents = new Map<string, AgentProcess>();
  const ports = new Map<string, number>();
  /** What pdx's supervised restarts wait for. */
  let restartGate: Promise<void> = Promise.resolve();

  const startOperator = async (): Promise<void> => {
    operator = await OperatorProcess.start({
      identity: "clonefault-op",
      args: [`--namespaces=${ns}`, "--no-leader-election"],
      env: { BLOODRAVEN_AGENT_TOKEN: TOKEN },
      ...(operator ? { ports: operator.ports } : {}),
    });
  };
  const restartOperator = async (): Promise<void> => {
    await operator.stop("SIGKILL");
    await startOperator();
  };
  const agentUrl = (site: string): string => `http://127.0.0.1:${ports.get(site) ?? 0}`;
  const startAgent = async (server: MariaDbSite, extraEnv: NodeJS.ProcessEnv = {}): Promise<void> => {
    const peer = server.name === "iad" ? "pdx" : "iad";
    const agent = await AgentProcess.start({
      site: server.name,
      group: GROUP,
      namespace: ns,
      server,
      operatorUrl: operator.url("status", ""),
      port: ports.get(server.name) ?? 0,
      peers: { [peer]: agentUrl(peer) },
      leaseTimeout: "15s",
      clone: { token: TOKEN },
      env: server.name === "iad" ? { PATH: `${env.join("bin")}:${process.env.PATH ?? ""}`, ...extraEnv } : extraEnv,
    });
    agents.set(server.name, agent);
  };
  /**
   * Its agent's safety net fences iad at start and lifts the fence once the operator names it; the
   * agent's API answers before that, so wait for the lift itself, not for a writable read that may
   * come before the fence.
   */
  const iadWritableAgain = async (): Promise<void> => {
    await agents.get("iad")?.waitForLog(LOG_MESSAGES.safetyNetLifted, 15_000);
    await waitFor("iad writable again after its agent's safety net", async () => !(await iad.isReadOnly()), 15_000, 100);
  };
  const killAgent = async (site: string): Promise<void> => {
    await agents.get(site)?.stop("SIGKILL");
    agents.delete(site);
  };
  const annotate = (value: string): Promise<string> => mustKubectl(["annotate", "mfg", GROUP, "-n", ns, "--overwrite", `${ANNOTATIONS.recloneSite}=${value}`]);
  const lastClone = async (): Promise<string | undefined> => (await read(GROUP)).status?.bootstrap?.cloneId;
  const explained = (err: unknown): Error =>
    new Error(
      `${err instanceof Error ? err.message : String(err)}\noperator:\n${operator.lines
        .map((l) => JSON.stringify(l))
        .filter((l) => /clone|bootstrap|repoint|error/i.test(l))
        .slice(-30)
        .join("\n")}\npdx agent:\n${agents.get("pdx")?.dump().slice(-3_000) ?? "(not running)"}`,
    );
  const cloned = (previous: string | undefined, timeoutMs = 120_000) => untilCloned(() => read(GROUP), "pdx", previous, timeoutMs, explained);
  const recipientJob = (): Promise<CloneJob | null> => agentCloneJob(agentUrl("pdx"), TOKEN, 2_000);
  /** Waits until pdx's agent has received part of the copy, and not all of it. */
  const midStream = (): Promise<CloneJob> =>
    waitFor("the copy streaming to pdx", async () => {
      const j = await recipientJob().catch(() => null);
      return j?.phase === "Cloning" && j.bytes > 0 ? j : undefined;
    }, 30_000, 50).catch((err: unknown) => {
      throw explained(err);
    });
  /** Waits until status.bootstrap records `phase` for a clone other than `previous`. */
  const inPhase = (phase: BootstrapPhase, previous: string | undefined): Promise<string> =>
    waitFor(`the clone in ${phase}`, async () => {
      const b = (await read(GROUP)).status?.bootstrap;
      return b?.site === "pdx" && b.cloneId !== previous && b.phase === phase ? b.cloneId : undefined;
    }, 60_000, 50).catch((err: unknown) => {
      throw explained(err);
    });
  /** Done, and pdx replicates what iad writes next. */
  const replicatesAgain = async (): Promise<void> => {
    const pos = await iad.injectWrite(`after-${Date.now()}`, "app");
    expect(await pdx.waitForGtid(pos, 20)).toBe(true);
    expect(await pdx.isReadOnly()).toBe(true);
  };

  beforeAll(async () => {
    // The donor's backups at 4 MiB/s, through a pipe that paces what it passes on (mariadb-backup's
    // own --throttle hangs in 10.11): a few seconds of streaming.
    mkdirSync(env.join("bin"));
    writeFileSync(env.join("bin", "pace.mjs"), PACE);
    writeFileSync(
      env.join("bin", "mariadb-backup"),
      `#!/bin/bash\nset -o pipefail\ncase " $* " in *" --backup "*) /usr/bin/mariadb-backup "$@" | "${process.execPath}" "${env.join("bin", "pace.mjs")}"; exit $? ;; esac\nexec /usr/bin/mariadb-backup "$@"\n`,
    );
    chmodSync(env.join("bin", "mariadb-backup"), 0o755);
    await applyAll(namespaceWithCredentials(ns));
    await startOperator();
    sites = await MariaDbSites.start({ names: ["iad", "pdx"], primary: "iad" });
    iad = sites.site("iad");
    pdx = sites.site("pdx");
    pdx.superviseRestarts(() => restartGate);
    for (const s of ["iad", "pdx"]) ports.set(s, await freePort());
    await applyAll([
      failoverGroup(ns, GROUP, {
        pollInterval: "500ms",
        failureThreshold: 2,
        failoverCooldown: "1s",
        sites: sites.sites.map((s) => siteAt(s, { role: "primary-candidate", agentUrl: agentUrl(s.name) })),
      }),
    ]);
    await waitFor("iad leads", async () => (await read(GROUP)).status?.lastKnownPrimary === "iad", 20_000, 200);
    await Promise.all([startAgent(iad), startAgent(pdx)]);
    await iadWritableAgain();
    await seedWrites(iad, 20);
  });

  afterAll(async () => {
    await Promise.all([...agents.values()].map((a) => a.stop("SIGKILL")));
    await operator?.stop("SIGKILL");
    await sites?.teardown();
    await kubectl(["delete", "namespace", ns, "--wait=false"]);
    env.remove();
  });

  it("the donor's agent killed mid-stream: Failed with what to do, pdx fenced on its own data, iad untouched; a new request succeeds", async () => {
    const iadBefore = await iad.gtidBinlogPos();
    const previous = await lastClone();
    await annotate("pdx");
    await midStream();
    await killAgent("iad");
    // Its backup dies with it (a broken pipe); make sure, so that nothing streams on.
    spawnSync("pkill", ["-9", "-f", `mariadb-backup.*--datadir=${iad.dir}/data`]);

    const { group } = await cloned(previous);
    expect(group.status?.bootstrap).toMatchObject({ site: "pdx", phase: "Failed", donor: "iad" });
    const message = group.status?.bootstrap?.message ?? "";
    expect(message).toContain("receiving the copy from iad failed");
    expect(message).toContain("The site stays fenced");
    expect(message).toContain(`kubectl bloodraven reclone ${GROUP} pdx`);
    expect(group.status?.conditions?.find((c) => c.type === CONDITION_TYPES.bootstrapping)).toMatchObject({ status: "False", reason: "Failed" });
    expect(group.metadata.annotations?.[ANNOTATIONS.recloneSite]).toBeUndefined();
    expect((await groupEvents(ns, GROUP)).some((e) => e.reason === EVENT_REASONS.cloneFailed && e.message.includes("receiving the copy"))).toBe(true);
    expect(await recloneCount(operator.url("metrics", "/metrics"), "pdx", "failed")).toBe(1);
    expect(await pdx.isReadOnly()).toBe(true);
    expect(await pdx.query("SELECT COUNT(*) AS n FROM bloodraven_test.writes WHERE note LIKE 'seed-%'")).toEqual([{ n: 20 }]);
    expect(await iad.isReadOnly()).toBe(false);
    expect(await iad.gtidBinlogPos()).toBe(iadBefore);

    await startAgent(iad);
    await iadWritableAgain();
    const failed = await lastClone();
    await annotate("pdx");
    const retry = await cloned(failed);
    expect(retry.group.status?.bootstrap).toMatchObject({ phase: "Done", donor: "iad" });
    await replicatesAgain();
  }, 240_000);

  it("pdx's disk full while the copy arrives: Failed saying so, nothing swapped; with room again a new request succeeds", async () => {
    const small = env.join("small");
    mkdirSync(small);
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", small]);
    try {
      await killAgent("pdx");
      await startAgent(pdx, { BLOODRAVEN_CLONE_DIR: `${small}/staging` });
      const previous = await lastClone();
      await annotate("pdx");
      const { group } = await cloned(previous);
      expect(group.status?.bootstrap).toMatchObject({ phase: "Failed" });
      expect(group.status?.bootstrap?.message).toMatch(/receiving the copy from iad failed.*No space left on device/);
      expect(await pdx.isReadOnly()).toBe(true);
      expect(await pdx.query("SELECT COUNT(*) AS n FROM bloodraven_test.writes WHERE note LIKE 'seed-%'")).toEqual([{ n: 20 }]);
    } finally {
      await killAgent("pdx");
      execFileSync("umount", [small]);
    }
    await startAgent(pdx);
    const failed = await lastClone();
    await annotate("pdx");
    expect((await cloned(failed)).group.status?.bootstrap).toMatchObject({ phase: "Done" });
    await replicatesAgain();
  }, 240_000);

  it("pdx's agent killed mid-stream and started again: the operator sends the same clone again and it completes", async () => {
    const previous = await lastClone();
    await annotate("pdx");
    const cloneId = await inPhase("Cloning", previous);
    await midStream();
    await killAgent("pdx");
    await startAgent(pdx);
    const { group } = await cloned(previous);
    expect(group.status?.bootstrap).toMatchObject({ phase: "Done", cloneId });
    await replicatesAgain();
  }, 240_000);

  it("the operator killed in each phase carries the same clone on to Done", async () => {
    // pdx's server stays down after the agent's SHUTDOWN until the operator has been killed again.
    let release = (): void => undefined;
    restartGate = new Promise((resolve) => {
      release = resolve;
    });
    const previous = await lastClone();
    try {
      await annotate("pdx");
      const cloneId = await inPhase("Cloning", previous);
      await restartOperator();
      expect(await inPhase("WaitingForRestart", previous)).toBe(cloneId);
      await restartOperator();
    } finally {
      release();
      restartGate = Promise.resolve();
    }
    const cloneId = await lastClone();
    expect(await inPhase("SetupReplication", previous)).toBe(cloneId);
    await restartOperator();

    const { group } = await cloned(previous);
    expect(group.status?.bootstrap).toMatchObject({ phase: "Done", cloneId });
    expect(group.metadata.annotations?.[ANNOTATIONS.recloneSite]).toBeUndefined();
    await replicatesAgain();
  }, 240_000);
});
