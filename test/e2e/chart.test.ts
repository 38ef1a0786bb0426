/**
 * The Helm chart (charts/bloodraven) against the real API server: helm lint, helm template with
 * default values and with every optional feature, server-side dry runs of every rendered object,
 * and the proof that the RBAC it grants is enough and no more: the real operator, holding only
 * a token of the chart's ServiceAccount, leads, reads the credentials, writes status, events, the
 * DNSEndpoint and node taints for a group of real MariaDB servers, while `kubectl auth can-i`
 * and the spec guard show what it cannot do.
 */
import { randomBytes } from "node:crypto";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments, stringify } from "yaml";
import { parseOperatorConfig } from "../../operator/config.js";
import { MariaDbSites, TEST_USERS } from "../../scripts/env/mariadb-sites.js";
import { EnvDir } from "../../scripts/env/env-dir.js";
import { waitFor } from "../../scripts/env/ports.js";
import type { MysqlFailoverGroup } from "../../shared/api/index.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { CLEANUP_FINALIZER, METRICS, readOnlyTaintKey } from "../../shared/names.js";
import { type CommandResult, kubectl, mustKubectl, run, testKubeconfig } from "../support/kubectl.js";
import { allFeatureValues, chartDir, helmBinary } from "../support/helm.js";
import { expectAlerts, type InputSeries } from "../support/promtool.js";
import { OperatorProcess } from "../support/operator.js";
import { asList } from "../support/fixtures.js";

const suffix = randomBytes(3).toString("hex");

// Resolved while the file loads: without helm the whole file fails at once, naming the fix,
// instead of reporting its tests as skipped.
const helmPath = helmBinary();

async function helm(args: string[]): Promise<CommandResult> {
  return run(helmPath, args, { timeoutMs: 60_000 });
}

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** `helm template` output; throws with helm's stderr when rendering fails. */
async function template(release: string, namespace: string, sets: string[] = [], showOnly: string[] = []): Promise<string> {
  const args = ["template", release, chartDir, "--namespace", namespace, ...sets.flatMap((s) => ["--set", s]), ...showOnly.flatMap((s) => ["--show-only", s])];
  const r = await helm(args);
  if (r.code !== 0) throw new Error(`helm ${args.join(" ")}:\n${r.stderr}`);
  return r.stdout;
}

