import { readFile } from "node:fs/promises";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, expectTypeOf, it } from "vitest";
import { CRD_DIRS, renderCrds } from "../../scripts/generate-crds.js";
import {
  allCrds,
  DEFAULTS,
  failoverGroupCrd,
  siteSummary,
  withDefaults,
  type DefaultedMysqlFailoverGroupSpec,
  type MysqlFailoverGroupSpec,
  type SchemaNode,
} from "../../shared/api/index.js";
import { API_GROUP, API_VERSION, FAILOVER_GROUP } from "../../shared/names.js";

const crd = failoverGroupCrd();
const version = crd.spec.versions[0]!;
const root = version.schema.openAPIV3Schema;
const specNode = root.properties!.spec!;
const statusNode = root.properties!.status!;

/** Every node of a schema with its path, e.g. `spec.sites[].endpoint.port`; map values as `{}`. */
function* walk(node: SchemaNode, path: string): Generator<[string, SchemaNode]> {
  yield [path, node];
  for (const [name, child] of Object.entries(node.properties ?? {})) yield* walk(child, path ? `${path}.${name}` : name);
  if (node.items) yield* walk(node.items, `${path}[]`);
  if (node.additionalProperties) yield* walk(node.additionalProperties, `${path}{}`);
  for (const branch of node.anyOf ?? []) yield* walk(branch, `${path}|`);
}

/** The checks the apiserver makes on a `default` value, for the keywords this schema uses. */
function violations(node: SchemaNode, value: unknown): string[] {
  const problems: string[] = [];
  const typeOf = Number.isInteger(value) ? "integer" : Array.isArray(value) ? "array" : typeof value;
  if (node.type && node.type !== typeOf) return [`${JSON.stringify(value)} is not of type ${node.type}`];
  if (typeof value === "string") {
    if (node.pattern && !new RegExp(node.pattern, "u").test(value)) problems.push(`${value} does not match ${node.pattern}`);
    if (node.enum && !node.enum.includes(value)) problems.push(`${value} is not one of ${node.enum.join(", ")}`);
    if (node.maxLength !== undefined && value.length > node.maxLength) problems.push(`${value} is too long`);
  }
  if (typeof value === "number") {
    if (node.minimum !== undefined && value < node.minimum) problems.push(`${value} < ${node.minimum}`);
    if (node.maximum !== undefined && value > node.maximum) problems.push(`${value} > ${node.maximum}`);
  }
  return problems;
}

describe("crds/ and the chart's copy are generated from shared/api", () => {
  const repo = fileURLToPath(new URL("../..", import.meta.url));
  // One source of truth: crds/ and charts/bloodraven/crds/ must both hold exactly what shared/api renders.
  const files = CRD_DIRS.flatMap((dir) => [...renderCrds()].map(([name, expected]) => [`${relative(repo, dir)}/${name}`, dir + name, expected] as const));

  it.each(files)("%s is up to date", async (shown, path, expected) => {
    const committed = await readFile(path, "utf8").catch(() => "<missing>");
    expect(committed === expected, `${shown} differs from the schema in shared/api: run \`npm run generate:crds\``).toBe(true);
  });

  it("names the resource as shared/names.ts does", () => {
    expect(crd.metadata.name).toBe(`${FAILOVER_GROUP.plural}.${API_GROUP}`);
    expect(crd.spec.names).toMatchObject({ kind: FAILOVER_GROUP.kind, shortNames: ["mfg"], categories: ["bloodraven", "mysql"] });
    expect(version).toMatchObject({ name: API_VERSION, served: true, storage: true, subresources: { status: {} } });
  });
});

