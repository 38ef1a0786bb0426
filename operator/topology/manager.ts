import type { DefaultedMysqlFailoverGroupSpec, DefaultedSiteSpec, MysqlFailoverGroup, MysqlFailoverGroupStatus } from "../../shared/api/index.js";
import { withDefaults } from "../../shared/api/index.js";
import { parseDuration } from "../../shared/duration.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import type { SiteState } from "../../shared/names.js";
import type { GroupStatusMessage } from "../../shared/status-message.js";
import { EMPTY_MEMORY, topologyCycle, type GroupMemory, type SitePoll, type TopologyEvent } from "../../shared/topology/cycle.js";
import { needsStatusWrite, statusMessage, topologyStatus, type TopologyStatus } from "../../shared/topology/status.js";
import { errorText, type Logger } from "../log.js";
import { CredentialsError, resolveCredentials, type GroupCredentials, type MysqlAccount, type SecretReader } from "./credentials.js";

/** What one poll of one server reports, flavor-independent. */
export interface SiteObservation {
  readOnly: boolean;
  gtidExecuted: string;
  replica?: {
    ioRunning: boolean;
    sqlRunning: boolean;
    secondsBehindSource: number | null;
    sourceHost: string;
    lastIoError: string;
    lastSqlError: string;
  };
}

export interface SiteProbe {
  /** Must settle within deadlineMs, whatever the server does. */
  observe(deadlineMs: number): Promise<SiteObservation>;
  close(): void;
}

export interface SiteAddress {
  host: string;
  port: number;
}

export interface TopologyMetricsSink {
  observePoll(namespace: string, group: string, site: string, seconds: number): void;
  observeCycle(seconds: number): void;
  recordTransition(namespace: string, group: string, site: string, from: SiteState, to: SiteState): void;
  /** Creates a site's counters at zero, so the first increment shows in increase(). */
  registerSite(namespace: string, group: string, site: string): void;
  forgetSite(namespace: string, group: string, site: string): void;
  setSiteState(namespace: string, group: string, site: string, state: SiteState): void;
  setReplication(namespace: string, group: string, site: string, lagSeconds: number | null, ioRunning: boolean, sqlRunning: boolean): void;
  clearReplication(namespace: string, group: string, site: string): void;
  forgetGroup(namespace: string, group: string): void;
}

export interface ManagerDeps {
  log: Logger;
  metrics: TopologyMetricsSink;
  readSecret: SecretReader;
  openProbe(address: SiteAddress, account: MysqlAccount): SiteProbe;
  writeStatus(namespace: string, name: string, status: TopologyStatus): Promise<void>;
  recordEvent(group: MysqlFailoverGroup, event: TopologyEvent): void;
  publish(message: GroupStatusMessage): void;
  /** Volatile status fields (lastSeen, GTIDs, lag) are written at most this often. */
  statusRefreshMs?: number;
}

/** Address the operator polls: the endpoint of an external site, the site's Service otherwise. */
export function siteAddress(group: string, namespace: string, site: DefaultedSiteSpec): SiteAddress {
  if (site.endpoint) return { host: site.endpoint.host, port: site.endpoint.port };
  return { host: `mysql-${group}-${site.name}.${namespace}.svc`, port: 3306 };
}

/**
 * Watches one MysqlFailoverGroup: polls every site in parallel every pollInterval, debounces the
 * results, and reports them (status, conditions, events, metrics, the status stream). Decisions
 * that change the servers come from the failover logic, not from here.
 */
export class TopologyManager {
  private group: MysqlFailoverGroup;
  private spec: DefaultedMysqlFailoverGroupSpec;
  private probes = new Map<string, SiteProbe>();
  private probeKey = "";
  private credentials: GroupCredentials | undefined;
  private memory: GroupMemory = EMPTY_MEMORY;
  private written: MysqlFailoverGroupStatus | undefined;
  private lastWriteAt = 0;
  private writing: Promise<void> | undefined;
  /** Jittered per group so that a thousand groups do not refresh their status in one burst. */
  private readonly refreshMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private latest: GroupStatusMessage | undefined;
  private readonly log: Logger;

