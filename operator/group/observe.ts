import type { DefaultedSiteSpec, MysqlFailoverGroup } from "../../shared/api/index.js";
import { errorText } from "../../shared/errors.js";
import { nextContact, type SiteContact } from "../../shared/failover/witness.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { topologyCycle, type SitePoll } from "../../shared/topology/cycle.js";
import { receiverSample, type ServerObservation } from "../../shared/topology/site-observation.js";
import { topologyStatus } from "../../shared/topology/status.js";
import { siteAddress, type GroupContext, type SiteConnection } from "./context.js";
import { isAuthenticationFailure } from "../mysql/site-client.js";
import { DONE, type GroupCycle, type ReconcileResult, type Reconciler } from "./reconciler.js";

/**
 * Polls every site in parallel, debounces the results into site states and a verdict, and reports
 * what it saw (state and replication metrics, transition events). Also keeps the witness evidence
 * (when each site's receiver last heard from its source) across polls.
 */
export class ObserveReconciler implements Reconciler {
  readonly name = "observe";
  private probes = new Map<string, SiteConnection>();
  private probeKey = "";
  /** Per site: since when its polls fail, and when its receiver last heard from its source. */
  readonly contacts = new Map<string, SiteContact>();
  /** Sites whose poll was refused at login: the next cycle reads the Secrets again (and the previous password's). */
  private readonly refused = new Set<string>();

  constructor(private readonly ctx: GroupContext) {
    for (const site of ctx.spec.sites) ctx.deps.metrics.registerSite(ctx.namespace, ctx.name, site.name);
  }

  updated(previous: MysqlFailoverGroup): void {
    const ctx = this.ctx;
    if (previous.metadata.generation === ctx.group.metadata.generation) return;
    ctx.credentials = undefined;
    const before = new Set((previous.spec.sites ?? []).map((s) => s.name));
    const names = new Set(ctx.spec.sites.map((s) => s.name));
    for (const name of before) if (!names.has(name)) ctx.deps.metrics.forgetSite(ctx.namespace, ctx.name, name);
    for (const name of names) if (!before.has(name)) ctx.deps.metrics.registerSite(ctx.namespace, ctx.name, name);
    ctx.memory = { ...ctx.memory, trackers: new Map([...ctx.memory.trackers].filter(([name]) => names.has(name))) };
  }

  stop(): void {
    this.closeProbes();
  }

  async reconcile(cycle: GroupCycle): Promise<ReconcileResult> {
    const { ctx } = this;
    const observations = new Map<string, ServerObservation | undefined>();
    const ready = await this.ensureProbes();
    const polls = await Promise.all(ctx.spec.sites.map((s) => (ready ? this.poll(s, observations) : Promise.resolve<SitePoll>({ name: s.name, role: s.role, ok: false, error: "credentials unavailable" }))));
    const result = topologyCycle(ctx.memory, polls, ctx.spec, cycle.now, cycle.counted);
    ctx.memory = result.memory;
    const metrics = ctx.deps.metrics;
    for (const t of result.transitions) {
      ctx.log.info(LOG_MESSAGES.siteStateChanged, { site: t.site, from: t.from, to: t.to });
      metrics.recordTransition(ctx.namespace, ctx.name, t.site, t.from, t.to);
    }
    for (const poll of polls) {
      metrics.setSiteState(ctx.namespace, ctx.name, poll.name, result.states.get(poll.name)?.state ?? "unknown");
      metrics.setSiteRole(ctx.namespace, ctx.name, poll.name, poll.role);
      if (poll.ok && poll.replica) metrics.setReplication(ctx.namespace, ctx.name, poll.name, poll.replica.secondsBehindSource, poll.replica.ioRunning, poll.replica.sqlRunning);
      else if (poll.ok) metrics.clearReplication(ctx.namespace, ctx.name, poll.name);
    }
    for (const event of result.events) ctx.recordEvent(event);
    if (result.events.some((e) => e.reason.endsWith("Detected") || e.reason === "SiteRecovered")) {
      ctx.log.warn(LOG_MESSAGES.verdictChanged, { verdict: result.verdict.verdict, activeSite: result.verdict.activeSite, detail: result.verdict.message });
    }
    cycle.polls = polls;
    cycle.observations = observations;
    cycle.topology = result;
    cycle.observedOn = ctx.store.written;
    cycle.observed = topologyStatus(ctx.store.written, result, polls, ctx.spec.replication.maxLagSeconds, ctx.group.metadata.generation ?? 0, cycle.now);
    return DONE;
  }

