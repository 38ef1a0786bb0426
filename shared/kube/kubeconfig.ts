/**
 * Kubeconfig files as data, and a KubeConfig built from such data that is hooked where every
 * request it authenticates passes, API calls and watches alike: to add headers client-node cannot
 * express and to log each request. The plugin merges files and applies kubectl's flags to the
 * data (cli/kube-flags.ts) before it builds its client with this.
 */
import { createHash } from "node:crypto";
import { Agent as HttpAgent, type Agent, type AgentOptions, type ClientRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent } from "node:https";
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
 * An idle pooled connection is closed after this long, well before the apiserver's own idle
 * timeout, so a request never goes out on a socket the server is closing.
 */
const IDLE_SOCKET_MS = 30_000;
/** Agents kept per config: one per TLS identity; a rotated client certificate adds one. */
const MAX_POOLED_AGENTS = 4;

/**
 * A KubeConfig whose API requests reuse their connections. client-node 1.4 builds a fresh agent
 * for every request (applySecurityAuthentication), so each request paid a TCP and TLS handshake,
 * a large part of a status write's latency on a 2-core machine (docs/benchmarks.md). Here each
 * request's fresh agent is traded for a keep-alive agent with the
 * same TLS options (CA, client certificate, server name, verification), made once. Proxy agents
 * are left as they are. Watches (applyToFetchOptions) keep a connection each and are not pooled.
 * A connection the server closed leaves the pool when its close is seen; a request that races
 * the close fails like any other unanswered request, and the next cycle tries again.
 */
export class PooledKubeConfig extends KubeConfig {
  private readonly agents = new Map<string, Agent>();

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const fresh = context.getAgent();
    if (fresh) context.setAgent(this.pooled(fresh));
  }

  /** Called once for each pooled agent, before its first request. */
  protected prepareAgent(agent: Agent): void {
    void agent;
  }

  private pooled(fresh: Agent): Agent {
    const Kind = fresh.constructor === HttpsAgent ? HttpsAgent : fresh.constructor === HttpAgent ? HttpAgent : undefined;
    if (!Kind) return fresh;
    const options = (fresh as unknown as { options: AgentOptions }).options;
    const key = `${Kind.name}:${identityKey(options)}`;
    let agent = this.agents.get(key);
    if (!agent) {
      agent = new Kind({ ...options, keepAlive: true, timeout: IDLE_SOCKET_MS });
      this.prepareAgent(agent);
      if (this.agents.size >= MAX_POOLED_AGENTS) {
        // The oldest identity's idle sockets close on their own timeout.
        const oldest = this.agents.keys().next().value;
        if (oldest !== undefined) this.agents.delete(oldest);
      }
      this.agents.set(key, agent);
    }
    return agent;
  }
}

/** A digest of the options that make two connections interchangeable. */
function identityKey(options: AgentOptions): string {
  const o = options as Record<string, unknown>;
  const fields = ["ca", "cert", "key", "pfx", "passphrase", "rejectUnauthorized", "servername"].map((name) => [name, o[name]]);
  // A Buffer serialises as its bytes (toJSON), so equal contents give equal keys.
  return createHash("sha256").update(JSON.stringify(fields)).digest("hex");
}

/**
 * Pooled API requests and Watch (applyToFetchOptions, a fresh agent each) are hooked where
 * every request passes: Node hands each request to its agent through `addRequest` before the
 * headers are written, so that is where headers are added and the response is awaited for the
 * log.
 */
export class HookedKubeConfig extends PooledKubeConfig {
  constructor(
    data: KubeconfigData,
    private readonly hooks: RequestHooks,
  ) {
    super();
    this.loadFromOptions(data);
  }

  protected override prepareAgent(agent: Agent): void {
    hookAgent(agent, this.hooks);
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
