import { isSiteName } from "../../shared/annotations.js";
import type { LogLevel } from "../log.js";
import { ARCHIVE_STORAGE } from "../../shared/backup/store-access.js";
import { parseStore, storageFlags, storageSecretsHelp, type StoreConfig } from "../backup/storage-config.js";
import { agentToken, ConfigError, duration, flagsHelp, httpOrigin, list, logLevel, port, readFlags, type Flag } from "../flags.js";

export interface AgentPeer {
  readonly site: string;
  /** Base URL of the peer's agent, e.g. http://mysql-orders-pdx:8080 */
  readonly url: string;
}

export interface AgentConfig {
  site: string;
  group: string;
  namespace: string;
  /** Base URL of the operator's status API (/active-site). */
  operatorUrl: string;
  peers: AgentPeer[];
  bindAddress: string;
  port: number;
  mysql: { host: string; port: number; user: string };
  /** BLOODRAVEN_MYSQL_PASSWORD, or the file named by BLOODRAVEN_MYSQL_PASSWORD_FILE (re-read when it changes). */
  password: { value: string } | { file: string };
  /** Users whose sessions a self-fence leaves alone besides the agent's own (the operator's, for example). */
  spareUsers: string[];
  /** Keep the server's own fence deadline (docs/agent.md); on unless turned off. */
  fenceDeadline: boolean;
  peerCheckIntervalMs: number;
  leaseTimeoutMs: number;
  /** Bearer token sent to the operator's status API (BLOODRAVEN_STATUS_TOKEN). */
  operatorToken?: string;
  /**
   * Clone, when --datadir is given and an agent token is set (BLOODRAVEN_AGENT_TOKEN or
   * BLOODRAVEN_AGENT_TOKEN_FILE): the token guards the clone endpoints and is sent to donors.
   */
  clone?: { datadir: string; stagingDir: string; timeoutMs: number; token: string };
  /** The binary log archive, when --archive-storage is given. */
  archive?: StoreConfig & { pollIntervalMs: number };
  logLevel: LogLevel;
}

/** Every flag of `bloodraven agent`; the help text is generated from this list. */
export const AGENT_FLAGS: readonly Flag[] = [
  { name: "site", env: "BLOODRAVEN_SITE", help: "this site's name in spec.sites (required)" },
  { name: "group", env: "BLOODRAVEN_GROUP", help: "the MysqlFailoverGroup's name (required)" },
  { name: "namespace", env: "POD_NAMESPACE", help: "the MysqlFailoverGroup's namespace (required)" },
  { name: "operator-url", env: "BLOODRAVEN_OPERATOR_URL", help: "the operator's status API, e.g. http://bloodraven.bloodraven-system.svc:8082 (required)" },
  { name: "peers", env: "BLOODRAVEN_PEERS", help: "the other sites' agents: site=url,site=url (empty for a group of one)" },
  { name: "bind-address", env: "BLOODRAVEN_BIND_ADDRESS", help: "address of the agent API (default 0.0.0.0)" },
  { name: "port", env: "BLOODRAVEN_AGENT_PORT", help: "port of the agent API (default 8080)" },
  { name: "mysql-host", env: "BLOODRAVEN_MYSQL_HOST", help: "this site's server (default 127.0.0.1)" },
  { name: "mysql-port", env: "BLOODRAVEN_MYSQL_PORT", help: "its port (default 3306)" },
  { name: "mysql-user", env: "BLOODRAVEN_MYSQL_USER", help: "an account that may set read_only and kill sessions (required)" },
  { name: "spare-users", env: "BLOODRAVEN_SPARE_USERS", help: "comma-separated users whose sessions a self-fence keeps (the operator's)" },
  { name: "fence-deadline", env: "BLOODRAVEN_FENCE_DEADLINE", help: "on (default): the writable server fences itself at the lease's end even if this agent hangs (MariaDB; needs event_scheduler=ON); off: only this agent fences" },
  { name: "peer-check-interval", env: "BLOODRAVEN_PEER_CHECK_INTERVAL", help: "how often the operator and the peers are asked (default 5s)" },
  { name: "lease-timeout", env: "BLOODRAVEN_LEASE_TIMEOUT", help: "fence after this long without the operator or a majority (default 20s, at least 3 x the interval)" },
  { name: "datadir", env: "BLOODRAVEN_DATADIR", help: "the server's data directory, readable and writable by the agent (enables clone; needs an agent token)" },
  { name: "clone-dir", env: "BLOODRAVEN_CLONE_DIR", help: "where a clone is staged, on the datadir's filesystem (default <datadir>.clone)" },
  { name: "clone-timeout", env: "BLOODRAVEN_CLONE_TIMEOUT", help: "longest a clone may take, as donor or recipient (default 6h)" },
  ...storageFlags(ARCHIVE_STORAGE, "optional"),
  { name: "archive-poll-interval", env: "BLOODRAVEN_ARCHIVE_POLL_INTERVAL", help: "how often sealed binary logs are looked for (default 60s)" },
  { name: "log-level", env: "BLOODRAVEN_LOG_LEVEL", help: "debug, info, warn or error (default info)" },
];

