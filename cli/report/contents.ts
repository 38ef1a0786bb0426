/**
 * What a support bundle (`kubectl bloodraven report`) keeps of what it reads: pure functions, so
 * that what leaves the cluster is decided in one place and unit-tested.
 */

/** Written instead of a value that may be a credential. */
export const REDACTED = "<redacted>";

/** Keys whose string values are credentials wherever they appear (a Secret's *name* ends otherwise). */
const CREDENTIAL_KEY = /(password|passphrase|token|accesskey|accesskeyid|secretkey|apikey)$/i;
/** Environment variables whose literal `value` is a credential by its name. */
const CREDENTIAL_ENV = /(PASSWORD|PASSPHRASE|TOKEN|SECRET|ACCESS_KEY|API_KEY)/i;
/** Annotations that repeat the whole object as last applied: noise, and a place for values to hide. */
const DROPPED_ANNOTATIONS = ["kubectl.kubernetes.io/last-applied-configuration"];

/**
 * A copy of an API object or log record with credentials replaced by REDACTED and the bulk nobody
 * reads dropped (managedFields, the last-applied annotation). Secret objects are never read, so
 * this guards against credentials written where they do not belong: literal env values, and any
 * field or log key named like a password or a token.
 */
export function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  // The typed client turns timestamps into Dates.
  if (value instanceof Date) return value.toISOString();
  if (typeof value !== "object" || value === null) return value;
  const source = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const isEnvVar = typeof source.name === "string" && "value" in source && Object.keys(source).every((k) => k === "name" || k === "value" || k === "valueFrom");
  for (const [key, v] of Object.entries(source)) {
    if (key === "managedFields") continue;
    if (key === "annotations" && typeof v === "object" && v !== null) {
      out[key] = redact(Object.fromEntries(Object.entries(v).filter(([name]) => !DROPPED_ANNOTATIONS.includes(name))));
    } else if (typeof v === "string" && (CREDENTIAL_KEY.test(key) || (isEnvVar && key === "value" && CREDENTIAL_ENV.test(source.name as string)))) {
      out[key] = REDACTED;
    } else {
      out[key] = redact(v);
    }
  }
  return out;
}

/** The operator's JSON log lines, each redacted; a line that is not JSON is kept as it is. */
export function redactLogLines(lines: readonly string[]): string {
  return lines
    .map((line) => {
      try {
        return JSON.stringify(redact(JSON.parse(line)));
      } catch {
        return line;
      }
    })
    .map((line) => `${line}\n`)
    .join("");
}

function labelValue(labels: string, name: string): string | undefined {
  return new RegExp(`(?:^|,)${name}="((?:[^"\\\\]|\\\\.)*)"`).exec(labels)?.[1];
}

/**
 * The operator's metrics (Prometheus text format) that concern the group or no group in
 * particular: a sample labelled with another namespace, or another group (`group`, or `name` where
 * a metric names the group so), is dropped, with the HELP and TYPE lines of families left empty.
 */
export function groupMetrics(text: string, namespace: string, group: string): string {
  const kept: string[] = [];
  const families = new Set<string>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s/.exec(line);
    if (!m) continue;
    const labels = m[2] ?? "";
    const ns = labelValue(labels, "namespace");
    const owner = labelValue(labels, "group") ?? labelValue(labels, "name");
    if ((ns !== undefined && ns !== namespace) || (owner !== undefined && owner !== group)) continue;
    kept.push(line);
    families.add(m[1]!);
  }
  const described = (name: string): boolean => [...families].some((f) => f === name || f === `${name}_bucket` || f === `${name}_sum` || f === `${name}_count` || f === `${name}_total`);
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const comment = /^# (HELP|TYPE) (\S+)/.exec(line);
    if (comment ? described(comment[2]!) : kept.includes(line)) out.push(line);
  }
  return out.length === 0 ? "" : `${out.join("\n")}\n`;
}

/** An Event's object, as far as the bundle needs it. */
export interface EventSubject {
  involvedObject?: { name?: string };
}

/**
 * The Events about the group: on the group itself and the objects named in `related` (its backups,
 * verifications, Jobs), and on objects whose names start with one of `prefixes` (what the group
 * owns is named `mysql-<group>-...`; a Job's pods are named after it).
 */
export function isGroupEvent(event: EventSubject, related: ReadonlySet<string>, prefixes: readonly string[]): boolean {
  const name = event.involvedObject?.name ?? "";
  return related.has(name) || prefixes.some((p) => name.startsWith(p));
}
