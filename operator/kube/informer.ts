/**
 * An informer that keeps running (MysqlFailoverGroups; DNSEndpoints, nodes and pods for routing). client-node's ListWatch stops for good on
 * any error other than 410 Gone (which it handles by relisting), and in 1.4 its watch has no
 * client-side timeout, so a silently dead connection would hang forever. This wrapper restarts
 * a failed ListWatch with exponential backoff, asks the apiserver to end every watch after
 * `watchTimeoutSeconds` and treats a watch that outlives that as dead.
 *
 * Each restart builds a fresh ListWatch (what makeInformer builds, plus a guarded Watch), because
 * the old one may still deliver a late error, finish a list or open a watch it had started. The wrapper keeps its own cache and diffs each list against it,
 * so consumers see add/update/delete exactly once per change, including deletions that happened
 * while no watch was open.
 */
import { ListWatch, Watch, type Informer, type KubeConfig, type KubernetesListObject, type KubernetesObject } from "@kubernetes/client-node";
import type { MysqlFailoverGroup } from "../../shared/api/index.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { API_GROUP, API_VERSION, FAILOVER_GROUP } from "../../shared/names.js";
import { errorText } from "../../shared/errors.js";
import type { Logger } from "../log.js";
import type { Kube } from "../../shared/kube/client.js";

export type InformerEvent = "add" | "update" | "delete";
/** `previous` is the cached object an update replaces; undefined for add and delete. */
export type InformerHandler<T> = (object: T, previous?: T) => void;

/** What an informer lists and watches. */
export interface InformerResource<T extends KubernetesObject> {
  /** For logs: `mysqlfailovergroups`, `nodes`... */
  plural: string;
  /** The collection's path in `namespace`, or across all namespaces (and for cluster-scoped kinds) when undefined. */
  path(namespace: string | undefined): string;
  list(kube: Kube, namespace: string | undefined, selectors: Selectors): Promise<KubernetesListObject<T>>;
}

/** Which objects of the collection: by labels (`k=v,k2`) and by fields (`metadata.name=x`). */
export interface Selectors {
  labelSelector?: string;
  fieldSelector?: string;
}

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** A watch that stayed healthy this long starts the next backoff from `initialMs` again. */
  resetAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1_000, maxMs: 30_000, resetAfterMs: 60_000 };

/** Delay before restart number `attempt` (0-based): doubling from initialMs, capped at maxMs. */
export function backoffDelay(attempt: number, opts: Pick<BackoffOptions, "initialMs" | "maxMs"> = DEFAULT_BACKOFF): number {
  return Math.min(opts.maxMs, opts.initialMs * 2 ** Math.min(attempt, 30));
}

export interface InformerOptions {
  /** Namespaces to watch; undefined or empty watches all namespaces with one watch. */
  namespaces?: readonly string[];
  /** Only objects with these labels (`k=v,k2`). */
  labelSelector?: string;
  /** Only objects with these fields (`metadata.name=x`). */
  fieldSelector?: string;
  logger: Logger;
  backoff?: Partial<BackoffOptions>;
  /** Every cached object is re-emitted as an update this often; 0 turns resync off. */
  resyncPeriodMs?: number;
  /** The apiserver ends each watch after this long and the ListWatch reconnects from its resourceVersion. */
  watchTimeoutSeconds?: number;
}

const DEFAULT_RESYNC_MS = 5 * 60_000;
const DEFAULT_WATCH_TIMEOUT_S = 300;
// A watch silent for its timeout plus this margin is presumed dead (no FIN ever arrived).
const WATCH_STALL_MARGIN_MS = 30_000;

interface Scope<T extends KubernetesObject> {
  namespace: string | undefined;
  /** Bumped whenever the current ListWatch is abandoned; callbacks of older ones are ignored. */
  generation: number;
  informer?: Informer<T>;
  retry?: NodeJS.Timeout;
  attempt: number;
  healthySince?: number;
  lastActivity: number;
  listed: boolean;
}

export class KubeInformer<T extends KubernetesObject> {
  readonly synced: Promise<boolean>;
  private resolveSynced!: (synced: boolean) => void;
  private readonly scopes: Scope<T>[];
  private readonly cache = new Map<string, T>();
  private readonly handlers: Record<InformerEvent, InformerHandler<T>[]> = { add: [], update: [], delete: [] };
  private readonly selectors: Selectors;
  private readonly backoff: BackoffOptions;
  private readonly resyncPeriodMs: number;
  private readonly watchTimeoutSeconds: number;
  private readonly log: Logger;
  private timers: NodeJS.Timeout[] = [];
  private state: "new" | "running" | "stopped" = "new";
  private isSynced = false;

