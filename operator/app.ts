import type { V1Job, V1Secret } from "@kubernetes/client-node";
import type { DefaultedMysqlFailoverGroupSpec, MysqlBackup, MysqlBackupStatus, MysqlBackupVerificationStatus, MysqlFailoverGroup } from "../shared/api/index.js";
import { LOG_MESSAGES } from "../shared/log-messages.js";
import type { CacheObjectRef } from "../shared/dragonfly/objects.js";
import { BACKUP_ARTIFACT_FINALIZER, EVENT_REASONS, LABELS } from "../shared/names.js";
import type { OperatorConfig } from "./config.js";
import { DnsPublisher } from "./routing/dns.js";
import { NodeTainter } from "./routing/taints.js";
import { RoutingCache } from "./routing/routing-cache.js";
import { SecretWatches } from "./kube/secret-watches.js";
import { PodRoleLabeler } from "./routing/pod-roles.js";
import { createHealthServer } from "./http/health-server.js";
import { createMetricsServer } from "./http/metrics-server.js";
import { OperatorMetrics } from "./http/metrics.js";
import { StatusServer } from "./http/status-server.js";
import { Kube, apiStatus, loadKubeConfig, type AppliedObject, type StatusPatch } from "../shared/kube/client.js";
import type { SidecarOptions } from "../shared/managed/objects.js";
import { managedSelector, managedSites } from "../shared/managed/sites.js";
import { EventRecorder, type EventReason } from "./kube/events.js";
import { backupJobState } from "./backup/job-state.js";
import { FailoverGroupInformer } from "./kube/informer.js";
import { LeaderElector } from "./kube/leader-election.js";
import { errorText } from "../shared/errors.js";
import { createLogger, type Logger } from "./log.js";
import { SiteClient } from "./mysql/site-client.js";
import type { GroupDeps } from "./group/context.js";
import { GroupWorker } from "./group/worker.js";
import { pauseAt } from "./failpoints.js";
import { askCloneJob, sendClone } from "./agent/ask.js";
import type { CloneRequest } from "../shared/agent/clone.js";
import { CacheClient } from "./dragonfly/cache-client.js";
import { LeaderLabel } from "./kube/leader-label.js";
import { SharedList } from "./kube/shared-list.js";

/**
 * A write is sent only while the lease will still be ours this long from now. The lease is given
 * up at renewDeadline after the last renewal and others may take it only leaseDuration after it
 * (5 s later by default): this margin keeps a statement that was just allowed inside that gap.
 */
const LEADERSHIP_MARGIN_MS = 1_000;
/** One call to an agent's clone API: it answers from memory. */
const AGENT_CALL_MS = 5_000;
/** One command to a cache server (a takeover asks for its own, longer deadline). */
const CACHE_CALL_MS = 2_000;
/** How long one LIST of a namespace's MysqlBackups (or verifications) answers every group that asks. */
const SHARED_LIST_MS = 1_000;

/** Refusal of the leadership guard: this process may no longer change servers or objects. */
export class NotLeaderError extends Error {
  override readonly name = "NotLeaderError";
}

/** Whole-process shutdown budget: Kubernetes' default grace period is 30 s, ours is tighter. */
const SHUTDOWN_BUDGET_MS = 9_000;
/** At shutdown, the leader label's removal gets this long: the pod is going away anyway. */
const LEADER_LABEL_CLOSE_MS = 2_000;

const key = (g: MysqlFailoverGroup) => `${g.metadata.namespace ?? "default"}/${g.metadata.name ?? ""}`;

/**
 * The operator process: HTTP endpoints on every replica, an informer cache on every replica (a
 * standby takes over warm), topology managers only on the elected leader.
 */