  /** A hung server may cost at most this; shorter than the interval so the period holds. */
  private siteDeadlineMs(): number {
    return Math.min(5_000, Math.max(300, this.ctx.pollIntervalMs() - 200));
  }

  private async ensureProbes(): Promise<boolean> {
    const { ctx } = this;
    const refused = [...this.refused];
    this.refused.clear();
    if (!(await ctx.loadCredentials(refused.length > 0)) || !ctx.credentials) {
      this.closeProbes();
      return false;
    }
    for (const site of refused) await ctx.recallPreviousOperator(site);
    // A new password means new probes (the key holds it); connections open under the old one stay valid on the server.
    const operator = ctx.credentials.operator;
    const logins = ctx.spec.sites.map((s) => [s, ctx.operatorAccount(s.name) ?? operator] as const);
    const key = JSON.stringify(logins.map(([s, account]) => [s.name, siteAddress(ctx.name, ctx.namespace, s), account.user, account.password]));
    if (key !== this.probeKey) {
      this.closeProbes();
      for (const [site, account] of logins) this.probes.set(site.name, ctx.deps.openSite(siteAddress(ctx.name, ctx.namespace, site), account, "probe"));
      this.probeKey = key;
    }
    return true;
  }

  private closeProbes(): void {
    for (const probe of this.probes.values()) probe.close();
    this.probes.clear();
    this.probeKey = "";
  }

  private async poll(site: DefaultedSiteSpec, observations: Map<string, ServerObservation | undefined>): Promise<SitePoll> {
    const { ctx } = this;
    const probe = this.probes.get(site.name);
    const base = { name: site.name, role: site.role };
    if (!probe) return { ...base, ok: false, error: "no credentials" };
    const started = performance.now();
    const at = Date.now();
    try {
      const o = await probe.run("observe", (s) => s.flavor.observe(s), this.siteDeadlineMs());
      observations.set(site.name, o);
      this.contacts.set(site.name, nextContact(this.contacts.get(site.name), { at, ok: true, serverId: o.serverId, readOnly: o.readOnly, ...(o.replica ? { receiver: receiverSample(o.replica) } : {}) }));
      ctx.deps.metrics.observePoll(ctx.namespace, ctx.name, site.name, (performance.now() - started) / 1000);
      const poll: SitePoll = { ...base, ok: true, readOnly: o.readOnly, gtidExecuted: o.gtidExecuted };
      if (o.replica) {
        const r = o.replica;
        poll.replica = { ioRunning: r.ioRunning, sqlRunning: r.sqlRunning, secondsBehindSource: r.secondsBehindSource, sourceHost: r.sourceHost, lastError: r.lastSqlError || r.lastIoError };
      }
      return poll;
    } catch (err) {
      if (isAuthenticationFailure(err)) this.refused.add(site.name);
      observations.set(site.name, undefined);
      this.contacts.set(site.name, nextContact(this.contacts.get(site.name), { at, ok: false }));
      ctx.deps.metrics.observePoll(ctx.namespace, ctx.name, site.name, (performance.now() - started) / 1000);
      ctx.log.debug(LOG_MESSAGES.pollFailed, { site: site.name, error: errorText(err) });
      return { ...base, ok: false, error: errorText(err) };
    }
  }
}
