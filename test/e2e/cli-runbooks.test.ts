import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { MysqlFailoverGroup } from "../../shared/api/index.js";
import { Kube, loadKubeConfig, type StatusPatch } from "../../shared/kube/client.js";
import { ANNOTATIONS } from "../../shared/names.js";
import { EnvDir } from "../../scripts/env/env-dir.js";
import { kubectl, testKubeconfig, type CommandResult } from "../support/kubectl.js";
import { asList } from "../support/fixtures.js";

/**
 * Every `kubectl bloodraven ...` command of every runbook the plugin bundles, run as written
 * (through bash and the real kubectl, with the built plugin) against a group on the real API
 * server whose status is what the runbook's situation looks like. Commands that write run with
 * --dry-run: the plugin reads the group and checks the request exactly as it would, then prints
 * the change instead of writing it. A runbook command the plugin refuses fails this file.
 */
const ns = `cli-runbooks-${randomBytes(3).toString("hex")}`;
const GROUP = "orders";
const UUID_A = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
const UUID_B = "8a94f357-aab4-11df-86ab-c80aa9429562";
const DIVERGENT = `${UUID_A}:11-15`;
const RECLONE = "bloodraven.shipstream.io/reclone-site";
const MAINTENANCE = "bloodraven.shipstream.io/maintenance";

/** The commands that write, which every runbook runs with --dry-run; the plugin refuses --dry-run on any other. */
const WRITING_COMMANDS = ["failover", "reclone", "maintenance on", "maintenance off", "backup", "verify-backup", "restore"];

/** `<placeholder>` in a runbook's inline commands, and what the test puts in its place. */
const PLACEHOLDERS: Record<string, string> = { group: GROUP, namespace: ns, name: "list" };

/** Shell variables the runbooks tell the reader to fill with `@@gtid_executed` of a site. */
const GTID_VARIABLES = {
  IAD: `${UUID_A}:1-15`,
  PDX: `${UUID_A}:1-10,\n${UUID_B}:1-3`,
  SFO: `${UUID_A}:1-10`,
  ACTIVE: `${UUID_A}:1-15,\n${UUID_B}:1-3`,
  A: `${UUID_A}:1-15`,
  B: `${UUID_A}:1-10`,
};

const site = (name: string, state: string, extra: Record<string, unknown> = {}) => ({ name, state, replicating: state === "read-only", secondsBehindSource: state === "read-only" ? 0 : null, ...extra });

/** iad primary, pdx and the reader sfo replicating: the situation of every runbook not listed in SITUATIONS. */
const HEALTHY = { activeSite: "iad", sites: [site("iad", "writable"), site("pdx", "read-only"), site("sfo", "read-only")] };

/** The status a runbook's commands meet: the situation its "When to use" section describes. */
const SITUATIONS: Record<string, object> = {
  "divergent-old-primary": {
    activeSite: "pdx",
    sites: [site("iad", "read-only", { replicating: false, recoveryState: "RecoveryBlocked", divergentGtid: DIVERGENT, divergentTransactionCount: 5 }), site("pdx", "writable"), site("sfo", "read-only")],
  },
  "pvc-loss": { activeSite: "pdx", sites: [site("iad", "unreachable", { lastError: "connect ECONNREFUSED" }), site("pdx", "writable"), site("sfo", "read-only")] },
  "site-unreachable": { activeSite: "iad", sites: [site("iad", "writable"), site("pdx", "unreachable", { lastError: "connect ECONNREFUSED" }), site("sfo", "read-only")] },
  "replication-lag-high": {
    activeSite: "iad",
    sites: [site("iad", "writable"), site("pdx", "read-only", { replicating: false, lastError: "Got fatal error 1236 from source when reading data from binary log" }), site("sfo", "read-only")],
  },
  // Step 5: iad is the only writable site again, the fenced loser pdx holds transactions of its own.
  "split-brain-recovery": {
    activeSite: "iad",
    sites: [site("iad", "writable"), site("pdx", "read-only", { replicating: false, recoveryState: "RecoveryBlocked", divergentGtid: DIVERGENT, divergentTransactionCount: 5 }), site("sfo", "read-only")],
  },
};

/**
 * Commands a runbook gives for a later moment than its situation: the status (and annotations)
 * that moment shows. `failover --cancel` is for a switchover still running.
 */
const RUNNING_SWITCHOVER = {
  annotations: { [ANNOTATIONS.plannedFailover]: "pdx", [ANNOTATIONS.plannedFailoverRequestId]: "r-runbook" },
  status: { ...HEALTHY, plannedFailover: { requestId: "r-runbook", phase: "WaitingForLag", target: "pdx", source: "iad", startTime: "2026-12-04T03:00:00Z", phaseTime: "2026-12-04T03:00:01Z" } },
};
const MOMENTS: readonly (readonly [RegExp, { annotations: Record<string, string>; status: object }])[] = [[/ --cancel\b/, RUNNING_SWITCHOVER]];

