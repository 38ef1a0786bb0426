/**
 * Kubeconfig files as data, and a KubeConfig built from such data that is hooked where every
 * request it authenticates passes, API calls and watches alike: to add headers client-node cannot
 * express and to log each request. The plugin merges files and applies kubectl's flags to the
 * data (cli/kube-flags.ts) before it builds its client with this.
 */
import type { Agent, ClientRequest, IncomingMessage } from "node:http";
import { KubeConfig, type Cluster, type Context, type RequestContext, type User } from "@kubernetes/client-node";

/** The part of a kubeconfig the clients use, as client-node models it. */
export interface KubeconfigData {
  clusters: Cluster[];
  users: User[];
  contexts: Context[];
  currentContext: string;
}

export interface RequestHooks {
  /** Added to every request; a name may repeat, each pair is one header line. */
  headers: readonly (readonly [string, string])[];
  /** Given one line per request (method, URL, status, time; never a header) when set. */
  log?: (line: string) => void;
}

/** One kubeconfig file; relative paths in it are resolved against its folder, as kubectl does. */
export function readKubeconfigFile(path: string): KubeconfigData {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kubeconfigData(kc);
}

export function kubeconfigData(kc: KubeConfig): KubeconfigData {
  return { clusters: kc.getClusters(), users: kc.getUsers(), contexts: kc.getContexts(), currentContext: kc.getCurrentContext() };
}

/**
 * client-node makes a fresh agent for each request, in the two places below: the generated API
 * clients (applySecurityAuthentication) and Watch (applyToFetchOptions). Node hands each request
 * to its agent through `addRequest` before the headers are written, so that is where headers are
 * added and the response is awaited for the log.
 */
export class HookedKubeConfig extends KubeConfig {
  constructor(
    data: KubeconfigData,
    private readonly hooks: RequestHooks,
  ) {
    super();
    this.loadFromOptions(data);
  }

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const agent = context.getAgent();
    if (agent) hookAgent(agent, this.hooks);
  }

  override async applyToFetchOptions(opts: Parameters<KubeConfig["applyToFetchOptions"]>[0]): ReturnType<KubeConfig["applyToFetchOptions"]> {
    const init = await super.applyToFetchOptions(opts);
    if (init.agent && typeof init.agent === "object") hookAgent(init.agent, this.hooks);
    return init;
  }
}

/** http.Agent's entry point for requests: undocumented, but what every agent library overrides. */
interface AgentInternals {
  addRequest(req: ClientRequest, options: unknown): void;
}

function hookAgent(agent: Agent, hooks: RequestHooks): void {
  const internals = agent as unknown as AgentInternals;
  const addRequest = internals.addRequest.bind(agent);
  internals.addRequest = (req, options) => {
    const byName = new Map<string, string[]>();
    for (const [name, value] of hooks.headers) byName.set(name, [...(byName.get(name) ?? []), value]);
    // An array is sent as one header line per value.
    for (const [name, values] of byName) req.setHeader(name, values);
    if (hooks.log) logRequest(req, hooks.log);
    addRequest(req, options);
  };
}

/** kubectl's -v=6 line: `GET https://host:6443/api/... 200 OK in 12 milliseconds`. */
function logRequest(req: ClientRequest, log: (line: string) => void): void {
  const started = Date.now();
  const what = `${req.method} ${req.protocol}//${String(req.getHeader("host"))}${req.path}`;
  const ms = () => `${Date.now() - started} milliseconds`;
  req.once("response", (res: IncomingMessage) => log(`${what} ${res.statusCode ?? ""} ${res.statusMessage ?? ""} in ${ms()}`));
  req.once("error", (err: Error) => log(`${what} failed in ${ms()}: ${err.message}`));
}
