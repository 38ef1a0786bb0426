import type { DragonflySiteStatus, DragonflySpec, DragonflyStatus } from "../../shared/api/dragonfly.js";
import { decideDragonfly, type CacheSite, type DragonflyAction, type DragonflyDecision } from "../../shared/dragonfly/decide.js";
import { CACHE_POD_ROLES, cacheAddress, dragonflyMasterService, dragonflyNames, dragonflyObjects, managedCacheSites, mayHaveCacheObjects, unwantedCacheObjects, type CachePodRole } from "../../shared/dragonfly/objects.js";
import { cacheServerPods, nextRollStep, type CacheServerPod } from "../../shared/dragonfly/roll.js";
import { parseDuration } from "../../shared/duration.js";
import { errorText } from "../../shared/errors.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { EVENT_REASONS, LABELS } from "../../shared/names.js";
import type { CacheClient } from "../dragonfly/cache-client.js";
import { observeCache, promoteNow, replicate, saveSnapshot, takeOver, type CacheObservation } from "../dragonfly/cache-server.js";
import type { GroupContext } from "./context.js";
import { MANAGED_RESYNC_MS } from "./managed-sites.js";
import { DONE, type GroupCycle, type ReconcileResult, type Reconciler } from "./reconciler.js";

/** A stale master is reported again at most this often while it stays. */
const STALE_REPORT_MS = 5 * 60_000;
/** After a takeover that failed with onSyncTimeout fail, the next one waits this long (each pauses the master's writes). */
const TAKEOVER_RETRY_MS = 60_000;
/** status.dragonfly is written when it changed, and at least this often for the volatile fields. */
const STATUS_REFRESH_MS = 30_000;
/** How long a snapshot before the restart of a lone master may take (SAVE blocks the server meanwhile). */
const SNAPSHOT_SAVE_MS = 60_000;

/**
 * The session cache follows the database (spec.dragonfly, docs/dragonfly.md): each cycle hands the
 * database's primary to a step that observes every cache server, decides where the master belongs
 * (shared/dragonfly/decide.ts), moves it and repoints the replicas. The step runs beside the
 * cycle, never in it: a takeover may wait for maxSyncWait, and nothing of the cache may hold back
 * the database's own reconcilers. A cycle that finds the last step still at work starts none; a
 * fault of the step is caught, logged and counted (bloodraven_dragonfly_manager_panics_total).
 */
export class DragonflyReconciler implements Reconciler {
  readonly name = "dragonfly";
  private running: Promise<void> | undefined;
  private readonly staleReportedAt = new Map<string, number>();
  private readonly takeoverFailedAt = new Map<string, number>();
  /** The database's primary the last step followed: a move of it without a cache to follow is counted once. */
  private followed: string | undefined;
  private written: { material: string; at: number } | undefined;
  private sitesWithSeries = new Set<string>();
  private applied: { generation: number; at: number } | undefined;
  /** A server the spec no longer runs is kept as the master: look again next step. */
  private removalPutOff = false;
  /** The servers the operator runs, as their objects showed them last. */
  private servers: CacheServerPod[] = [];
  /** The site whose server is being updated (shared/dragonfly/roll.ts). */
  private rolling: string | undefined;
  /** Pods restarted in this update (uids). */
  private readonly restarted = new Set<string>();
  /** Read the servers' objects every step (an update under way). */
  private rollWatch = false;
  /** The role labels last put on the pods of the servers the operator runs. */
  private labelled: string | undefined;

  constructor(private readonly ctx: GroupContext) {}

  reconcile(cycle: GroupCycle): Promise<ReconcileResult> {
    if (this.running === undefined) {
      this.running = this.step(cycle.primary)
        .catch((err: unknown) => {
          this.ctx.deps.metrics.recordDragonflyPanic(this.ctx.namespace, this.ctx.name);
          this.ctx.log.error(LOG_MESSAGES.dragonflyFault, { error: errorText(err) });
        })
        .finally(() => (this.running = undefined));
    }
    return Promise.resolve(DONE);
  }

  stop(): void {
    this.forgetSeries(new Set());
  }

