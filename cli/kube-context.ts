/**
 * The plugin's connection to the API server: kubectl's global flags (--kubeconfig, --context,
 * -n, --server, --token, --as... checked and applied by kube-flags.ts) resolved the way kubectl
 * resolves them, a deadline-bounded `Kube` client (the operator's, not a second one), and API
 * failures turned into messages that say what to do. The Kubernetes client is imported lazily,
 * so `--help` never loads it.
 */
import { existsSync } from "node:fs";
import { CommanderError, type Command } from "commander";
import type { KubeConfig } from "@kubernetes/client-node";
import type { MysqlFailoverGroup } from "../shared/api/index.js";
import type { Kube } from "../shared/kube/client.js";
import { formatDuration } from "../shared/duration.js";
import { errorText } from "../shared/errors.js";
import { API_GROUP, FAILOVER_GROUP } from "../shared/names.js";
import {
  MAX_TIMER_MS,
  REQUEST_LOG_LEVEL,
  applyOverrides,
  impersonationHeaders,
  kubeconfigPaths,
  mergeKubeconfigs,
  parseGlobalFlags,
  type ConnectionSettings,
  type GlobalFlags,
} from "./kube-flags.js";
import type { KubeconfigData } from "../shared/kube/kubeconfig.js";

/** `mysqlfailovergroups.shipstream.io`: how RBAC rules and `kubectl auth can-i` name the resource. */
export const GROUP_RESOURCE = `${FAILOVER_GROUP.plural}.${API_GROUP}`;

export interface KubeContext {
  kube: Kube;
  config: KubeConfig;
  /** -n, else the context's namespace, else "default". */
  namespace: string;
  contextName: string;
  /** URL of the API server, for messages. */
  server: string;
  /** Deadline of each request (--request-timeout). */
  timeoutMs: number;
  /** Who the flags made the plugin, for messages: whether --token was given, --as and --as-group. */
  identity?: { token: boolean; as?: string; asGroups: string[] };
}

export function rootOf(command: Command): Command {
  let root = command;
  while (root.parent) root = root.parent;
  return root;
}

/** Writes to the program's configured stdout (tests may redirect it). */
export function writeOut(command: Command, text: string): void {
  const write = rootOf(command).configureOutput().writeOut ?? ((s: string) => process.stdout.write(s));
  write(text);
}

/** Writes to the program's configured stderr. */
export function writeErr(command: Command, text: string): void {
  const write = rootOf(command).configureOutput().writeErr ?? ((s: string) => process.stderr.write(s));
  write(text);
}

/** Rejected input: prints `error: ...` and ends with exit code 2 through commander. */
export function usageError(command: Command, message: string): never {
  writeErr(command, `error: ${message}\n`);
  throw new CommanderError(2, "bloodraven.usage", message);
}

/** The global flags, checked: a bad value is a usage error (exit 2) before anything is read. */
export function connectionSettings(command: Command): ConnectionSettings {
  const root = rootOf(command);
  const flags = root.opts<GlobalFlags>();
  // --kubeconfig on the command line is one file; commander also fills it from $KUBECONFIG, a
  // list of files that openContext merges, so only the command line's counts here.
  const kubeconfig = root.getOptionValueSource("kubeconfig") === "cli" ? flags.kubeconfig : undefined;
  const checked = parseGlobalFlags({ ...flags, kubeconfig });
  if (!checked.ok) usageError(command, checked.errors.join("; "));
  return checked.value;
}

/**
 * Builds the client for a command from the global flags. Bad flag values are exit 2; a
 * kubeconfig that cannot be loaded or names no cluster is an ordinary failure (exit 1).
 */
export async function connect(command: Command): Promise<KubeContext> {
  const settings = connectionSettings(command);
  if (settings.overrides.certificateAuthority && !existsSync(settings.overrides.certificateAuthority)) {
    usageError(command, `--certificate-authority: no file ${settings.overrides.certificateAuthority}`);
  }
  const log = settings.verbosity >= REQUEST_LOG_LEVEL ? (line: string) => writeErr(command, `${line}\n`) : undefined;
  return openContext(settings, log);
}