  constructor(
    private readonly kube: Kube,
    private readonly resource: InformerResource<T>,
    opts: InformerOptions,
  ) {
    this.selectors = { ...(opts.labelSelector ? { labelSelector: opts.labelSelector } : {}), ...(opts.fieldSelector ? { fieldSelector: opts.fieldSelector } : {}) };
    const namespaces = [...new Set(opts.namespaces ?? [])];
    this.scopes = (namespaces.length === 0 ? [undefined] : namespaces).map((namespace) => ({
      namespace,
      generation: 0,
      attempt: 0,
      lastActivity: Date.now(),
      listed: false,
    }));
    this.backoff = { ...DEFAULT_BACKOFF, ...opts.backoff };
    this.resyncPeriodMs = opts.resyncPeriodMs ?? DEFAULT_RESYNC_MS;
    this.watchTimeoutSeconds = opts.watchTimeoutSeconds ?? DEFAULT_WATCH_TIMEOUT_S;
    this.log = opts.logger.child({ component: "informer", resource: resource.plural });
    this.synced = new Promise((resolve) => (this.resolveSynced = resolve));
  }

  on(event: InformerEvent, handler: InformerHandler<T>): void {
    this.handlers[event].push(handler);
  }

  start(): void {
    if (this.state !== "new") throw new Error("an informer starts only once");
    this.state = "running";
    for (const scope of this.scopes) this.connect(scope);
    if (this.resyncPeriodMs > 0) this.timers.push(setInterval(() => this.resync(), this.resyncPeriodMs));
    const stallMs = this.watchTimeoutSeconds * 1000 + WATCH_STALL_MARGIN_MS;
    this.timers.push(setInterval(() => this.checkStalls(stallMs), Math.min(stallMs / 2, 60_000)));
  }

  /** Stops every watch and timer; `synced` resolves false if the first lists never completed. */
  stop(): void {
    if (this.state === "stopped") return;
    this.state = "stopped";
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    for (const scope of this.scopes) this.abandon(scope);
    this.resolveSynced(false);
  }

  hasSynced(): boolean {
    return this.isSynced;
  }

