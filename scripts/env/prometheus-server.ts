/**
 * A real Prometheus server (Debian's `prometheus` package) on a free loopback port, scraping given
 * targets and evaluating given rule files, with a client for the parts of its HTTP API the tests
 * read: instant and range queries, alerts, targets. Missing is an error naming the fix.
 */
import { existsSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { EnvDir } from "./env-dir.js";
import { freePort, waitFor } from "./ports.js";
import { ManagedProcesses } from "./processes.js";

const START_TIMEOUT_MS = 30_000;
const REQUEST_TIMEOUT_MS = 10_000;

export function prometheusBinary(): string {
  const found = (process.env.PATH ?? "").split(":").map((dir) => join(dir, "prometheus")).find((path) => existsSync(path));
  if (!found) throw new Error("prometheus is not installed (the monitoring tests scrape the operator with it). Install it with:\n  apt-get install prometheus");
  return found;
}

export interface PrometheusAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: "pending" | "firing";
  value: string;
}

export interface PrometheusSeries {
  metric: Record<string, string>;
  values?: [number, string][];
  value?: [number, string];
}

export interface PrometheusTarget {
  scrapeUrl: string;
  health: "up" | "down" | "unknown";
  lastError: string;
}

export interface PrometheusOptions {
  /** host:port of each target, scraped at /metrics; setTargets() changes them. */
  targets: string[];
  /** Rule files (Prometheus' format: `groups: [...]`). */
  ruleFiles?: string[];
  /** Scrape and rule evaluation interval, e.g. "1s". */
  interval: string;
}

export class PrometheusServer {
  private constructor(
    readonly url: string,
    private readonly env: EnvDir,
    private readonly processes: ManagedProcesses,
  ) {}

  static async start(opts: PrometheusOptions): Promise<PrometheusServer> {
    const binary = prometheusBinary();
    const env = new EnvDir("prometheus");
    const processes = new ManagedProcesses(env);
    try {
      const port = await freePort();
      const config = env.join("prometheus.yml");
      writeFileSync(
        config,
        stringify({
          global: { scrape_interval: opts.interval, scrape_timeout: opts.interval, evaluation_interval: opts.interval },
          rule_files: opts.ruleFiles ?? [],
          // Targets from a file that Prometheus rereads when it changes (Debian's build has no
          // Kubernetes discovery): a test follows pods that come and go by rewriting it.
          scrape_configs: [{ job_name: "bloodraven", file_sd_configs: [{ files: [env.join("targets.json")], refresh_interval: "1s" }] }],
        }),
      );
      const server = new PrometheusServer(`http://127.0.0.1:${port}`, env, processes);
      server.setTargets(opts.targets);
      const child = processes.start("prometheus", binary, [
        `--config.file=${config}`,
        `--storage.tsdb.path=${env.join("data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
        // A stale series must vanish from instant queries at once, not 5 minutes later.
        "--query.lookback-delta=5s",
      ]);
      const exited = new Promise<never>((_, reject) => child.once("exit", (code, signal) => reject(new Error(`prometheus exited during start (code ${code}, signal ${signal})`))));
      exited.catch(() => undefined);
      try {
        await Promise.race([waitFor(`prometheus on ${server.url}`, async () => (await fetch(`${server.url}/-/ready`, { signal: AbortSignal.timeout(1_000) })).ok, START_TIMEOUT_MS, 100), exited]);
      } catch (err) {
        throw new Error(`${err instanceof Error ? err.message : String(err)}\n--- prometheus log (tail) ---\n${processes.logTail("prometheus")}`);
      }
      return server;
    } catch (err) {
      await processes.stop();
      env.remove();
      throw err;
    }
  }

  private async api<T>(path: string, params: Record<string, string> = {}): Promise<T> {
    const res = await fetch(`${this.url}/api/v1/${path}?${new URLSearchParams(params).toString()}`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const body = (await res.json()) as { status: string; data: T; error?: string; errorType?: string };
    if (body.status !== "success") throw new Error(`prometheus ${path} ${JSON.stringify(params)}: ${body.errorType}: ${body.error}`);
    return body.data;
  }

  /** Replaces the scraped targets (host:port); Prometheus picks the change up within a second or two. */
  setTargets(targets: string[]): void {
    const path = this.env.join("targets.json");
    writeFileSync(`${path}.new`, JSON.stringify([{ targets }]));
    renameSync(`${path}.new`, path);
  }

  /** Instant query at `time` (seconds; now when omitted). Throws with Prometheus' error when the query does not parse. */
  async query(expr: string, time?: number): Promise<PrometheusSeries[]> {
    return (await this.api<{ result: PrometheusSeries[] }>("query", { query: expr, ...(time !== undefined ? { time: String(time) } : {}) })).result;
  }

  /** Range query from `start` to `end` (seconds). */
  async queryRange(expr: string, start: number, end: number, stepSeconds: number): Promise<PrometheusSeries[]> {
    return (await this.api<{ result: PrometheusSeries[] }>("query_range", { query: expr, start: String(start), end: String(end), step: String(stepSeconds) })).result;
  }

  /** The alerts pending or firing now. */
  async alerts(): Promise<PrometheusAlert[]> {
    return (await this.api<{ alerts: PrometheusAlert[] }>("alerts")).alerts;
  }

  async targets(): Promise<PrometheusTarget[]> {
    return (await this.api<{ activeTargets: PrometheusTarget[] }>("targets")).activeTargets;
  }

  logTail(lines = 40): string {
    return this.processes.logTail("prometheus", lines);
  }

  async stop(): Promise<void> {
    await this.processes.stop();
    this.env.remove();
  }
}