function objects(manifest: string): K8sObject[] {
  return parseAllDocuments(manifest)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

interface PrometheusRuleSpec {
  groups: { name: string; rules: { alert: string; expr: string; labels?: Record<string, string>; annotations?: Record<string, string> }[] }[];
}

/** The spec of the PrometheusRule the chart renders with prometheusRule.enabled: a Prometheus rule file. */
async function ruleSpec(release: string, namespace: string): Promise<PrometheusRuleSpec> {
  const [rule] = objects(await template(release, namespace, ["prometheusRule.enabled=true"], ["templates/prometheusrule.yaml"]));
  return (rule as unknown as { spec: PrometheusRuleSpec }).spec;
}

/** `kubectl apply --dry-run=server`: the API server runs admission and validation, stores nothing. */
async function dryRunServer(manifest: string): Promise<string[]> {
  const out = await mustKubectl(["apply", "--dry-run=server", "-f", "-"], manifest);
  return out.trim().split("\n");
}

const kinds = (objs: K8sObject[]) => objs.map((o) => o.kind).sort();

const baseNs = `chart-${suffix}`;
const extraNs = { a: `chart-a-${suffix}`, b: `chart-b-${suffix}`, monitoring: `chart-mon-${suffix}` };

const ALL_FEATURES = allFeatureValues(extraNs);

describe("charts/bloodraven renders objects the real API server accepts", () => {
  beforeAll(async () => {
    for (const ns of [baseNs, ...Object.values(extraNs)]) await mustKubectl(["create", "namespace", ns]);
  });

  afterAll(async () => {
    await kubectl(["delete", "namespace", baseNs, ...Object.values(extraNs), "--wait=false"]);
  });

  it("passes helm lint, with default values and with every optional feature on", async () => {
    const plain = await helm(["lint", "--strict", chartDir]);
    expect(plain.code, plain.stdout + plain.stderr).toBe(0);
    const all = await helm(["lint", "--strict", chartDir, "--namespace", baseNs, ...ALL_FEATURES.flatMap((s) => ["--set", s])]);
    expect(all.code, all.stdout + all.stderr).toBe(0);
  });

  it("renders the PodMonitor instead of the ServiceMonitor, and refuses both at once, naming the fix", async () => {
    const manifest = await template(`pm-${suffix}`, baseNs, ["metrics.podMonitor.enabled=true"]);
    expect(kinds(objects(manifest))).toContain("PodMonitor");
    expect(kinds(objects(manifest))).not.toContain("ServiceMonitor");
    for (const line of await dryRunServer(manifest)) expect(line).toMatch(/ (created|configured|unchanged) \(server dry run\)$/);
    const both = await helm(["template", `both-${suffix}`, chartDir, "--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.podMonitor.enabled=true"]);
    expect(both.code).not.toBe(0);
    expect(both.stderr).toContain("enable one of them, not both");
    expect(both.stderr).toContain("metrics.podMonitor.enabled=false");
  });

  it("renders the default install, and a server dry run accepts every object", async () => {
    const manifest = await template(`def-${suffix}`, baseNs);
    const objs = objects(manifest);
    expect(kinds(objs)).toEqual(
      [
        "ClusterRole",
        "ClusterRole",
        // The roles for people: -view, -edit, -oncall.
        "ClusterRole",
        "ClusterRole",
        "ClusterRole",
        "ClusterRoleBinding",
        "ClusterRoleBinding",
        "Deployment",
        "PodDisruptionBudget",
        // Leader election; reading the operator's log (for people).
        "Role",
        "Role",
        "RoleBinding",
        // The status API of every replica; of the leader only (the sidecars ask it).
        "Service",
        "Service",
        "ServiceAccount",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
      ].sort(),
    );
    const lines = await dryRunServer(manifest);
    expect(lines).toHaveLength(objs.length);
    for (const line of lines) expect(line).toMatch(/ (created|configured|unchanged) \(server dry run\)$/);
  });

  it("renders every optional feature, and a server dry run accepts every object", async () => {
    const manifest = await template(`all-${suffix}`, baseNs, ALL_FEATURES);
    const objs = objects(manifest);
    for (const kind of ["ServiceMonitor", "PrometheusRule", "ConfigMap"]) expect(kinds(objs)).toContain(kind);
    // One Role + RoleBinding per watched namespace, the Role for reading the operator's log in the release namespace
    // and, cluster-wide, only the node taints and the roles for people.
    const roles = objs.filter((o) => o.kind === "Role").map((o) => o.metadata.namespace);
    expect(roles.sort()).toEqual([baseNs, baseNs, extraNs.a, extraNs.b].sort());
    expect(objs.filter((o) => o.kind === "ClusterRole").map((o) => o.metadata.name)).toEqual(["node-taints", "view", "edit", "oncall"].map((r) => `all-${suffix}-bloodraven-${r}`));
    // watchSecrets: each watched namespace's Role may also list and watch Secrets.
    for (const namespace of [extraNs.a, extraNs.b]) {
      const role = objs.find((o) => o.kind === "Role" && o.metadata.namespace === namespace && o.metadata.name === `all-${suffix}-bloodraven`) as unknown as { rules: { resources: string[]; verbs: string[] }[] };
      expect(role.rules.find((r) => r.resources.includes("secrets"))?.verbs.sort(), namespace).toEqual(["create", "get", "list", "watch"]);
    }
    const dashboards = objs.filter((o) => o.kind === "ConfigMap");
    expect(dashboards.map((o) => o.metadata.namespace)).toEqual(dashboards.map(() => extraNs.monitoring));
    expect(dashboards[0]?.metadata.labels?.grafana_dashboard).toBe("1");
    expect(dashboards[0]?.metadata.annotations?.grafana_folder).toBe("MySQL / Bloodraven");
    const lines = await dryRunServer(manifest);
    expect(lines).toHaveLength(objs.length);
  });

  it("installs, upgrades and uninstalls for real with helm (no kubelet here: pods never run)", async () => {
    const release = `inst-${suffix}`;
    const asAdmin = async (args: string[]) => {
      const r = await run(helmPath, args, { timeoutMs: 60_000, env: { ...process.env, KUBECONFIG: testKubeconfig() } });
      if (r.code !== 0) throw new Error(`helm ${args.join(" ")}:\n${r.stderr}`);
      return r.stdout;
    };
    const installed = async () =>
      (await mustKubectl(["get", "deployment,service,serviceaccount,role,rolebinding", "-n", extraNs.a, "-l", `app.kubernetes.io/instance=${release}`, "-o", "name"])).trim().split("\n").sort();
    // The CRD already exists (global setup applied crds/): helm leaves it alone.
    const notes = await asAdmin(["install", release, chartDir, "--namespace", extraNs.a]);
    expect(notes).toContain(`kubectl rollout status deployment/${release}-bloodraven -n ${extraNs.a}`);
    expect(await installed()).toEqual(
      [
        `deployment.apps/${release}-bloodraven`,
        `role.rbac.authorization.k8s.io/${release}-bloodraven-leader-election`,
        `role.rbac.authorization.k8s.io/${release}-bloodraven-operator-diagnostics`,
        `rolebinding.rbac.authorization.k8s.io/${release}-bloodraven-leader-election`,
        `service/${release}-bloodraven`,
        `service/${release}-bloodraven-leader`,
        `serviceaccount/${release}-bloodraven`,
      ].sort(),
    );
    await asAdmin(["upgrade", release, chartDir, "--namespace", extraNs.a, "--set", `watchNamespaces={${extraNs.b}}`]);
    expect(await mustKubectl(["get", "role", `${release}-bloodraven`, "-n", extraNs.b, "-o", "name"])).toContain(`${release}-bloodraven`);
    expect((await mustKubectl(["get", "clusterrole", "-l", `app.kubernetes.io/instance=${release}`, "-o", "name"])).trim().split("\n")).toEqual(
      ["edit", "node-taints", "oncall", "view"].map((r) => `clusterrole.rbac.authorization.k8s.io/${release}-bloodraven-${r}`),
    );
    await asAdmin(["uninstall", release, "--namespace", extraNs.a]);
    expect((await mustKubectl(["get", "clusterrole,clusterrolebinding,validatingadmissionpolicy", "-l", `app.kubernetes.io/instance=${release}`, "-o", "name"])).trim()).toBe("");
    expect(await installed()).toEqual([""]);
    await mustKubectl(["get", "crd", "mysqlfailovergroups.shipstream.io"]);
  });

  it("gives the operator container arguments and environment the operator accepts", async () => {
    const [deployment] = objects(await template(`args-${suffix}`, baseNs, ALL_FEATURES, ["templates/deployment.yaml"]));
    const pod = (deployment as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec;
    const container = pod.containers[0]!;
    expect(container.args[0]).toBe("operator");
    expect(container.args).toContain("--lease-namespace=$(POD_NAMESPACE)");
    // What the kubelet does: $(VAR) expands to the container's environment.
    const env: Record<string, string> = { POD_NAME: "bloodraven-7d9c-abcde", POD_NAMESPACE: baseNs, BLOODRAVEN_STATUS_TOKEN: "s3cret" };
    const args = container.args.slice(1).map((a) => a.replace(/\$\((\w+)\)/g, (_, name: string) => env[name] ?? ""));
    const config = parseOperatorConfig(args, env);
    expect(config).toMatchObject({
      namespaces: [extraNs.a, extraNs.b],
      leaseNamespace: baseNs,
      identity: env.POD_NAME,
      metricsPort: 8080,
      healthPort: 8081,
      statusPort: 8082,
      logLevel: "debug",
      leaseDurationMs: 20_000,
      allowedOrigins: ["https://ops.example.com", "https://status.example.com"],
      maxWebsocketClients: 20,
      statusToken: "s3cret",
      watchSecrets: true,
    });
    const envNames = container.env.map((e) => e.name);
    expect(envNames).toEqual(expect.arrayContaining(["POD_NAME", "POD_NAMESPACE", "NODE_OPTIONS", "BLOODRAVEN_STATUS_TOKEN"]));
    expect(container.env.find((e) => e.name === "NODE_OPTIONS")?.value).toBe("--max-old-space-size=256");
    expect(container.env.find((e) => e.name === "BLOODRAVEN_STATUS_TOKEN")?.valueFrom).toEqual({ secretKeyRef: { name: "bloodraven-status", key: "token" } });
    expect(container.ports.map((p) => [p.name, p.containerPort])).toEqual([
      ["metrics", 8080],
      ["health", 8081],
      ["status", 8082],
    ]);
    expect(container.livenessProbe.httpGet).toEqual({ path: "/healthz", port: "health" });
    expect(container.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "health" });
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, runAsNonRoot: true, capabilities: { drop: ["ALL"] } });
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true });
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(15);
  });

  it("refuses two replicas without leader election", async () => {
    await expect(template(`nole-${suffix}`, baseNs, ["leaderElection.enabled=false"])).rejects.toThrow(/leaderElection.enabled=false needs replicas: 1/);
    const single = objects(await template(`nole-${suffix}`, baseNs, ["leaderElection.enabled=false", "replicas=1"]));
    const args = (single.find((o) => o.kind === "Deployment") as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec.containers[0]!.args;
    expect(args).toContain("--no-leader-election");
    // Neither a Lease Role nor a PodDisruptionBudget that would block every drain of one replica.
    expect(kinds(single)).not.toContain("PodDisruptionBudget");
    expect(single.filter((o) => o.kind === "Role")).toEqual([]);
    // One replica: the sidecars ask the release's Service, and no pod is labelled.
    expect(args).toContain(`--agent-operator-url=http://nole-${suffix}-bloodraven.${baseNs}.svc:8082`);
    expect(args).not.toContain("--label-leader-pod");
    expect(single.filter((o) => o.kind === "Service").map((o) => o.metadata.name)).toEqual([`nole-${suffix}-bloodraven`]);
  });

  it("sends the sidecars to the leader Service, which selects the labelled leader's pod; the leader-election Role may label pods", async () => {
    const objs = objects(await template(`ldr-${suffix}`, baseNs));
    const args = (objs.find((o) => o.kind === "Deployment") as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec.containers[0]!.args;
    expect(args).toContain("--label-leader-pod");
    expect(args).toContain(`--agent-operator-url=http://ldr-${suffix}-bloodraven-leader.${baseNs}.svc:8082`);
    const leader = objs.find((o) => o.kind === "Service" && o.metadata.name === `ldr-${suffix}-bloodraven-leader`) as unknown as { spec: { selector: Record<string, string>; ports: { name: string; port: number }[] } };
    expect(leader.spec.selector).toEqual({ "app.kubernetes.io/name": "bloodraven", "app.kubernetes.io/instance": `ldr-${suffix}`, "bloodraven.shipstream.io/leader": "true" });
    expect(leader.spec.ports.map((p) => [p.name, p.port])).toEqual([["status", 8082]]);
    const role = objs.find((o) => o.kind === "Role" && o.metadata.name === `ldr-${suffix}-bloodraven-leader-election`) as unknown as { rules: { resources: string[]; verbs: string[] }[] };
    expect(role.rules).toContainEqual({ apiGroups: [""], resources: ["pods"], verbs: ["patch"] });
  });

  it("alerts use only the metrics the operator exports, grouped by namespace and group; five dashboard ConfigMaps", async () => {
    const objs = objects(await template(`mon-${suffix}`, baseNs, ["prometheusRule.enabled=true", "grafanaDashboards.enabled=true"]));
    const exported = new Set<string>(Object.values(METRICS));
    const used = (text: string) => [...text.matchAll(/\bbloodraven_[a-z_]+/g)].map((m) => m[0].replace(/_(bucket|count|sum)$/, ""));

    const rule = objs.find((o) => o.kind === "PrometheusRule") as unknown as { spec: PrometheusRuleSpec };
    const rules = rule.spec.groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert)).toEqual(expect.arrayContaining(["BloodravenNoWritableSite", "BloodravenSplitBrain", "BloodravenReplicationLagging", "BloodravenDivergentTransactions", "BloodravenOperatorDown", "BloodravenNoLeader"]));
    for (const r of rules) {
      for (const metric of used(r.expr)) expect(exported, `${r.alert}: ${metric}`).toContain(metric);
      // The two alerts about the operator itself have no group; the cache manager's faults name
      // it `name`, as the monitoring guide's metric does.
      if (r.alert === "BloodravenDragonflyManagerPanic") expect(r.expr).toMatch(/\bby \(namespace, name\)/);
      else if (r.alert !== "BloodravenOperatorDown" && r.alert !== "BloodravenNoLeader") expect(r.expr, r.alert).toMatch(/\bby \(namespace, group\b/);
    }

    // The dashboards' own checks (metrics, descriptions, links) are in test/unit/dashboards.test.ts.
    const files = readdirSync(join(chartDir, "dashboards")).filter((f) => f.endsWith(".json"));
    expect(files.sort()).toEqual(["archiver.json", "backups.json", "failover.json", "overview.json", "replication.json"]);
    const configMaps = objs.filter((o) => o.kind === "ConfigMap") as unknown as { data: Record<string, string> }[];
    expect(configMaps).toHaveLength(files.length);
    for (const file of files) {
      const dashboard = JSON.parse(readFileSync(join(chartDir, "dashboards", file), "utf8")) as object;
      expect(configMaps.some((cm) => Object.values(cm.data).some((d) => JSON.stringify(JSON.parse(d)) === JSON.stringify(dashboard))), file).toBe(true);
    }
  });
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (what GET /metrics answers). */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const [, key, raw] of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = raw!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/**
 * A scraped sample as Prometheus stores it: the target's labels added, and on a clash the
 * scraped label kept (honorLabels) or renamed `exported_<name>`.
 */
function withTargetLabels(sample: Sample, target: Record<string, string>, honorLabels: boolean): Record<string, string> {
  const labels = { ...target };
  for (const [key, value] of Object.entries(sample.labels)) labels[key in target && !honorLabels ? `exported_${key}` : key] = value;
  return labels;
}

interface PodSpec {
  terminationGracePeriodSeconds: number;
  securityContext: Record<string, unknown>;
  containers: {
    args: string[];
    env: { name: string; value?: string; valueFrom?: unknown }[];
    ports: { name: string; containerPort: number }[];
    livenessProbe: { httpGet: unknown };
    readinessProbe: { httpGet: unknown };
    securityContext: Record<string, unknown>;
  }[];
}

/**
 * The real operator with nothing but the chart's RBAC: its kubeconfig holds a token minted for the
 * chart's ServiceAccount, so every request it makes is authorized as that account.
 */
describe("the chart's RBAC is what the real operator needs, and no more", () => {
  const GROUP = "orders";
  const groupNs = `chart-groups-${suffix}`;
  const lb = { iad: "10.1.0.1", pdx: "10.1.0.2" } as const;
  const hostname = `orders-${suffix}.example.com`;
  const nodeLabel = "chart-test.example.com/site";
  const nodes = { iad: `chart-${suffix}-iad`, pdx: `chart-${suffix}-pdx` } as const;
  let env: EnvDir;
  let sites: MariaDbSites;
  let operator: OperatorProcess | undefined;

  interface Release {
    name: string;
    namespace: string;
    serviceAccount: string;
    user: string;
  }

  /** Renders the release's ServiceAccount, RBAC and spec guard and applies them for real. */
  async function installRbac(name: string, namespace: string, sets: string[] = []): Promise<Release> {
    await mustKubectl(["create", "namespace", namespace]);
    const manifest = await template(name, namespace, sets, ["templates/serviceaccount.yaml", "templates/rbac.yaml", "templates/spec-guard.yaml"]);
    await mustKubectl(["apply", "-f", "-"], manifest);
    const sa = objects(manifest).find((o) => o.kind === "ServiceAccount")!.metadata.name;
    return { name, namespace, serviceAccount: sa, user: `system:serviceaccount:${namespace}:${sa}` };
  }

  /** A kubeconfig for the test API server that authenticates with a fresh token of the release's ServiceAccount. */
  async function serviceAccountKubeconfig(release: Release): Promise<string> {
    const token = (await mustKubectl(["create", "token", release.serviceAccount, "-n", release.namespace, "--duration=2h"])).trim();
    const admin = parse(readFileSync(testKubeconfig(), "utf8")) as { clusters: { cluster: { server: string } }[] };
    const server = admin.clusters[0]!.cluster.server;
    const path = env.join(`${release.name}.kubeconfig`);
    const config = {
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "test", cluster: { server, "insecure-skip-tls-verify": true } }],
      users: [{ name: release.serviceAccount, user: { token } }],
      contexts: [{ name: release.serviceAccount, context: { cluster: "test", user: release.serviceAccount, namespace: release.namespace } }],
      "current-context": release.serviceAccount,
    };
    writeFileSync(path, stringify(config), { mode: 0o600 });
    return path;
  }

  async function startOperator(release: Release, identity: string, args: string[] = []): Promise<OperatorProcess> {
    return OperatorProcess.start({
      identity,
      kubeconfig: await serviceAccountKubeconfig(release),
      // --watch-secrets as the chart's default (watchSecrets) passes it.
      args: [`--lease-namespace=${release.namespace}`, "--lease-duration=3s", "--renew-deadline=2s", "--retry-period=500ms", "--watch-secrets", ...args],
    });
  }

  async function canI(release: Release, args: string[]): Promise<boolean> {
    const r = await kubectl(["auth", "can-i", ...args, `--as=${release.user}`]);
    if (r.code > 1) throw new Error(`kubectl auth can-i ${args.join(" ")}: ${r.stderr}`);
    return r.stdout.trim() === "yes";
  }

  async function group(): Promise<MysqlFailoverGroup> {
    return JSON.parse(await mustKubectl(["get", "mfg", GROUP, "-n", groupNs, "-o", "json"])) as MysqlFailoverGroup;
  }

  async function events(): Promise<{ reason: string; count?: number; type: string }[]> {
    const list = JSON.parse(await mustKubectl(["get", "events", "-n", groupNs, "-o", "json"])) as {
      items: { reason: string; count?: number; type: string; involvedObject: { name: string } }[];
    };
    return list.items.filter((e) => e.involvedObject.name === GROUP);
  }

  const ready = (g: MysqlFailoverGroup) => g.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";

  /** Requests the API server refused: the operator logs the apiserver's message, which says "forbidden". */
  const forbidden = (op: OperatorProcess) => op.lines.filter((l) => /forbidden|HTTP 403|"status":403/i.test(JSON.stringify(l)));

  async function leaseHolder(namespace: string): Promise<string | undefined> {
    const r = await kubectl(["get", "lease", "bloodraven-leader", "-n", namespace, "-o", "jsonpath={.spec.holderIdentity}"]);
    return r.code === 0 ? r.stdout : undefined;
  }

  let cluster: Release;

  beforeAll(async () => {
    env = new EnvDir("chart-rbac");
    sites = await MariaDbSites.start({ names: ["iad", "pdx"], primary: "iad" });
    cluster = await installRbac(`rbac-${suffix}`, `chart-op-${suffix}`);
    await mustKubectl(["create", "namespace", groupNs]);
    const node = (name: string, site: string) => ({ apiVersion: "v1", kind: "Node", metadata: { name, labels: { [nodeLabel]: `${suffix}-${site}` } } });
    const site = (name: "iad" | "pdx") => ({
      name,
      endpoint: { host: "127.0.0.1", port: sites.site(name).port },
      lbIP: lb[name],
      taintNodeSelector: { [nodeLabel]: `${suffix}-${name}` },
    });
    const manifest = [
      node(nodes.iad, "iad"),
      node(nodes.pdx, "pdx"),
      {
        apiVersion: "shipstream.io/v1alpha1",
        kind: "MysqlFailoverGroup",
        metadata: { name: GROUP, namespace: groupNs },
        spec: {
          // The Secret is created by a test below: first the operator must report it missing.
          credentials: { operator: { secretName: "orders-operator" } },
          pollInterval: "500ms",
          failureThreshold: 2,
          recoveryThreshold: 2,
          dns: { hostname, ttl: 30 },
          sites: [site("iad"), site("pdx")],
        },
      },
    ];
    await mustKubectl(["apply", "-f", "-"], asList(manifest));
    // The operator watches every namespace: groups other test files left behind (their
    // namespaces are still terminating) could point at ports our servers now use. Their
    // operators are gone, so their cleanup finalizers are removed by hand, as after an uninstall
    // (docs/install.md).
    await waitFor(
      "no MysqlFailoverGroup outside this test's namespace",
      async () => {
        const all = JSON.parse(await mustKubectl(["get", "mfg", "-A", "-o", "json"])) as { items: MysqlFailoverGroup[] };
        const others = all.items.filter((g) => g.metadata.namespace !== groupNs);
        for (const g of others.filter((o) => o.metadata.deletionTimestamp && o.metadata.finalizers?.includes(CLEANUP_FINALIZER))) {
          await kubectl(["patch", "mfg", g.metadata.name ?? "", "-n", g.metadata.namespace ?? "", "--type=merge", "-p", '{"metadata":{"finalizers":null}}']);
        }
        return others.length === 0;
      },
      90_000,
      500,
    );
    operator = await startOperator(cluster, "chart-op-a");
  });

  afterAll(async () => {
    await operator?.stop("SIGKILL");
    await sites?.teardown();
    for (const release of [`rbac-${suffix}`, `rbacns-${suffix}`]) {
      await kubectl(["delete", "clusterrole,clusterrolebinding,validatingadmissionpolicy,validatingadmissionpolicybinding", "-l", `app.kubernetes.io/instance=${release}`, "--wait=false"]);
    }
    await kubectl(["delete", "node", nodes.iad, nodes.pdx, "--wait=false"]);
    await kubectl(["delete", "namespace", groupNs, `chart-op-${suffix}`, `chart-opns-${suffix}`, "--wait=false"]);
    env?.remove();
  });

  it("becomes leader through the Lease in the release namespace", async () => {
    await waitFor("the operator to lead", async () => (await leaseHolder(cluster.namespace)) === "chart-op-a", 15_000, 200);
    expect(operator!.logged(LOG_MESSAGES.leaderElected)).not.toEqual([]);
  });

  it("reports the missing Secret with an Event, and folds repeats into its count", async () => {
    const event = await waitFor(
      "a SecretNotFound event with count >= 2",
      async () => (await events()).find((e) => e.reason === "SecretNotFound" && (e.count ?? 0) >= 2),
      20_000,
      250,
    );
    expect(event.type).toBe("Warning");
  });

  it("reads the Secret, polls the sites and writes status: Ready=True, activeSite iad", async () => {
    await mustKubectl(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "orders-operator", namespace: groupNs },
        stringData: { username: TEST_USERS.operator.user, password: TEST_USERS.operator.password },
      }),
    );
    const g = await waitFor("Ready=True", async () => {
      const g = await group();
      return ready(g) && g.status?.activeSite === "iad" ? g : undefined;
    }, 30_000, 250);
    expect(g.status?.sites?.map((s) => [s.name, s.state])).toEqual([
      ["iad", "writable"],
      ["pdx", "read-only"],
    ]);
    // The Secret is watched under the chart's role: a change is seen at once, not at the next refresh.
    await mustKubectl(["label", "secret", "orders-operator", "-n", groupNs, "rotated=1"]);
    await operator!.waitForLog(LOG_MESSAGES.credentialsSecretChanged, 10_000);
  });

  it("publishes the DNSEndpoint and taints the nodes of the site that is not writable", async () => {
    const endpoint = await waitFor(
      "the DNSEndpoint",
      async () => {
        const r = await kubectl(["get", "dnsendpoints.externaldns.k8s.io", `bloodraven-${GROUP}`, "-n", groupNs, "-o", "json"]);
        return r.code === 0 ? (JSON.parse(r.stdout) as { spec: { endpoints: { dnsName: string; targets: string[] }[] } }) : undefined;
      },
      20_000,
      250,
    );
    expect(endpoint.spec.endpoints).toMatchObject([{ dnsName: hostname, targets: [lb.iad] }]);
    const taints = async (name: string) =>
      (JSON.parse(await mustKubectl(["get", "node", name, "-o", "json"])) as { spec: { taints?: { key: string; effect: string }[] } }).spec.taints ?? [];
    const ours = async (name: string) => (await taints(name)).filter((t) => t.key === readOnlyTaintKey(GROUP));
    await waitFor("pdx's node tainted", async () => (await ours(nodes.pdx)).some((t) => t.effect === "NoExecute"), 20_000, 250);
    // The API server's own not-ready taint (no kubelet here) stays; the writable site's node has none of ours.
    expect(await ours(nodes.iad)).toEqual([]);
  });

  it("never had a request refused, its routing watches included", async () => {
    const synced = () => operator!.lines.filter((l) => l.msg === LOG_MESSAGES.informerSynced).map((l) => String(l.resource));
    await waitFor("the routing watches listed", async () => ["nodes", "dnsendpoints"].every((r) => synced().includes(r)), 10_000, 100);
    expect(forbidden(operator!).map((l) => JSON.stringify(l))).toEqual([]);
  });

  it("may do exactly what it does: kubectl auth can-i", async () => {
    const allowed: string[][] = [
      ["list", "mysqlfailovergroups.shipstream.io", "-A"],
      ["watch", "mysqlfailovergroups.shipstream.io", "-A"],
      ["patch", "mysqlfailovergroups.shipstream.io", "-n", groupNs],
      ["patch", "mysqlfailovergroups.shipstream.io", "--subresource=status", "-n", groupNs],
      ["get", "secrets", "-n", groupNs],
      ["create", "secrets", "-n", groupNs],
      // watchSecrets (on by default): each named Secret is watched by name.
      ["list", "secrets", "-n", groupNs],
      ["watch", "secrets", "-n", groupNs],
      ["get", "mysqlbackups.shipstream.io", "-n", groupNs],
      ["list", "mysqlbackups.shipstream.io", "-n", groupNs],
      ["create", "mysqlbackups.shipstream.io", "-n", groupNs],
      ["patch", "mysqlbackups.shipstream.io", "-n", groupNs],
      ["delete", "mysqlbackups.shipstream.io", "-n", groupNs],
      ["patch", "mysqlbackups.shipstream.io", "--subresource=status", "-n", groupNs],
      ["create", "jobs.batch", "-n", groupNs],
      ["get", "jobs.batch", "-n", groupNs],
      ["delete", "jobs.batch", "-n", groupNs],
      ["list", "cronjobs.batch", "-n", groupNs],
      ["create", "cronjobs.batch", "-n", groupNs],
      ["patch", "cronjobs.batch", "-n", groupNs],
      ["delete", "cronjobs.batch", "-n", groupNs],
      ["create", "serviceaccounts", "-n", groupNs],
      ["patch", "serviceaccounts", "-n", groupNs],
      ["create", "roles.rbac.authorization.k8s.io", "-n", groupNs],
      ["patch", "roles.rbac.authorization.k8s.io", "-n", groupNs],
      ["create", "rolebindings.rbac.authorization.k8s.io", "-n", groupNs],
      ["patch", "rolebindings.rbac.authorization.k8s.io", "-n", groupNs],
      ["create", "events", "-n", groupNs],
      ["patch", "events", "-n", groupNs],
      ["create", "leases.coordination.k8s.io", "-n", cluster.namespace],
      ["update", "leases.coordination.k8s.io/bloodraven-leader", "-n", cluster.namespace],
      ["create", "dnsendpoints.externaldns.k8s.io", "-n", groupNs],
      ["patch", "dnsendpoints.externaldns.k8s.io", "-n", groupNs],
      ["watch", "dnsendpoints.externaldns.k8s.io", "-n", groupNs],
      ["list", "nodes"],
      ["watch", "nodes"],
      ["patch", "nodes"],
      ["create", "statefulsets.apps", "-n", groupNs],
      ["patch", "statefulsets.apps", "-n", groupNs],
      ["create", "services", "-n", groupNs],
      ["patch", "services", "-n", groupNs],
      ["create", "configmaps", "-n", groupNs],
      ["patch", "configmaps", "-n", groupNs],
      ["create", "poddisruptionbudgets.policy", "-n", groupNs],
      ["patch", "poddisruptionbudgets.policy", "-n", groupNs],
      ["patch", "pods", "-n", groupNs],
      ["list", "pods", "-n", groupNs],
      ["watch", "pods", "-n", groupNs],
      ["delete", "pods", "-n", groupNs],
      ["create", "pods", "--subresource=eviction", "-n", groupNs],
      ["list", "statefulsets.apps", "-n", groupNs],
      ["delete", "statefulsets.apps", "-n", groupNs],
      ["list", "services", "-n", groupNs],
      ["delete", "services", "-n", groupNs],
      ["list", "persistentvolumeclaims", "-n", groupNs],
      ["patch", "persistentvolumeclaims", "-n", groupNs],
      ["delete", "persistentvolumeclaims", "-n", groupNs],
    ];
    const denied: string[][] = [
      ["delete", "secrets", "-n", groupNs],
      ["update", "secrets", "-n", groupNs],
      ["patch", "secrets", "-n", groupNs],
      ["update", "mysqlbackups.shipstream.io", "-n", groupNs],
      ["patch", "jobs.batch", "-n", groupNs],
      ["update", "cronjobs.batch", "-n", groupNs],
      ["delete", "serviceaccounts", "-n", groupNs],
      ["create", "serviceaccounts", "--subresource=token", "-n", groupNs],
      ["delete", "roles.rbac.authorization.k8s.io", "-n", groupNs],
      ["bind", "roles.rbac.authorization.k8s.io", "-n", groupNs],
      ["escalate", "roles.rbac.authorization.k8s.io", "-n", groupNs],
      ["create", "clusterrolebindings.rbac.authorization.k8s.io"],
      ["create", "pods", "-n", groupNs],
      ["create", "pods", "-n", cluster.namespace],
      ["get", "pods", "-n", groupNs],
      ["get", "persistentvolumeclaims", "-n", groupNs],
      ["create", "deployments.apps", "-n", groupNs],
      ["get", "configmaps", "-n", groupNs],
      ["update", "statefulsets.apps", "-n", groupNs],
      ["update", "services", "-n", groupNs],
      ["create", "persistentvolumeclaims", "-n", groupNs],
      ["update", "mysqlfailovergroups.shipstream.io", "-n", groupNs],
      ["create", "mysqlfailovergroups.shipstream.io", "-n", groupNs],
      ["delete", "mysqlfailovergroups.shipstream.io", "-n", groupNs],
      ["update", "mysqlfailovergroups.shipstream.io", "--subresource=status", "-n", groupNs],
      ["delete", "dnsendpoints.externaldns.k8s.io", "-n", groupNs],
      ["update", "leases.coordination.k8s.io/another-lease", "-n", cluster.namespace],
      ["get", "leases.coordination.k8s.io/another-lease", "-n", cluster.namespace],
      ["create", "leases.coordination.k8s.io", "-n", groupNs],
      ["delete", "leases.coordination.k8s.io/bloodraven-leader", "-n", cluster.namespace],
      ["update", "nodes"],
      ["delete", "nodes"],
      ["create", "clusterroles.rbac.authorization.k8s.io"],
      ["update", "customresourcedefinitions.apiextensions.k8s.io"],
    ];
    const answers = async (list: string[][]) => Promise.all(list.map(async (args) => [args.join(" "), await canI(cluster, args)] as const));
    expect((await answers(allowed)).filter(([, yes]) => !yes).map(([q]) => q)).toEqual([]);
    expect((await answers(denied)).filter(([, yes]) => yes).map(([q]) => q)).toEqual([]);
  });

  it("cannot change a group's spec even by patch (spec guard), but can annotate it", async () => {
    const as = `--as=${cluster.user}`;
    // The policy is enforced once the API server has loaded it, which takes a moment after install.
    const refused = await waitFor(
      "the spec guard to refuse a spec patch",
      async () => {
        const r = await kubectl(["patch", "mfg", GROUP, "-n", groupNs, "--type=merge", "-p", '{"spec":{"failoverCooldown":"1m"}}', as]);
        if (r.code === 0) {
          // Loaded too late for this attempt: undo the change as admin and try again.
          await mustKubectl(["patch", "mfg", GROUP, "-n", groupNs, "--type=merge", "-p", '{"spec":{"failoverCooldown":"5m"}}']);
          return undefined;
        }
        return r.stderr;
      },
      20_000,
      500,
    );
    expect(refused).toMatch(/never its spec/);
    expect((await group()).spec.failoverCooldown).toBe("5m");
    await mustKubectl(["annotate", "mfg", GROUP, "-n", groupNs, "example.com/checked-by-chart-test=yes", as]);
    expect((await group()).metadata.annotations?.["example.com/checked-by-chart-test"]).toBe("yes");
  });

  /**
   * The chart's alerts about the operator itself, evaluated by Prometheus' rule engine (promtool).
   * BloodravenOperatorDown on this operator's real scrape, labelled as each supported scrape
   * config labels it: the chart's ServiceMonitor and PodMonitor (namespace, pod, ...;
   * honorLabels) and the monitoring guide's plain scrape job (job and instance only).
   */
  describe("the operator's own alerts, whatever the scrape config (promtool)", () => {
    let scrape: Sample[];
    let rulesPath: string;
    let shapes: Record<string, { target: Record<string, string>; honorLabels: boolean }>;

    beforeAll(async () => {
      const release = cluster.name;
      const namespace = cluster.namespace;
      scrape = parseExposition(await (await fetch(operator!.url("metrics", "/metrics"))).text());
      rulesPath = env.join("rules.yaml");
      writeFileSync(rulesPath, stringify(await ruleSpec(release, namespace)));
      const instance = "10.0.0.5:8080";
      const pod = `${release}-bloodraven-7d9c4-abcde`;
      shapes = {
        "the chart's ServiceMonitor": { target: { namespace, pod, job: `${release}-bloodraven`, service: `${release}-bloodraven`, endpoint: "metrics", container: "operator", instance }, honorLabels: true },
        "the chart's PodMonitor": { target: { namespace, pod, job: `${namespace}/${release}-bloodraven`, endpoint: "metrics", container: "operator", instance }, honorLabels: true },
        "the monitoring guide's scrape job": { target: { job: "bloodraven", instance }, honorLabels: false },
      };
    });

    /** Series in promtool's notation: this scrape with a target's labels, `values` per minute. */
    function scraped(target: Record<string, string>, honorLabels: boolean, values: { operator: string; up: string }) {
      const selector = (labels: Record<string, string>) => `{${Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ")}}`;
      return [
        ...scrape.map((s) => ({ series: `${s.name}${selector(withTargetLabels(s, target, honorLabels))}`, values: values.operator.replaceAll("V", Number.isFinite(s.value) ? String(s.value) : "0") })),
        { series: `up${selector(target)}`, values: values.up },
      ];
    }

    /** Runs promtool on the series and checks whether `alertname` (default OperatorDown) fires at each minute. */
    async function evaluate(
      inputSeries: InputSeries[],
      firingAt: Record<number, boolean>,
      alertname = "BloodravenOperatorDown",
      summary = `No bloodraven operator replica in namespace ${cluster.namespace} is up`,
      labels: Record<string, string> = {},
    ): Promise<void> {
      const alerts = Object.fromEntries(Object.entries(firingAt).map(([minute, firing]) => [minute, firing ? [{ exp_labels: { severity: "critical", ...labels }, exp_annotations: { summary } }] : []]));
      await expectAlerts(rulesPath, env.path, inputSeries, alertname, alerts);
    }

    it("is fed a scrape that has the operator's own series, its leadership among them", () => {
      expect(scrape.filter((s) => s.name.startsWith("bloodraven_")).length).toBeGreaterThan(10);
      expect(scrape.find((s) => s.name === METRICS.leader)?.value).toBe(1);
    });

    // Scraped for 10 minutes, then the scrape fails (up 0, every scraped series goes stale): silent
    // while scraped, pending for the rule's 5 minutes, then firing.
    for (const shape of ["the chart's ServiceMonitor", "the chart's PodMonitor", "the monitoring guide's scrape job"]) {
      it(`BloodravenOperatorDown with ${shape}: silent while scraped, firing 5 minutes after the scrapes stop`, async () => {
        const { target, honorLabels } = shapes[shape]!;
        await evaluate(scraped(target, honorLabels, { operator: "Vx10 stale", up: "1x10 0x10" }), { 0: false, 10: false, 15: false, 17: true, 20: true });
      });
    }

    it("BloodravenOperatorDown stays silent while one of two replicas is still scraped", async () => {
      const { target, honorLabels } = shapes["the chart's PodMonitor"]!;
      const second = { ...target, pod: `${target.pod}-2`, instance: "10.0.0.6:8080" };
      await evaluate([...scraped(target, honorLabels, { operator: "Vx5 stale", up: "1x5 0x15" }), ...scraped(second, honorLabels, { operator: "Vx20", up: "1x20" })], { 20: false });
    });

    it("BloodravenOperatorDown is not satisfied by an operator scraped in another namespace", async () => {
      const { target, honorLabels } = shapes["the chart's ServiceMonitor"]!;
      await evaluate(scraped({ ...target, namespace: "another-team" }, honorLabels, { operator: "Vx20", up: "1x20" }), { 6: true });
    });

    // BloodravenNoLeader: replicas scraped, none leading. Each replica's bloodraven_leader, scraped
    // by both of the chart's monitors at once (every series twice), values per minute.
    const leaders = (namespace: string, replicas: Record<string, string>) =>
      Object.entries(replicas).flatMap(([pod, values]) =>
        ["service", "pod"].map((job) => ({ series: `bloodraven_leader{namespace=${JSON.stringify(namespace)}, pod=${JSON.stringify(pod)}, job=${JSON.stringify(job)}}`, values })),
      );
    const noLeader = () => `Bloodraven operator replicas in namespace ${cluster.namespace} are up but none leads: no group is managed`;

    it("BloodravenNoLeader: silent while one replica leads, however often scraped; firing 2 minutes after none does", async () => {
      await evaluate(leaders(cluster.namespace, { a: "1x5 0x10", b: "0x15" }), { 5: false, 7: false, 9: true, 15: true }, "BloodravenNoLeader", noLeader());
      await evaluate(leaders(cluster.namespace, { a: "0x4 1x10", b: "0x14" }), { 3: true, 6: false, 14: false }, "BloodravenNoLeader", noLeader());
    });

    it("BloodravenSplitBrain: one writable site scraped by both monitors is no split brain; two writable sites are", async () => {
      const state = (site: string, values: string) =>
        ["service", "pod"].map((job) => ({ series: `bloodraven_site_state{namespace="shop", group="orders", site=${JSON.stringify(site)}, state="writable", job=${JSON.stringify(job)}}`, values }));
      const summary = "shop/orders: 2 sites are writable (split brain)";
      await evaluate([...state("iad", "1x10"), ...state("pdx", "0x10")], { 2: false, 9: false }, "BloodravenSplitBrain", summary, { namespace: "shop", group: "orders" });
      await evaluate([...state("iad", "1x10"), ...state("pdx", "0x4 1x5")], { 2: false, 6: true }, "BloodravenSplitBrain", summary, { namespace: "shop", group: "orders" });
    });

    it("BloodravenNoLeader: a leader in another namespace does not count", async () => {
      await evaluate([...leaders(cluster.namespace, { a: "0x10" }), ...leaders("another-team", { z: "1x10" })], { 3: true }, "BloodravenNoLeader", noLeader());
    });
  });

  describe("with watchNamespaces: Roles in the watched namespaces only", () => {
    let namespaced: Release;

    beforeAll(async () => {
      // One operator at a time: two would both manage the group.
      const { code } = await operator!.stop("SIGTERM");
      expect(code).toBe(0);
      operator = undefined;
      namespaced = await installRbac(`rbacns-${suffix}`, `chart-opns-${suffix}`, [`watchNamespaces={${groupNs}}`]);
      operator = await startOperator(namespaced, "chart-op-ns", [`--namespaces=${groupNs}`]);
    });

    it("leads, serves the group and writes its status and events", async () => {
      await waitFor("the namespaced operator to lead", async () => (await leaseHolder(namespaced.namespace)) === "chart-op-ns", 15_000, 200);
      await waitFor(
        "/active-site from the namespaced operator",
        async () => {
          const r = await fetch(operator!.url("status", `/active-site?namespace=${groupNs}&group=${GROUP}`));
          return r.status === 200 && ((await r.json()) as { activeSite: string }).activeSite === "iad";
        },
        15_000,
        200,
      );
      const pdx = sites.site("pdx");
      await pdx.kill9();
      await waitFor("pdx unreachable in status", async () => (await group()).status?.sites?.find((s) => s.name === "pdx")?.state === "unreachable", 15_000, 200);
      await waitFor("SiteUnreachable event", async () => (await events()).some((e) => e.reason === "SiteUnreachable"), 15_000, 200);
      await pdx.restart({ readOnly: true });
      await waitFor("Ready again", async () => ready(await group()), 20_000, 200);
      expect(forbidden(operator!).map((l) => JSON.stringify(l))).toEqual([]);
    });

    it("has no cluster-wide access to groups or Secrets", async () => {
      expect(await canI(namespaced, ["get", "secrets", "-n", groupNs])).toBe(true);
      expect(await canI(namespaced, ["list", "mysqlfailovergroups.shipstream.io", "-n", groupNs])).toBe(true);
      expect(await canI(namespaced, ["patch", "nodes"])).toBe(true);
      expect(await canI(namespaced, ["get", "secrets", "-n", "default"])).toBe(false);
      expect(await canI(namespaced, ["get", "secrets", "-n", cluster.namespace])).toBe(false);
      expect(await canI(namespaced, ["list", "mysqlfailovergroups.shipstream.io", "-A"])).toBe(false);
      expect(await canI(namespaced, ["create", "events", "-n", "default"])).toBe(false);
    });
  });
});