  constructor(
    group: MysqlFailoverGroup,
    private readonly deps: ManagerDeps,
  ) {
    this.group = group;
    this.spec = withDefaults(group.spec);
    this.written = group.status;
    this.log = deps.log.child({ namespace: this.namespace, group: this.name });
    this.refreshMs = (deps.statusRefreshMs ?? 30_000) * (1 + Math.random() / 2);
  }

  get namespace(): string {
    return this.group.metadata.namespace ?? "default";
  }

  get name(): string {
    return this.group.metadata.name ?? "";
  }

  /** The message of the last cycle, for the status API. */
  snapshot(): GroupStatusMessage | undefined {
    return this.latest;
  }

  start(): void {
    this.log.info(LOG_MESSAGES.managerStarted, { sites: this.spec.sites.map((s) => s.name) });
    for (const site of this.spec.sites) this.deps.metrics.registerSite(this.namespace, this.name, site.name);
    this.schedule(0);
  }

  /** A new version of the object (spec change, annotations, our own status write). */
  update(group: MysqlFailoverGroup): void {
    const generationChanged = group.metadata.generation !== this.group.metadata.generation;
    this.group = group;
    if (!generationChanged) return;
    const before = new Set(this.spec.sites.map((s) => s.name));
    this.spec = withDefaults(group.spec);
    this.credentials = undefined;
    const names = new Set(this.spec.sites.map((s) => s.name));
    for (const name of before) if (!names.has(name)) this.deps.metrics.forgetSite(this.namespace, this.name, name);
    for (const name of names) if (!before.has(name)) this.deps.metrics.registerSite(this.namespace, this.name, name);
    const trackers = new Map([...this.memory.trackers].filter(([name]) => names.has(name)));
    this.memory = { ...this.memory, trackers };
    this.log.info(LOG_MESSAGES.managerReconfigured, { generation: group.metadata.generation });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    await this.writing;
    this.closeProbes();
    this.deps.metrics.forgetGroup(this.namespace, this.name);
    this.log.info(LOG_MESSAGES.managerStopped);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      const started = Date.now();
      this.running = this.cycle()
        .then(() => this.deps.metrics.observeCycle((Date.now() - started) / 1000))
        .catch((err: unknown) => this.log.error(LOG_MESSAGES.pollFailed, { error: errorText(err) }))
        .finally(() => {
          // Fixed rate: a slow cycle eats into the wait, it does not push the next poll back.
          const interval = this.pollIntervalMs();
          this.schedule(Math.max(0, interval - (Date.now() - started)));
        });
    }, delayMs);
  }

  private pollIntervalMs(): number {
    return parseDuration(this.spec.pollInterval);
  }

  /** A hung server may cost at most this; shorter than the interval so the period holds. */
  private siteDeadlineMs(): number {
    return Math.min(5_000, Math.max(300, this.pollIntervalMs() - 200));
  }

  private async ensureProbes(): Promise<boolean> {
    if (!this.credentials) {
      try {
        this.credentials = await resolveCredentials(this.namespace, this.spec, this.deps.readSecret);
      } catch (err) {
        const reason = err instanceof CredentialsError ? err.reason : "SecretNotFound";
        this.log.warn(LOG_MESSAGES.credentialsMissing, { reason, error: errorText(err) });
        this.deps.recordEvent(this.group, { type: "Warning", reason, message: errorText(err) });
        this.closeProbes();
        return false;
      }
    }
    const account = this.credentials.operator;
    const key = JSON.stringify([account.user, account.password, this.spec.sites.map((s) => [s.name, siteAddress(this.name, this.namespace, s)])]);
    if (key !== this.probeKey) {
      this.closeProbes();
      for (const site of this.spec.sites) this.probes.set(site.name, this.deps.openProbe(siteAddress(this.name, this.namespace, site), account));
      this.probeKey = key;
    }
    return true;
  }

  private closeProbes(): void {
    for (const probe of this.probes.values()) probe.close();
    this.probes.clear();
    this.probeKey = "";
  }

  private async poll(site: DefaultedSiteSpec): Promise<SitePoll> {
    const probe = this.probes.get(site.name);
    const base = { name: site.name, role: site.role };
    if (!probe) return { ...base, ok: false, error: "no credentials" };
    const started = performance.now();
    try {
      const o = await probe.observe(this.siteDeadlineMs());
      this.deps.metrics.observePoll(this.namespace, this.name, site.name, (performance.now() - started) / 1000);
      const poll: SitePoll = { ...base, ok: true, readOnly: o.readOnly, gtidExecuted: o.gtidExecuted };
      if (o.replica) {
        const r = o.replica;
        poll.replica = { ioRunning: r.ioRunning, sqlRunning: r.sqlRunning, secondsBehindSource: r.secondsBehindSource, sourceHost: r.sourceHost, lastError: r.lastSqlError || r.lastIoError };
      }
      return poll;
    } catch (err) {
      this.deps.metrics.observePoll(this.namespace, this.name, site.name, (performance.now() - started) / 1000);
      this.log.debug(LOG_MESSAGES.pollFailed, { site: site.name, error: errorText(err) });
      return { ...base, ok: false, error: errorText(err) };
    }
  }

  /**
   * Reporting status must not hold up the next poll (an API server under load answers in
   * seconds), so writes run beside the loop, one at a time; a failed write is retried by the
   * next cycle, whose diff against `written` still shows the change.
   */
  private writeStatus(status: TopologyStatus): void {
    this.writing = this.deps
      .writeStatus(this.namespace, this.name, status)
      .then(() => {
        this.written = { ...this.written, ...status };
        this.lastWriteAt = Date.now();
      })
      .catch((err: unknown) => this.log.warn(LOG_MESSAGES.statusPatchFailed, { error: errorText(err) }))
      .finally(() => (this.writing = undefined));
  }

  private async cycle(): Promise<void> {
    const sites = this.spec.sites;
    const ready = await this.ensureProbes();
    const polls = await Promise.all(sites.map((s) => (ready ? this.poll(s) : Promise.resolve<SitePoll>({ name: s.name, role: s.role, ok: false, error: "credentials unavailable" }))));
    if (this.stopped) return;
    const now = new Date().toISOString();
    const result = topologyCycle(this.memory, polls, this.spec, now);
    this.memory = result.memory;

    for (const t of result.transitions) {
      this.log.info(LOG_MESSAGES.siteStateChanged, { site: t.site, from: t.from, to: t.to });
      this.deps.metrics.recordTransition(this.namespace, this.name, t.site, t.from, t.to);
    }
    for (const poll of polls) {
      this.deps.metrics.setSiteState(this.namespace, this.name, poll.name, result.states.get(poll.name)?.state ?? "unknown");
      if (poll.ok && poll.replica) this.deps.metrics.setReplication(this.namespace, this.name, poll.name, poll.replica.secondsBehindSource, poll.replica.ioRunning, poll.replica.sqlRunning);
      else if (poll.ok) this.deps.metrics.clearReplication(this.namespace, this.name, poll.name);
    }
    for (const event of result.events) this.deps.recordEvent(this.group, event);
    if (result.events.some((e) => e.reason.endsWith("Detected") || e.reason === "SiteRecovered")) {
      this.log.warn(LOG_MESSAGES.verdictChanged, { verdict: result.verdict.verdict, activeSite: result.verdict.activeSite, detail: result.verdict.message });
    }

    const generation = this.group.metadata.generation ?? 0;
    const status = topologyStatus(this.written, result, polls, this.spec.replication.maxLagSeconds, generation, now);
    if (!this.writing && needsStatusWrite(this.written, status, Date.now() - this.lastWriteAt, this.refreshMs)) this.writeStatus(status);
    const roles = new Map(sites.map((s) => [s.name, s.role]));
    const current = this.group.status ?? {};
    this.latest = statusMessage(this.namespace, this.name, status, roles, result.verdict.verdict, current, now);
    this.deps.publish(this.latest);
  }
}