export class OperatorApp {
  private readonly log: Logger;
  private readonly metrics = new OperatorMetrics();
  private readonly kube: Kube;
  private readonly events: EventRecorder;
  private readonly informer: FailoverGroupInformer;
  private readonly elector: LeaderElector | undefined;
  private readonly status: StatusServer;
  private readonly servers;
  private readonly managers = new Map<string, GroupWorker>();
  private readonly dns: DnsPublisher;
  private readonly taints: NodeTainter;
  private readonly podRoles: PodRoleLabeler;
  private readonly routing: RoutingCache;
  /** --watch-secrets: the Secrets the groups name, watched by name. */
  private readonly secretWatches: SecretWatches | undefined;
  private readonly leaderLabel: LeaderLabel | undefined;
  private leading = false;
  private readonly backupLists = new SharedList(async (namespace) => (await this.kube.listBackups(namespace)).items, SHARED_LIST_MS);
  private readonly verificationLists = new SharedList(async (namespace) => (await this.kube.listVerifications(namespace)).items, SHARED_LIST_MS);
  private shuttingDown = false;

  constructor(private readonly config: OperatorConfig) {
    this.log = createLogger({ level: config.logLevel, base: { identity: config.identity } });
    this.kube = new Kube(loadKubeConfig(config));
    this.events = new EventRecorder(this.kube, { logger: this.log, host: config.identity });
    this.dns = new DnsPublisher(this.kube);
    this.taints = new NodeTainter(this.kube);
    this.podRoles = new PodRoleLabeler(this.kube);
    this.leaderLabel = config.labelLeaderPod ? new LeaderLabel(this.kube, { namespace: config.leaseNamespace, name: config.identity }, this.log) : undefined;
    this.routing = new RoutingCache(this.kube, { namespaces: config.namespaces, logger: this.log });
    this.secretWatches = config.watchSecrets ? new SecretWatches(this.kube, this.log) : undefined;
    this.informer = new FailoverGroupInformer(this.kube, { namespaces: config.namespaces, logger: this.log });
    this.status = new StatusServer({
      source: {
        hasActiveManagers: () => this.managers.size > 0,
        snapshot: (namespace, group) => this.managers.get(`${namespace}/${group}`)?.snapshot(),
        manages: (namespace, group) => this.managers.has(`${namespace}/${group}`),
        snapshots: () => [...this.managers.values()].flatMap((m) => m.snapshot() ?? []),
        agentAsked: (namespace, group, site, confirmed) => this.managers.get(`${namespace}/${group}`)?.agentAsked(site, confirmed),
        agentToken: (namespace, group) => this.managers.get(`${namespace}/${group}`)?.agentToken(),
      },
      metrics: this.metrics,
      log: this.log,
      ...(config.statusToken ? { token: config.statusToken } : {}),
      allowedOrigins: config.allowedOrigins,
      maxClients: config.maxWebsocketClients,
    });
    this.servers = [
      { name: "metrics", port: config.metricsPort, server: createMetricsServer(this.metrics, this.log) },
      { name: "health", port: config.healthPort, server: createHealthServer(() => this.readiness(), this.log) },
      { name: "status", port: config.statusPort, server: this.status },
    ];
    this.elector = config.leaderElection
      ? new LeaderElector(this.kube, {
          namespace: config.leaseNamespace,
          name: config.leaseName,
          identity: config.identity,
          leaseDurationMs: config.leaseDurationMs,
          renewDeadlineMs: config.renewDeadlineMs,
          retryPeriodMs: config.retryPeriodMs,
          logger: this.log,
          onStartedLeading: () => this.startLeading(),
          onStoppedLeading: () => this.stopLeading(),
        })
      : undefined;
  }

  private readiness(): { ready: true } | { ready: false; reason: string } {
    if (!this.informer.hasSynced()) return { ready: false, reason: "informer cache not synced" };
    if (this.leading && this.managers.size < this.informer.list().length) return { ready: false, reason: "topology managers starting" };
    return { ready: true };
  }