export function agentFlagsHelp(): string {
  return `${flagsHelp(AGENT_FLAGS)}

Environment only (a flag would show them in \`ps\`): BLOODRAVEN_MYSQL_PASSWORD, or
BLOODRAVEN_MYSQL_PASSWORD_FILE naming a file that holds it (re-read when it changes: a mounted
Secret); BLOODRAVEN_STATUS_TOKEN (sent to the operator's status API when it has a token);
BLOODRAVEN_AGENT_TOKEN, or BLOODRAVEN_AGENT_TOKEN_FILE naming a file that holds it: the token
the clone endpoints require and send (the same for every agent of a group).
The binary log archive's secrets, as files only:
${storageSecretsHelp(ARCHIVE_STORAGE)}`;
}

function required(name: string, value: string | undefined): string {
  if (value === undefined || value === "") throw new ConfigError(`--${name} is required`);
  return value;
}

function peers(value: string | undefined, site: string): AgentPeer[] {
  const seen = new Set<string>();
  return list(value).map((entry) => {
    const at = entry.indexOf("=");
    const name = at > 0 ? entry.slice(0, at) : "";
    if (!isSiteName(name)) throw new ConfigError(`--peers: ${JSON.stringify(entry)} is not site=url (site a DNS label)`);
    if (name === site) throw new ConfigError(`--peers: ${name} is this site; list the other sites only`);
    if (seen.has(name)) throw new ConfigError(`--peers: ${name} given twice`);
    seen.add(name);
    return { site: name, url: httpOrigin("peers", entry.slice(at + 1)) };
  });
}

function onOff(name: string, value: string): boolean {
  if (value !== "on" && value !== "off") throw new ConfigError(`--${name} must be on or off, got ${JSON.stringify(value)}`);
  return value === "on";
}

/** Flags win over environment variables, which win over defaults. */
export function parseAgentConfig(argv: string[], env: NodeJS.ProcessEnv): AgentConfig {
  const { value: flag } = readFlags(AGENT_FLAGS, argv, env);
  const site = required("site", flag("site"));
  if (!isSiteName(site)) throw new ConfigError(`--site must be a DNS label (lower case, digits, -), got ${JSON.stringify(site)}`);
  const { BLOODRAVEN_MYSQL_PASSWORD: password, BLOODRAVEN_MYSQL_PASSWORD_FILE: file } = env;
  if ((password === undefined) === (file === undefined || file === "")) {
    throw new ConfigError("exactly one of BLOODRAVEN_MYSQL_PASSWORD and BLOODRAVEN_MYSQL_PASSWORD_FILE is required (environment only)");
  }
  const config: AgentConfig = {
    site,
    group: required("group", flag("group")),
    namespace: required("namespace", flag("namespace")),
    operatorUrl: httpOrigin("operator-url", required("operator-url", flag("operator-url"))),
    peers: peers(flag("peers"), site),
    bindAddress: flag("bind-address") ?? "0.0.0.0",
    port: port("port", flag("port") ?? "8080"),
    mysql: {
      host: flag("mysql-host") ?? "127.0.0.1",
      port: port("mysql-port", flag("mysql-port") ?? "3306"),
      user: required("mysql-user", flag("mysql-user")),
    },
    password: password !== undefined ? { value: password } : { file: file ?? "" },
    spareUsers: list(flag("spare-users")),
    fenceDeadline: onOff("fence-deadline", flag("fence-deadline") ?? "on"),
    peerCheckIntervalMs: duration("peer-check-interval", flag("peer-check-interval") ?? "5s"),
    leaseTimeoutMs: duration("lease-timeout", flag("lease-timeout") ?? "20s"),
    logLevel: logLevel(flag("log-level")),
  };
  if (config.peerCheckIntervalMs < 1_000) throw new ConfigError("--peer-check-interval must be at least 1s");
  if (config.leaseTimeoutMs < 3 * config.peerCheckIntervalMs) {
    throw new ConfigError("--lease-timeout must be at least 3 x --peer-check-interval, so that one lost answer never fences a healthy primary");
  }
  // Without a status token the agent token goes: the operator takes it for its own group's /active-site.
  const operatorToken = env.BLOODRAVEN_STATUS_TOKEN || agentToken(env);
  if (operatorToken) config.operatorToken = operatorToken;
  const datadir = flag("datadir");
  if (datadir !== undefined && datadir !== "") {
    const token = agentToken(env);
    if (token === undefined) throw new ConfigError("--datadir enables clone, which needs BLOODRAVEN_AGENT_TOKEN or BLOODRAVEN_AGENT_TOKEN_FILE (environment only)");
    const dir = datadir.replace(/\/+$/, "");
    const stagingDir = flag("clone-dir") ?? `${dir}.clone`;
    if (stagingDir.replace(/\/+$/, "") === dir) throw new ConfigError("--clone-dir must differ from --datadir");
    config.clone = { datadir: dir, stagingDir, timeoutMs: duration("clone-timeout", flag("clone-timeout") ?? "6h"), token };
  }
  const archive = parseStore(flag, env, ARCHIVE_STORAGE);
  if (archive) config.archive = { ...archive, pollIntervalMs: duration("archive-poll-interval", flag("archive-poll-interval") ?? "60s") };
  return config;
}