  private async step(dbPrimary: string | undefined): Promise<void> {
    const { ctx } = this;
    const spec = ctx.spec.dragonfly;
    await this.syncManaged(spec);
    if (spec?.enabled !== true) {
      this.forgetSeries(new Set());
      if (ctx.store.written?.dragonfly !== undefined) await ctx.store.persistSeen("dragonfly", undefined);
      this.written = undefined;
      return;
    }
    const password = await this.password(spec);
    const clients = new Map((spec.sites ?? []).map((s) => [s.name, ctx.deps.openCache(cacheAddress(spec, ctx.name, ctx.namespace, s.name), password)] as const));
    try {
      const sites = await this.observe(spec, clients);
      const recorded = ctx.store.written?.dragonfly;
      const decision = decideDragonfly({
        sites,
        ...(dbPrimary !== undefined ? { dbPrimary } : {}),
        ...(recorded?.activeSite ? { activeSite: recorded.activeSite } : {}),
        ...(this.rolling !== undefined ? { updating: this.rolling } : {}),
      });
      if (dbPrimary !== undefined && dbPrimary !== this.followed && decision.target !== dbPrimary && this.followed !== undefined) {
        ctx.deps.metrics.recordDragonflyPromotion(ctx.namespace, ctx.name, dbPrimary, "skipped");
      }
      this.followed = dbPrimary ?? this.followed;
      const outcome = await this.act(spec, decision, sites, clients);
      this.reportStale(decision);
      await this.persist(decision, sites, outcome);
      await this.labelRoles(spec, decision, outcome);
      await this.roll(spec, decision, clients);
    } finally {
      for (const c of clients.values()) c.close();
    }
  }

  /**
   * The objects of the cache servers the operator runs, applied at each new generation and every
   * MANAGED_RESYNC_MS (a deleted Service or a hand edit comes back); then those of servers it no
   * longer runs (spec.dragonfly off, an entry removed or given an endpoint) are deleted. The
   * recorded master's server is kept while the cache stays on: looked at again every step until
   * the master has moved and it can go. A group that runs none lists them once per generation.
   */
  private async syncManaged(spec: DragonflySpec | undefined): Promise<void> {
    const { ctx } = this;
    const generation = ctx.group.metadata.generation ?? 0;
    // Without servers to run, once per generation: what is left to delete was left by a spec change.
    const sites = managedCacheSites(spec);
    const current = this.applied?.generation === generation && (sites.length === 0 || Date.now() - this.applied.at < MANAGED_RESYNC_MS);
    if (current && !this.removalPutOff && !this.rollWatch) return;
    // A thousand groups without a cache, each listing StatefulSets and Services at every start,
    // cost the operator over 100 MB and the API server a burst (docs/benchmarks.md, bench:scale).
    if (!mayHaveCacheObjects(spec, ctx.store.written?.dragonfly)) {
      this.servers = [];
      this.removalPutOff = false;
      this.rollWatch = false;
      this.applied = { generation, at: Date.now() };
      return;
    }
    if (!current && spec !== undefined && sites.length > 0) {
      const group = { name: ctx.name, namespace: ctx.namespace, uid: ctx.group.metadata.uid ?? "", spec: ctx.spec };
      for (const site of sites) for (const obj of dragonflyObjects(group, spec, site)) await ctx.deps.applyObject(obj);
      await ctx.deps.applyObject(dragonflyMasterService(group, spec));
      // Pods made again meanwhile come without their role: label them all again.
      this.labelled = undefined;
    }
    const existing = await ctx.deps.listCacheObjects(ctx.namespace, ctx.name);
    const unwanted = unwantedCacheObjects(ctx.name, spec, existing, ctx.store.written?.dragonfly?.activeSite);
    for (const object of unwanted) {
      await ctx.deps.deleteCacheObject(ctx.namespace, object);
      ctx.log.info(LOG_MESSAGES.dragonflyServerRemoved, { kind: object.kind, name: object.name });
    }
    const run = new Set(sites.map((site) => dragonflyNames.site(ctx.name, site)));
    this.removalPutOff = existing.statefulSets.some((s) => !run.has(s.name) && !unwanted.some((o) => o.name === s.name));
    this.servers = cacheServerPods(ctx.name, sites, existing);
    // An update under way, or a StatefulSet whose new spec its controller has not read yet: look every step.
    this.rollWatch = this.rolling !== undefined || this.servers.some((s) => !s.current) || existing.statefulSets.some((s) => !s.settled);
    this.applied = { generation, at: Date.now() };
  }