  async start(): Promise<void> {
    this.log.info(LOG_MESSAGES.operatorStarting, { namespaces: this.config.namespaces.length > 0 ? this.config.namespaces : "all", leaderElection: this.config.leaderElection });
    if (this.config.failpoints.size > 0) this.log.warn(LOG_MESSAGES.failpointsActive, { failpoints: Object.fromEntries(this.config.failpoints) });
    if (!this.sidecar()) {
      this.log.info(LOG_MESSAGES.sidecarsOff, { reason: "--agent-image and --agent-operator-url are not both set" });
    }
    for (const s of this.servers) await s.server.listen(s.port, this.config.bindAddress);
    this.informer.on("add", (g) => this.onGroup(g));
    this.informer.on("update", (g) => this.onGroup(g));
    this.informer.on("delete", (g) => void this.dropManager(key(g)));
    this.informer.start();
    // A restarted container keeps its pod's labels: it starts as a standby until it leads again.
    this.leaderLabel?.set(false);
    if (this.elector) this.elector.start();
    else this.startLeading();
  }

  private startLeading(): void {
    this.leading = true;
    this.metrics.setLeader(true);
    this.leaderLabel?.set(true);
    this.log.info(LOG_MESSAGES.leaderElected);
    for (const g of this.informer.list()) this.onGroup(g);
  }

