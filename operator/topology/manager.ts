import type { DefaultedMysqlFailoverGroupSpec, DefaultedSiteSpec, MysqlFailoverGroup } from "../../shared/api/index.js";
import { withDefaults } from "../../shared/api/index.js";
import { parseDuration } from "../../shared/duration.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import type { SiteRole, SiteState } from "../../shared/names.js";
import type { GroupStatusMessage } from "../../shared/status-message.js";
import { EMPTY_MEMORY, topologyCycle, type GroupMemory, type SitePoll, type TopologyEvent } from "../../shared/topology/cycle.js";
import { applyAuthority, statusMessage, topologyStatus, withFailoverBlocked, withMaintenance, withRouting, type TopologyStatus } from "../../shared/topology/status.js";
import type { Blocked } from "../../shared/failover/decide.js";
import { maintenanceState, parseMaintenance, type MaintenanceState } from "../../shared/maintenance.js";
import { ANNOTATIONS, EVENT_REASONS, type FailoverFailureReason, type FailoverStage, type PlannedFailoverResult } from "../../shared/names.js";
import { FailoverExecutor } from "../failover/executor.js";
import { errorText } from "../../shared/errors.js";
import type { Logger } from "../log.js";
import type { SiteSession } from "../mysql/site-client.js";
import type { StatusPatch } from "../../shared/kube/client.js";
import { decisionSites, FailoverController } from "./failover-controller.js";
import { PlannedExecutor } from "../planned/executor.js";
import { PLANNED_HOLD_PHASES, type PlannedSite, type SeenRequest } from "../../shared/planned/step.js";
import { GroupStatusStore } from "./status-store.js";
import { annotatedRecord, newerRecord, statusRecord } from "../../shared/failover/record.js";
import { nextContact, type SiteContact } from "../../shared/failover/witness.js";
import { receiverSample, type SiteAddress, type SiteObservation } from "./site-observation.js";
import { CredentialsError, resolveCredentials, type GroupCredentials, type MysqlAccount, type SecretReader } from "./credentials.js";

export interface SiteProbe {
  /** Must settle within deadlineMs, whatever the server does. */
  observe(deadlineMs: number): Promise<SiteObservation>;
  close(): void;
}


export interface TopologyMetricsSink {
  observePoll(namespace: string, group: string, site: string, seconds: number): void;
  observeCycle(seconds: number): void;
  recordTransition(namespace: string, group: string, site: string, from: SiteState, to: SiteState): void;
  /** Creates a site's counters at zero, so the first increment shows in increase(). */
  registerSite(namespace: string, group: string, site: string): void;
  forgetSite(namespace: string, group: string, site: string): void;
  setSiteState(namespace: string, group: string, site: string, state: SiteState): void;
  setSiteRole(namespace: string, group: string, site: string, role: SiteRole): void;
  setReplication(namespace: string, group: string, site: string, lagSeconds: number | null, ioRunning: boolean, sqlRunning: boolean): void;
  clearReplication(namespace: string, group: string, site: string): void;
  forgetGroup(namespace: string, group: string): void;
  recordFailover(namespace: string, group: string, targetSite: string): void;
  observeFailover(namespace: string, group: string, stage: FailoverStage, seconds: number): void;
  recordFailoverFailure(namespace: string, group: string, reason: FailoverFailureReason): void;
  recordFailoverBlocked(namespace: string, group: string, reason: string): void;
  recordLostTransactions(namespace: string, group: string, site: string, count: number): void;
  recordPlannedFailover(namespace: string, group: string, targetSite: string, result: PlannedFailoverResult): void;
  observePlannedFailover(namespace: string, group: string, seconds: number): void;
  observePlannedLagWait(namespace: string, group: string, seconds: number): void;
  setMaintenance(namespace: string, group: string, active: boolean): void;
  setDivergent(namespace: string, group: string, site: string, transactions: number): void;
}

