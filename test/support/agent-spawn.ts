import { spawn, type ChildProcess } from "node:child_process";
import type { MariaDbSite } from "../../scripts/env/mariadb-sites.js";
import { TEST_USERS } from "../../scripts/env/mariadb-sites.js";

export interface AgentOptions {
  site: string;
  group: string;
  namespace: string;
  operatorUrl: string;
  server: MariaDbSite;
  port: number;
  /** The other sites' agents: site to base URL. */
  peers?: Record<string, string>;
  /** Run inside this network namespace, listening on `bindAddress` (the site's own address). */
  netns?: string;
  bindAddress?: string;
  peerCheckInterval?: string;
  leaseTimeout?: string;
  env?: NodeJS.ProcessEnv;
  /** Clone on: the server's datadir, and the token every agent of the group shares. */
  clone?: { token: string };
  /** More flags, e.g. the binary log archive's. */
  args?: string[];
}

/**
 * Spawns `<bundle> agent` beside a test server, logging in as the test operator account, JSON logs
 * at debug level on stdout. Free of the test runner, so benchmarks use it too.
 */
export function spawnAgent(bundle: string, opts: AgentOptions, stdout: "pipe" | "ignore" = "pipe"): { child: ChildProcess; url: string } {
  const peers = Object.entries(opts.peers ?? {}).map(([site, url]) => `${site}=${url}`);
  const bindAddress = opts.bindAddress ?? "127.0.0.1";
  const child = spawn(
    opts.netns ? "ip" : process.execPath,
    [
      ...(opts.netns ? ["netns", "exec", opts.netns, process.execPath] : []),
      bundle,
      "agent",
      `--site=${opts.site}`,
      `--group=${opts.group}`,
      `--namespace=${opts.namespace}`,
      `--operator-url=${opts.operatorUrl}`,
      `--peers=${peers.join(",")}`,
      `--bind-address=${bindAddress}`,
      `--port=${opts.port}`,
      `--mysql-host=${opts.server.host}`,
      `--mysql-port=${opts.server.port}`,
      `--mysql-user=${TEST_USERS.operator.user}`,
      `--peer-check-interval=${opts.peerCheckInterval ?? "1s"}`,
      `--lease-timeout=${opts.leaseTimeout ?? "3s"}`,
      "--log-level=debug",
      ...(opts.clone ? [`--datadir=${opts.server.dir}/data`] : []),
      ...(opts.args ?? []),
    ],
    { env: { ...process.env, BLOODRAVEN_MYSQL_PASSWORD: TEST_USERS.operator.password, ...(opts.clone ? { BLOODRAVEN_AGENT_TOKEN: opts.clone.token } : {}), ...opts.env }, stdio: ["ignore", stdout, "pipe"] },
  );
  if (child.pid === undefined) throw new Error("could not start the agent");
  return { child, url: `http://${bindAddress}:${opts.port}` };
}
