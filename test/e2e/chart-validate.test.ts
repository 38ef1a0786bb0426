/**
 * The chart validates its values and renders only what the cluster's own schemas accept:
 * - charts/bloodraven/values.schema.json makes `helm template` and `helm install` refuse a
 *   misspelt key, a wrong type, a value outside an enum or a duration the operator cannot parse,
 *   naming the field; `helm lint --strict` passes with default values and with every feature on;
 *   the schema and values.yaml list the same keys.
 * - kubeconform -strict (scripts/kubeconform/build.sh) checks the rendered default and
 *   all-features manifests against the test API server's own OpenAPI, CRDs included
 *   (test/support/openapi-schemas.ts), and refuses a misspelt field.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments, stringify } from "yaml";
import { EnvDir } from "../../scripts/env/env-dir.js";
import { allFeatureValues, chartDir, helm, helmBinary } from "../support/helm.js";
import { kubeconform, kubeconformBinary, type KubeconformResult } from "../support/kubeconform.js";
import { type ServerSchemas, writeServerSchemas } from "../support/openapi-schemas.js";

// Resolved while the file loads: without helm or kubeconform the whole file fails at once, naming
// the build command, instead of reporting its tests as skipped.
helmBinary();
kubeconformBinary();

const suffix = randomBytes(3).toString("hex");
const namespace = `validate-${suffix}`;
const ALL_FEATURES = allFeatureValues({ a: `validate-a-${suffix}`, b: `validate-b-${suffix}`, monitoring: `validate-mon-${suffix}` });
const sets = (values: string[]) => values.flatMap((s) => ["--set", s]);

/** `helm template` of the chart; never throws. */
const template = (values: string[]) => helm(["template", `v-${suffix}`, chartDir, "--namespace", namespace, ...sets(values)]);

async function rendered(values: string[]): Promise<string> {
  const r = await template(values);
  if (r.code !== 0) throw new Error(`helm template ${values.join(" ")}:\n${r.stderr}`);
  return r.stdout;
}

interface Schema {
  $ref?: string;
  properties?: Record<string, Schema>;
  definitions?: Record<string, Schema>;
}

const schema = JSON.parse(readFileSync(join(chartDir, "values.schema.json"), "utf8")) as Schema;
const values = parse(readFileSync(join(chartDir, "values.yaml"), "utf8")) as Record<string, unknown>;

