/**
 * The local API server's own schemas for kubeconform: its OpenAPI v3 (built-in kinds and every
 * served CRD: the chart's MysqlFailoverGroup and the fixture CRDs in test/fixtures/crds/ the e2e
 * global setup applies), converted to the layout openapi2jsonschema writes with --strict
 * --standalone: one JSON schema per kind, named kind-lowercase + "-" + the group's first label
 * (none for the core group) + "-" + version, e.g. deployment-apps-v1.json, service-v1.json,
 * servicemonitor-monitoring-v1.json. That is kubeconform's
 * `-schema-location DIR/{{ .ResourceKind }}{{ .KindSuffix }}.json`.
 *
 * "Strict" as openapi2jsonschema means it: every object schema that lists its properties and says
 * nothing about others gets `additionalProperties: false`, so a misspelt field is an error. Objects
 * marked x-kubernetes-preserve-unknown-fields stay open, and so do the branches of allOf / anyOf /
 * oneOf / not, which constrain a subset of an object's fields and would otherwise refuse the rest.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { kubectl, mustKubectl } from "./kubectl.js";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

interface Gvk {
  group: string;
  version: string;
  kind: string;
}

/** What writeServerSchemas wrote: kubeconform's -schema-location and the apiVersion/Kind of each file. */
export interface ServerSchemas {
  location: string;
  kinds: string[];
}

const REF_PREFIX = "#/components/schemas/";

const isObject = (v: Json | undefined): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);

/** kubeconform's file name for a kind (registry.schemaPath in its source: ResourceKind + KindSuffix). */
export function schemaFileName({ group, version, kind }: Gvk): string {
  const prefix = group === "" ? "" : `-${group.split(".")[0]!.toLowerCase()}`;
  return `${kind.toLowerCase()}${prefix}-${version.toLowerCase()}.json`;
}

/** One OpenAPI v3 schema as draft-4 JSON schema (kubeconform's default draft), strict. */
function convert(node: Json, inCombinator: boolean): Json {
  if (Array.isArray(node)) return node.map((n) => convert(n, inCombinator));
  if (!isObject(node)) return node;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "nullable" || key.startsWith("x-kubernetes-")) continue;
    if (key === "$ref" && typeof value === "string") out[key] = `#/definitions/${value.slice(REF_PREFIX.length)}`;
    else if (key === "allOf" || key === "anyOf" || key === "oneOf" || key === "not") out[key] = convert(value, true);
    else if (key === "properties" && isObject(value)) out[key] = Object.fromEntries(Object.entries(value).map(([name, s]) => [name, convert(s, inCombinator)]));
    else if (key === "items" || key === "additionalProperties") out[key] = convert(value, inCombinator);
    else out[key] = value;
  }
  if (!inCombinator && isObject(out.properties) && out.additionalProperties === undefined && node["x-kubernetes-preserve-unknown-fields"] !== true) {
    out.additionalProperties = false;
  }
  if (node.nullable === true) {
    if (typeof out.type === "string") out.type = [out.type, "null"];
    else return { anyOf: [{ type: "null" }, out] };
  }
  return out;
}

/** The names of the definitions `root` refers to, transitively. */
function reachable(root: Json, definitions: Map<string, Json>): Set<string> {
  const seen = new Set<string>();
  const walk = (node: Json): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!isObject(node)) return;
    for (const [key, value] of Object.entries(node)) {
      if (key === "$ref" && typeof value === "string") {
        const name = value.slice("#/definitions/".length);
        if (!seen.has(name)) {
          seen.add(name);
          const target = definitions.get(name);
          if (target === undefined) throw new Error(`OpenAPI: ${value} refers to no schema`);
          walk(target);
        }
      } else walk(value);
    }
  };
  walk(root);
  return seen;
}

/** The group-version documents the server lists under /openapi/v3 (api/v1, apis/<group>/<version>). */
async function groupVersionDocuments(): Promise<JsonObject[]> {
  const index = JSON.parse(await mustKubectl(["get", "--raw", "/openapi/v3"])) as { paths: Record<string, { serverRelativeURL: string }> };
  const urls = Object.entries(index.paths)
    .filter(([path]) => /^(api\/v1|apis\/[^/]+\/[^/]+)$/.test(path))
    .map(([, { serverRelativeURL }]) => serverRelativeURL);
  const docs: JsonObject[] = [];
  // A few kubectl processes at a time: the machine has two cores.
  for (let i = 0; i < urls.length; i += 4) {
    docs.push(
      ...(await Promise.all(
        urls.slice(i, i + 4).map(async (url) => {
          const r = await kubectl(["get", "--raw", url], { timeoutMs: 60_000 });
          if (r.code !== 0) throw new Error(`kubectl get --raw ${url}:\n${r.stderr}`);
          return JSON.parse(r.stdout) as JsonObject;
        }),
      )),
    );
  }
  return docs;
}

/**
 * Fetches the test API server's OpenAPI v3 and writes one strict, standalone schema per kind into
 * `dir`. A file name two different schemas would share (two groups with the same first label) is
 * left out, so kubeconform reports "could not find schema" rather than validating against the
 * wrong one.
 */
export async function writeServerSchemas(dir: string): Promise<ServerSchemas> {
  const definitions = new Map<string, Json>();
  const byFile = new Map<string, { name: string; gvk: Gvk }>();
  const ambiguous = new Set<string>();
  for (const doc of await groupVersionDocuments()) {
    const components = doc.components;
    const schemas = isObject(components) && isObject(components.schemas) ? components.schemas : {};
    for (const [name, schema] of Object.entries(schemas)) {
      if (!definitions.has(name)) definitions.set(name, convert(schema, false));
      const gvks = isObject(schema) ? schema["x-kubernetes-group-version-kind"] : undefined;
      for (const gvk of Array.isArray(gvks) ? (gvks as unknown as Gvk[]) : []) {
        const file = schemaFileName(gvk);
        const known = byFile.get(file);
        if (known === undefined) byFile.set(file, { name, gvk });
        else if (known.name !== name) ambiguous.add(file);
      }
    }
  }
  const kinds: string[] = [];
  for (const [file, { name, gvk }] of byFile) {
    if (ambiguous.has(file)) continue;
    const root = definitions.get(name)!;
    const used = reachable(root, definitions);
    const standalone = { ...(root as JsonObject), definitions: Object.fromEntries([...used].map((n) => [n, definitions.get(n)!])) };
    writeFileSync(join(dir, file), JSON.stringify(standalone));
    kinds.push(`${gvk.group === "" ? "" : `${gvk.group}/`}${gvk.version}/${gvk.kind}`);
  }
  return { location: join(dir, "{{ .ResourceKind }}{{ .KindSuffix }}.json"), kinds: kinds.sort() };
}
