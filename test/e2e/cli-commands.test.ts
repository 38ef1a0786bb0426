import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { MysqlFailoverGroup } from "../../shared/api/index.js";
import { parseMaintenance } from "../../shared/maintenance.js";
import { waitFor } from "../../scripts/env/ports.js";
import { kubectl, startKubectl, type CommandResult } from "../support/kubectl.js";
import { asList } from "../support/fixtures.js";

/**
 * `kubectl bloodraven failover|reclone|maintenance` through the real kubectl against the real API
 * server. No operator runs: where a test needs status, it writes it through the status
 * subresource by hand, and for `failover --wait` the test plays the operator, answering the
 * request id the plugin posted.
 */
const ns = `cli-cmds-${randomBytes(3).toString("hex")}`;
const GROUP = "orders";
const PF = "bloodraven.shipstream.io/planned-failover";
const PF_ID = "bloodraven.shipstream.io/planned-failover-request-id";
const RECLONE = "bloodraven.shipstream.io/reclone-site";
const MAINTENANCE = "bloodraven.shipstream.io/maintenance";
const DIVERGENT = "3e11fa47-71ca-11e1-9e33-c80aa9429562:11-15";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const plugin = (args: string[], opts: Parameters<typeof kubectl>[1] = {}) => kubectl(["bloodraven", ...args, "-n", ns], opts);

async function group(): Promise<MysqlFailoverGroup> {
  const r = await kubectl(["get", "mfg", GROUP, "-n", ns, "-o", "json", "--show-managed-fields"]);
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as MysqlFailoverGroup;
}

async function annotations(): Promise<Record<string, string>> {
  return (await group()).metadata.annotations ?? {};
}

/** Replaces the whole status (the status subresource ignores everything else). */
async function setStatus(status: object | null): Promise<void> {
  const cleared = await kubectl(["patch", "mfg", GROUP, "-n", ns, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status: null })]);
  expect(cleared.stderr).toBe("");
  if (status === null) return;
  const r = await kubectl(["patch", "mfg", GROUP, "-n", ns, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status })]);
  expect(r.stderr).toBe("");
}