/** A property's schema with its $ref (into the schema's own definitions) followed. */
function resolve(s: Schema): Schema {
  if (s.$ref === undefined) return s;
  const target = schema.definitions?.[s.$ref.replace("#/definitions/", "")];
  if (target === undefined) throw new Error(`values.schema.json: ${s.$ref} names no definition`);
  return resolve(target);
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The keys of values.yaml the schema lacks, and the schema's keys values.yaml lacks, walking both
 * trees where the schema lists properties: below a free-form map (podAnnotations, resources, ...)
 * the keys are the user's, not the chart's.
 */
function keysMissing(valuesNode: unknown, schemaNode: Schema, prefix = ""): { notInSchema: string[]; notInValues: string[] } {
  const s = resolve(schemaNode);
  const notInSchema: string[] = [];
  const notInValues: string[] = [];
  if (s.properties === undefined || !isMap(valuesNode)) return { notInSchema, notInValues };
  for (const key of Object.keys(valuesNode)) if (!(key in s.properties)) notInSchema.push(prefix + key);
  for (const [key, child] of Object.entries(s.properties)) {
    if (!(key in valuesNode)) {
      notInValues.push(prefix + key);
      continue;
    }
    const below = keysMissing(valuesNode[key], child, `${prefix}${key}.`);
    notInSchema.push(...below.notInSchema);
    notInValues.push(...below.notInValues);
  }
  return { notInSchema, notInValues };
}

describe("values.schema.json: the chart refuses values it does not understand", () => {
  it("passes helm lint --strict with default values and with every optional feature on", async () => {
    const plain = await helm(["lint", "--strict", chartDir]);
    expect(plain.code, plain.stdout + plain.stderr).toBe(0);
    const all = await helm(["lint", "--strict", chartDir, "--namespace", namespace, ...sets(ALL_FEATURES)]);
    expect(all.code, all.stdout + all.stderr).toBe(0);
  });

  // Each mistake beside the value it gets wrong: the right one renders, so the refusal is the
  // schema's answer to that field and nothing else.
  const mistakes = [
    { wrong: "replica=3", right: "replicas=3", message: "at '': additional properties 'replica' not allowed" },
    { wrong: "replicas=two", right: "replicas=2", message: "at '/replicas': got string, want integer" },
    { wrong: "logLevel=verbose", right: "logLevel=warn", message: "at '/logLevel': value must be one of 'debug', 'info', 'warn', 'error'" },
    { wrong: "leaderElection.leaseDuration=15", right: "leaderElection.leaseDuration=15s", message: "at '/leaderElection/leaseDuration': got number, want string" },
    { wrong: "credentialsRefreshInterval=10 minutes", right: "credentialsRefreshInterval=10m", message: "at '/credentialsRefreshInterval': '10 minutes' does not match pattern" },
    { wrong: "metrics.serviceMonitor.intervall=30s", right: "metrics.serviceMonitor.interval=30s", message: "at '/metrics/serviceMonitor': additional properties 'intervall' not allowed" },
    { wrong: "service.type=Headless", right: "service.type=NodePort", message: "at '/service/type': value must be one of 'ClusterIP', 'NodePort', 'LoadBalancer'" },
  ];
  for (const { wrong, right, message } of mistakes) {
    it(`helm template --set ${wrong} fails naming the field; --set ${right} renders`, async () => {
      const refused = await template([wrong]);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain("values don't meet the specifications of the schema(s)");
      expect(refused.stderr).toContain(message);
      const accepted = await template([right]);
      expect(accepted.code, accepted.stderr).toBe(0);
    });
  }

  it("refuses the mistake on helm lint --strict too", async () => {
    const r = await helm(["lint", "--strict", chartDir, "--set", "replica=3"]);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toContain("additional properties 'replica' not allowed");
  });

  it("lists every key of values.yaml, and values.yaml every key of the schema", () => {
    const { notInSchema, notInValues } = keysMissing(values, schema);
    expect(notInSchema).toEqual([]);
    // `global` is Helm's, for subcharts.
    expect(notInValues.filter((k) => k !== "global")).toEqual([]);
    // The walk is not vacuous: it reaches nested keys, and would report one the schema lacks.
    expect(keysMissing({ leaderElection: { leaseDuration: "15s", leaseDurtion: "15s" } }, schema).notInSchema).toEqual(["leaderElection.leaseDurtion"]);
    expect(keysMissing(values, { ...schema, properties: { ...schema.properties, extra: { properties: { deep: {} } } } }).notInValues).toContain("extra");
  });
});

describe("kubeconform -strict against the test API server's own schemas", () => {
  let env: EnvDir;
  let schemas: ServerSchemas;

  beforeAll(async () => {
    env = new EnvDir("chart-validate");
    schemas = await writeServerSchemas(env.path);
  });

  afterAll(() => env?.remove());

  /** Every object kubeconform read, by kind/name, with its status and errors. */
  const report = (r: KubeconformResult) => r.resources.map((o) => `${o.kind}/${o.name}: ${o.status}${o.msg ? ` ${o.msg}` : ""}`);
  const count = (manifest: string) => parseAllDocuments(manifest).filter((d) => d.toJS() !== null).length;

  it("has the server's schema for every kind the chart renders, CRDs included", () => {
    // The test server serves every kind the chart renders: the Prometheus Operator's and
    // external-dns's types come from test/fixtures/crds/ (global setup), so nothing needs -skip.
    expect(schemas.kinds).toEqual(
      expect.arrayContaining([
        "v1/Service",
        "v1/ServiceAccount",
        "v1/ConfigMap",
        "apps/v1/Deployment",
        "policy/v1/PodDisruptionBudget",
        "rbac.authorization.k8s.io/v1/ClusterRole",
        "rbac.authorization.k8s.io/v1/ClusterRoleBinding",
        "rbac.authorization.k8s.io/v1/Role",
        "rbac.authorization.k8s.io/v1/RoleBinding",
        "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy",
        "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding",
        "monitoring.coreos.com/v1/ServiceMonitor",
        "monitoring.coreos.com/v1/PodMonitor",
        "monitoring.coreos.com/v1/PrometheusRule",
        "externaldns.k8s.io/v1alpha1/DNSEndpoint",
        "shipstream.io/v1alpha1/MysqlFailoverGroup",
      ]),
    );
  });

  for (const [name, features] of [
    ["the default install", [] as string[]],
    ["every optional feature", ALL_FEATURES],
    ["the PodMonitor", ["metrics.podMonitor.enabled=true"]],
    ["an install without the people's ClusterRoles", ["rbac.userRoles=false"]],
  ] as const) {
    it(`accepts every object of ${name}`, async () => {
      const manifest = await rendered([...features]);
      const r = await kubeconform(manifest, schemas.location);
      expect(report(r).filter((line) => !line.includes(": statusValid")), r.stderr).toEqual([]);
      expect(r.resources).toHaveLength(count(manifest));
      expect(r.code).toBe(0);
    });
  }

  it("refuses a misspelt field, a wrong type and an unknown field in a custom resource, naming each", async () => {
    interface Edited {
      kind: string;
      spec: {
        template: { spec: { containers: Record<string, unknown>[] } };
        ports: Record<string, unknown>[];
        endpoints: Record<string, unknown>[];
      };
    }
    const objects = parseAllDocuments(await rendered(["metrics.serviceMonitor.enabled=true"])).map((d) => d.toJS() as Edited);
    const find = (kind: string) => objects.find((o) => o.kind === kind)!.spec;
    find("Deployment").template.spec.containers[0]!.imagePullPolcy = "Always";
    find("Service").ports[0]!.port = "metrics";
    find("ServiceMonitor").endpoints[0]!.intervall = "30s";
    const r = await kubeconform(objects.map((o) => stringify(o)).join("---\n"), schemas.location);
    expect(r.code).not.toBe(0);
    const invalid = Object.fromEntries(r.resources.filter((o) => o.status === "statusInvalid").map((o) => [o.kind, o.msg]));
    expect(Object.keys(invalid).sort()).toEqual(["Deployment", "Service", "ServiceMonitor"]);
    expect(invalid.Deployment).toContain("at '/spec/template/spec/containers/0': additional properties 'imagePullPolcy' not allowed");
    expect(invalid.Service).toContain("at '/spec/ports/0/port': got string, want integer");
    expect(invalid.ServiceMonitor).toContain("at '/spec/endpoints/0': additional properties 'intervall' not allowed");
    // The untouched objects still pass: the refusals are the three edits.
    expect(r.resources.filter((o) => o.status === "statusValid")).toHaveLength(objects.length - 3);
  });
});
