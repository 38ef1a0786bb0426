/**
 * The chart's roles for people (templates/user-roles.yaml, rbac.userRoles) against the real API
 * server, with the real plugin through the real kubectl. Four real identities, tokens of
 * ServiceAccounts minted with `kubectl create token` and handed to the plugin with `--token`: one
 * bound to Kubernetes' own `view`, one to its own `edit` (both through a RoleBinding in the test
 * namespace), one to the chart's oncall ClusterRole, and one bound to nothing. Each runs every
 * command of the plugin that talks to the API server, and the test checks who is allowed and who
 * is refused, with which message.
 *
 * The tier's kube-controller-manager runs only the garbage-collector and namespace controllers,
 * so this file starts a second one running only the ClusterRole aggregation controller: the
 * viewer and the editor get the chart's rules through aggregation, as in a real cluster, not
 * through a binding to the chart's roles.
 *
 * No operator runs: status is written by hand through the status subresource, and the writes are
 * real (a `--dry-run` reads but writes nothing, so it proves no write permission; see the last
 * test of the writes). A planned failover or reclone request that nobody acts on starts nothing.
 */
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { ensureControlPlaneBinaries } from "../../scripts/env/control-plane.js";
import { EnvDir } from "../../scripts/env/env-dir.js";
import { waitFor } from "../../scripts/env/ports.js";
import { ManagedProcesses } from "../../scripts/env/processes.js";
import type { MysqlFailoverGroup } from "../../shared/api/index.js";
import { ANNOTATIONS, EVENT_REASONS } from "../../shared/names.js";
import { asList } from "../support/fixtures.js";
import { chartDir, helm } from "../support/helm.js";
import { kubectl, mustKubectl, run, startKubectl, testKubeconfig, type CommandResult } from "../support/kubectl.js";
import { getObject } from "../support/pods.js";

const suffix = randomBytes(3).toString("hex");
const ns = `cli-rbac-${suffix}`;
const release = `rbacu-${suffix}`;
const fullname = `${release}-bloodraven`;
const GROUP = "orders";
const RESOURCE = "mysqlfailovergroups.shipstream.io";
const BACKUPS = "mysqlbackups.shipstream.io";
const VERIFICATIONS = "mysqlbackupverifications.shipstream.io";

type Who = "viewer" | "editor" | "oncall" | "nobody";
const PEOPLE: readonly Who[] = ["viewer", "editor", "oncall", "nobody"];
/** What each ServiceAccount is bound to in the test namespace (nobody: nothing). */
const BINDINGS: Record<Exclude<Who, "nobody">, string> = { viewer: "view", editor: "edit", oncall: `${fullname}-oncall` };

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
}
interface ClusterRole {
  metadata: { name: string; labels?: Record<string, string> };
  rules?: Rule[] | null;
}

const HEALTHY = {
  activeSite: "iad",
  sites: [
    { name: "iad", state: "writable", replicating: false, secondsBehindSource: null },
    { name: "pdx", state: "read-only", replicating: true, secondsBehindSource: 0 },
    { name: "sfo", state: "read-only", replicating: true, secondsBehindSource: 0 },
  ],
};

const tokens = {} as Record<Who, string>;

/** The plugin through kubectl, authenticated only by the person's token. */
const plugin = (who: Who, args: string[]): Promise<CommandResult> => kubectl(["bloodraven", `--token=${tokens[who]}`, ...args, "-n", ns]);

/** The same, as a child process that the test interacts with (--watch, --wait). */
const startPlugin = (who: Who, args: string[]) => startKubectl(["bloodraven", `--token=${tokens[who]}`, ...args, "-n", ns]);

async function group(): Promise<MysqlFailoverGroup> {
  return JSON.parse(await mustKubectl(["get", "mfg", GROUP, "-n", ns, "-o", "json"])) as MysqlFailoverGroup;
}

const annotations = async (): Promise<Record<string, string>> => (await group()).metadata.annotations ?? {};

/** Removes every request annotation, as an admin. */
async function clearRequests(): Promise<void> {
  const keys = [ANNOTATIONS.plannedFailover, ANNOTATIONS.plannedFailoverRequestId, ANNOTATIONS.recloneSite, ANNOTATIONS.maintenance];
  await mustKubectl(["annotate", "mfg", GROUP, "-n", ns, ...keys.map((k) => `${k}-`)]);
}

/** The 403 message of the plugin (cli/kube-context.ts explainApiError): the verb, the resource, the namespace and the check. */
function forbiddenMessage(verb: string, resource = RESOURCE): string {
  return `error: forbidden: you cannot ${verb} ${resource} in namespace ${ns}; ask for RBAC that grants "${verb}" on ${resource} (check with: kubectl auth can-i ${verb} ${resource} -n ${ns})`;
}