/** The `kubectl bloodraven` commands of a runbook: lines of its code blocks and its inline code. */
function pluginCommands(markdown: string): string[] {
  const commands: string[] = [];
  let inCode = false;
  for (const line of markdown.split("\n")) {
    if (/^\s*```/.test(line)) {
      inCode = !inCode;
      continue;
    }
    if (inCode) {
      if (line.includes("kubectl bloodraven")) commands.push(line.trim());
      continue;
    }
    for (const m of line.matchAll(/`([^`]*kubectl bloodraven[^`]*)`/g)) commands.push(m[1]!.trim());
  }
  return commands.map((c) =>
    c.replace(/<([a-z]+)>/g, (whole, name: string) => {
      const value = PLACEHOLDERS[name];
      if (value === undefined) throw new Error(`runbook command ${c}: no value for ${whole}; add one to PLACEHOLDERS`);
      return value;
    }),
  );
}

/** The command with --dry-run right after each writing subcommand, so the plugin checks but writes nothing. */
function withDryRun(command: string): string {
  const pattern = new RegExp(`kubectl bloodraven (${WRITING_COMMANDS.join("|")})(?=\\s|$)`, "g");
  return command.replace(pattern, (whole) => `${whole} --dry-run`);
}

const isWatch = (command: string) => /kubectl bloodraven status\b.*\s(-w|--watch)\b/.test(command);

let env: EnvDir;
/** Reads and patches in-process: a kubectl process per read would double this file's time. */
let kube: Kube;
/** The test kubeconfig with the test namespace as the context's: runbook commands name no namespace. */
let kubeconfig: string;

/**
 * Runs one command line with bash (`-u`: a variable the runbook uses and the test does not set
 * is an error) in its own process group. A `status --watch` runs until its first report, then
 * gets Ctrl-C (SIGINT), which ends it with exit 0.
 */
function runLine(command: string): Promise<CommandResult> {
  const child = spawn("bash", ["-u", "-c", command], {
    env: { ...process.env, ...GTID_VARIABLES, KUBECONFIG: kubeconfig, PATH: `${inject("distDir")}:${process.env.PATH ?? ""}`, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, name);
    } catch {
      // Already gone.
    }
  };
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    let interrupted = false;
    const deadline = setTimeout(() => signal("SIGKILL"), 30_000);
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      if (isWatch(command) && !interrupted && stdout.includes(`${ns}/${GROUP}`)) {
        interrupted = true;
        signal("SIGINT");
      }
    });
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code, sig) => {
      clearTimeout(deadline);
      resolve({ code: code ?? (sig ? 128 : 1), stdout, stderr });
    });
  });
}

function group(): Promise<MysqlFailoverGroup> {
  return kube.getFailoverGroup(ns, GROUP);
}

async function setStatus(status: object): Promise<void> {
  await kube.patchFailoverGroupStatus(ns, GROUP, null as unknown as StatusPatch);
  await kube.patchFailoverGroupStatus(ns, GROUP, status as StatusPatch);
}

/** Sets the planned-failover annotations to exactly `annotations` (removing those not given). */
async function setAnnotations(annotations: Record<string, string>): Promise<void> {
  const current = (await group()).metadata.annotations ?? {};
  const planned = [ANNOTATIONS.plannedFailover, ANNOTATIONS.plannedFailoverRequestId];
  const patch = Object.fromEntries(planned.map((key) => [key, annotations[key] ?? null]));
  if (planned.every((key) => (current[key] ?? null) === patch[key])) return;
  await kube.patchFailoverGroupMetadata(ns, GROUP, { annotations: patch });
}

/** The runbooks as the built plugin bundles them: `runbook list`, then each one's Markdown. */
async function bundledRunbooks(): Promise<Map<string, string>> {
  const list = await kubectl(["bloodraven", "runbook", "list"]);
  expect(list.code, list.stderr).toBe(0);
  const names = list.stdout.trim().split("\n").slice(1).map((row) => row.split(/\s+/)[0]!);
  const runbooks = new Map<string, string>();
  for (const name of names) {
    const r = await kubectl(["bloodraven", "runbook", name]);
    expect(r.code, r.stderr).toBe(0);
    runbooks.set(name, r.stdout);
  }
  return runbooks;
}

beforeAll(async () => {
  env = new EnvDir("cli-runbooks");
  kube = new Kube(loadKubeConfig({ kubeconfig: testKubeconfig() }), { timeoutMs: 10_000 });
  kubeconfig = env.join("kubeconfig");
  copyFileSync(testKubeconfig(), kubeconfig);
  const set = await kubectl(["config", "set-context", "--current", `--namespace=${ns}`], { env: { KUBECONFIG: kubeconfig } });
  expect(set.code, set.stderr).toBe(0);
  const spec = {
    secretName: "orders-dsn",
    sites: [
      { name: "iad", endpoint: { host: "127.0.0.1", port: 3306 } },
      { name: "pdx", endpoint: { host: "127.0.0.1", port: 3307 } },
      { name: "sfo", role: "read-only", endpoint: { host: "127.0.0.1", port: 3308 } },
    ],
    backup: { profiles: [{ name: "nightly", storage: { pvc: { claimName: "backups" } } }] },
  };
  // backup-restore's group of managed sites, its verified backup and the copy the runbook makes
  // (whose status the runbook reads after the restore), all written by hand as no operator runs.
  const managed = (group: string) => ["iad", "pdx"].map((name) => ({ name, storage: { size: "1Gi" }, taintNodeSelector: { [`shipstream.io/site.${group}`]: name } }));
  const shopSpec = (group: string) => ({
    credentials: { operator: { secretName: "shop-operator" } },
    sites: managed(group),
    backup: { profiles: [{ name: "nightly", storage: { pvc: { claimName: "backups" } } }], pitr: { enabled: true, profileName: "nightly" } },
  });
  const custom = (kind: string, name: string, spec: object) => ({ apiVersion: "shipstream.io/v1alpha1", kind, metadata: { name, namespace: ns }, spec });
  const items = [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } },
    { apiVersion: "shipstream.io/v1alpha1", kind: "MysqlFailoverGroup", metadata: { name: GROUP, namespace: ns }, spec },
    custom("MysqlFailoverGroup", "shop", shopSpec("shop")),
    custom("MysqlFailoverGroup", "shop-drill", shopSpec("shop-drill")),
    custom("MysqlBackup", "shop-nightly-20261204-030007", { failoverGroupRef: { name: "shop" }, profileName: "nightly" }),
    custom("MysqlBackupVerification", "shop-nightly-verify-20261204-040000", { failoverGroupRef: { name: "shop" }, profileName: "nightly" }),
  ];
  const r = await kubectl(["apply", "-f", "-"], { input: asList(items) });
  expect(r.stderr).toBe("");
  for (const [resource, name, status] of [
    ["mysqlbackup", "shop-nightly-20261204-030007", { phase: "Succeeded" }],
    ["mysqlbackupverification", "shop-nightly-verify-20261204-040000", { phase: "Succeeded", backupName: "shop-nightly-20261204-030007" }],
  ] as const) {
    const patched = await kubectl(["patch", resource, name, "-n", ns, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status })]);
    expect(patched.stderr).toBe("");
  }
});

afterAll(async () => {
  await kubectl(["delete", "namespace", ns, "--wait=false"]);
  env?.remove();
});

describe("every kubectl bloodraven command in the bundled runbooks runs (writing ones with --dry-run)", () => {
  let runbooks: Map<string, string>;

  beforeAll(async () => {
    runbooks = await bundledRunbooks();
  });

  it("finds the runbooks and their commands, writing ones among them", () => {
    expect(runbooks.size).toBeGreaterThanOrEqual(11);
    const all = [...runbooks.values()].flatMap(pluginCommands);
    expect(all.length).toBeGreaterThan(40);
    for (const writing of ["failover", "reclone", "backup"]) expect(all.some((c) => c.includes(`kubectl bloodraven ${writing} `))).toBe(true);
    for (const name of Object.keys(SITUATIONS)) expect(runbooks.has(name), name).toBe(true);
  });

  it("each runbook's commands are accepted, and write nothing", async () => {
    const refused: string[] = [];
    let applied: object | undefined;
    for (const [name, markdown] of runbooks) {
      for (const command of pluginCommands(markdown)) {
        const moment = MOMENTS.find(([pattern]) => pattern.test(command))?.[1];
        const status = moment?.status ?? SITUATIONS[name] ?? HEALTHY;
        if (status !== applied) {
          await setAnnotations(moment?.annotations ?? {});
          await setStatus(status);
        }
        applied = status;
        const before = await group();
        const line = withDryRun(command);
        const r = await runLine(line);
        // A writing command either prints its dry run or finds nothing to do (maintenance already off).
        const checked = line === command || /^dry run: nothing was written|; nothing to do$/m.test(r.stdout);
        if (r.code !== 0 || /^error:/m.test(r.stderr) || !checked) {
          refused.push(`${name}: ${line}\n  exit ${r.code}\n  stdout: ${r.stdout.trim().split("\n").slice(-3).join("\n          ")}\n  stderr: ${r.stderr.trim()}`);
        }
        const after = await group();
        expect(after.metadata.resourceVersion, `${name}: ${line} changed the group`).toBe(before.metadata.resourceVersion);
      }
    }
    expect(refused, refused.join("\n")).toEqual([]);
    // About 50 commands, each a kubectl process and a few reads: near two minutes on a quiet
    // two-core machine, so the tier's default limit would leave no room for a busy one.
  }, 360_000);
});

describe("--dry-run checks like a real run and writes nothing", () => {
  const plugin = (args: string[]) => kubectl(["bloodraven", ...args, "-n", ns]);

  async function unchanged(args: string[]): Promise<CommandResult> {
    const before = await group();
    const r = await plugin(args);
    const after = await group();
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    return r;
  }

  beforeAll(async () => {
    await setStatus(HEALTHY);
  });

  it("failover prints both annotations and the wait it would do", async () => {
    const r = await unchanged(["failover", GROUP, "pdx", "--wait", "--timeout", "5m", "--dry-run"]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toBe(
      `dry run: nothing was written; without --dry-run the plugin would patch the annotations of ${ns}/${GROUP}:\n` +
        "  set bloodraven.shipstream.io/planned-failover=pdx\n" +
        "  set bloodraven.shipstream.io/planned-failover-request-id=<a fresh random UUID>\n" +
        "  then follow the request until it ends, at most 5m (--wait)\n",
    );
  });

  it("failover refuses what a real run refuses, with exit 2", async () => {
    expect(await unchanged(["failover", GROUP, "sfo", "--dry-run"])).toMatchObject({ code: 2, stderr: expect.stringMatching(/^error: sfo is a read-only site/) });
    expect(await unchanged(["failover", GROUP, "pdx", "--timeout", "1m", "--dry-run"])).toMatchObject({ code: 2, stderr: expect.stringMatching(/^error: --timeout only applies with --wait/) });
    expect(await unchanged(["failover", GROUP, "iad", "--dry-run"])).toMatchObject({ code: 0, stdout: `iad is already the active site of ${ns}/${GROUP}; nothing to do\n` });
  });

  it("reclone shows what would be destroyed without asking for --yes, and refuses a cold reclone without --cold", async () => {
    const cold = await unchanged(["reclone", GROUP, "pdx", "--dry-run"]);
    expect(cold.code).toBe(2);
    expect(cold.stderr).toMatch(/^error: pdx has no divergentGtid in status, so this would be a cold reclone .* rerun with --cold \(nothing was changed\)\n$/);
    const r = await unchanged(["reclone", GROUP, "pdx", "--cold", "--dry-run"]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toContain("Reclone of pdx in");
    expect(r.stdout).toContain(`dry run: nothing was written; without --dry-run the plugin would patch the annotations of ${ns}/${GROUP}:\n  set ${RECLONE}=pdx:confirm=${GROUP}\n`);
  });

  it("maintenance on prints the annotation it would set, and refuses a bad --for; off says what it would remove", async () => {
    const on = await unchanged(["maintenance", "on", GROUP, "--for", "2h", "--reason", "network work", "--dry-run"]);
    expect(on).toMatchObject({ code: 0, stderr: "" });
    expect(on.stdout).toMatch(new RegExp(`^dry run: nothing was written; .*\\n  set ${MAINTENANCE}=\\{"until":"[^"]+Z","reason":"network work","by":"[^"]+"\\}\\n$`));
    expect(await unchanged(["maintenance", "on", GROUP, "--for", "8d", "--dry-run"])).toMatchObject({ code: 2, stderr: expect.stringMatching(/^error: --for: 8d is longer than the maximum/) });
    expect(await unchanged(["maintenance", "off", GROUP, "--dry-run"])).toMatchObject({ code: 0, stdout: `${ns}/${GROUP} is not in maintenance; nothing to do\n` });
    const set = await kubectl(["annotate", "mfg", GROUP, "-n", ns, `${MAINTENANCE}={"until":"2099-01-01T00:00:00Z"}`]);
    expect(set.code, set.stderr).toBe(0);
    const off = await unchanged(["maintenance", "off", GROUP, "--dry-run"]);
    expect(off).toMatchObject({ code: 0, stderr: "" });
    expect(off.stdout).toContain(`\n  remove ${MAINTENANCE}\n`);
    expect((await group()).metadata.annotations?.[MAINTENANCE]).toBe('{"until":"2099-01-01T00:00:00Z"}');
  });

  it("is refused by the commands that never write", async () => {
    expect(await plugin(["status", GROUP, "--dry-run"])).toMatchObject({ code: 2, stderr: expect.stringMatching(/unknown option '--dry-run'/) });
  });
});
