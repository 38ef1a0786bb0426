import { hostname } from "node:os";
import type { LogLevel } from "./log.js";
import { FAILPOINTS_ENV, parseFailpoints, type Failpoints } from "./failpoints.js";
import { agentToken, ConfigError, duration, flagsHelp, list, logLevel, port, readFlags, type Flag } from "./flags.js";

export { ConfigError };

export interface OperatorConfig {
  kubeconfig?: string;
  context?: string;
  /** Namespaces to watch; empty means all. */
  namespaces: string[];
  bindAddress: string;
  metricsPort: number;
  healthPort: number;
  statusPort: number;
  logLevel: LogLevel;
  leaderElection: boolean;
  leaseNamespace: string;
  leaseName: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  identity: string;
  /** Keep the leader label on this replica's pod (--identity in --lease-namespace) while it leads. */
  labelLeaderPod: boolean;
  /** Bearer token required by the status API; undefined leaves it open (documented). */
  statusToken?: string;
  allowedOrigins: string[];
  maxWebsocketClients: number;
  /** How often each group's credentials Secrets are read again (jittered up to half as long again per group). */
  credentialsRefreshMs: number;
  /** Watch the Secrets each group names (needs list and watch on Secrets): a change is read at once. */
  watchSecrets: boolean;
  /** BLOODRAVEN_FAILPOINTS (operator/failpoints.ts); empty in production. */
  failpoints: Failpoints;
  /** The managed sites' sidecar: the image (the operator's own) and this operator's status API as the pods reach it. */
  agentImage?: string;
  agentOperatorUrl?: string;
  /** Sent to the agents' clone endpoints (BLOODRAVEN_AGENT_TOKEN or _FILE); without it the operator clones nothing. */
  agentToken?: string;
}

/** Every flag of `bloodraven operator`; the help text is generated from this list. */
export const OPERATOR_FLAGS: readonly Flag[] = [
  { name: "kubeconfig", env: "KUBECONFIG", help: "kubeconfig file (default: in-cluster, then ~/.kube/config)" },
  { name: "context", help: "kubeconfig context" },
  { name: "namespaces", env: "BLOODRAVEN_NAMESPACES", help: "comma-separated namespaces to watch (default: all)" },
  { name: "bind-address", env: "BLOODRAVEN_BIND_ADDRESS", help: "address of the HTTP servers (default 0.0.0.0)" },
  { name: "metrics-port", env: "BLOODRAVEN_METRICS_PORT", help: "Prometheus /metrics (default 8080)" },
  { name: "health-port", env: "BLOODRAVEN_HEALTH_PORT", help: "/healthz and /readyz (default 8081)" },
  { name: "status-port", env: "BLOODRAVEN_STATUS_PORT", help: "/status, /active-site, /ws/status (default 8082)" },
  { name: "log-level", env: "BLOODRAVEN_LOG_LEVEL", help: "debug, info, warn or error (default info)" },
  { name: "no-leader-election", boolean: true, help: "act as leader without a Lease (one replica only!)" },
  { name: "lease-namespace", env: "POD_NAMESPACE", help: "namespace of the leader Lease (default: default)" },
  { name: "lease-name", help: "name of the leader Lease (default bloodraven-leader)" },
  { name: "lease-duration", help: "how long a Lease is valid without renewal (default 15s)" },
  { name: "renew-deadline", help: "a leader that cannot renew within this stops at once (default 10s)" },
  { name: "retry-period", help: "how often to try to acquire or renew (default 2s)" },
  { name: "identity", env: "POD_NAME", help: "this replica's name in the Lease (default host-pid)" },
  { name: "label-leader-pod", boolean: true, help: "keep the label bloodraven.shipstream.io/leader=true on this replica's pod (named by --identity, in --lease-namespace) while it leads: the chart's leader Service selects it" },
  { name: "allowed-origins", env: "BLOODRAVEN_ALLOWED_ORIGINS", help: "browser origins allowed on /ws/status, comma-separated, or *" },
  { name: "max-websocket-clients", env: "BLOODRAVEN_MAX_WEBSOCKET_CLIENTS", help: "WebSocket client cap (default 100)" },
  { name: "credentials-refresh", env: "BLOODRAVEN_CREDENTIALS_REFRESH", help: "how often each group's credentials Secrets are read again (default 10m)" },
  { name: "watch-secrets", boolean: true, help: "watch the Secrets each group names, one watch per Secret by name, and read them again as soon as one changes (needs list and watch on Secrets)" },
  { name: "agent-image", env: "BLOODRAVEN_AGENT_IMAGE", help: "image of the managed sites' sidecar when spec.sidecarImage is unset (the chart: the operator's own)" },
  { name: "agent-operator-url", env: "BLOODRAVEN_AGENT_OPERATOR_URL", help: "this operator's status API as the sidecars reach it, e.g. http://bloodraven.bloodraven-system.svc:8082" },
];