/** Replaces status.plannedFailover in one write, as the operator does. */
async function patchPlanned(block: object): Promise<void> {
  const op = [{ op: "add", path: "/status/plannedFailover", value: block }];
  const r = await kubectl(["patch", "mfg", GROUP, "-n", ns, "--subresource=status", "--type=json", "-p", JSON.stringify(op)]);
  expect(r.stderr).toBe("");
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");

const HEALTHY = {
  activeSite: "iad",
  sites: [
    { name: "iad", state: "writable", replicating: false, secondsBehindSource: null },
    { name: "pdx", state: "read-only", replicating: true, secondsBehindSource: 0 },
    { name: "dr", state: "read-only", replicating: true, secondsBehindSource: 0 },
    { name: "sfo", state: "read-only", replicating: true, secondsBehindSource: 0 },
  ],
};

/** Runs `f`, then checks that the group was not written at all (same resourceVersion and annotations). */
async function expectUnchanged(f: () => Promise<CommandResult>): Promise<CommandResult> {
  const before = await group();
  const r = await f();
  const after = await group();
  expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  expect(after.metadata.annotations ?? {}).toEqual(before.metadata.annotations ?? {});
  return r;
}

/** The plugin as a child process, for --wait runs that the test interacts with. */
const start = (args: string[]) => startKubectl(["bloodraven", ...args, "-n", ns]);

describe("kubectl bloodraven failover|reclone|maintenance (real kubectl and API server)", () => {
  beforeAll(async () => {
    const site = (name: string, role: string, port: number) => ({ name, role, endpoint: { host: "127.0.0.1", port } });
    const items = [
      { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } },
      {
        apiVersion: "shipstream.io/v1alpha1",
        kind: "MysqlFailoverGroup",
        metadata: { name: GROUP, namespace: ns, annotations: { "example.com/owner": "team-db" } },
        spec: {
          secretName: "orders-dsn",
          sites: [site("iad", "primary-candidate", 3306), site("pdx", "primary-candidate", 3307), site("dr", "dr-only", 3308), site("sfo", "read-only", 3309)],
        },
      },
    ];
    const r = await kubectl(["apply", "-f", "-"], { input: asList(items) });
    expect(r.stderr).toBe("");
  });

  afterAll(async () => {
    await kubectl(["delete", "namespace", ns, "--wait=false"]);
  });

  beforeEach(async () => {
    await kubectl(["annotate", "mfg", GROUP, "-n", ns, `${PF}-`, `${PF_ID}-`, `${RECLONE}-`, `${MAINTENANCE}-`]);
    await setStatus(HEALTHY);
  });

  describe("failover", () => {
    it("rejects an unknown group, an unknown site, a dr-only site and bad durations with exit 2, writing nothing", async () => {
      const missing = await expectUnchanged(() => plugin(["failover", "nope", "pdx"]));
      expect(missing.code).toBe(2);
      expect(missing.stderr).toBe(`error: no MysqlFailoverGroup ${ns}/nope; kubectl get mfg -n ${ns} lists them (nothing was changed)\n`);

      const site = await expectUnchanged(() => plugin(["failover", GROUP, "lax"]));
      expect(site.code).toBe(2);
      expect(site.stderr).toBe(
        `error: site "lax" is not in spec.sites of ${ns}/orders; its sites: iad (primary-candidate), pdx (primary-candidate), dr (dr-only), sfo (read-only) (nothing was changed)\n`,
      );

      const dr = await expectUnchanged(() => plugin(["failover", GROUP, "dr"]));
      expect(dr.code).toBe(2);
      expect(dr.stderr).toBe(`error: dr is a dr-only site of ${ns}/orders and is never promoted; only primary-candidate sites can be: iad, pdx (nothing was changed)\n`);
      const reader = await expectUnchanged(() => plugin(["failover", GROUP, "sfo"]));
      expect(reader.code).toBe(2);
      expect(reader.stderr).toMatch(/^error: sfo is a read-only site/);

      for (const [flags, message] of [
        [["--max-lag-wait", "5"], /^error: --max-lag-wait: invalid duration "5": a number needs a unit/],
        [["--max-lag-wait", "0s"], /^error: --max-lag-wait: invalid duration "0s": must be greater than zero/],
        [["--wait", "--timeout", "soon"], /^error: --timeout: invalid duration "soon"/],
        [["--timeout", "1m"], /^error: --timeout only applies with --wait/],
      ] as const) {
        const r = await expectUnchanged(() => plugin(["failover", GROUP, "pdx", ...flags]));
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(message);
        expect(r.stdout).toBe("");
      }
    });

    it("the active site: nothing to do, exit 0, nothing written", async () => {
      const r = await expectUnchanged(() => plugin(["failover", GROUP, "iad"]));
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`iad is already the active site of ${ns}/orders; nothing to do\n`);
    });

    it("refuses while a planned failover is running or a request is pending (exit 2, nothing written)", async () => {
      await patchPlanned({ requestId: "r-running", phase: "Draining", target: "pdx", source: "iad", startTime: now() });
      const running = await expectUnchanged(() => plugin(["failover", GROUP, "pdx"]));
      expect(running.code).toBe(2);
      expect(running.stderr).toBe(
        `error: a planned failover of ${ns}/orders to pdx is already in progress (phase Draining, request r-running); follow it with kubectl bloodraven status orders -n ${ns} --watch, or wait for it to end (nothing was changed)\n`,
      );

      await setStatus(HEALTHY);
      const annotated = await kubectl(["annotate", "mfg", GROUP, "-n", ns, `${PF}=pdx`, `${PF_ID}=someone-else`]);
      expect(annotated.code).toBe(0);
      const pending = await expectUnchanged(() => plugin(["failover", GROUP, "pdx"]));
      expect(pending.code).toBe(2);
      expect(pending.stderr).toContain(`a planned failover request is already pending on ${ns}/orders (${PF}=pdx, request someone-else)`);
      expect(pending.stderr).toContain(`kubectl annotate mfg orders -n ${ns} ${PF}- ${PF_ID}-`);
    });

    it("posts exactly the two annotations in one write; other annotations are kept", async () => {
      const before = await group();
      const r = await plugin(["failover", GROUP, "pdx", "--max-lag-wait", "90s"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const id = /\(request ([^)]+)\)/.exec(r.stdout)?.[1] ?? "";
      expect(id).toMatch(UUID);
      expect(r.stdout).toBe(
        `requested planned failover of ${ns}/orders to pdx (request ${id})\nfollow it with: kubectl bloodraven status orders -n ${ns} --watch\n`,
      );
      const after = await group();
      expect(after.metadata.annotations).toEqual({ ...before.metadata.annotations, [PF]: "pdx:maxLagWait=1m30s", [PF_ID]: id });
      // Written under the plugin's own field manager.
      expect(after.metadata.managedFields?.some((f) => f.manager === "kubectl-bloodraven")).toBe(true);

      // Without --max-lag-wait the value is the bare site; a fresh id every time.
      await kubectl(["annotate", "mfg", GROUP, "-n", ns, `${PF}-`, `${PF_ID}-`]);
      const again = await plugin(["failover", GROUP, "pdx"]);
      expect(again.code).toBe(0);
      const second = await annotations();
      expect(second[PF]).toBe("pdx");
      expect(second[PF_ID]).toMatch(UUID);
      expect(second[PF_ID]).not.toBe(id);
    });

    it("notes maintenance: planned failovers still run", async () => {
      const on = await plugin(["maintenance", "on", GROUP, "--for", "10m", "--reason", "switch work"]);
      expect(on.code).toBe(0);
      const r = await plugin(["failover", GROUP, "pdx"]);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(new RegExp(`^note: ${ns}/orders is in maintenance until \\S+Z \\(switch work\\); planned failovers still run during maintenance\\n$`));
    });

    it("--wait --timeout 3s with no operator: exit 1, the operator has not picked up the request", async () => {
      const started = Date.now();
      const r = await plugin(["failover", GROUP, "pdx", "--wait", "--timeout", "3s"]);
      expect(r.code).toBe(1);
      expect(Date.now() - started).toBeGreaterThanOrEqual(3_000);
      const id = (await annotations())[PF_ID]!;
      expect(r.stdout).toContain(`requested planned failover of ${ns}/orders to pdx (request ${id})\n`);
      expect(r.stdout).toMatch(/^\S+Z waiting up to 3s for the operator to act on request /m);
      expect(r.stderr).toBe(
        `error: timed out after 3s waiting for the planned failover of ${ns}/orders (request ${id}): the operator has not picked up the request: is it running? (kubectl get pods -n bloodraven -l app.kubernetes.io/name=bloodraven). The request stays in place; cancel it with: kubectl annotate mfg orders -n ${ns} ${PF}- ${PF_ID}-\n`,
      );
      // Left in place.
      expect((await annotations())[PF]).toBe("pdx");
    });

    it("--wait ignores an earlier request's Succeeded block (the original plugin reported it as this one's)", async () => {
      await patchPlanned({ requestId: "an-earlier-request", phase: "Succeeded", target: "pdx", source: "iad", startTime: now(), completionTime: now(), transactionsLost: 0 });
      const r = await plugin(["failover", GROUP, "pdx", "--wait", "--timeout", "3s"]);
      expect(r.code).toBe(1);
      expect(r.stdout).not.toMatch(/Succeeded|succeeded/);
      expect(r.stderr).toContain("the operator has not picked up the request: is it running?");
    });

    it("--wait follows this request's phases through a watch to Succeeded (the test plays the operator)", async () => {
      // A stale block of another request is present and must not count.
      await patchPlanned({ requestId: "an-earlier-request", phase: "Succeeded", target: "pdx", source: "iad", transactionsLost: 0 });
      const run = start(["failover", GROUP, "pdx", "--wait", "--timeout", "60s"]);
      try {
        const id = await waitFor("the request", async () => (await annotations())[PF_ID], 15_000, 50);
        await waitFor("the plugin to wait", async () => run.out.stdout.includes("waiting up to 1m"), 15_000, 50);
        // Another request's progress while ours waits: ignored.
        await patchPlanned({ requestId: "an-earlier-request", phase: "Failed", reason: "LagTimeout", target: "pdx" });
        const startTime = now();
        for (const [phase, message] of [
          ["Draining", "fencing iad"],
          ["WaitingForLag", "pdx is 3 transactions behind"],
          ["Promoting", "promoting pdx"],
        ] as const) {
          await patchPlanned({ requestId: id, phase, message, target: "pdx", source: "iad", startTime, phaseTime: now() });
          await waitFor(`${phase} printed`, async () => run.out.stdout.includes(` ${phase}: ${message}\n`), 10_000, 20);
        }
        await patchPlanned({ requestId: id, phase: "Succeeded", message: "pdx is primary", target: "pdx", source: "iad", completionTime: now(), transactionsLost: 0 });
        expect(await run.exited).toBe(0);
        const lines = run.out.stdout.split("\n");
        expect(lines[0]).toBe(`requested planned failover of ${ns}/orders to pdx (request ${id})`);
        const phases = lines.map((l) => /^\S+Z \+\d+[0-9hms]* (\w+)/.exec(l)?.[1]).filter((p) => p !== undefined);
        expect(phases).toEqual(["Draining", "WaitingForLag", "Promoting", "Succeeded"]);
        expect(run.out.stdout).not.toContain("LagTimeout");
        expect(run.out.stdout).toMatch(new RegExp(`planned failover of ${ns}/orders to pdx succeeded after \\d+[0-9hms]* \\(from iad\\); transactions lost: 0\\n$`));
        expect(run.out.stderr).toBe("");
      } finally {
        run.child.kill("SIGKILL");
      }
    });

    it("--wait reports a failed request with its reason and message (exit 1)", async () => {
      const run = start(["failover", GROUP, "pdx", "--wait", "--timeout", "60s"]);
      try {
        const id = await waitFor("the request", async () => (await annotations())[PF_ID], 15_000, 50);
        await patchPlanned({ requestId: id, phase: "WaitingForLag", target: "pdx", source: "iad" });
        await patchPlanned({ requestId: id, phase: "Failed", reason: "LagTimeout", message: "pdx did not catch up within 5m; iad unfenced", target: "pdx", source: "iad" });
        expect(await run.exited).toBe(1);
        expect(run.out.stdout).toMatch(/ Failed \(LagTimeout\): pdx did not catch up within 5m; iad unfenced\n$/);
        expect(run.out.stderr).toBe(
          `error: planned failover of ${ns}/orders to pdx failed (LagTimeout): pdx did not catch up within 5m; iad unfenced; the operator rolled back: iad is unfenced and still primary; find out why pdx lags before retrying\n`,
        );
      } finally {
        run.child.kill("SIGKILL");
      }
    });

    it("--wait: a request cleared without a block of its own is a skip when the target is primary, else a failure", async () => {
      const skipped = start(["failover", GROUP, "pdx", "--wait", "--timeout", "60s"]);
      try {
        await waitFor("the request", async () => (await annotations())[PF_ID], 15_000, 50);
        // Like the operator's PlannedFailoverSkipped: pdx is primary (here: became it meanwhile), the annotations go.
        await setStatus({ ...HEALTHY, activeSite: "pdx" });
        await kubectl(["annotate", "mfg", GROUP, "-n", ns, `${PF}-`, `${PF_ID}-`]);
        expect(await skipped.exited).toBe(0);
        expect(skipped.out.stdout).toMatch(new RegExp(`planned failover of ${ns}/orders to pdx skipped by the operator: pdx is already the active site; nothing changed\n$`));
      } finally {
        skipped.child.kill("SIGKILL");
      }

      await setStatus(HEALTHY);
      const cancelled = start(["failover", GROUP, "pdx", "--wait", "--timeout", "60s"]);
      try {
        const id = await waitFor("the request", async () => (await annotations())[PF_ID], 15_000, 50);
        await kubectl(["annotate", "mfg", GROUP, "-n", ns, `${PF}-`, `${PF_ID}-`]);
        expect(await cancelled.exited).toBe(1);
        expect(cancelled.out.stderr).toBe(
          `error: the planned failover request ${id} was removed from ${ns}/orders without a result in status.plannedFailover (cancelled by someone, or an operator that does not report request ids); check kubectl bloodraven status orders -n ${ns} --watch\n`,
        );
      } finally {
        cancelled.child.kill("SIGKILL");
      }
    });

    it("Ctrl-C during --wait leaves the request in place and says how to cancel it", async () => {
      const run = start(["failover", GROUP, "pdx", "--wait"]);
      try {
        await waitFor("the plugin to wait", async () => run.out.stdout.includes("waiting up to 10m"), 15_000, 50);
        const id = (await annotations())[PF_ID]!;
        run.child.kill("SIGINT");
        expect(await run.exited).toBe(130);
        expect(run.out.stderr).toBe(
          `interrupted: the planned failover request ${id} stays in place and the operator carries on; follow it with kubectl bloodraven status orders -n ${ns} --watch. To cancel it before it reaches Promoting: kubectl annotate mfg orders -n ${ns} ${PF}- ${PF_ID}-\n`,
        );
        expect(await annotations()).toMatchObject({ [PF]: "pdx", [PF_ID]: id });
      } finally {
        run.child.kill("SIGKILL");
      }
    });
  });

  describe("reclone", () => {
    const DIVERGED = {
      activeSite: "pdx",
      sites: [
        { name: "iad", state: "read-only", recoveryState: "RecoveryBlocked", divergentGtid: DIVERGENT, divergentTransactionCount: 5 },
        { name: "pdx", state: "writable" },
        { name: "sfo", state: "read-only" },
      ],
    };
    beforeEach(() => setStatus(DIVERGED));

    it("interlocks: no divergence without --cold, a wrong prefix, --cold on a divergent site, the active primary: exit 2, nothing written", async () => {
      const cold = await expectUnchanged(() => plugin(["reclone", GROUP, "sfo", "--yes"]));
      expect(cold.code).toBe(2);
      expect(cold.stderr).toBe(
        "error: sfo has no divergentGtid in status, so this would be a cold reclone that replaces all its data (for a lost volume or an empty data directory); if that is what you want, rerun with --cold (nothing was changed)\n",
      );

      const wrong = await expectUnchanged(() => plugin(["reclone", GROUP, "iad", "--gtid-prefix", "3e11fa48-71ca", "--yes"]));
      expect(wrong.code).toBe(2);
      expect(wrong.stderr).toMatch(/^error: GTID prefix "3e11fa48-71ca" does not match the start of iad's divergentGtid/);
      expect(wrong.stderr).toContain(`or let the plugin quote it from the current status: kubectl bloodraven reclone orders iad -n ${ns}`);

      const short = await expectUnchanged(() => plugin(["reclone", GROUP, "iad", "--gtid-prefix", "3e11", "--yes"]));
      expect(short.code).toBe(2);
      expect(short.stderr).toMatch(/^error: --gtid-prefix: GTID prefix "3e11" is 4 characters; give at least 8/);

      const coldOnDivergent = await expectUnchanged(() => plugin(["reclone", GROUP, "iad", "--cold", "--yes"]));
      expect(coldOnDivergent.code).toBe(2);
      expect(coldOnDivergent.stderr).toMatch(/^error: iad has divergent transactions .*drop --cold/);

      const primary = await expectUnchanged(() => plugin(["reclone", GROUP, "pdx", "--cold", "--yes"]));
      expect(primary.code).toBe(2);
      expect(primary.stderr).toBe(
        "error: refusing to reclone pdx: it is the active primary of orders; fail over to another primary-candidate first (nothing was changed)\n",
      );

      const unknown = await expectUnchanged(() => plugin(["reclone", GROUP, "lax", "--cold", "--yes"]));
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toMatch(/^error: site "lax" is not in spec.sites of orders; known sites: iad, pdx, dr, sfo/);

      const both = await expectUnchanged(() => plugin(["reclone", GROUP, "iad", "--cold", "--gtid-prefix", "3e11fa47"]));
      expect(both.code).toBe(2);
    });

    it("without a terminal and without --yes: shows what would be destroyed, then refuses (exit 2)", async () => {
      const r = await expectUnchanged(() => plugin(["reclone", GROUP, "iad"]));
      expect(r.code).toBe(2);
      expect(r.stdout).toBe(
        [
          `Reclone of iad in ${ns}/orders: all its data is replaced by a clone of the active primary pdx.`,
          "  Site:            iad (primary-candidate; read-only, RecoveryBlocked)",
          "  Data destroyed:  everything in iad's MySQL data directory, replaced by a copy of pdx",
          `  Divergent set:   ${DIVERGENT}`,
          "  Transactions:    5 committed only on iad; lost for good unless saved first (kubectl bloodraven runbook divergent-old-primary)",
          `  Annotation:      ${RECLONE}=iad:3e11fa47-71c`,
          "",
        ].join("\n"),
      );
      expect(r.stderr).toBe(
        "error: refusing without --yes: a reclone destroys iad's data, and stdin is not a terminal to confirm it; read the summary above and rerun with --yes\n",
      );
    });

    it("posts the exact annotation: the quoted divergent prefix, an explicit prefix, or confirm=<group> for --cold", async () => {
      const r = await plugin(["reclone", GROUP, "iad", "--yes"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`requested reclone of iad in ${ns}/orders (${RECLONE}=iad:3e11fa47-71c)\n`);
      expect(r.stderr).toMatch(/^the operator answers with a RecloneRequested or RecloneRejected event; .*: kubectl describe mfg orders -n \S+\n$/);
      expect((await annotations())[RECLONE]).toBe("iad:3e11fa47-71c");

      // The same request again: nothing to do; a different one while it is pending: refused.
      const same = await expectUnchanged(() => plugin(["reclone", GROUP, "iad", "--yes"]));
      expect(same.code).toBe(0);
      expect(same.stdout).toContain("the same reclone request is already recorded");
      const other = await expectUnchanged(() => plugin(["reclone", GROUP, "sfo", "--cold", "--yes"]));
      expect(other.code).toBe(2);
      expect(other.stderr).toContain(`another reclone request is already recorded on ${ns}/orders (${RECLONE}=iad:3e11fa47-71c)`);

      await kubectl(["annotate", "mfg", GROUP, "-n", ns, `${RECLONE}-`]);
      const explicit = await plugin(["reclone", GROUP, "iad", "--gtid-prefix", "3e11fa47-71ca-11e1", "--yes"]);
      expect(explicit.code).toBe(0);
      expect((await annotations())[RECLONE]).toBe("iad:3e11fa47-71ca-11e1");

      await kubectl(["annotate", "mfg", GROUP, "-n", ns, `${RECLONE}-`]);
      const coldRun = await plugin(["reclone", GROUP, "sfo", "--cold", "--yes"]);
      expect(coldRun.code).toBe(0);
      expect(coldRun.stdout).toContain("  Divergent set:   none recorded: a cold reclone");
      expect((await annotations())[RECLONE]).toBe("sfo:confirm=orders");
    });
  });

  describe("maintenance", () => {
    it("on writes the JSON annotation (until, reason, by = the kubeconfig user); status shows it; off removes it", async () => {
      const user = await kubectl(["config", "view", "--minify", "-o", "jsonpath={.contexts[0].context.user}"]);
      const before = Date.now();
      const on = await plugin(["maintenance", "on", GROUP, "--for", "2h", "--reason", "network work in iad"]);
      expect(on.stderr).toBe("");
      expect(on.code).toBe(0);
      const raw = (await annotations())[MAINTENANCE]!;
      const parsed = parseMaintenance(raw);
      expect(parsed.ok).toBe(true);
      const m = JSON.parse(raw) as { until: string; reason: string; by: string };
      expect(Object.keys(m)).toEqual(["until", "reason", "by"]);
      expect(m.reason).toBe("network work in iad");
      expect(m.by).toBe(user.stdout.trim());
      expect(m.until).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      const until = Date.parse(m.until);
      expect(until).toBeGreaterThanOrEqual(before + 2 * 3_600_000 - 1_000);
      expect(until).toBeLessThanOrEqual(Date.now() + 2 * 3_600_000 + 1_000);
      expect(on.stdout).toContain(`maintenance on for ${ns}/orders until ${m.until} (2h from now): network work in iad\n`);
      expect(on.stdout).toContain("  Paused:      automatic failover and automatic split-brain resolution\n");
      expect(on.stdout).toContain("  Still runs:  planned failovers (kubectl bloodraven failover)\n");

      const status = await plugin(["maintenance", "status", GROUP]);
      expect(status.code).toBe(0);
      expect(status.stderr).toBe("");
      expect(status.stdout).toContain("Maintenance:  on\n");
      expect(status.stdout).toContain(`Until:        ${m.until}\n`);
      expect(status.stdout).toMatch(/^Remaining: {4}(1h59m(\d+s)?|2h(\d+s)?)$/m);
      expect(status.stdout).toContain("Reason:       network work in iad\n");
      expect(status.stdout).toContain(`By:           ${m.by}\n`);
      expect(status.stdout).toMatch(/^Operator: {5}has not reported the Maintenance condition yet \(annotation set \d+s ago\)$/m);

      // Once the operator reports the condition, status says so.
      const cond = { type: "Maintenance", status: "True", reason: "MaintenanceActive", message: `automatic failover and split-brain resolution paused until ${m.until}`, lastTransitionTime: now() };
      await setStatus({ ...HEALTHY, conditions: [cond] });
      const reported = await plugin(["maintenance", "status", GROUP]);
      expect(reported.stdout).toMatch(/^Operator: {5}reports Maintenance=True \(MaintenanceActive\) since \S+Z$/m);

      const off = await plugin(["maintenance", "off", GROUP]);
      expect(off.code).toBe(0);
      expect(off.stdout).toBe(`maintenance off for ${ns}/orders: automatic failover and split-brain resolution resume on the operator's next poll\n`);
      expect((await annotations())[MAINTENANCE]).toBeUndefined();
      expect((await annotations())["example.com/owner"]).toBe("team-db");
      const again = await expectUnchanged(() => plugin(["maintenance", "off", GROUP]));
      expect(again.code).toBe(0);
      expect(again.stdout).toBe(`${ns}/orders is not in maintenance; nothing to do\n`);
      const offStatus = await plugin(["maintenance", "status", GROUP]);
      expect(offStatus.stdout).toContain("Maintenance:  off\n");
    });

    it("--until sets that exact time; --for defaults to 1h and accepts days up to 7d", async () => {
      const until = new Date(Date.now() + 3 * 3_600_000).toISOString().replace(/\.\d+Z$/, "Z");
      const r = await plugin(["maintenance", "on", GROUP, "--until", until]);
      expect(r.code).toBe(0);
      expect(JSON.parse((await annotations())[MAINTENANCE]!)).toMatchObject({ until });

      const dflt = await plugin(["maintenance", "on", GROUP]);
      expect(dflt.code).toBe(0);
      expect(dflt.stdout).toContain("(1h from now)");
      expect(dflt.stdout).toContain("(replaces the maintenance until");
      const week = await plugin(["maintenance", "on", GROUP, "--for", "7d"]);
      expect(week.code).toBe(0);
      expect(Date.parse(JSON.parse((await annotations())[MAINTENANCE]!).until as string) - Date.now()).toBeGreaterThan(7 * 24 * 3_600_000 - 60_000);
    });

    it("rejects bad --for/--until with exit 2 and writes nothing", async () => {
      const past = new Date(Date.now() - 60_000).toISOString();
      const far = new Date(Date.now() + 8 * 24 * 3_600_000).toISOString();
      for (const [flags, message] of [
        [["--for", "8d"], /^error: --for: 8d is longer than the maximum, 7d \(168h\)/],
        [["--for", "169h"], /^error: --for: 169h is longer than the maximum/],
        [["--for", "0s"], /^error: --for: invalid duration "0s": must be greater than zero/],
        [["--for", "90"], /^error: --for: invalid duration "90": a number needs a unit/],
        [["--until", "tomorrow"], /^error: --until: must be an RFC 3339 time/],
        [["--until", past], /^error: --until: \S+ is not in the future/],
        [["--until", far], /^error: --until: \S+ is more than 7 days \(168h\) ahead/],
        [["--for", "1h", "--until", far], /^error: --for and --until cannot be combined/],
        [["--reason", "x".repeat(300)], /^error: --reason must be text of at most 256 characters/],
      ] as const) {
        const r = await expectUnchanged(() => plugin(["maintenance", "on", GROUP, ...flags]));
        expect(r.code, flags.join(" ")).toBe(2);
        expect(r.stderr).toMatch(message);
      }
      const missing = await plugin(["maintenance", "on", "nope"]);
      expect(missing.code).toBe(2);
      const status = await plugin(["maintenance", "status", "nope"]);
      expect(status.code).toBe(1);
      expect(status.stderr).toBe(`error: no MysqlFailoverGroup ${ns}/nope; kubectl get mfg -n ${ns} lists them\n`);
    });
  });
});