/**
 * The kubeconfig as kubectl reads it: --kubeconfig is one file; $KUBECONFIG a list, merged
 * (kube-flags.ts), in which files that do not exist are skipped; else the shared loader's
 * default (in a pod its service account, else ~/.kube/config).
 */
async function loadKubeconfig(explicit: string | undefined): Promise<{ data: KubeconfigData; where: string }> {
  const { readKubeconfigFile, kubeconfigData } = await import("../shared/kube/kubeconfig.js");
  const loading = <T>(where: string, load: () => T): T => {
    try {
      return load();
    } catch (err) {
      throw new Error(`cannot load the kubeconfig (${where}): ${errorText(err)}`, { cause: err });
    }
  };
  const read = (path: string): KubeconfigData => loading(path, () => readKubeconfigFile(path));
  if (explicit) return { data: read(explicit), where: explicit };
  const list = process.env.KUBECONFIG;
  if (list) {
    const paths = kubeconfigPaths(list);
    const present = paths.filter((p) => existsSync(p));
    if (present.length === 0) throw new Error(`no kubeconfig: none of the files in KUBECONFIG exists (${paths.join(", ")})`);
    return { data: mergeKubeconfigs(present.map(read)), where: present.join(", ") };
  }
  const { loadKubeConfig } = await import("../shared/kube/client.js");
  return { data: loading("~/.kube/config", () => kubeconfigData(loadKubeConfig())), where: "~/.kube/config" };
}

/**
 * The kubeconfig, context and namespace as the settings choose them, with the overrides applied;
 * errors say which file and what to fix. `log` gets a line per request (-v 6).
 */
export async function openContext(settings: ConnectionSettings, log?: (line: string) => void): Promise<KubeContext> {
  const { data, where } = await loadKubeconfig(settings.kubeconfig);
  if (settings.context) {
    if (!data.contexts.some((c) => c.name === settings.context)) {
      throw new Error(`context "${settings.context}" does not exist in the kubeconfig (${where}); kubectl config get-contexts lists them`);
    }
    data.currentContext = settings.context;
  }
  const { overrides } = settings;
  const { HookedKubeConfig } = await import("../shared/kube/kubeconfig.js");
  const config = new HookedKubeConfig(applyOverrides(data, overrides), { headers: impersonationHeaders(overrides), ...(log ? { log } : {}) });
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new Error(`the kubeconfig context "${config.getCurrentContext()}" names no cluster; check --context/--kubeconfig`);
  const contextName = config.getCurrentContext();
  const namespace = settings.namespace || config.getContextObject(contextName)?.namespace || "default";
  const { Kube } = await import("../shared/kube/client.js");
  return {
    kube: new Kube(config, { timeoutMs: settings.timeoutMs }),
    config,
    namespace,
    contextName,
    server: cluster.server,
    timeoutMs: settings.timeoutMs,
    identity: { token: overrides.token !== undefined, ...(overrides.as ? { as: overrides.as } : {}), asGroups: overrides.asGroups },
  };
}

/** The group, or an error saying it does not exist or why it cannot be read (exit 1). */
export async function readGroup(ctx: KubeContext, name: string): Promise<MysqlFailoverGroup> {
  const { namespace } = ctx;
  return ctx.kube.getFailoverGroup(namespace, name).catch((err: unknown) => {
    if (isNotFound(err, name)) throw new Error(`${FAILOVER_GROUP.kind} ${namespace}/${name} does not exist`);
    throw explainApiError(err, { verb: "get", namespace, name }, ctx);
  });
}

/** What a failed request was trying to do, for the message. */
export interface Operation {
  verb: "get" | "list" | "watch" | "patch" | "update" | "create" | "delete";
  /** The resource as RBAC names it; MysqlFailoverGroups by default. */
  resource?: string;
  /** Undefined: across all namespaces. */
  namespace?: string;
  /** The object a get/patch was about. */
  name?: string;
}