  private async stopLeading(): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    this.metrics.setLeader(false);
    this.leaderLabel?.set(false);
    this.log.warn(LOG_MESSAGES.leaderLost);
    await Promise.all([...this.managers.keys()].map((k) => this.dropManager(k)));
  }

  private onGroup(group: MysqlFailoverGroup): void {
    if (!this.leading || this.shuttingDown) return;
    const existing = this.managers.get(key(group));
    if (existing) {
      existing.update(group);
      return;
    }
    const manager = new GroupWorker(group, this.groupDeps());
    this.managers.set(key(group), manager);
    manager.start();
  }

  private async dropManager(k: string): Promise<void> {
    const manager = this.managers.get(k);
    if (!manager) return;
    this.managers.delete(k);
    await manager.stop();
  }

  /**
   * The leadership guard: runs right before every statement sent to a site and every write of a
   * group's objects, and throws unless this process leads and will still hold the lease
   * LEADERSHIP_MARGIN_MS from now. An operation between two steps stops at the next one.
   */
  private readonly assertLeading = (): void => {
    if (this.leads(LEADERSHIP_MARGIN_MS)) return;
    throw new NotLeaderError(this.leading ? `the lease may be lost within ${LEADERSHIP_MARGIN_MS} ms; nothing more is sent until it is renewed` : "not the leader: this replica does not manage groups now");
  };

  private leads(marginMs: number): boolean {
    return this.leading && (!this.elector || this.elector.holdsLease(marginMs));
  }

  private groupDeps(): GroupDeps {
    const token = this.config.agentToken;
    const guarded = <A extends unknown[], R>(fn: (...args: A) => Promise<R>) => async (...args: A): Promise<R> => {
      this.assertLeading();
      return fn(...args);
    };
    return {
      log: this.log,
      metrics: this.metrics,
      readSecret: async (namespace, name) => {
        try {
          const secret = await this.kube.getSecret(namespace, name);
          return Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]));
        } catch (err) {
          if (apiStatus(err) === 404) return undefined;
          throw err;
        }
      },
      // Every call passes its own deadline; the per-statement limit is a backstop (the GTID and
      // relay-log waits of an action ask for their own).
      openSite: (address, account, purpose) =>
        new SiteClient({ ...address, user: account.user, password: account.password }, { connectTimeoutMs: 2_000, queryTimeoutMs: purpose === "probe" ? 2_000 : 60_000 }, this.assertLeading),
      patchStatus: guarded(async (namespace: string, name: string, status: StatusPatch) => {
        await this.kube.patchFailoverGroupStatus(namespace, name, status);
      }),
      patchAnnotations: guarded(async (namespace: string, name: string, annotations: Record<string, string | null>, resourceVersion?: string) => {
        await this.kube.patchFailoverGroupMetadata(namespace, name, { annotations }, resourceVersion === undefined ? {} : { resourceVersion });
      }),
      readGroup: (namespace, name) => this.kube.getFailoverGroup(namespace, name),
      applyObject: guarded((obj: AppliedObject) => this.kube.applyObject(obj)),
      listManaged: (namespace, group) => this.kube.listManaged(namespace, managedSelector(group)),
      resizeClaim: guarded(async (namespace: string, claim: string, size: string) => this.kube.resizeClaim(namespace, claim, size)),
      restartPod: guarded(async (namespace: string, pod: string, uid: string, respectBudget: boolean) => this.kube.restartPod(namespace, pod, uid, respectBudget)),
      setFinalizers: guarded(async (namespace: string, name: string, finalizers: string[], resourceVersion: string) => {
        await this.kube.setFailoverGroupFinalizers(namespace, name, finalizers, resourceVersion);
      }),
      cleanUp: guarded((group: MysqlFailoverGroup, spec: DefaultedMysqlFailoverGroupSpec) => this.cleanUp(group, spec)),
      followPrimary: guarded((group: MysqlFailoverGroup, spec: DefaultedMysqlFailoverGroupSpec, site: string) => this.followPrimary(group, spec, site)),
      routingInSync: (group, spec, site) => this.routing.inSync(group, spec, site),
      recordEvent: (group, event) => {
        // An event is a report, not an action: one a deposed leader would have written is dropped.
        if (this.leads(0)) void this.events.record(group, event.type, event.reason as EventReason, event.message);
      },
      publish: (message) => this.status.publish(message),
      pause: (point) => pauseAt(this.config.failpoints, point, (ms) => this.log.warn(LOG_MESSAGES.failpointReached, { failpoint: point, ms })),
      credentialsRefreshMs: this.config.credentialsRefreshMs,
      ...(this.secretWatches ? { watchSecrets: this.secretWatches.watch.bind(this.secretWatches) } : {}),
      ...(this.sidecar() ? { sidecar: this.sidecar() } : {}),
      clones: { send: guarded((url: string, token: string, request: CloneRequest) => sendClone(url, token, request, AGENT_CALL_MS)), job: (url: string, token: string) => askCloneJob(url, token, AGENT_CALL_MS) },
      ...(token ? { agentToken: token } : {}),
      createSecretIfAbsent: guarded((secret: V1Secret) => this.kube.createSecretIfAbsent(secret)),
      ...(this.config.agentImage ? { jobImage: this.config.agentImage } : {}),
      labelPod: guarded((namespace: string, pod: string, labels: Record<string, string>) => this.podRoles.setLabels(namespace, pod, labels)),
      annotatePod: guarded((namespace: string, pod: string, annotations: Record<string, string>) => this.podRoles.patchMetadata(namespace, pod, { annotations })),
      listCacheObjects: (namespace, group) => this.kube.listCacheObjects(namespace, `${LABELS.dragonflyGroup}=${group}`),
      deleteCacheObject: guarded((namespace: string, object: CacheObjectRef) => this.kube.deleteObject(object.kind, namespace, object.name)),
      openCache: (address, password) => new CacheClient(address, { timeoutMs: CACHE_CALL_MS, beforeWrite: this.assertLeading, ...(password !== undefined ? { password } : {}) }),
      backups: {
        list: (namespace) => this.backupLists.get(namespace),
        patchStatus: guarded(async (namespace: string, name: string, status: MysqlBackupStatus, resourceVersion: string) => {
          await this.kube.patchBackupStatus(namespace, name, status, { resourceVersion });
        }),
        createJob: guarded((job: V1Job) => this.kube.createJobIfAbsent(job)),
        setFinalizers: guarded(async (namespace: string, name: string, finalizers: string[], resourceVersion: string) => (await this.kube.setBackupFinalizers(namespace, name, finalizers, resourceVersion)).metadata.resourceVersion ?? ""),
        job: (namespace, name, container) => backupJobState(this.kube, namespace, name, container),
        deleteJob: guarded((namespace: string, name: string) => this.kube.deleteJob(namespace, name)),
        create: guarded((backup: MysqlBackup) => this.kube.createBackupIfAbsent(backup)),
        delete: guarded((namespace: string, name: string) => this.kube.deleteBackup(namespace, name)),
        annotate: guarded(async (namespace: string, name: string, annotations: Record<string, string>, resourceVersion: string) => {
          await this.kube.annotateBackup(namespace, name, annotations, resourceVersion);
        }),
        cronJobs: (namespace, labelSelector) => this.kube.listCronJobs(namespace, labelSelector),
        deleteCronJob: guarded((namespace: string, name: string) => this.kube.deleteCronJob(namespace, name)),
        event: (backup, type, reason, message) => {
          if (this.leads(0)) void this.events.record(backup, type, reason, message);
        },
      },
      verifications: {
        list: (namespace) => this.verificationLists.get(namespace),
        patchStatus: guarded(async (namespace: string, name: string, status: MysqlBackupVerificationStatus, resourceVersion: string) => {
          await this.kube.patchVerificationStatus(namespace, name, status, resourceVersion);
        }),
        delete: guarded((namespace: string, name: string) => this.kube.deleteVerification(namespace, name)),
        event: (verification, type, reason, message) => {
          if (this.leads(0)) void this.events.record(verification, type, reason, message);
        },
      },
    };
  }

  /**
   * The managed sites' sidecar: it needs an image and the address of this operator's status API.
   * With a status token, a sidecar presents its group's agent token instead, which its pod mounts.
   */
  private sidecar(): SidecarOptions | undefined {
    const { agentImage, agentOperatorUrl } = this.config;
    return agentImage && agentOperatorUrl ? { image: agentImage, operatorUrl: agentOperatorUrl } : undefined;
  }

  /**
   * DNS, the managed sites' pod role labels (the writer and reader Services follow them) and the
   * taints, side by side: the new primary's nodes lose the read-only taint, every other site's
   * nodes get it. Taints and DNS flips are counted only when something really changed.
   */
  private async followPrimary(group: MysqlFailoverGroup, spec: DefaultedMysqlFailoverGroupSpec, site: string): Promise<void> {
    const namespace = group.metadata.namespace ?? "default";
    const name = group.metadata.name ?? "";
    const dns = async (): Promise<void> => {
      if (!spec.dns) return;
      const { changed } = await this.dns.publish(group, site);
      if (changed) this.metrics.recordDnsFlip(namespace, name, site);
    };
    const tainted = spec.sites.filter((s) => s.taintNodeSelector && s.role !== "read-only");
    const taint = async (s: (typeof tainted)[number]): Promise<void> => {
      const { applied, removed } = await this.taints.setReadOnlyTaint(name, s.taintNodeSelector ?? {}, s.name !== site);
      for (let i = 0; i < applied; i++) this.metrics.recordTaint(namespace, name, s.name, "apply");
      for (let i = 0; i < removed; i++) this.metrics.recordTaint(namespace, name, s.name, "remove");
    };
    const managed = managedSites(spec).map((s) => s.name);
    const roles = async (): Promise<void> => {
      if (managed.length > 0) await this.podRoles.label(namespace, name, managed, site);
    };
    // In parallel: a denied or hanging DNSEndpoint write must not hold the taints back (writers on
    // a read-only site), nor one site's taints another's, nor the pods' role labels.
    const labels = ["DNS", "pod role labels", ...tainted.map((s) => `taints of ${s.name}`)];
    const results = await Promise.allSettled([dns(), roles(), ...tainted.map(taint)]);
    const failures = results.flatMap((r, i) => (r.status === "rejected" ? [`${labels[i]}: ${errorText(r.reason)}`] : []));
    if (failures.length > 0) throw new Error(failures.join("; "));
  }

  /**
   * Before a deleted group goes: every site's read-only taint comes off its nodes (external sites'
   * too), then the managed sites' volumes are deleted. Their StatefulSets, Services, ConfigMap,
   * PodDisruptionBudget and the DNSEndpoint go with the group (owner references). External
   * servers are never touched.
   */
  private async cleanUp(group: MysqlFailoverGroup, spec: DefaultedMysqlFailoverGroupSpec): Promise<void> {
    const namespace = group.metadata.namespace ?? "default";
    const name = group.metadata.name ?? "";
    for (const site of spec.sites.filter((s) => s.taintNodeSelector)) {
      try {
        const { removed } = await this.taints.setReadOnlyTaint(name, site.taintNodeSelector ?? {}, false);
        for (let i = 0; i < removed; i++) this.metrics.recordTaint(namespace, name, site.name, "remove");
      } catch (err) {
        throw new Error(`removing the read-only taint of site ${site.name}: ${errorText(err)}`, { cause: err });
      }
    }
    try {
      await this.releaseBackups(namespace, name);
    } catch (err) {
      throw new Error(`releasing the group's MysqlBackups: ${errorText(err)}`, { cause: err });
    }
    if (managedSites(spec).length === 0) return;
    try {
      await this.kube.deleteClaims(namespace, managedSelector(name));
    } catch (err) {
      throw new Error(`deleting the managed sites' volumes: ${errorText(err)}`, { cause: err });
    }
  }

  /**
   * The group's backups outlive it (a restore may need them), and their artifacts stay in the
   * store; their finalizers come off now, since nothing could run their cleanup once the group's
   * profiles are gone, and a namespace being deleted would wait for them forever.
   */
  private async releaseBackups(namespace: string, group: string): Promise<void> {
    const held = (await this.kube.listBackups(namespace)).items.filter((b) => b.spec.failoverGroupRef.name === group && b.metadata.finalizers?.includes(BACKUP_ARTIFACT_FINALIZER));
    for (const backup of held) {
      const finalizers = (backup.metadata.finalizers ?? []).filter((f) => f !== BACKUP_ARTIFACT_FINALIZER);
      await this.kube.setBackupFinalizers(namespace, backup.metadata.name ?? "", finalizers, backup.metadata.resourceVersion ?? "");
      const where = backup.status?.location ?? "its folder in the store";
      void this.events.record(backup, "Warning", EVENT_REASONS.artifactCleanupSkipped, `the group ${group} is being deleted: the artifact (${where}) stays in the store, and deleting this MysqlBackup will not remove it`);
    }
  }

  /** SIGTERM: stop managers, hand the lease over, close servers; bounded by SHUTDOWN_BUDGET_MS. */
  async shutdown(): Promise<void> {
    this.log.info(LOG_MESSAGES.operatorStopping);
    const work = (async () => {
      // Still the leader while the workers finish the cycle in flight (their writes pass the
      // guard); the lease is released only after they stopped.
      this.shuttingDown = true;
      await Promise.all([...this.managers.keys()].map((k) => this.dropManager(k)));
      if (this.elector) await this.elector.release().catch((err: unknown) => this.log.warn(LOG_MESSAGES.leaseError, { error: errorText(err) }));
      this.leaderLabel?.set(false);
      await this.leaderLabel?.close(LEADER_LABEL_CLOSE_MS);
      this.informer.stop();
      this.routing.stop();
      this.secretWatches?.stop();
      await Promise.all(this.servers.map((s) => s.server.close()));
    })();
    const budget = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), SHUTDOWN_BUDGET_MS).unref());
    const outcome = await Promise.race([work.then(() => "done" as const), budget]);
    this.log.info(LOG_MESSAGES.operatorStopped, { clean: outcome === "done" });
  }
}
