/**
 * kubectl's global flags as the plugin reads them, with kubectl's meaning: their values checked
 * (all problems at once, before anything is read), the `=` forms of Go's flag parser that
 * commander reads otherwise, KUBECONFIG's merge of several files, and the overrides (--server,
 * --token, --as...) applied to the current context. Pure: kube-context.ts reads the files and
 * builds the client around it.
 */
import { delimiter } from "node:path";
import type { Cluster, User } from "@kubernetes/client-node";
import { DurationError, parseDuration } from "../shared/duration.js";
import type { KubeconfigData } from "../shared/kube/kubeconfig.js";

/** The longest delay a Node.js timer can express; "no deadline" (`--request-timeout=0`) uses it. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** From -v 6 on, kubectl prints a line for each API request; so does the plugin. */
export const REQUEST_LOG_LEVEL = 6;

/** The global flags as commander hands them over. */
export interface GlobalFlags {
  /** Only when given on the command line; $KUBECONFIG is read (and merged) by kube-context.ts. */
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  requestTimeout?: string;
  as?: string;
  asGroup?: string[];
  asUid?: string;
  token?: string;
  server?: string;
  certificateAuthority?: string;
  insecureSkipTlsVerify?: boolean;
  v?: string;
}

/** What the flags change in the current context's cluster and user. */
export interface Overrides {
  server?: string;
  token?: string;
  certificateAuthority?: string;
  insecureSkipTlsVerify: boolean;
  as?: string;
  asGroups: string[];
  asUid?: string;
}

/** The global flags, checked. */
export interface ConnectionSettings {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  /** Deadline of each request, ms. */
  timeoutMs: number;
  verbosity: number;
  overrides: Overrides;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; errors: string[] };

class FlagError extends Error {}

/**
 * kubectl's --request-timeout: a whole number of seconds (`30`) or a duration (`500ms`, `30s`,
 * `1m`); zero means no deadline. Milliseconds for a timer.
 */
export function parseRequestTimeout(text: string): number {
  const trimmed = text.trim();
  let ms: number;
  try {
    ms = /^[0-9]+$/.test(trimmed) ? parseDuration(`${trimmed}s`) : parseDuration(trimmed);
  } catch (err) {
    if (!(err instanceof DurationError)) throw err;
    throw new FlagError(`--request-timeout: ${JSON.stringify(text)} is not a duration; write seconds (30) or a duration (500ms, 30s, 1m), 0 for none`);
  }
  return ms === 0 ? MAX_TIMER_MS : Math.min(ms, MAX_TIMER_MS);
}

function parseVerbosity(text: string): number {
  if (!/^[0-9]{1,2}$/.test(text.trim())) throw new FlagError(`-v: ${JSON.stringify(text)} is not a log level; write a number, e.g. -v=6 to see each API request`);
  return Number(text.trim());
}

/**
 * --server: a URL, or `host:port`, which kubectl reads as https. Anything else is refused here
 * rather than sent to a made-up host.
 */
function parseServer(text: string): string {
  const withScheme = /^[^/:]+:[0-9]+$/.test(text) ? `https://${text}` : text;
  let url: URL | undefined;
  try {
    url = new URL(withScheme);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== "https:" && url.protocol !== "http:") || url.hostname === "") {
    throw new FlagError(`--server: ${JSON.stringify(text)} is not a URL; write it as https://host:port`);
  }
  // client-node appends "/apis/..." to it: a trailing slash would double.
  return withScheme.replace(/\/+$/, "");
}

/** Checks every global flag; `errors` lists each bad one with its fix. */
export function parseGlobalFlags(flags: GlobalFlags): Checked<ConnectionSettings> {
  const errors: string[] = [];
  const check = <T>(parse: () => T, fallback: T): T => {
    try {
      return parse();
    } catch (err) {
      if (!(err instanceof FlagError)) throw err;
      errors.push(err.message);
      return fallback;
    }
  };
  const timeoutMs = check(() => parseRequestTimeout(flags.requestTimeout ?? "30s"), 0);
  const verbosity = check(() => parseVerbosity(flags.v ?? "0"), 0);
  const server = flags.server ? check(() => parseServer(flags.server ?? ""), undefined) : undefined;
  const asGroups = flags.asGroup ?? [];
  if (flags.certificateAuthority && flags.insecureSkipTlsVerify) {
    errors.push("--insecure-skip-tls-verify cannot be combined with --certificate-authority (kubectl refuses it too): give the CA to verify the server, or skip verification");
  }
  if (!flags.as && (asGroups.length > 0 || flags.asUid)) {
    errors.push(`${asGroups.length > 0 ? "--as-group" : "--as-uid"} needs --as: name the user to impersonate (kubectl refuses it too)`);
  }
  if (errors.length > 0) return { ok: false, errors };
  const overrides: Overrides = { insecureSkipTlsVerify: flags.insecureSkipTlsVerify === true, asGroups };
  if (server) overrides.server = server;
  if (flags.token) overrides.token = flags.token;
  if (flags.certificateAuthority) overrides.certificateAuthority = flags.certificateAuthority;
  if (flags.as) overrides.as = flags.as;
  if (flags.asUid) overrides.asUid = flags.asUid;
  const value: ConnectionSettings = { timeoutMs, verbosity, overrides };
  if (flags.kubeconfig) value.kubeconfig = flags.kubeconfig;
  if (flags.context) value.context = flags.context;
  if (flags.namespace) value.namespace = flags.namespace;
  return { ok: true, value };
}

