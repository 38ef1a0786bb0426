/**
 * The plugin's connection to the API server: the global flags (--kubeconfig, --context,
 * -n/--namespace, --request-timeout) resolved the way kubectl resolves them, a deadline-bounded
 * `Kube` client (the operator's, not a second one), and API failures turned into messages that
 * say what to do. The Kubernetes client is imported lazily, so `--help` never loads it.
 */
import { CommanderError, type Command } from "commander";
import type { KubeConfig } from "@kubernetes/client-node";
import type { Kube } from "../shared/kube/client.js";
import { DurationError, formatDuration, parseDuration } from "../shared/duration.js";
import { API_GROUP, FAILOVER_GROUP } from "../shared/names.js";

/** The longest delay a Node.js timer can express; `--request-timeout=0` ("never") uses it. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** `mysqlfailovergroups.shipstream.io`: how RBAC rules and `kubectl auth can-i` name the resource. */
export const GROUP_RESOURCE = `${FAILOVER_GROUP.plural}.${API_GROUP}`;

export interface GlobalFlags {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  requestTimeout?: string;
}

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

/**
 * --request-timeout as kubectl reads it: a duration with units (`30s`, `1m`, `500ms`); `0`
 * means no deadline. Returns milliseconds for a timer.
 */
export function parseRequestTimeout(text: string): number {
  if (text.trim() === "0") return MAX_TIMER_MS;
  const ms = parseDuration(text);
  return ms === 0 ? MAX_TIMER_MS : Math.min(ms, MAX_TIMER_MS);
}

export function globalFlags(command: Command): GlobalFlags {
  return rootOf(command).opts<GlobalFlags>();
}

/**
 * Builds the client for a command from the global flags. A bad --request-timeout is exit 2; a
 * kubeconfig that cannot be loaded or names no cluster is an ordinary failure (exit 1).
 */
export async function connect(command: Command): Promise<KubeContext> {
  const root = rootOf(command);
  const flags = globalFlags(command);
  let timeoutMs: number;
  try {
    timeoutMs = parseRequestTimeout(flags.requestTimeout ?? "30s");
  } catch (err) {
    if (err instanceof DurationError) usageError(command, `--request-timeout: ${err.message}`);
    throw err;
  }
  // --kubeconfig on the command line is one file. From $KUBECONFIG it may be a list of files,
  // which only the default loader merges, so leave that case to it.
  const explicitPath = root.getOptionValueSource("kubeconfig") === "cli" ? flags.kubeconfig : undefined;
  return openContext({ ...(explicitPath ? { kubeconfig: explicitPath } : {}), ...(flags.context ? { context: flags.context } : {}), ...(flags.namespace ? { namespace: flags.namespace } : {}) }, timeoutMs);
}

/** The kubeconfig, context and namespace as the flags choose them; errors say which file and what to fix. */
export async function openContext(flags: { kubeconfig?: string; context?: string; namespace?: string }, timeoutMs: number): Promise<KubeContext> {
  const { Kube, loadKubeConfig } = await import("../shared/kube/client.js");
  const where = flags.kubeconfig ?? process.env.KUBECONFIG ?? "~/.kube/config";
  let config: KubeConfig;
  try {
    config = loadKubeConfig(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {});
  } catch (err) {
    throw new Error(`cannot load the kubeconfig (${where}): ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (flags.context) {
    if (!config.getContextObject(flags.context)) {
      throw new Error(`context "${flags.context}" does not exist in the kubeconfig (${where}); kubectl config get-contexts lists them`);
    }
    config.setCurrentContext(flags.context);
  }
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new Error(`the kubeconfig context "${config.getCurrentContext()}" names no cluster; check --context/--kubeconfig`);
  const contextName = config.getCurrentContext();
  const namespace = flags.namespace || config.getContextObject(contextName)?.namespace || "default";
  return { kube: new Kube(config, { timeoutMs }), config, namespace, contextName, server: cluster.server, timeoutMs };
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
export function explainApiError(err: unknown, op: Operation, ctx: Pick<KubeContext, "server" | "timeoutMs" | "contextName">): Error {
  if (!isApiError(err)) return err instanceof Error ? err : new Error(String(err));
  const resource = op.resource ?? GROUP_RESOURCE;
  const scope = op.namespace === undefined ? "across all namespaces" : `in namespace ${op.namespace}`;
  const canI = `kubectl auth can-i ${op.verb} ${resource} ${op.namespace === undefined ? "--all-namespaces" : `-n ${op.namespace}`}`;
  const explained = (message: string) => new Error(message, { cause: err });
  switch (err.status) {
    case 0:
      if (err.reason === "DeadlineExceeded") {
        const limit = ctx.timeoutMs >= MAX_TIMER_MS ? "the request deadline" : formatDuration(ctx.timeoutMs);
        return explained(`the API server at ${ctx.server} did not answer within ${limit} (--request-timeout); check --context/--kubeconfig`);
      }
      return explained(`cannot reach the API server at ${ctx.server}: ${transportReason(err)}; check --context/--kubeconfig`);
    case 401:
      return explained(`unauthorized: the API server at ${ctx.server} did not accept the credentials of context "${ctx.contextName}"; log in again or check --context/--kubeconfig`);
    case 403:
      return explained(`forbidden: you cannot ${op.verb} ${resource} ${scope}; ask for RBAC that grants "${op.verb}" on ${resource} (check with: ${canI})`);
    case 404:
      if (op.name !== undefined && op.namespace !== undefined && err.message.includes(`"${op.name}" not found`)) {
        return explained(`no ${FAILOVER_GROUP.kind} ${op.namespace}/${op.name}; kubectl get mfg -n ${op.namespace} lists them`);
      }
      return explained(
        `the API server at ${ctx.server} does not serve ${resource}: is the Bloodraven CRD installed? (kubectl get crd ${GROUP_RESOURCE})`,
      );
    default:
      return explained(err.message);
  }
}