export function operatorFlagsHelp(): string {
  return `${flagsHelp(OPERATOR_FLAGS)}\n\nBLOODRAVEN_STATUS_TOKEN (environment only) turns on bearer-token auth for the status API.\nBLOODRAVEN_AGENT_TOKEN, or BLOODRAVEN_AGENT_TOKEN_FILE naming a file (environment only): the agents' token, which reclone and auto-clone need.`;
}

/** Flags win over environment variables, which win over defaults. */
export function parseOperatorConfig(argv: string[], env: NodeJS.ProcessEnv): OperatorConfig {
  const { value, set } = readFlags(OPERATOR_FLAGS, argv, env);
  const maxClients = Number(value("max-websocket-clients") ?? "100");
  if (!Number.isInteger(maxClients) || maxClients < 1) throw new ConfigError("--max-websocket-clients must be a positive integer");
  const config: OperatorConfig = {
    namespaces: list(value("namespaces")),
    bindAddress: value("bind-address") ?? "0.0.0.0",
    metricsPort: port("metrics-port", value("metrics-port") ?? "8080"),
    healthPort: port("health-port", value("health-port") ?? "8081"),
    statusPort: port("status-port", value("status-port") ?? "8082"),
    logLevel: logLevel(value("log-level")),
    leaderElection: !set("no-leader-election"),
    leaseNamespace: value("lease-namespace") ?? "default",
    leaseName: value("lease-name") ?? "bloodraven-leader",
    leaseDurationMs: duration("lease-duration", value("lease-duration") ?? "15s"),
    renewDeadlineMs: duration("renew-deadline", value("renew-deadline") ?? "10s"),
    retryPeriodMs: duration("retry-period", value("retry-period") ?? "2s"),
    identity: value("identity") ?? `${hostname()}-${process.pid}`,
    labelLeaderPod: set("label-leader-pod"),
    allowedOrigins: list(value("allowed-origins")),
    maxWebsocketClients: maxClients,
    credentialsRefreshMs: duration("credentials-refresh", value("credentials-refresh") ?? "10m"),
    watchSecrets: set("watch-secrets"),
    failpoints: failpoints(env),
  };
  const kubeconfig = value("kubeconfig");
  if (kubeconfig) config.kubeconfig = kubeconfig;
  const context = value("context");
  if (context) config.context = context;
  const agentImage = value("agent-image");
  if (agentImage) config.agentImage = agentImage;
  const agentOperatorUrl = value("agent-operator-url");
  if (agentOperatorUrl) config.agentOperatorUrl = agentOperatorUrl;
  if (!(config.leaseDurationMs > config.renewDeadlineMs && config.renewDeadlineMs > config.retryPeriodMs)) {
    throw new ConfigError("--lease-duration must exceed --renew-deadline, which must exceed --retry-period");
  }
  // From the environment only: a flag would show the token in `ps` output.
  if (env.BLOODRAVEN_STATUS_TOKEN) config.statusToken = env.BLOODRAVEN_STATUS_TOKEN;
  const token = agentToken(env);
  if (token !== undefined) config.agentToken = token;
  return config;
}

function failpoints(env: NodeJS.ProcessEnv): Failpoints {
  try {
    return parseFailpoints(env[FAILPOINTS_ENV]);
  } catch (err) {
    throw new ConfigError(err instanceof Error ? err.message : String(err));
  }
}