  /**
   * One step of an update of the servers the operator runs (shared/dragonfly/roll.ts): restarts
   * at most one pod on the new template, never in a step that moves the master, and the master's
   * only when no other server could take it over (after a snapshot, when it has a volume).
   */
  private async roll(spec: DragonflySpec, decision: DragonflyDecision, clients: ReadonlyMap<string, CacheClient>): Promise<void> {
    const { ctx } = this;
    if (this.servers.length === 0 || decision.actions.length > 0) return;
    const step = nextRollStep({
      servers: this.servers,
      ...(this.rolling !== undefined ? { rolling: this.rolling } : {}),
      ...(decision.master !== undefined ? { master: decision.master } : {}),
      inSync: new Set(decision.caughtUp),
      restarted: this.restarted,
    });
    if (step.kind === "idle") {
      if (this.rolling !== undefined) ctx.log.info(LOG_MESSAGES.dragonflyServersUpdated, {});
      this.rolling = undefined;
      this.restarted.clear();
      return;
    }
    this.rolling = step.rolling;
    if (step.kind === "restart") {
      // A master restarts only when it is alone: with a snapshot volume it loads what it saved here.
      const save = step.rolling === decision.master && spec.snapshot?.storage !== undefined ? clients.get(step.rolling) : undefined;
      if (save) {
        try {
          await saveSnapshot(save, SNAPSHOT_SAVE_MS);
        } catch (err) {
          // Not restarted without its snapshot: tried again next step.
          ctx.log.warn(LOG_MESSAGES.dragonflySnapshotFailed, { site: step.rolling, error: errorText(err) });
          return;
        }
      }
      await ctx.deps.restartPod(ctx.namespace, step.pod.name, step.pod.uid, false);
      this.restarted.add(step.pod.uid);
      ctx.log.info(LOG_MESSAGES.dragonflyServerRestarted, { site: step.rolling, pod: step.pod.name });
    }
  }

  /**
   * Labels the pods of the servers the operator runs with their role, so that the group's cache
   * Service selects the master only: the others lose the master label before the master's pod
   * gets it (as the database's writer Service), and a stale master is labelled apart (shed).
   */
  private async labelRoles(spec: DragonflySpec, decision: DragonflyDecision, outcome: Outcome): Promise<void> {
    const { ctx } = this;
    const master = outcome.promoted?.site ?? decision.master;
    const roles = managedCacheSites(spec).map((site) => {
      const role: CachePodRole = site === master ? CACHE_POD_ROLES.master : decision.roles[site] === "stale-master" ? CACHE_POD_ROLES.stale : CACHE_POD_ROLES.replica;
      return [site, role] as const;
    });
    const wanted = JSON.stringify(roles);
    if (roles.length === 0 || wanted === this.labelled) return;
    const label = (site: string, role: CachePodRole) => ctx.deps.labelPod(ctx.namespace, dragonflyNames.pod(ctx.name, site), { [LABELS.dragonflyRole]: role });
    await Promise.all(roles.filter(([, role]) => role !== CACHE_POD_ROLES.master).map(([site, role]) => label(site, role)));
    for (const [site, role] of roles) if (role === CACHE_POD_ROLES.master) await label(site, role);
    this.labelled = wanted;
  }

  /** The cache password from its Secret; a missing Secret or key is thrown, named. */
  private async password(spec: DragonflySpec): Promise<string | undefined> {
    if (spec.auth === undefined) return undefined;
    const data = await this.ctx.deps.readSecret(this.ctx.namespace, spec.auth.secretName);
    if (data === undefined) throw new Error(`spec.dragonfly.auth: Secret ${this.ctx.namespace}/${spec.auth.secretName} does not exist`);
    const value = data[spec.auth.passwordKey];
    if (value === undefined) throw new Error(`spec.dragonfly.auth: Secret ${this.ctx.namespace}/${spec.auth.secretName} has no key ${spec.auth.passwordKey}`);
    return value;
  }

  private async observe(spec: DragonflySpec, clients: ReadonlyMap<string, CacheClient>): Promise<CacheSite[]> {
    const { ctx } = this;
    const sites = await Promise.all(
      (spec.sites ?? []).map(async (s): Promise<CacheSite> => {
        const base = { name: s.name, ...cacheAddress(spec, ctx.name, ctx.namespace, s.name) };
        try {
          return { ...base, observed: await observeCache(clients.get(s.name)!) };
        } catch (err) {
          return { ...base, error: errorText(err) };
        }
      }),
    );
    for (const s of sites) ctx.deps.metrics.setDragonflySiteUp(ctx.namespace, ctx.name, s.name, s.observed !== undefined);
    this.forgetSeries(new Set(sites.map((s) => s.name)));
    return sites;
  }