/** `kubectl auth can-i` with the person's own token (a SelfSubjectAccessReview, no impersonation). */
async function canI(who: Who, args: string[]): Promise<boolean> {
  const r = await kubectl(["auth", "can-i", ...args, `--token=${tokens[who]}`]);
  if (r.code > 1) throw new Error(`kubectl auth can-i ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim() === "yes";
}

async function clusterRole(name: string): Promise<ClusterRole> {
  return JSON.parse(await mustKubectl(["get", "clusterrole", name, "-o", "json"])) as ClusterRole;
}

/** The verbs a ClusterRole's rules grant on MysqlFailoverGroups. */
const groupVerbs = (role: ClusterRole): string[] =>
  [...new Set((role.rules ?? []).filter((r) => r.apiGroups?.includes("shipstream.io") && r.resources?.includes("mysqlfailovergroups")).flatMap((r) => r.verbs))].sort();

async function renderRoles(name: string, sets: string[]): Promise<CommandResult> {
  return helm(["template", name, chartDir, "--namespace", ns, ...sets.flatMap((s) => ["--set", s]), "--show-only", "templates/user-roles.yaml"]);
}

const rolesOf = (manifest: string): ClusterRole[] =>
  parseAllDocuments(manifest)
    .map((d) => d.toJS() as (ClusterRole & { kind: string }) | null)
    .filter((o): o is ClusterRole & { kind: string } => o !== null && o.kind === "ClusterRole");

const VIEW = ["get", "list", "watch"];
const EDIT = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
const ONCALL = ["get", "list", "patch", "watch"];

let env: EnvDir;
let aggregator: ManagedProcesses;

describe("the chart's roles for people, with the real plugin and real identities", () => {
  beforeAll(async () => {
    env = new EnvDir("cli-rbac");
    // Only the ClusterRole aggregation controller. Its command line names a path in env (the
    // guardian kills it with the test process).
    const kubeconfig = env.join("kubeconfig");
    copyFileSync(testKubeconfig(), kubeconfig);
    aggregator = new ManagedProcesses(env);
    aggregator.start("kube-controller-manager", `${ensureControlPlaneBinaries()}/kube-controller-manager`, [
      `--kubeconfig=${kubeconfig}`,
      "--controllers=clusterrole-aggregation-controller",
      "--leader-elect=false",
      "--use-service-account-credentials=false",
      "--secure-port=0",
      "--v=1",
    ]);

    const rendered = await renderRoles(release, ["rbac.userRoles=true"]);
    if (rendered.code !== 0) throw new Error(rendered.stderr);
    // The chart's Role for reading the operator's log lives in the release namespace.
    await mustKubectl(["apply", "--server-side", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } }));
    await mustKubectl(["apply", "--server-side", "-f", "-"], rendered.stdout);

    const site = (name: string, role: string, port: number) => ({ name, role, endpoint: { host: "127.0.0.1", port } });
    const items: object[] = [
      { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } },
      ...PEOPLE.map((who) => ({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: who, namespace: ns } })),
      ...Object.entries(BINDINGS).map(([who, role]) => ({
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: who, namespace: ns },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role },
        subjects: [{ kind: "ServiceAccount", name: who, namespace: ns }],
      })),
      {
        apiVersion: "shipstream.io/v1alpha1",
        kind: "MysqlFailoverGroup",
        metadata: { name: GROUP, namespace: ns },
        spec: {
          secretName: "orders-dsn",
          sites: [site("iad", "primary-candidate", 3306), site("pdx", "primary-candidate", 3307), site("sfo", "read-only", 3308)],
          backup: { profiles: [{ name: "nightly", storage: { pvc: { claimName: "backups" } } }] },
        },
      },
    ];
    await mustKubectl(["apply", "-f", "-"], asList(items));
    await mustKubectl(["patch", "mfg", GROUP, "-n", ns, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status: HEALTHY })]);
    for (const who of PEOPLE) tokens[who] = (await mustKubectl(["create", "token", who, "-n", ns, "--duration=1h"])).trim();
    // The aggregation controller fills view, edit and admin with the chart's rules.
    await waitFor(
      "the chart's rules aggregated into view, edit and admin",
      async () => groupVerbs(await clusterRole("view")).length > 0 && groupVerbs(await clusterRole("edit")).includes("patch") && groupVerbs(await clusterRole("admin")).includes("patch"),
      60_000,
      250,
    );
  });

  afterAll(async () => {
    await kubectl(["delete", "clusterrole", "-l", `app.kubernetes.io/instance=${release}`, "--wait=false"]);
    await kubectl(["delete", "namespace", ns, "--wait=false"]);
    await aggregator?.stop();
    env?.remove();
  });

  describe("the roles", () => {
    it("are named after the release, as the chart's other cluster objects, and rendered by default, and only with rbac.create and rbac.userRoles", async () => {
      const named = await renderRoles("bloodraven", ["rbac.userRoles=true"]);
      expect(named.code, named.stderr).toBe(0);
      const roles = rolesOf(named.stdout);
      expect(roles.map((r) => r.metadata.name)).toEqual(["bloodraven-view", "bloodraven-edit", "bloodraven-oncall"]);
      const aggregation = (r: ClusterRole) => Object.keys(r.metadata.labels ?? {}).filter((k) => k.startsWith("rbac.authorization.k8s.io/aggregate-to-")).sort();
      expect(roles.map(aggregation)).toEqual([
        ["rbac.authorization.k8s.io/aggregate-to-view"],
        ["rbac.authorization.k8s.io/aggregate-to-admin", "rbac.authorization.k8s.io/aggregate-to-edit"],
        [],
      ]);
      expect(roles.map(groupVerbs)).toEqual([VIEW, EDIT, ONCALL]);
      // Nothing but groups, the events reclone --wait lists, and the backups and verifications `backup` and `verify-backup` make and follow, for the oncall role.
      expect(roles[2]!.rules).toEqual([
        { apiGroups: ["shipstream.io"], resources: ["mysqlfailovergroups"], verbs: ["get", "list", "watch", "patch"] },
        { apiGroups: [""], resources: ["events"], verbs: ["list"] },
        { apiGroups: ["shipstream.io"], resources: ["mysqlbackups", "mysqlbackupverifications"], verbs: ["get", "create"] },
      ]);

      expect(rolesOf((await renderRoles("bloodraven", [])).stdout).map((r) => r.metadata.name)).toEqual(["bloodraven-view", "bloodraven-edit", "bloodraven-oncall"]);
      for (const sets of [["rbac.userRoles=false"], ["rbac.userRoles=true", "rbac.create=false"]]) {
        const none = await renderRoles("bloodraven", sets);
        expect(none.code, sets.join(" ")).not.toBe(0);
        expect(none.stderr).toContain("could not find template templates/user-roles.yaml");
      }
    });

    it("view, edit and admin hold the chart's rules through aggregation; nothing aggregates the oncall role", async () => {
      expect(groupVerbs(await clusterRole("view"))).toEqual(VIEW);
      expect(groupVerbs(await clusterRole("edit"))).toEqual(EDIT);
      expect(groupVerbs(await clusterRole("admin"))).toEqual(EDIT);
      const oncall = await clusterRole(`${fullname}-oncall`);
      expect(Object.keys(oncall.metadata.labels ?? {}).filter((k) => k.startsWith("rbac.authorization.k8s.io/"))).toEqual([]);
    });

    it("kubectl auth can-i, with each person's token: each may do what its role grants, and no more", async () => {
      const questions: [string, Who[]][] = [
        [`get ${RESOURCE}`, ["viewer", "editor", "oncall"]],
        [`list ${RESOURCE}`, ["viewer", "editor", "oncall"]],
        [`watch ${RESOURCE}`, ["viewer", "editor", "oncall"]],
        [`patch ${RESOURCE}`, ["editor", "oncall"]],
        [`list events`, ["viewer", "editor", "oncall"]],
        [`create ${RESOURCE}`, ["editor"]],
        [`update ${RESOURCE}`, ["editor"]],
        [`delete ${RESOURCE}`, ["editor"]],
        [`patch ${RESOURCE} --subresource=status`, []],
        [`update ${RESOURCE} --subresource=status`, []],
        [`create events`, ["editor"]],
        [`get ${BACKUPS}`, ["viewer", "editor", "oncall"]],
        [`create ${BACKUPS}`, ["editor", "oncall"]],
        [`delete ${BACKUPS}`, ["editor"]],
        [`get ${VERIFICATIONS}`, ["viewer", "editor", "oncall"]],
        [`list ${VERIFICATIONS}`, ["viewer", "editor"]],
        [`create ${VERIFICATIONS}`, ["editor", "oncall"]],
        [`delete ${VERIFICATIONS}`, ["editor"]],
        [`patch ${VERIFICATIONS} --subresource=status`, []],
        [`get secrets`, ["editor"]],
        [`list pods`, ["viewer", "editor"]],
        [`get pods --subresource=log`, ["viewer", "editor"]],
        [`create pods --subresource=portforward`, ["editor"]],
        [`get services --subresource=proxy`, ["editor"]],
        // The plugin needs no Lease: Kubernetes' edit grants it, the oncall role does not.
        [`get leases.coordination.k8s.io`, ["editor"]],
      ];
      const wrong: string[] = [];
      for (const [question, allowed] of questions) {
        for (const who of PEOPLE) {
          const answer = await canI(who, [...question.split(" "), "-n", ns]);
          if (answer !== allowed.includes(who)) wrong.push(`${who}: ${question}: ${answer ? "yes" : "no"}`);
        }
      }
      // Namespace-bound: nobody may read groups elsewhere.
      for (const who of PEOPLE) if (await canI(who, ["list", RESOURCE, "-A"])) wrong.push(`${who}: list ${RESOURCE} -A: yes`);
      expect(wrong).toEqual([]);
    });
  });

  describe("the commands that read", () => {
    const readers: Who[] = ["viewer", "editor", "oncall"];

    it("status (list), status <group> (get) and maintenance status (get): allowed with any of the three roles, refused without one", async () => {
      for (const who of PEOPLE) {
        const list = await plugin(who, ["status"]);
        const one = await plugin(who, ["status", GROUP]);
        const maintenance = await plugin(who, ["maintenance", "status", GROUP]);
        if (readers.includes(who)) {
          expect([list.code, one.code, maintenance.code], `${who}: ${list.stderr}${one.stderr}${maintenance.stderr}`).toEqual([0, 0, 0]);
          expect(list.stdout).toMatch(new RegExp(`^${GROUP}\\s+iad\\s`, "m"));
          expect(one.stdout).toContain("iad");
          expect(maintenance.stdout).toContain(`${ns}/${GROUP}`);
        } else {
          expect([list.code, one.code, maintenance.code]).toEqual([1, 1, 1]);
          expect(list.stderr).toBe(`${forbiddenMessage("list")}\n`);
          expect(one.stderr).toBe(`${forbiddenMessage("get")}\n`);
          expect(maintenance.stderr).toBe(`${forbiddenMessage("get")}\n`);
        }
      }
    });

    it("status -A: refused to every one of them (the bindings are in one namespace), naming the scope", async () => {
      for (const who of PEOPLE) {
        const r = await plugin(who, ["status", "-A"]);
        expect(r.code, who).toBe(1);
        expect(r.stderr).toContain(`forbidden: you cannot list ${RESOURCE} across all namespaces; ask for RBAC that grants "list"`);
      }
    });

    it("report (get the group; list what it holds and owns): the viewer and editor get every part of the group's namespace, on-call the group and its events, nobody nothing", async () => {
      const dir = mkdtempSync(join(tmpdir(), "bloodraven-rbac-report-"));
      try {
        const operatorParts = ["operator/logs.jsonl", "operator/status.json", "operator/metrics.txt"];
        for (const who of PEOPLE) {
          const file = join(dir, `${who}.tar.gz`);
          const r = await plugin(who, ["report", GROUP, "--file", file, "--operator-namespace", `${ns}-no-operator`]);
          if (who === "nobody") {
            expect(r.code).toBe(1);
            expect(r.stderr).toBe(`${forbiddenMessage("get")}\n`);
            expect(existsSync(file)).toBe(false);
            continue;
          }
          expect(r.code, `${who}: ${r.stderr}`).toBe(0);
          const listed = await run("tar", ["-xzOf", file, "report.json"]);
          const manifest = JSON.parse(listed.stdout) as { files: string[]; missing: { file: string; error: string }[] };
          // None of these roles reads the operator's Lease (the chart's operator-diagnostics Role
          // does, in the operator's namespace): its parts are left out, naming the check.
          const missing = manifest.missing.filter((m) => !operatorParts.includes(m.file));
          if (who === "oncall") {
            expect(manifest.files, who).toEqual(["group.yaml", "events.yaml"]);
            expect(missing.map((m) => m.file)).toEqual(["backups.yaml", "verifications.yaml", "objects.yaml"]);
            expect(missing[0]!.error).toContain(`forbidden: you cannot list mysqlbackups.shipstream.io in namespace ${ns}`);
          } else {
            expect(manifest.files, who).toEqual(["group.yaml", "backups.yaml", "verifications.yaml", "objects.yaml", "events.yaml"]);
            expect(missing, who).toEqual([]);
          }
          expect(manifest.missing.filter((m) => operatorParts.includes(m.file)).map((m) => m.error)).toEqual(operatorParts.map(() => expect.stringContaining(`forbidden: you cannot get leases.coordination.k8s.io in namespace ${ns}-no-operator;`)));
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("status --watch (watch): sees a change with any of the three roles", async () => {
      for (const who of readers) {
        const p = startPlugin(who, ["status", GROUP, "--watch", "-o", "yaml"]);
        try {
          await waitFor(`${who}: the first drawing`, async () => p.out.stdout.includes(`name: ${GROUP}`), 15_000, 50);
          // A change only a working watch shows: a new drawing, after the YAML document separator.
          const lag = 10 + readers.indexOf(who);
          await mustKubectl(["patch", "mfg", GROUP, "-n", ns, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status: { sites: HEALTHY.sites.map((s) => (s.name === "sfo" ? { ...s, secondsBehindSource: lag } : s)) } })]);
          await waitFor(
            `${who}: a drawing with the change`,
            async () => {
              // A refused watch ends the command: fail with its message rather than wait.
              if (p.child.exitCode !== null) throw new Error(`exited ${p.child.exitCode}: ${p.out.stderr}`);
              return p.out.stdout.split("\n---\n").slice(1).some((d) => d.includes(`secondsBehindSource: ${lag}`));
            },
            15_000,
            50,
          );
          expect(p.out.stderr).toBe("");
        } finally {
          p.child.kill("SIGINT");
        }
        expect(await p.exited).toBe(0);
      }
    });

    it("status --watch without a role: refused at the first read, exit 1", async () => {
      const p = startPlugin("nobody", ["status", GROUP, "--watch"]);
      expect(await p.exited).toBe(1);
      expect(p.out.stderr).toBe(`${forbiddenMessage("get")}\n`);
    });
  });

  describe("the commands that write", () => {
    const writers: Who[] = ["editor", "oncall"];

    /** A refused write: exit 1, the missing permission named, the group untouched. */
    async function expectRefused(who: Who, args: string[], verb: string): Promise<void> {
      const before = await group();
      const r = await plugin(who, args);
      expect(r.code, `${who} ${args.join(" ")}: ${r.stdout}${r.stderr}`).toBe(1);
      expect(r.stderr).toContain(forbiddenMessage(verb));
      expect((await group()).metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    }

    it("maintenance on and off (get, patch): done by the editor and on-call; refused to the viewer (patch) and to nobody (get)", async () => {
      await clearRequests();
      for (const who of writers) {
        const on = await plugin(who, ["maintenance", "on", GROUP, "--for", "10m", "--reason", `rbac test by ${who}`]);
        expect(on.code, on.stderr).toBe(0);
        const value = JSON.parse((await annotations())[ANNOTATIONS.maintenance] ?? "{}") as { reason?: string };
        expect(value.reason).toBe(`rbac test by ${who}`);
        const off = await plugin(who, ["maintenance", "off", GROUP]);
        expect(off.code, off.stderr).toBe(0);
        expect((await annotations())[ANNOTATIONS.maintenance]).toBeUndefined();
      }
      await expectRefused("viewer", ["maintenance", "on", GROUP, "--for", "10m"], "patch");
      await expectRefused("nobody", ["maintenance", "on", GROUP, "--for", "10m"], "get");
      // Something to switch off, set by an admin.
      await mustKubectl(["annotate", "mfg", GROUP, "-n", ns, `${ANNOTATIONS.maintenance}={"until":"${new Date(Date.now() + 600_000).toISOString()}","reason":"admin","by":"admin"}`]);
      await expectRefused("viewer", ["maintenance", "off", GROUP], "patch");
      await expectRefused("nobody", ["maintenance", "off", GROUP], "get");
      await clearRequests();
    });

    it("failover and failover --cancel (get, patch): done by the editor and on-call; refused to the viewer and to nobody", async () => {
      await clearRequests();
      for (const who of writers) {
        const post = await plugin(who, ["failover", GROUP, "pdx", "--yes"]);
        expect(post.code, post.stderr).toBe(0);
        expect(post.stdout).toContain(`requested planned failover of ${ns}/${GROUP} to pdx`);
        expect((await annotations())[ANNOTATIONS.plannedFailover]).toBe("pdx");
        const cancel = await plugin(who, ["failover", GROUP, "--cancel", "--yes"]);
        expect(cancel.code, cancel.stderr).toBe(0);
        expect(cancel.stdout).toContain(`withdrew the planned failover request of ${ns}/${GROUP}`);
        expect((await annotations())[ANNOTATIONS.plannedFailover]).toBeUndefined();
      }
      await expectRefused("viewer", ["failover", GROUP, "pdx", "--yes"], "patch");
      await expectRefused("nobody", ["failover", GROUP, "pdx", "--yes"], "get");
      // A request to withdraw, posted by an admin.
      await mustKubectl(["annotate", "mfg", GROUP, "-n", ns, `${ANNOTATIONS.plannedFailover}=pdx`, `${ANNOTATIONS.plannedFailoverRequestId}=by-admin`]);
      await expectRefused("viewer", ["failover", GROUP, "--cancel", "--yes"], "patch");
      await expectRefused("nobody", ["failover", GROUP, "--cancel", "--yes"], "get");
      await clearRequests();
    });

    it("backup (get the group, create a MysqlBackup): done by the editor and on-call; refused to the viewer (create) and to nobody (get)", async () => {
      for (const who of writers) {
        const r = await plugin(who, ["backup", GROUP, "--profile", "nightly", "--name", `by-${who}`]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toBe(`created MysqlBackup ${ns}/by-${who} (profile nightly)\n`);
        const created = await getObject<{ spec: { failoverGroupRef: { name: string }; profileName: string; triggeredBy: string } }>(["mysqlbackup", `by-${who}`, "-n", ns]);
        expect(created.spec).toEqual({ failoverGroupRef: { name: GROUP }, profileName: "nightly", triggeredBy: "manual" });
      }
      const viewer = await plugin("viewer", ["backup", GROUP, "--profile", "nightly", "--name", "by-viewer"]);
      expect(viewer.code).toBe(1);
      expect(viewer.stderr).toBe(`${forbiddenMessage("create", BACKUPS)}\n`);
      const nobody = await plugin("nobody", ["backup", GROUP, "--profile", "nightly", "--name", "by-nobody"]);
      expect(nobody.code).toBe(1);
      expect(nobody.stderr).toBe(`${forbiddenMessage("get")}\n`);
      expect((await kubectl(["get", "mysqlbackups", "-n", ns, "-o", "name"])).stdout.trim().split("\n").sort()).toEqual(["mysqlbackup.shipstream.io/by-editor", "mysqlbackup.shipstream.io/by-oncall"]);
    });

    it("verify-backup (get the group and the --backup, create a MysqlBackupVerification): done by the editor and on-call; refused to the viewer (create) and to nobody (get)", async () => {
      // A Succeeded backup to pin, made and finished by hand as no operator runs.
      const pinned = { apiVersion: "shipstream.io/v1alpha1", kind: "MysqlBackup", metadata: { name: "b-done", namespace: ns }, spec: { failoverGroupRef: { name: GROUP }, profileName: "nightly" } };
      await mustKubectl(["create", "-f", "-"], JSON.stringify(pinned));
      await mustKubectl(["patch", "mysqlbackup", "b-done", "-n", ns, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status: { phase: "Succeeded" } })]);
      const args = (who: Who) => ["verify-backup", GROUP, "--profile", "nightly", "--backup", "b-done", "--sanity-query", "SELECT COUNT(*) FROM shop.orders", "--min-rows", "1", "--name", `verify-by-${who}`];
      for (const who of writers) {
        const r = await plugin(who, args(who));
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toBe(`created MysqlBackupVerification ${ns}/verify-by-${who} (profile nightly, backup b-done, with a sanity query)\n`);
        const created = await getObject<{ metadata: { labels: Record<string, string> }; spec: object }>(["mysqlbackupverification", `verify-by-${who}`, "-n", ns]);
        expect(created.metadata.labels).toEqual({ "shipstream.io/failover-group": GROUP });
        expect(created.spec).toMatchObject({
          failoverGroupRef: { name: GROUP },
          profileName: "nightly",
          backupRef: { name: "b-done" },
          sanityCheck: { query: "SELECT COUNT(*) FROM shop.orders", minRows: 1 },
          triggeredBy: "manual",
        });
      }
      const viewer = await plugin("viewer", args("viewer"));
      expect(viewer.code).toBe(1);
      expect(viewer.stderr).toBe(`${forbiddenMessage("create", VERIFICATIONS)}\n`);
      const nobody = await plugin("nobody", args("nobody"));
      expect(nobody.code).toBe(1);
      expect(nobody.stderr).toBe(`${forbiddenMessage("get")}\n`);
      expect((await kubectl(["get", "mysqlbackupverifications", "-n", ns, "-o", "name"])).stdout.trim().split("\n").sort()).toEqual([
        "mysqlbackupverification.shipstream.io/verify-by-editor",
        "mysqlbackupverification.shipstream.io/verify-by-oncall",
      ]);
    });

    it("verify-backup --wait (get the verification): on-call follows it to Succeeded, written by hand as the operator would", async () => {
      const p = startPlugin("oncall", ["verify-backup", GROUP, "--profile", "nightly", "--name", "verify-waited", "--wait", "--timeout", "60s"]);
      try {
        await waitFor("the verification", async () => (await kubectl(["get", "mysqlbackupverification", "verify-waited", "-n", ns])).code === 0, 15_000, 100);
        const status = { phase: "Succeeded", backupName: "b-done", backupGtid: "0-1-42", restoreSeconds: 3, count: 12, queryMilliseconds: 4 };
        await mustKubectl(["patch", "mysqlbackupverification", "verify-waited", "-n", ns, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status })]);
        expect(await p.exited, p.out.stderr).toBe(0);
      } finally {
        p.child.kill("SIGINT");
      }
      expect(p.out.stderr).toBe("");
      expect(p.out.stdout).toMatch(/ Succeeded: backup b-done restores at GTID 0-1-42 \(restored in 3s\), the sanity query counted 12 in 4ms\n$/);
    });

    it("restore (get the group and the backup, list verifications, create a group): done by the editor; refused to on-call (list), the viewer (create) and nobody (get); --dry-run with read access alone", async () => {
      // A group of managed sites with a verified backup, all written by hand as no operator runs.
      const managed = (name: string, lbIP: string) => ({ name, storage: { size: "1Gi" }, lbIP, taintNodeSelector: { "shipstream.io/site.catalog": name } });
      await mustKubectl(
        ["create", "-f", "-"],
        asList([
          {
            apiVersion: "shipstream.io/v1alpha1",
            kind: "MysqlFailoverGroup",
            metadata: { name: "catalog", namespace: ns },
            spec: { credentials: { operator: { secretName: "catalog-operator" } }, dns: { hostname: "catalog.db.example.com" }, sites: [managed("iad", "10.0.0.1"), managed("pdx", "10.0.0.2")], backup: { profiles: [{ name: "nightly", storage: { pvc: { claimName: "backups" } } }] } },
          },
          { apiVersion: "shipstream.io/v1alpha1", kind: "MysqlBackup", metadata: { name: "catalog-b1", namespace: ns }, spec: { failoverGroupRef: { name: "catalog" }, profileName: "nightly" } },
          { apiVersion: "shipstream.io/v1alpha1", kind: "MysqlBackupVerification", metadata: { name: "catalog-v1", namespace: ns }, spec: { failoverGroupRef: { name: "catalog" }, profileName: "nightly" } },
        ]),
      );
      await mustKubectl(["patch", "mysqlbackup", "catalog-b1", "-n", ns, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status: { phase: "Succeeded" } })]);
      const args = (to: string, more: string[] = []) => ["restore", "catalog", to, "--backup", "catalog-b1", ...more];
      // Not verified yet: refused before anything is written, naming the way out.
      const unverified = await plugin("editor", args("catalog-drill"));
      expect(unverified.code).toBe(2);
      expect(unverified.stderr).toContain("no MysqlBackupVerification has Succeeded on catalog-b1");
      await mustKubectl(["patch", "mysqlbackupverification", "catalog-v1", "-n", ns, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status: { phase: "Succeeded", backupName: "catalog-b1" } })]);

      const dry = await plugin("viewer", args("catalog-drill", ["--dry-run"]));
      expect(dry.code, dry.stderr).toBe(0);
      expect(dry.stdout).toContain("dry run: nothing was written");
      const done = await plugin("editor", args("catalog-drill"));
      expect(done.code, done.stderr).toBe(0);
      expect(done.stdout).toBe(
        [
          "left out of the copy (production owns them): dns, sites[iad].lbIP, sites[pdx].lbIP",
          "its sites run on nodes of their own, which the operator taints while a site is not writable: label them (kubectl label node <node> shipstream.io/site.catalog-drill=iad, or shipstream.io/site.catalog-drill=pdx)",
          `created MysqlFailoverGroup ${ns}/catalog-drill (from catalog's backup catalog-b1, verified by catalog-v1)`,
          "",
        ].join("\n"),
      );
      const created = await getObject<MysqlFailoverGroup>(["mfg", "catalog-drill", "-n", ns]);
      expect(created.metadata.annotations?.["bloodraven.shipstream.io/restored-from"]).toBe("catalog/catalog-b1");
      const copied = (name: string) => ({ name, role: "primary-candidate", storage: { size: "1Gi" }, taintNodeSelector: { "shipstream.io/site.catalog-drill": name } });
      expect(created.spec.sites).toEqual([copied("iad"), copied("pdx")]);
      expect(created.spec).toMatchObject({ initFromBackup: { profileName: "nightly", source: { group: "catalog", backup: "catalog-b1" }, pointInTime: { mode: "none" } } });
      expect(created.spec.dns).toBeUndefined();
      const again = await plugin("editor", args("catalog-drill"));
      expect(again.code).toBe(2);
      expect(again.stderr).toContain(`a MysqlFailoverGroup ${ns}/catalog-drill exists already`);

      expect(await plugin("oncall", args("catalog-oncall"))).toMatchObject({ code: 1, stderr: `${forbiddenMessage("list", VERIFICATIONS)}\n` });
      expect(await plugin("viewer", args("catalog-viewer"))).toMatchObject({ code: 1, stderr: `${forbiddenMessage("create")}\n` });
      expect(await plugin("nobody", args("catalog-nobody"))).toMatchObject({ code: 1, stderr: `${forbiddenMessage("get")}\n` });
    });

    it("restore --in-place (patch the group's spec): bad input exits 2 before anything is written; the editor sets spec.restoreInPlace, confirmed now, and --wait follows this request's record", async () => {
      const args = (more: string[]) => ["restore", "catalog", "--in-place", "--backup", "catalog-b1", ...more];
      const refused: [string[], string][] = [
        [[], "--in-place discards everything catalog wrote after the backup, on every site: add --yes to confirm"],
        [["--yes", "--site", "pdx"], "--site: a restore in place restores the active primary"],
        [["--yes", "--point-in-time", "latest"], "--point-in-time: group catalog has no binary log archive (spec.backup.pitr) to replay"],
      ];
      for (const [more, message] of refused) {
        const r = await plugin("editor", args(more));
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toContain(message);
      }
      const named = await plugin("editor", ["restore", "catalog", "catalog-x", "--in-place", "--backup", "catalog-b1", "--yes"]);
      expect(named.code).toBe(2);
      expect(named.stderr).toContain("<new-group>: --in-place restores catalog itself");
      const dry = await plugin("viewer", args(["--dry-run"]));
      expect(dry.code, dry.stderr).toBe(0);
      expect(dry.stdout).toContain(`dry run: nothing was written. Would set on MysqlFailoverGroup ${ns}/catalog:`);
      expect(dry.stdout).toContain('"restoreInPlace"');
      expect((await getObject<MysqlFailoverGroup>(["mfg", "catalog", "-n", ns])).spec.restoreInPlace).toBeUndefined();
      expect(await plugin("oncall", args(["--yes"]))).toMatchObject({ code: 1, stderr: `${forbiddenMessage("list", VERIFICATIONS)}\n` });

      const before = Date.now();
      const p = startPlugin("editor", args(["--yes", "--wait", "--timeout", "60s"]));
      try {
        const request = await waitFor("spec.restoreInPlace", async () => (await getObject<MysqlFailoverGroup>(["mfg", "catalog", "-n", ns])).spec.restoreInPlace, 15_000, 100);
        expect(request).toMatchObject({ profileName: "nightly", source: { group: "catalog", backup: "catalog-b1" }, pointInTime: { mode: "none" } });
        expect(Date.parse(request.confirm)).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
        // An earlier restore's record is not this request's outcome; then the operator's, played by hand.
        const earlier = { phase: "Succeeded", confirm: "2026-01-01T00:00:00Z", site: "iad", backup: `${ns}/catalog/catalog-b0`, gtid: "0-1-7" };
        await mustKubectl(["patch", "mfg", "catalog", "-n", ns, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status: { restoreInPlace: earlier } })]);
        await new Promise((r) => setTimeout(r, 2_500));
        expect(p.child.exitCode).toBeNull();
        const done = { ...earlier, confirm: request.confirm, backup: `${ns}/catalog/catalog-b1`, gtid: "0-1-42", recloning: [] };
        await mustKubectl(["patch", "mfg", "catalog", "-n", ns, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status: { restoreInPlace: done } })]);
        expect(await p.exited, p.out.stderr).toBe(0);
      } finally {
        p.child.kill("SIGINT");
      }
      expect(p.out.stdout).toContain(`requested the restore in place of ${ns}/catalog from catalog-b1`);
      expect(p.out.stdout).toMatch(/ Succeeded: site iad runs on .*catalog-b1 at GTID 0-1-42, and every other site was recloned from it\n$/);
    });

    it("failover --wait (watch): the editor and on-call follow their request until --timeout, never refused", async () => {
      for (const who of writers) {
        await clearRequests();
        const r = await plugin(who, ["failover", GROUP, "pdx", "--yes", "--wait", "--timeout", "2s"]);
        // No operator answers: the wait ends with --timeout, which only a working watch reaches.
        expect(r.code, r.stderr).toBe(1);
        expect(r.stderr).toContain("the operator has not picked up the request");
        expect(r.stderr).not.toContain("forbidden");
      }
      await clearRequests();
    });

    it("reclone --wait (get, patch, list events, watch): the editor and on-call read the operator's rejection from the events; refused to the viewer and to nobody", async () => {
      for (const who of writers) {
        await clearRequests();
        const p = startPlugin(who, ["reclone", GROUP, "sfo", "--cold", "--yes", "--wait", "--timeout", "30s"]);
        try {
          const value = await waitFor(`${who}: the reclone request`, async () => (await annotations())[ANNOTATIONS.recloneSite], 15_000, 50);
          expect(value).toBe(`sfo:confirm=${GROUP}`);
          // Play the operator refusing it: a RecloneRejected event, then the annotation removed.
          const at = new Date().toISOString();
          const event = {
            apiVersion: "v1",
            kind: "Event",
            metadata: { name: `${GROUP}.rbac-${who}-${suffix}`, namespace: ns },
            involvedObject: { apiVersion: "shipstream.io/v1alpha1", kind: "MysqlFailoverGroup", name: GROUP, namespace: ns },
            reason: EVENT_REASONS.recloneRejected,
            message: "NoAgent: sfo runs no agent",
            type: "Warning",
            count: 1,
            firstTimestamp: at,
            lastTimestamp: at,
            source: { component: "bloodraven" },
          };
          await mustKubectl(["create", "-f", "-"], JSON.stringify(event));
          await mustKubectl(["annotate", "mfg", GROUP, "-n", ns, `${ANNOTATIONS.recloneSite}-`]);
          expect(await p.exited, p.out.stderr).toBe(1);
        } finally {
          p.child.kill("SIGINT");
        }
        expect(p.out.stderr).toContain(`error: the operator rejected the reclone of sfo in ${ns}/${GROUP}`);
        expect(p.out.stderr).toContain("NoAgent: sfo runs no agent");
      }
      await clearRequests();
      await expectRefused("viewer", ["reclone", GROUP, "sfo", "--cold", "--yes"], "patch");
      await expectRefused("nobody", ["reclone", GROUP, "sfo", "--cold", "--yes"], "get");
    });

    it("--dry-run reads and writes nothing: it passes with read access alone, so it proves no write permission", async () => {
      await clearRequests();
      const before = (await group()).metadata.resourceVersion;
      for (const args of [
        ["failover", GROUP, "pdx", "--dry-run"],
        ["reclone", GROUP, "sfo", "--cold", "--dry-run"],
        ["maintenance", "on", GROUP, "--dry-run"],
        ["backup", GROUP, "--profile", "nightly", "--dry-run"],
        ["verify-backup", GROUP, "--profile", "nightly", "--dry-run"],
      ]) {
        const r = await plugin("viewer", args);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toContain("dry run: nothing was written");
        const refused = await plugin("nobody", args);
        expect(refused.code).toBe(1);
        expect(refused.stderr).toContain(forbiddenMessage("get"));
      }
      expect((await group()).metadata.resourceVersion).toBe(before);
    });
  });

  it("deleting the chart's roles takes their rules out of view, edit and admin again", async () => {
    await mustKubectl(["delete", "clusterrole", `${fullname}-view`, `${fullname}-edit`]);
    await waitFor(
      "view, edit and admin without the chart's rules",
      async () => {
        for (const name of ["view", "edit", "admin"]) if (groupVerbs(await clusterRole(name)).length > 0) return false;
        return true;
      },
      30_000,
      250,
    );
    // The authorizer reads the roles from its own cache: a moment later.
    const refused = await waitFor("the viewer refused", async () => {
      const r = await plugin("viewer", ["status", GROUP]);
      return r.code === 1 ? r : undefined;
    }, 10_000, 200);
    expect(refused.stderr).toBe(`${forbiddenMessage("get")}\n`);
  });
});