interface ApiErrorLike {
  status: number;
  reason: string;
  message: string;
  cause?: unknown;
}

function isApiError(err: unknown): err is ApiErrorLike {
  return err instanceof Error && err.name === "ApiError" && typeof (err as { status?: unknown }).status === "number";
}

/** The API server's answer that the object `name` does not exist (and not that its resource is unknown, also a 404). */
export function isNotFound(err: unknown, name: string): boolean {
  return isApiError(err) && err.status === 404 && err.message.includes(`"${name}" not found`);
}

/** The useful part of a transport error ("connect ECONNREFUSED 127.0.0.1:6443", a TLS failure...). */
function transportReason(err: ApiErrorLike): string {
  const cause = err.cause instanceof Error ? err.cause.message : err.message;
  const match = /, reason: (.*)$/s.exec(cause);
  return (match?.[1] ?? cause).trim();
}

/**
 * Turns a failed API call into an Error whose message tells the user what happened and what to
 * check: unreachable server, timeout, 401, RBAC 403 (naming the verb and resource), a missing
 * group, a missing CRD. Anything else keeps the API server's own message.
 */
export function explainApiError(err: unknown, op: Operation, ctx: Pick<KubeContext, "server" | "timeoutMs" | "contextName" | "identity">): Error {
  if (!isApiError(err)) return err instanceof Error ? err : new Error(String(err));
  const resource = op.resource ?? GROUP_RESOURCE;
  const scope = op.namespace === undefined ? "across all namespaces" : `in namespace ${op.namespace}`;
  const as = ctx.identity?.as;
  const impersonation = as === undefined ? [] : [`--as=${as}`, ...(ctx.identity?.asGroups ?? []).map((g) => `--as-group=${g}`)];
  const canI = ["kubectl auth can-i", op.verb, resource, op.namespace === undefined ? "--all-namespaces" : `-n ${op.namespace}`, ...impersonation].join(" ");
  const explained = (message: string) => new Error(message, { cause: err });
  switch (err.status) {
    case 0:
      if (err.reason === "DeadlineExceeded") {
        const limit = ctx.timeoutMs >= MAX_TIMER_MS ? "the request deadline" : formatDuration(ctx.timeoutMs);
        return explained(`the API server at ${ctx.server} did not answer within ${limit} (--request-timeout); check --context/--kubeconfig`);
      }
      return explained(`cannot reach the API server at ${ctx.server}: ${transportReason(err)}; check --context/--kubeconfig`);
    case 401:
      if (ctx.identity?.token) return explained(`unauthorized: the API server at ${ctx.server} did not accept the --token; check that it is current and meant for this cluster`);
      return explained(`unauthorized: the API server at ${ctx.server} did not accept the credentials of context "${ctx.contextName}"; log in again or check --context/--kubeconfig`);
    case 403:
      if (err.message.includes("cannot impersonate")) {
        return explained(`forbidden: ${err.message}; impersonation (${impersonation.join(" ")}) needs RBAC that grants "impersonate" on users and groups`);
      }
      return explained(
        `forbidden: ${as === undefined ? "you" : `the impersonated user "${as}"`} cannot ${op.verb} ${resource} ${scope}; ask for RBAC that grants "${op.verb}" on ${resource} (check with: ${canI})`,
      );
    case 404:
      if (op.name !== undefined && op.namespace !== undefined && isNotFound(err, op.name)) {
        const [kind, list] = op.resource === undefined ? [FAILOVER_GROUP.kind, "mfg"] : [resource, resource];
        return explained(`no ${kind} ${op.namespace}/${op.name}; kubectl get ${list} -n ${op.namespace} lists them`);
      }
      return explained(
        `the API server at ${ctx.server} does not serve ${resource}: is the Bloodraven CRD installed? (kubectl get crd ${GROUP_RESOURCE})`,
      );
    default:
      return explained(err.message);
  }
}