  /** `namespace` is "" for cluster-scoped objects. */
  get(namespace: string, name: string): T | undefined {
    return this.cache.get(key(namespace, name));
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  private connect(scope: Scope<T>): void {
    const generation = ++scope.generation;
    const current = () => this.state === "running" && scope.generation === generation;
    const query = new URLSearchParams({ timeoutSeconds: String(this.watchTimeoutSeconds), ...this.selectors });
    const informer = new ListWatch<T>(
      `${this.resource.path(scope.namespace)}?${query.toString()}`,
      new GuardedWatch(this.kube.config, current),
      () => this.relist(scope, current),
      false,
    );
    // A fresh ListWatch re-announces the listed objects as adds; upsert drops those it already knows.
    informer.on("add", (obj) => current() && this.upsert(scope, obj));
    informer.on("update", (obj) => current() && this.upsert(scope, obj));
    informer.on("delete", (obj) => current() && this.remove(scope, obj));
    informer.on("connect", () => current() && (scope.lastActivity = Date.now()));
    informer.on("error", (err) => current() && this.fail(scope, err));
    scope.informer = informer;
    scope.lastActivity = Date.now();
    informer.start().catch((err: unknown) => current() && this.fail(scope, err));
  }

  /** The ListWatch's list function: a list is authoritative, so the cache is diffed against it here. */
  private async relist(scope: Scope<T>, current: () => boolean): Promise<KubernetesListObject<T>> {
    const list = await this.resource.list(this.kube, scope.namespace, this.selectors);
    // Throwing keeps an abandoned ListWatch from opening a watch after its list returns.
    if (!current()) throw new Error("superseded");
    const present = new Set(list.items.map(objectKey));
    for (const [k, obj] of this.cache) {
      if (inScope(scope, obj) && !present.has(k)) {
        this.cache.delete(k);
        this.emit("delete", obj);
      }
    }
    for (const obj of list.items) this.upsert(scope, obj);
    scope.listed = true;
    scope.healthySince = scope.lastActivity = Date.now();
    if (!this.isSynced && this.scopes.every((s) => s.listed)) {
      this.isSynced = true;
      this.log.info(LOG_MESSAGES.informerSynced, { objects: this.cache.size, namespaces: this.scopes.map((s) => s.namespace ?? "*") });
      this.resolveSynced(true);
    }
    return list;
  }

  private upsert(scope: Scope<T>, obj: T): void {
    scope.lastActivity = Date.now();
    const k = objectKey(obj);
    const previous = this.cache.get(k);
    if (previous && previous.metadata?.resourceVersion === obj.metadata?.resourceVersion) return;
    this.cache.set(k, obj);
    if (previous) this.emit("update", obj, previous);
    else this.emit("add", obj);
  }

  private remove(scope: Scope<T>, obj: T): void {
    scope.lastActivity = Date.now();
    if (this.cache.delete(objectKey(obj))) this.emit("delete", obj);
  }

  private fail(scope: Scope<T>, err: unknown): void {
    this.abandon(scope);
    const now = Date.now();
    if (scope.healthySince !== undefined && now - scope.healthySince >= this.backoff.resetAfterMs) scope.attempt = 0;
    scope.healthySince = undefined;
    const delay = backoffDelay(scope.attempt++, this.backoff);
    this.log.warn(LOG_MESSAGES.informerError, { namespace: scope.namespace ?? "*", attempt: scope.attempt, retryInMs: delay, error: errorText(err) });
    scope.retry = setTimeout(() => this.state === "running" && this.connect(scope), delay);
  }

  private abandon(scope: Scope<T>): void {
    scope.generation++;
    clearTimeout(scope.retry);
    const informer = scope.informer;
    scope.informer = undefined;
    // Stopping aborts the watch request, which the ListWatch reports as an error: ignored, stale.
    informer?.stop().catch(() => undefined);
  }

  private checkStalls(stallMs: number): void {
    const now = Date.now();
    for (const scope of this.scopes) {
      if (scope.informer && scope.listed && now - scope.lastActivity > stallMs) {
        this.fail(scope, new Error(`watch silent for ${Math.round((now - scope.lastActivity) / 1000)} s`));
      }
    }
  }

  private resync(): void {
    for (const obj of this.cache.values()) this.emit("update", obj, obj);
  }

  private emit(event: InformerEvent, obj: T, previous?: T): void {
    for (const handler of this.handlers[event]) {
      try {
        handler(obj, previous);
      } catch (err) {
        this.log.error(LOG_MESSAGES.informerHandlerFailed, {
          event,
          namespace: obj.metadata?.namespace,
          name: obj.metadata?.name,
          error: errorText(err),
        });
      }
    }
  }
}

/**
 * ListWatch.stop() cannot abort a watch whose request is still being opened (it holds no handle
 * yet), so such a watch would run until the apiserver ends it. This one aborts it on arrival.
 */
class GuardedWatch extends Watch {
  constructor(
    config: KubeConfig,
    private readonly current: () => boolean,
  ) {
    super(config);
  }

  override async watch(...args: Parameters<Watch["watch"]>): Promise<AbortController> {
    const controller = await super.watch(...args);
    if (!this.current()) controller.abort();
    return controller;
  }
}

/** `/apis/<group>/<version>[/namespaces/<ns>]/<plural>`; the core group's is `/api/v1`. */
export function collectionPath(apiGroup: string, version: string, plural: string, namespace: string | undefined): string {
  const base = apiGroup === "" ? `/api/${version}` : `/apis/${apiGroup}/${version}`;
  const scope = namespace === undefined ? "" : `/namespaces/${encodeURIComponent(namespace)}`;
  return `${base}${scope}/${plural}`;
}

function inScope<T extends KubernetesObject>(scope: Scope<T>, obj: T): boolean {
  return scope.namespace === undefined || obj.metadata?.namespace === scope.namespace;
}

function objectKey(obj: KubernetesObject): string {
  return key(obj.metadata?.namespace ?? "", obj.metadata?.name ?? "");
}

function key(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

const FAILOVER_GROUPS: InformerResource<MysqlFailoverGroup> = {
  plural: FAILOVER_GROUP.plural,
  path: (namespace) => collectionPath(API_GROUP, API_VERSION, FAILOVER_GROUP.plural, namespace),
  list: (kube, namespace) => kube.listFailoverGroups(namespace),
};

/** The MysqlFailoverGroups of the watched namespaces. */
export class FailoverGroupInformer extends KubeInformer<MysqlFailoverGroup> {
  constructor(kube: Kube, opts: InformerOptions) {
    super(kube, FAILOVER_GROUPS, opts);
  }
}