  /** Drops the reachability series of sites no longer in the spec. */
  private forgetSeries(keep: ReadonlySet<string>): void {
    for (const site of this.sitesWithSeries) if (!keep.has(site)) this.ctx.deps.metrics.forgetDragonflySite(this.ctx.namespace, this.ctx.name, site);
    this.sitesWithSeries = new Set(keep);
  }

  /** Runs the decision's actions: the promotion that succeeded, or why the one tried failed. */
  private async act(spec: DragonflySpec, decision: DragonflyDecision, sites: readonly CacheSite[], clients: ReadonlyMap<string, CacheClient>): Promise<Outcome> {
    const { ctx } = this;
    const site = (name: string) => sites.find((s) => s.name === name)!;
    const outcome: Outcome = {};
    for (const action of decision.actions) {
      const client = clients.get(action.site)!;
      if (action.kind === "replicate") {
        const master = site(action.master);
        try {
          await replicate(client, { host: master.host, port: master.port });
          ctx.log.info(LOG_MESSAGES.dragonflyRepointed, { site: action.site, master: action.master });
          ctx.recordEvent({ type: "Normal", reason: EVENT_REASONS.dragonflyOldSiteReconfigured, message: `cache of ${action.site} now replicates from ${action.master}` });
        } catch (err) {
          ctx.log.warn(LOG_MESSAGES.dragonflyRepointed, { site: action.site, master: action.master, error: errorText(err) });
        }
        continue;
      }
      const failedAt = this.takeoverFailedAt.get(action.site) ?? 0;
      if (action.method === "takeover" && Date.now() - failedAt < TAKEOVER_RETRY_MS) {
        outcome.failed = `the takeover to ${action.site} failed ${Math.round((Date.now() - failedAt) / 1000)}s ago (onSyncTimeout fail); the next try comes after ${TAKEOVER_RETRY_MS / 1000}s`;
        continue;
      }
      const how = action.method === "takeover" ? `takeover from ${action.from}` : "REPLICAOF NO ONE (its old master does not answer)";
      ctx.recordEvent({ type: "Normal", reason: EVENT_REASONS.dragonflyPromotionStarted, message: `promoting the cache of ${action.site} to master: ${how}` });
      try {
        outcome.promoted = await this.promote(spec, action, client, clients, site);
        this.takeoverFailedAt.delete(action.site);
        ctx.deps.metrics.recordDragonflyPromotion(ctx.namespace, ctx.name, action.site, "success");
        ctx.log.info(LOG_MESSAGES.dragonflyPromoted, { site: action.site, method: outcome.promoted.method });
        ctx.recordEvent({ type: "Normal", reason: EVENT_REASONS.dragonflyPromotionCompleted, message: `the cache of ${action.site} is the master (${outcome.promoted.method})` });
      } catch (err) {
        if (action.method === "takeover") this.takeoverFailedAt.set(action.site, Date.now());
        outcome.failed = `promoting ${action.site} failed (${action.method}): ${errorText(err)}`;
        ctx.deps.metrics.recordDragonflyPromotion(ctx.namespace, ctx.name, action.site, "failed");
        ctx.log.warn(LOG_MESSAGES.dragonflyPromotionFailed, { site: action.site, method: action.method, error: errorText(err) });
        ctx.recordEvent({ type: "Warning", reason: EVENT_REASONS.dragonflyPromotionFailed, message: `${outcome.failed}` });
      }
    }
    return outcome;
  }

  /**
   * One promotion. A takeover that does not complete within maxSyncWait: with onSyncTimeout
   * proceed, the target is promoted with what it has (REPLICAOF NO ONE), said in a
   * DragonflySyncTimeout event; with fail, the error goes up and the master stays.
   */
  private async promote(spec: DragonflySpec, action: Promotion, client: CacheClient, clients: ReadonlyMap<string, CacheClient>, site: (name: string) => CacheSite): Promise<Promotion> {
    if (action.method === "replicaof-no-one") {
      await promoteNow(client);
      return action;
    }
    const flavor = (site(action.from).observed as CacheObservation).flavor;
    try {
      await takeOver(client, clients.get(action.from)!, flavor, parseDuration(spec.plannedFailover.maxSyncWait));
      return action;
    } catch (err) {
      if (spec.plannedFailover.onSyncTimeout === "fail") throw err;
      this.ctx.recordEvent({
        type: "Warning",
        reason: EVENT_REASONS.dragonflySyncTimeout,
        message: `the takeover from ${action.from} to ${action.site} did not complete (${errorText(err)}); onSyncTimeout proceed: ${action.site} is promoted with what it has, and ${action.from} keeps writes it lacks`,
      });
      await promoteNow(client);
      return { kind: "promote", site: action.site, method: "replicaof-no-one" };
    }
  }