const GO_TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const GO_FALSE = new Set(["0", "f", "F", "FALSE", "false", "False"]);

/** The switches that take Go's `=true|false`, and the words `=false` stands for. */
const GO_SWITCHES = new Map<string, readonly string[]>([
  // Off by default: `=false` is the switch left off.
  ["--insecure-skip-tls-verify", []],
  // verify-backup: on by default in the operator, so `=false` must reach it as a choice of its own.
  ["--keep-on-failure", ["--no-keep-on-failure"]],
]);

/**
 * Rewrites the `=` forms kubectl users type that commander reads otherwise: `-v=6` (commander
 * would take "=6" as the value) and `--<switch>=true|false` (commander takes no value for a
 * switch). Words after `--` stay as they are.
 */
export function normalizeArgs(args: readonly string[]): Checked<string[]> {
  const out: string[] = [];
  for (const [i, arg] of args.entries()) {
    if (arg === "--") return { ok: true, value: [...out, ...args.slice(i)] };
    if (arg.startsWith("-v=")) {
      out.push(`--v=${arg.slice(3)}`);
      continue;
    }
    const [flag = arg, value] = arg.split(/=(.*)/s, 2);
    const off = GO_SWITCHES.get(flag);
    if (off === undefined || value === undefined) {
      out.push(arg);
      continue;
    }
    if (GO_TRUE.has(value)) out.push(flag);
    else if (GO_FALSE.has(value)) out.push(...off);
    else return { ok: false, errors: [`${flag}: ${JSON.stringify(value)} is not true or false`] };
  }
  return { ok: true, value: out };
}

/** $KUBECONFIG as kubectl splits it: by the path list separator, empty entries and repeats dropped. */
export function kubeconfigPaths(value: string, separator = delimiter): string[] {
  return [...new Set(value.split(separator).filter((p) => p !== ""))];
}

function firstByName<T extends { readonly name: string }>(lists: readonly (readonly T[])[]): T[] {
  const byName = new Map<string, T>();
  for (const item of lists.flat()) if (!byName.has(item.name)) byName.set(item.name, item);
  return [...byName.values()];
}

/**
 * Several kubeconfig files merged as kubectl merges $KUBECONFIG: the first file that names a
 * cluster, user or context wins for that name, and current-context comes from the first file
 * that sets one. (client-node's loadFromDefault takes the last current-context and refuses
 * repeated names.)
 */
export function mergeKubeconfigs(files: readonly KubeconfigData[]): KubeconfigData {
  return {
    clusters: firstByName(files.map((f) => f.clusters)),
    users: firstByName(files.map((f) => f.users)),
    contexts: firstByName(files.map((f) => f.contexts)),
    currentContext: files.find((f) => f.currentContext)?.currentContext ?? "",
  };
}

/**
 * The overrides applied to the current context's cluster and user, as kubectl applies them:
 * --server replaces the server (and drops the kubeconfig's tls-server-name, meant for the old
 * one); --certificate-authority or --insecure-skip-tls-verify replace the whole TLS
 * verification setting; --token replaces the user's credentials, except a client certificate,
 * which kubectl still presents; --as replaces the user's `as`. Other contexts are left alone.
 */
export function applyOverrides(data: KubeconfigData, o: Overrides): KubeconfigData {
  const context = data.contexts.find((c) => c.name === data.currentContext);
  if (!context) return data;
  const cluster = data.clusters.find((c) => c.name === context.cluster);
  const user = data.users.find((u) => u.name === context.user) ?? { name: context.user };
  const replace = <T extends { readonly name: string }>(list: readonly T[], next: T): T[] =>
    list.some((x) => x.name === next.name) ? list.map((x) => (x.name === next.name ? next : x)) : [...list, next];
  let clusters = data.clusters;
  if (cluster) {
    let next: Cluster = cluster;
    if (o.server) next = { ...next, server: o.server, tlsServerName: undefined };
    if (o.certificateAuthority || o.insecureSkipTlsVerify) {
      next = { ...next, caFile: o.certificateAuthority, caData: undefined, skipTLSVerify: o.insecureSkipTlsVerify };
    }
    clusters = replace(data.clusters, next);
  }
  let nextUser: User = user;
  if (o.token) {
    const { name, certData, certFile, keyData, keyFile, impersonateUser } = user;
    nextUser = { name, certData, certFile, keyData, keyFile, impersonateUser, token: o.token };
  }
  if (o.as) nextUser = { ...nextUser, impersonateUser: o.as };
  return { ...data, clusters, users: replace(data.users, nextUser) };
}

/**
 * The impersonation headers client-node's User cannot carry (it knows only `as`): one
 * Impersonate-Group per group, as the API server reads each header line as one group.
 */
export function impersonationHeaders(o: Overrides): [string, string][] {
  const headers = o.asGroups.map((g): [string, string] => ["Impersonate-Group", g]);
  if (o.asUid) headers.push(["Impersonate-Uid", o.asUid]);
  return headers;
}