export interface ManagerDeps {
  log: Logger;
  metrics: TopologyMetricsSink;
  readSecret: SecretReader;
  openProbe(address: SiteAddress, account: MysqlAccount): SiteProbe;
  /** JSON merge patch of the status subresource (null removes a field). */
  patchStatus(namespace: string, name: string, status: StatusPatch): Promise<void>;
  /** null removes an annotation; with resourceVersion, only if the object still has it (409 otherwise). */
  patchAnnotations(namespace: string, name: string, annotations: Record<string, string | null>, resourceVersion?: string): Promise<void>;
  /** A fresh read of the group from the API server. */
  readGroup(namespace: string, name: string): Promise<MysqlFailoverGroup>;
  /** A fresh connection for a mutation, bounded by deadlineMs and closed afterwards. */
  withSite<T>(address: SiteAddress, account: MysqlAccount, operation: string, fn: (s: SiteSession) => Promise<T>, deadlineMs: number): Promise<T>;
  /** Points DNS and node taints at the primary; throws when that failed. */
  followPrimary(group: MysqlFailoverGroup, spec: DefaultedMysqlFailoverGroupSpec, site: string): Promise<void>;
  recordEvent(group: MysqlFailoverGroup, event: TopologyEvent): void;
  publish(message: GroupStatusMessage): void;
  /** Failpoints (operator/failpoints.ts): resolves at once unless a test set `point`. */
  pause(point: string): Promise<void>;
  /** Volatile status fields (lastSeen, GTIDs, lag) are written at most this often. */
  statusRefreshMs?: number;
}