describe.each(allCrds().map((c) => [c.spec.names.kind, c] as const))("the %s schema is structural", (_kind, each) => {
  const eachVersion = each.spec.versions[0]!;
  const eachRoot = eachVersion.schema.openAPIV3Schema;
  const nodes = [...walk(eachRoot, "")];

  it("gives every node a type, except int-or-string, whose branches are integer and string", () => {
    for (const [path, node] of nodes) {
      if (node["x-kubernetes-int-or-string"]) {
        expect(node.type, path).toBeUndefined();
        expect(node.anyOf, path).toEqual([{ type: "integer" }, { type: "string" }]);
      } else {
        expect(node.type, path).toBeDefined();
        expect(node.anyOf, path).toBeUndefined();
      }
    }
  });

  it("never mixes properties with additionalProperties, and declares what every object holds", () => {
    for (const [path, node] of nodes) {
      expect(node.properties && node.additionalProperties, path).toBeFalsy();
      expect(node.additionalProperties as unknown, path).not.toBe(false);
      // Anything else would be pruned on write; only the root's metadata is left to the apiserver.
      if (node.type === "object" && path !== "metadata") {
        expect(node.properties ?? node.additionalProperties, path).toBeDefined();
      }
    }
  });

  it("requires only declared properties, and keys list maps by required or defaulted fields", () => {
    for (const [path, node] of nodes) {
      for (const name of node.required ?? []) expect(node.properties, `${path}.${name}`).toHaveProperty(name);
      if (node.type === "array") expect(node.items, path).toBeDefined();
      for (const key of node["x-kubernetes-list-map-keys"] ?? []) {
        const item = node.items!;
        expect(item.required?.includes(key) || item.properties?.[key]?.default !== undefined, `${path} key ${key}`).toBe(true);
      }
    }
  });

  it("has defaults that satisfy their own field's constraints", () => {
    for (const [path, node] of nodes) {
      if (node.default !== undefined) expect(violations(node, node.default), path).toEqual([]);
    }
  });

  it("words every CEL rule's message as an instruction", () => {
    const rules = nodes.flatMap(([path, node]) => (node["x-kubernetes-validations"] ?? []).map((r) => ({ path, ...r })));
    expect(rules.length).toBeGreaterThanOrEqual(1);
    for (const { path, rule, message } of rules) {
      expect(rule.trim(), path).not.toBe("");
      expect(message, `${path}: ${rule}`).toMatch(/\b(must|may not)\b/);
      expect(message, path).not.toMatch(/\bshould\b/);
    }
  });

  it("describes every spec field for `kubectl explain`", () => {
    const undescribed = [...walk(eachRoot.properties!.spec!, "spec")]
      .filter(([path]) => !/[{|]/.test(path) && !path.endsWith("[]"))
      .filter(([, node]) => !node.description)
      .map(([path]) => path);
    expect(undescribed).toEqual([]);
  });

  it("points every printer column at a field the schema declares", () => {
    for (const column of eachVersion.additionalPrinterColumns) {
      if (column.jsonPath.startsWith(".metadata.")) continue;
      const path = column.jsonPath.slice(1).replace(/\[\?\(@\.type=="\w+"\)\]/, "[]");
      expect(nodes.map(([p]) => p), column.name).toContain(path);
    }
  });
});

describe("withDefaults", () => {
  const minimal: MysqlFailoverGroupSpec = {
    credentials: { operator: { secretName: "orders-operator" } },
    sites: [
      { name: "iad", endpoint: { host: "10.0.0.1" } },
      { name: "pdx", role: "dr-only", endpoint: { host: "10.0.0.2", port: 3307 } },
    ],
  };

  it("fills in what the apiserver would, keeping what the user wrote", () => {
    expect(withDefaults(minimal)).toEqual({
      image: "mysql:8.4",
      credentials: { operator: { secretName: "orders-operator", usernameKey: "username", passwordKey: "password" } },
      sites: [
        { name: "iad", role: "primary-candidate", endpoint: { host: "10.0.0.1", port: 3306 } },
        { name: "pdx", role: "dr-only", endpoint: { host: "10.0.0.2", port: 3307 } },
      ],
      pollInterval: "2s",
      failureThreshold: 3,
      recoveryThreshold: 2,
      failoverCooldown: "5m",
      connectionDrainTimeout: "30s",
      replication: { maxLagSeconds: 300 },
      plannedFailover: { maxLagWait: "5m", drainTimeout: "30s", onCooldown: "reject" },
      emergencyFailover: { relayLogApplyTimeout: "30s", allowReceivedTransactionLoss: false },
      sidecar: { peerCheckInterval: "5s", leaseTimeout: "20s", awaitSelfFence: true, fenceDeadline: true },
      updateStrategy: "OrderedUpdate",
    });
  });

  it("applies every default the schema declares", () => {
    // Every optional parent present and no defaulted field written, so every default lands.
    const full: MysqlFailoverGroupSpec = {
      credentials: { operator: { secretName: "a" }, replication: { secretName: "b" }, application: { secretName: "c" }, monitoring: { secretName: "d" }, backup: { secretName: "e" } },
      dns: { hostname: "orders.example.com" },
      sites: [
        { name: "iad", endpoint: { host: "10.0.0.1" } },
        { name: "pdx", endpoint: { host: "10.0.0.2" } },
      ],
      backup: {
        profiles: [{ name: "nightly", storage: { s3: { bucket: "backups", credentialsSecret: { name: "s3" } } }, encryption: { passphraseSecret: { name: "pass" } }, verification: { schedule: "0 5 * * 0", sanityCheck: { query: "SELECT 1" } } }],
        schedules: [{ name: "nightly", profileName: "nightly", schedule: "0 3 * * *" }],
        retry: {},
        pitr: {},
      },
      initFromBackup: { profileName: "nightly", source: { group: "orders", backup: "b" } },
      restoreInPlace: { profileName: "nightly", source: { group: "orders", backup: "b" }, confirm: "2026-12-05T10:00:00Z" },
      dragonfly: { sites: [{ name: "iad", endpoint: { host: "10.0.0.11" } }], auth: { secretName: "cache" } },
    };
    const defaulted = withDefaults(full);
    const checked: string[] = [];
    const visit = (node: SchemaNode, value: unknown, path: string): void => {
      if (Array.isArray(value)) return value.forEach((item, i) => visit(node.items!, item, `${path}[${i}]`));
      if (value === null || typeof value !== "object") return;
      for (const [name, child] of Object.entries(node.properties ?? {})) {
        const got = (value as Record<string, unknown>)[name];
        if (child.default !== undefined) {
          expect(got, `${path}.${name}`).toMatchObject(child.default as object);
          checked.push(`${path}.${name}`);
        }
        visit(child, got, `${path}.${name}`);
      }
    };
    visit(specNode, defaulted, "spec");
    const declared = [...walk(specNode, "spec")].filter(([, n]) => n.default !== undefined).map(([p]) => p);
    const generalized = new Set(checked.map((p) => p.replace(/\[\d+\]/g, "[]")));
    expect([...generalized].sort()).toEqual([...new Set(declared)].sort());
  });

  it("takes its values from DEFAULTS", () => {
    const d = withDefaults(minimal);
    expect(d.pollInterval).toBe(DEFAULTS.pollInterval);
    expect(d.plannedFailover.maxLagWait).toBe(DEFAULTS.plannedFailover.maxLagWait);
    expect(withDefaults({ ...minimal, dns: { hostname: "x.example.com" } }).dns?.ttl).toBe(DEFAULTS.dns.ttl);
  });

  it("does not modify its argument and is idempotent", () => {
    const before = structuredClone(minimal);
    const once = withDefaults(minimal);
    expect(minimal).toEqual(before);
    expect(withDefaults(once)).toEqual(once);
  });

  it("treats null like an absent field, as the apiserver prunes it before defaulting", () => {
    const spec = { ...minimal, pollInterval: null } as unknown as MysqlFailoverGroupSpec;
    expect(withDefaults(spec).pollInterval).toBe(DEFAULTS.pollInterval);
  });

  it("types defaulted fields as present", () => {
    expectTypeOf<MysqlFailoverGroupSpec["pollInterval"]>().toEqualTypeOf<string | undefined>();
    expectTypeOf<DefaultedMysqlFailoverGroupSpec["pollInterval"]>().toEqualTypeOf<string>();
    expectTypeOf<DefaultedMysqlFailoverGroupSpec["plannedFailover"]["onCooldown"]>().toEqualTypeOf<"reject" | "defer">();
    expectTypeOf<DefaultedMysqlFailoverGroupSpec["dns"]>().toEqualTypeOf<{ hostname: string; ttl: number } | undefined>();
  });
});

describe("siteSummary", () => {
  it("writes what the summary pattern accepts", () => {
    const summary = siteSummary(["writable", "read-only", "read-only", "unreachable", "unknown"]);
    expect(summary).toBe("1W/2RO/2X");
    expect(summary).toMatch(new RegExp(statusNode.properties!.summary!.pattern!, "u"));
  });
});

describe("docs/crd-reference.md", () => {
  const reference = readFile(new URL("../../docs/crd-reference.md", import.meta.url), "utf8");

  it("documents every field", async () => {
    const doc = await reference;
    const paths = [...walk(specNode, "spec"), ...walk(statusNode, "status")]
      .map(([path]) => path)
      .filter((path) => !/[{|]/.test(path) && !path.endsWith("[]"));
    expect(paths.filter((path) => !doc.includes(`\`${path}\``))).toEqual([]);
  });

  it("quotes every validation message the apiserver can return", async () => {
    const doc = await reference;
    const messages = [...walk(root, "")].flatMap(([, node]) => (node["x-kubernetes-validations"] ?? []).map((r) => r.message));
    expect(messages.filter((message) => !doc.includes(message))).toEqual([]);
  });
});