  private reportStale(decision: DragonflyDecision): void {
    const now = Date.now();
    for (const site of decision.stale) {
      if (now - (this.staleReportedAt.get(site) ?? 0) < STALE_REPORT_MS) continue;
      this.staleReportedAt.set(site, now);
      this.ctx.log.warn(LOG_MESSAGES.dragonflyStaleMaster, { site, master: decision.target });
      this.ctx.recordEvent({
        type: "Warning",
        reason: EVENT_REASONS.dragonflyStaleMasterDetected,
        message: `the cache of ${site} is a second master holding writes ${decision.target ?? "the master"} lacks; left alone, since repointing it would discard them (docs/dragonfly.md)`,
      });
    }
    for (const site of [...this.staleReportedAt.keys()]) if (!decision.stale.includes(site)) this.staleReportedAt.delete(site);
  }

  private async persist(decision: DragonflyDecision, sites: readonly CacheSite[], outcome: Outcome): Promise<void> {
    const recorded = this.ctx.store.written?.dragonfly;
    const promotion = outcome.promoted;
    const activeSite = promotion?.site ?? decision.master;
    // What this step did, not what it found: a promotion done leaves the replicas to repoint.
    const phase = promotion ? "Reconciling" : outcome.failed ? "Degraded" : decision.phase;
    const message = promotion ? `${promotion.site} promoted (${promotion.method}); the others are repointed next` : (outcome.failed ?? decision.message);
    const status: DragonflyStatus = {
      phase,
      ...(activeSite ? { activeSite } : {}),
      message,
      ...(promotion
        ? { lastPromotionTime: new Date().toISOString().replace(/\.\d+Z$/, "Z"), lastPromotionTarget: promotion.site, lastPromotionMethod: promotion.method }
        : {
            ...(recorded?.lastPromotionTime ? { lastPromotionTime: recorded.lastPromotionTime } : {}),
            ...(recorded?.lastPromotionTarget ? { lastPromotionTarget: recorded.lastPromotionTarget } : {}),
            ...(recorded?.lastPromotionMethod ? { lastPromotionMethod: recorded.lastPromotionMethod } : {}),
          }),
      sites: sites.map((s) => siteStatus(s, decision)),
    };
    const material = JSON.stringify({ ...status, sites: status.sites?.map(({ lastIOSecondsAgo: _, keys: __, ...rest }) => rest) });
    if (this.written?.material === material && Date.now() - this.written.at < STATUS_REFRESH_MS) return;
    await this.ctx.store.persistSeen("dragonfly", status);
    this.written = { material, at: Date.now() };
  }
}

type Promotion = Extract<DragonflyAction, { kind: "promote" }>;

/** What a step's actions did. */
interface Outcome {
  promoted?: Promotion;
  failed?: string;
}

function siteStatus(s: CacheSite, decision: DragonflyDecision): DragonflySiteStatus {
  const o = s.observed;
  const role = decision.roles[s.name] ?? "unreachable";
  if (o === undefined) return { name: s.name, role, reachable: false, ready: false, ...(s.error ? { error: s.error } : {}) };
  const streaming = o.role === "replica" && o.linkUp === true && o.syncInProgress !== true && s.name !== decision.target;
  return {
    name: s.name,
    role,
    reachable: true,
    ...(o.linkUp !== undefined ? { linkStatus: o.linkUp ? "up" : "down" } : {}),
    ...(o.syncInProgress !== undefined ? { syncInProgress: o.syncInProgress } : {}),
    ...(o.lastIOSecondsAgo !== undefined ? { lastIOSecondsAgo: o.lastIOSecondsAgo } : {}),
    ready: (role === "master" && s.name === decision.target) || streaming,
    ...(o.keys !== undefined ? { keys: o.keys } : {}),
  };
}