/** Back-to-back cycles at most (a switchover takes about 7); then one poll interval passes. */
const MAX_EXPEDITED = 10;

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
  private readonly store: GroupStatusStore;
  /** Last maintenance state seen, for MaintenanceStarted/Ended events; undefined before the first cycle. */
  private maintenanceActive: boolean | undefined;
  private maintenanceInvalidValue: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** Start of the last cycle whose polls counted toward the debounce thresholds. */
  private lastCountedAt = 0;
  /** Cycles started back to back (a switchover moving on, a new request); bounded by MAX_EXPEDITED. */
  private expedited = 0;
  /** A cycle is wanted as soon as the one running ends. */
  private nudged = false;
  private latest: GroupStatusMessage | undefined;
  private observations = new Map<string, SiteObservation | undefined>();
  /** Per site: since when its polls fail, and when its receiver last heard from its source (witness evidence). */
  private contacts = new Map<string, SiteContact>();
  private readonly failover: FailoverController;
  private readonly planned: PlannedExecutor;
  private readonly log: Logger;

  constructor(
    group: MysqlFailoverGroup,
    private readonly deps: ManagerDeps,
  ) {
    this.group = group;
    this.spec = withDefaults(group.spec);
    this.log = deps.log.child({ namespace: this.namespace, group: this.name });
    this.store = new GroupStatusStore(group.status, {
      log: this.log,
      patchStatus: (status) => this.deps.patchStatus(this.namespace, this.name, status),
      patchAnnotations: (annotations) => this.deps.patchAnnotations(this.namespace, this.name, annotations),
      // Jittered per group so that a thousand groups do not refresh their status in one burst.
      refreshMs: (deps.statusRefreshMs ?? 30_000) * (1 + Math.random() / 2),
      // A switchover in Resuming ends once the new primary is recorded: that may have been this write.
      onWritten: (written) => {
        if (written.plannedFailover?.phase === "Resuming") this.nudge();
      },
    });
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- read lazily by the getter below
    const self = this;
    const executor = new FailoverExecutor({
      log: this.log,
      withSite: (site, operation, fn, deadlineMs) => this.withSite(site, operation, fn, deadlineMs),
      replicationSource: (site) => {
        const account = this.credentials?.replication;
        if (!account) throw new Error("replication credentials unavailable");
        return { ...this.address(site), user: account.user, password: account.password };
      },
      get spareUsers() {
        return self.spareUsers();
      },
      persistFailover: (record) => this.store.persistFailover(record),
      persistIntent: (intent) => this.store.persistIntent(intent),
      pause: (point) => this.deps.pause(point),
      persistRecovery: (site, record) => this.store.persistRecovery(site, record),
      recoveryOf: (site) => this.store.recoveryOf(site),
      recordFailover: (site, seconds) => {
        this.deps.metrics.recordFailover(this.namespace, this.name, site);
        this.deps.metrics.observeFailover(this.namespace, this.name, "writable", seconds.toWritable);
      },
      recordFailure: (reason) => this.deps.metrics.recordFailoverFailure(this.namespace, this.name, reason),
      recordLostTransactions: (site, count) => this.deps.metrics.recordLostTransactions(this.namespace, this.name, site, count),
      relayLogPolicy: () => ({
        applyTimeoutSeconds: parseDuration(this.spec.emergencyFailover.relayLogApplyTimeout) / 1000,
        allowReceivedTransactionLoss: this.spec.emergencyFailover.allowReceivedTransactionLoss,
      }),
      setDivergent: (site, n) => this.deps.metrics.setDivergent(this.namespace, this.name, site, n),
      recordEvent: (event) => this.deps.recordEvent(this.group, event),
      markWritable: (site) => this.markState(site, "writable"),
      markReadOnly: (site) => this.markState(site, "read-only"),
    });
    this.planned = new PlannedExecutor({
      log: this.log,
      withSite: (site, operation, fn, deadlineMs) => this.withSite(site, operation, fn, deadlineMs),
      get spareUsers() {
        return self.spareUsers();
      },
      persistBlock: (block, previous) => this.store.persistPlanned(block, previous),
      setRequestId: (requestId) => this.deps.patchAnnotations(this.namespace, this.name, { [ANNOTATIONS.plannedFailoverRequestId]: requestId }),
      clearRequest: (seen) => this.clearRequest(seen),
      persistFailover: (record) => this.store.persistFailover(record),
      recordEvent: (event) => this.deps.recordEvent(this.group, event),
      recordResult: (target, result) => this.deps.metrics.recordPlannedFailover(this.namespace, this.name, target, result),
      observeDuration: (seconds) => this.deps.metrics.observePlannedFailover(this.namespace, this.name, seconds),
      observeLagWait: (seconds) => this.deps.metrics.observePlannedLagWait(this.namespace, this.name, seconds),
      markWritable: (site) => this.markState(site, "writable"),
      markReadOnly: (site) => this.markState(site, "read-only"),
      pause: (point) => this.deps.pause(point),
    });
    this.failover = new FailoverController(executor, {
      log: this.log,
      store: this.store,
      recordEvent: (event) => this.deps.recordEvent(this.group, event),
      followPrimary: (site) => this.deps.followPrimary(this.group, this.spec, site),
      observeFailover: (stage, seconds) => this.deps.metrics.observeFailover(this.namespace, this.name, stage, seconds),
      recordFailure: (reason) => this.deps.metrics.recordFailoverFailure(this.namespace, this.name, reason),
      recordBlocked: (reason) => this.deps.metrics.recordFailoverBlocked(this.namespace, this.name, reason),
    });
  }

  /**
   * Removes the request annotations of a finished request, only while they still read as the step
   * saw them: the write is conditional on the resourceVersion of a fresh read, so a request posted
   * after the terminal status was written is never wiped. A conflict is retried next cycle (the
   * state machine clears a finished request's leftover annotations).
   */
  private async clearRequest(seen: SeenRequest): Promise<void> {
    const g = await this.deps.readGroup(this.namespace, this.name);
    const a = g.metadata.annotations ?? {};
    const request = a[ANNOTATIONS.plannedFailover];
    const requestId = a[ANNOTATIONS.plannedFailoverRequestId];
    if (request !== seen.request || requestId !== seen.requestId || (request === undefined && requestId === undefined)) return;
    await this.deps.patchAnnotations(this.namespace, this.name, { [ANNOTATIONS.plannedFailover]: null, [ANNOTATIONS.plannedFailoverRequestId]: null }, g.metadata.resourceVersion);
  }

  /** Sessions a fence must not kill: the operator's own and replication's. */
  private spareUsers(): string[] {
    return [...new Set([this.credentials?.operator.user, this.credentials?.replication.user].filter((u): u is string => u !== undefined))];
  }

  private address(site: string): SiteAddress {
    const spec = this.spec.sites.find((s) => s.name === site);
    if (!spec) throw new Error(`no site ${site} in the spec`);
    return siteAddress(this.name, this.namespace, spec);
  }

  private withSite<T>(site: string, operation: string, fn: (s: SiteSession) => Promise<T>, deadlineMs: number): Promise<T> {
    const account = this.credentials?.operator;
    if (!account) return Promise.reject(new Error("operator credentials unavailable"));
    return this.deps.withSite(this.address(site), account, operation, fn, deadlineMs);
  }

  /** Our own actions change a site's state at once; waiting for debounced polls would only lag. */
  private markState(site: string, state: "writable" | "read-only"): void {
    const trackers = new Map(this.memory.trackers);
    const prev = trackers.get(site);
    if (!prev) return;
    trackers.set(site, { ...prev, state, consecutiveFailures: 0, consecutiveWritable: state === "writable" ? this.spec.recoveryThreshold : 0 });
    this.memory = { ...this.memory, trackers };
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
    const request = (g: MysqlFailoverGroup): string => JSON.stringify([g.metadata.annotations?.[ANNOTATIONS.plannedFailover], g.metadata.annotations?.[ANNOTATIONS.plannedFailoverRequestId]]);
    // A switchover request (or its withdrawal) is picked up now rather than at the next poll.
    if (request(group) !== request(this.group)) this.nudge();
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
    await this.store.idle();
    this.closeProbes();
    this.deps.metrics.forgetGroup(this.namespace, this.name);
    this.log.info(LOG_MESSAGES.managerStopped);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const started = Date.now();
      const interval = this.pollIntervalMs();
      // Polls sooner than half an interval after the last counted one do not count (nextSiteTracker).
      const counted = started - this.lastCountedAt >= interval / 2;
      if (counted) this.lastCountedAt = started;
      this.running = this.cycle(counted)
        .then((progressed) => {
          this.deps.metrics.observeCycle((Date.now() - started) / 1000);
          return progressed;
        })
        .catch((err: unknown) => {
          this.log.error(LOG_MESSAGES.pollFailed, { error: errorText(err) });
          return false;
        })
        .then((progressed) => {
          // A switchover that moved on takes its next step at once: each step waits on the one
          // before, and every poll interval between them would be write unavailability.
          const again = (progressed || this.nudged) && this.expedited < MAX_EXPEDITED;
          this.nudged = false;
          this.expedited = again ? this.expedited + 1 : 0;
          // Fixed rate otherwise: a slow cycle eats into the wait, it does not push the next poll back.
          this.schedule(again ? 0 : Math.max(0, interval - (Date.now() - started)));
        });
    }, delayMs);
  }

  /** Runs a cycle now, or right after the one running. */
  private nudge(): void {
    if (this.stopped) return;
    if (this.timer === undefined) {
      this.nudged = true;
      return;
    }
    clearTimeout(this.timer);
    this.schedule(0);
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
    const at = Date.now();
    try {
      const o = await probe.observe(this.siteDeadlineMs());
      this.observations.set(site.name, o);
      this.contacts.set(site.name, nextContact(this.contacts.get(site.name), { at, ok: true, serverId: o.serverId, readOnly: o.readOnly, ...(o.replica ? { receiver: receiverSample(o.replica) } : {}) }));
      this.deps.metrics.observePoll(this.namespace, this.name, site.name, (performance.now() - started) / 1000);
      const poll: SitePoll = { ...base, ok: true, readOnly: o.readOnly, gtidExecuted: o.gtidExecuted };
      if (o.replica) {
        const r = o.replica;
        poll.replica = { ioRunning: r.ioRunning, sqlRunning: r.sqlRunning, secondsBehindSource: r.secondsBehindSource, sourceHost: r.sourceHost, lastError: r.lastSqlError || r.lastIoError };
      }
      return poll;
    } catch (err) {
      this.observations.set(site.name, undefined);
      this.contacts.set(site.name, nextContact(this.contacts.get(site.name), { at, ok: false }));
      this.deps.metrics.observePoll(this.namespace, this.name, site.name, (performance.now() - started) / 1000);
      this.log.debug(LOG_MESSAGES.pollFailed, { site: site.name, error: errorText(err) });
      return { ...base, ok: false, error: errorText(err) };
    }
  }

  /**
   * Reads the maintenance annotation each cycle (it expires by itself), reports changes as events
   * and the gauge. An unreadable annotation does not pause anything: it is reported instead.
   */
  private maintenance(): { state: MaintenanceState; invalid?: string } {
    const raw = this.group.metadata.annotations?.[ANNOTATIONS.maintenance];
    const parsed = raw === undefined ? undefined : parseMaintenance(raw);
    const invalid = parsed && !parsed.ok ? parsed.error : undefined;
    if (invalid && raw !== this.maintenanceInvalidValue) {
      this.deps.recordEvent(this.group, { type: "Warning", reason: EVENT_REASONS.maintenanceInvalid, message: `${invalid}; automatic failover stays on` });
    }
    this.maintenanceInvalidValue = invalid ? raw : undefined;
    const state = maintenanceState(parsed?.ok ? parsed.value : undefined, Date.now());
    if (this.maintenanceActive !== undefined && state.active !== this.maintenanceActive) {
      const event = state.active
        ? { type: "Normal" as const, reason: EVENT_REASONS.maintenanceStarted, message: `automatic failover paused until ${state.maintenance.until}${state.maintenance.reason ? `: ${state.maintenance.reason}` : ""}` }
        : { type: "Normal" as const, reason: EVENT_REASONS.maintenanceEnded, message: state.expired ? `maintenance expired at ${state.expired.until}; automatic failover is on` : "maintenance turned off; automatic failover is on" };
      this.deps.recordEvent(this.group, event);
      this.log.info(state.active ? LOG_MESSAGES.maintenanceStarted : LOG_MESSAGES.maintenanceEnded);
    } else if (this.maintenanceActive === undefined && state.active) {
      this.log.info(LOG_MESSAGES.maintenanceStarted, { until: state.maintenance.until });
    }
    this.maintenanceActive = state.active;
    this.deps.metrics.setMaintenance(this.namespace, this.name, state.active);
    return invalid ? { state, invalid } : { state };
  }

  private async runFailover(settled: boolean, status: TopologyStatus, automaticFailover: boolean, announce: (primary: string) => void): Promise<{ primary?: string; blocked?: Blocked; routing?: { site: string; error?: string } }> {
    return this.failover.step({
      spec: this.spec,
      automaticFailover,
      topology: status,
      settled,
      states: new Map([...this.memory.trackers].map(([name, t]) => [name, t.state])),
      observations: this.observations,
      contacts: this.contacts,
      addresses: new Map(this.spec.sites.map((s) => [s.name, siteAddress(this.name, this.namespace, s)])),
      annotations: this.group.metadata.annotations ?? {},
      announce,
    });
  }

  /**
   * One step of the planned-failover state machine (operator/planned); returns whether the
   * emergency step must stay out. Without a request and without a block this does nothing.
   */
  private async runPlanned(settled: boolean): Promise<{ holdEmergency: boolean; progressed: boolean }> {
    const phase = this.store.written?.plannedFailover?.phase;
    const busy = { holdEmergency: phase !== undefined && PLANNED_HOLD_PHASES.includes(phase), progressed: false };
    if (!settled) return busy;
    try {
      return await this.stepPlanned();
    } catch (err) {
      this.log.warn(LOG_MESSAGES.plannedFailoverActionFailed, { action: "step", error: errorText(err) });
      return busy;
    }
  }

  private async stepPlanned(): Promise<{ holdEmergency: boolean; progressed: boolean }> {
    const current = this.store.written?.plannedFailover;
    const annotations = this.group.metadata.annotations ?? {};
    if (current === undefined && annotations[ANNOTATIONS.plannedFailover] === undefined) return { holdEmergency: false, progressed: false };
    const addresses = new Map(this.spec.sites.map((s) => [s.name, siteAddress(this.name, this.namespace, s)]));
    const states = new Map([...this.memory.trackers].map(([name, t]) => [name, t.state]));
    const base = decisionSites({ spec: this.spec, automaticFailover: true, settled: true, states, observations: this.observations, addresses });
    const sites: PlannedSite[] = base.map((d) => {
      const r = this.observations.get(d.name)?.replica;
      const recoveryState = this.store.written?.sites?.find((x) => x.name === d.name)?.recoveryState;
      return { ...d, replicating: r !== undefined && r.ioRunning && r.sqlRunning, ...(recoveryState ? { recoveryState } : {}) };
    });
    const lastFailover = newerRecord(statusRecord(this.store.written), annotatedRecord(annotations))?.at;
    const activeSite = this.store.written?.lastKnownPrimary || this.store.written?.activeSite || undefined;
    const { holdEmergency, progressed } = await this.planned.step({
      now: new Date().toISOString(),
      annotation: annotations[ANNOTATIONS.plannedFailover],
      requestId: annotations[ANNOTATIONS.plannedFailoverRequestId],
      current,
      sites,
      activeSite,
      lastFailover,
      cooldownMs: parseDuration(this.spec.failoverCooldown),
      defaults: this.spec.plannedFailover,
    });
    return { holdEmergency, progressed };
  }

  /** One poll cycle; returns whether a switchover moved on (the next cycle then starts at once). */
  private async cycle(counted: boolean): Promise<boolean> {
    const sites = this.spec.sites;
    const ready = await this.ensureProbes();
    const polls = await Promise.all(sites.map((s) => (ready ? this.poll(s) : Promise.resolve<SitePoll>({ name: s.name, role: s.role, ok: false, error: "credentials unavailable" }))));
    if (this.stopped) return false;
    const now = new Date().toISOString();
    const result = topologyCycle(this.memory, polls, this.spec, now, counted);
    this.memory = result.memory;

    for (const t of result.transitions) {
      this.log.info(LOG_MESSAGES.siteStateChanged, { site: t.site, from: t.from, to: t.to });
      this.deps.metrics.recordTransition(this.namespace, this.name, t.site, t.from, t.to);
    }
    for (const poll of polls) {
      this.deps.metrics.setSiteState(this.namespace, this.name, poll.name, result.states.get(poll.name)?.state ?? "unknown");
      this.deps.metrics.setSiteRole(this.namespace, this.name, poll.name, poll.role);
      if (poll.ok && poll.replica) this.deps.metrics.setReplication(this.namespace, this.name, poll.name, poll.replica.secondsBehindSource, poll.replica.ioRunning, poll.replica.sqlRunning);
      else if (poll.ok) this.deps.metrics.clearReplication(this.namespace, this.name, poll.name);
    }
    for (const event of result.events) this.deps.recordEvent(this.group, event);
    if (result.events.some((e) => e.reason.endsWith("Detected") || e.reason === "SiteRecovered")) {
      this.log.warn(LOG_MESSAGES.verdictChanged, { verdict: result.verdict.verdict, activeSite: result.verdict.activeSite, detail: result.verdict.message });
    }

    const generation = this.group.metadata.generation ?? 0;
    const maxLag = this.spec.replication.maxLagSeconds;
    const maintenance = this.maintenance();
    const before = this.store.written;
    const observed = topologyStatus(before, result, polls, maxLag, generation, now);
    // Planned failover (switchover) first; while it changes servers the emergency step stays out.
    const roles = new Map(sites.map((s) => [s.name, s.role]));
    const publish = (status: TopologyStatus): void => {
      this.latest = statusMessage(this.namespace, this.name, status, roles, result.verdict.verdict, this.group.status ?? {}, now);
      if (maintenance.state.active) this.latest.maintenance = maintenance.state.maintenance;
      this.deps.publish(this.latest);
    };
    // A new primary that this cycle's polls confirm is published at once; the complete message
    // follows at the end of the cycle.
    const announce = (primary: string): void => {
      if (this.latest?.activeSite === primary) return;
      const early = withMaintenance(applyAuthority(observed, primary), maintenance.state, maintenance.invalid, generation, now);
      if (early.activeSite === primary) publish(early);
    };
    const { holdEmergency, progressed } = await this.runPlanned(result.settled);
    const failover = holdEmergency ? {} : await this.runFailover(result.settled, observed, !maintenance.state.active, announce);
    // The failover step may have persisted recovery fields or a failover record: build on those,
    // or this cycle's write would put back what the step just replaced.
    const settled = applyAuthority(this.store.written === before ? observed : topologyStatus(this.store.written, result, polls, maxLag, generation, now), failover.primary);
    const status = withRouting(withFailoverBlocked(withMaintenance(settled, maintenance.state, maintenance.invalid, generation, now), failover.blocked, now), failover.routing, generation, now);
    this.store.report(status);
    publish(status);
    return progressed;
  }
}
