/**
 * The door to the Kubernetes API of both programs, operator and plugin: kubeconfig loading, the
 * typed client-node APIs, and helpers for MysqlFailoverGroup objects. Every request runs under a deadline and every failure
 * surfaces as an ApiError, so callers can switch on the HTTP status.
 */
import { existsSync } from "node:fs";
import { STATUS_CODES } from "node:http";
import {
  ApiException,
  AppsV1Api,
  BatchV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  Observable,
  PatchStrategy,
  PolicyV1Api,
  RbacAuthorizationV1Api,
  setHeaderOptions,
  type ConfigurationOptions,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type ObservableMiddleware,
  type V1CronJob,
  type V1Job,
  type V1Pod,
  type V1Role,
  type V1RoleBinding,
  type V1Secret,
  type V1ServiceAccount,
} from "@kubernetes/client-node";
import type { MysqlBackup, MysqlBackupStatus, MysqlBackupVerification, MysqlBackupVerificationStatus, MysqlFailoverGroup, MysqlFailoverGroupStatus } from "../api/index.js";
import type { CacheObjectRef, ExistingCacheObjects } from "../dragonfly/objects.js";
import type { ManagedObjectLists } from "../managed/inventory.js";
import type { ManagedObject } from "../managed/objects.js";
import { API_GROUP, API_VERSION, FAILOVER_GROUP, MYSQL_BACKUP, MYSQL_BACKUP_VERIFICATION } from "../names.js";
import { errorText } from "../errors.js";
import { PooledKubeConfig } from "./kubeconfig.js";

export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
export const FIELD_MANAGER = "bloodraven";

const SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token";
const CUSTOM_RESOURCE = { group: API_GROUP, version: API_VERSION, plural: FAILOVER_GROUP.plural } as const;
const BACKUP_RESOURCE = { group: API_GROUP, version: API_VERSION, plural: MYSQL_BACKUP.plural } as const;
const VERIFICATION_RESOURCE = { group: API_GROUP, version: API_VERSION, plural: MYSQL_BACKUP_VERIFICATION.plural } as const;
type CustomResourceRef = typeof CUSTOM_RESOURCE | typeof BACKUP_RESOURCE | typeof VERIFICATION_RESOURCE;

/** What applyObject takes: a managed site's objects and a backup schedule's. */
export type AppliedObject = ManagedObject | V1CronJob | V1ServiceAccount | V1Role | V1RoleBinding;

export interface KubeConfigSource {
  /** Path of a kubeconfig file; wins over everything else. */
  kubeconfig?: string;
  /** Context to use instead of the file's current-context. */
  context?: string;
}

/**
 * An explicit path, else $KUBECONFIG, else the pod's service account, else ~/.kube/config.
 * In-cluster comes before ~/.kube/config so that a stray file baked into an image can never
 * point the operator at another cluster.
 */
export function loadKubeConfig(source: KubeConfigSource = {}): KubeConfig {
  const kc = new PooledKubeConfig();
  if (source.kubeconfig) kc.loadFromFile(source.kubeconfig);
  else if (process.env.KUBECONFIG) kc.loadFromDefault();
  else if (process.env.KUBERNETES_SERVICE_HOST && existsSync(SERVICE_ACCOUNT_TOKEN)) kc.loadFromCluster();
  else kc.loadFromDefault();
  if (source.context) {
    if (!kc.getContextObject(source.context)) throw new Error(`the kubeconfig has no context "${source.context}"`);
    kc.setCurrentContext(source.context);
  }
  return kc;
}

/**
 * A failed API call. `status` is the HTTP status, or 0 when no answer arrived: reason
 * `DeadlineExceeded` for the client-side deadline, `NetworkError` for anything else.
 * `reason` is the apiserver's Status reason (NotFound, Conflict, Gone, Invalid...).
 */
export class ApiError extends Error {
  override readonly name = "ApiError";

  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The HTTP status of an ApiError, 0 for anything else; handy in `switch`. */
export function apiStatus(err: unknown): number {
  return err instanceof ApiError ? err.status : 0;
}

/** A JSON merge patch (RFC 7386): `null` deletes a field; arrays are replaced whole. */
export type MergePatch<T> = {
  [K in keyof T]?: (NonNullable<T[K]> extends readonly unknown[] ? T[K] : NonNullable<T[K]> extends object ? MergePatch<NonNullable<T[K]>> : T[K]) | null;
};

export type StatusPatch = MergePatch<MysqlFailoverGroupStatus>;

export interface PatchOptions {
  /** Precondition: the patch fails with 409 unless the object still has this resourceVersion. */
  resourceVersion?: string;
}

export type FailoverGroupList = KubernetesListObject<MysqlFailoverGroup>;

export interface KubeOptions {
  /** Deadline of each request, in ms. */
  timeoutMs?: number;
}

export class Kube {
  readonly customObjects: CustomObjectsApi;
  readonly core: CoreV1Api;
  readonly coordination: CoordinationV1Api;
  readonly apps: AppsV1Api;
  readonly batch: BatchV1Api;
  readonly policy: PolicyV1Api;
  readonly rbac: RbacAuthorizationV1Api;
  readonly timeoutMs: number;

  constructor(
    readonly config: KubeConfig,
    opts: KubeOptions = {},
  ) {
    this.customObjects = config.makeApiClient(CustomObjectsApi);
    this.core = config.makeApiClient(CoreV1Api);
    this.coordination = config.makeApiClient(CoordinationV1Api);
    this.apps = config.makeApiClient(AppsV1Api);
    this.batch = config.makeApiClient(BatchV1Api);
    this.policy = config.makeApiClient(PolicyV1Api);
    this.rbac = config.makeApiClient(RbacAuthorizationV1Api);
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  /**
   * Runs one request under a deadline. The request gets an AbortSignal through a client-node
   * middleware, which closes the socket when time is up, headers or body alike. The race with
   * the same signal also covers the steps before the socket exists (credential plugins), which
   * the signal cannot interrupt.
   */
  async call<T>(what: string, request: (options: ConfigurationOptions) => Promise<T>, timeoutMs = this.timeoutMs): Promise<T> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    const aborted = new Promise<never>((_, reject) => controller.signal.addEventListener("abort", reject, { once: true }));
    try {
      return await Promise.race([request(signalOptions(controller.signal)), aborted]);
    } catch (err) {
      if (controller.signal.aborted) throw new ApiError(0, "DeadlineExceeded", `${what}: no answer within ${timeoutMs} ms`);
      throw toApiError(what, err);
    } finally {
      clearTimeout(timer);
    }
  }

  getFailoverGroup(namespace: string, name: string): Promise<MysqlFailoverGroup> {
    return this.call(`get ${FAILOVER_GROUP.plural} ${namespace}/${name}`, (options) =>
      this.customObjects.getNamespacedCustomObject({ ...CUSTOM_RESOURCE, namespace, name }, options),
    );
  }

  /** Creates the MysqlFailoverGroup unless one of its name exists (false then). */
  createFailoverGroupIfAbsent(group: MysqlFailoverGroup): Promise<boolean> {
    return this.createCustomIfAbsent(CUSTOM_RESOURCE, group);
  }

  /** Every group in `namespace`, or in all namespaces when it is undefined. */
  listFailoverGroups(namespace: string | undefined): Promise<FailoverGroupList> {
    return this.call(`list ${FAILOVER_GROUP.plural} in ${namespace ?? "all namespaces"}`, (options) =>
      namespace === undefined
        ? this.customObjects.listCustomObjectForAllNamespaces(CUSTOM_RESOURCE, options)
        : this.customObjects.listNamespacedCustomObject({ ...CUSTOM_RESOURCE, namespace }, options),
    );
  }

  /** Merge-patches the status subresource; the spec and metadata cannot change through it. */
  patchFailoverGroupStatus(namespace: string, name: string, status: StatusPatch, opts: PatchOptions = {}): Promise<MysqlFailoverGroup> {
    return this.mergePatchCustom(CUSTOM_RESOURCE, namespace, name, "status", { ...precondition(opts), status });
  }

  /** Merge-patches annotations: a `null` value removes the key, keys not named are kept. */
  patchFailoverGroupMetadata(
    namespace: string,
    name: string,
    metadata: { annotations: Record<string, string | null> },
    opts: PatchOptions = {},
  ): Promise<MysqlFailoverGroup> {
    return this.mergePatchCustom(CUSTOM_RESOURCE, namespace, name, "metadata", { metadata: { ...precondition(opts).metadata, annotations: metadata.annotations } });
  }

  /** Merge-patches fields of the group's spec (`null` removes one), only at `resourceVersion` when given. */
  patchFailoverGroupSpec(namespace: string, name: string, spec: Record<string, unknown>, opts: PatchOptions = {}): Promise<MysqlFailoverGroup> {
    return this.mergePatchCustom(CUSTOM_RESOURCE, namespace, name, "spec", { ...precondition(opts), spec });
  }

  /** Replaces the group's finalizers, only if the object still has `resourceVersion` (409 otherwise). */
  setFailoverGroupFinalizers(namespace: string, name: string, finalizers: string[], resourceVersion: string): Promise<MysqlFailoverGroup> {
    return this.mergePatchCustom(CUSTOM_RESOURCE, namespace, name, "finalizers", { metadata: { resourceVersion, finalizers } });
  }

  /** A JSON merge patch of a custom object, of its status subresource when `part` is "status". */
  private mergePatchCustom<T>(resource: CustomResourceRef, namespace: string, name: string, part: "status" | "metadata" | "finalizers" | "spec", body: object): Promise<T> {
    const params = { ...resource, namespace, name, body, fieldManager: FIELD_MANAGER };
    return this.call(`patch ${part} of ${resource.plural} ${namespace}/${name}`, (options) =>
      part === "status" ? this.customObjects.patchNamespacedCustomObjectStatus(params, mergePatch(options)) : this.customObjects.patchNamespacedCustomObject(params, mergePatch(options)),
    );
  }

  /** Deletes every PersistentVolumeClaim of the namespace that matches the label selector; returns their names. */
  async deleteClaims(namespace: string, labelSelector: string): Promise<string[]> {
    const list = await this.call(`list persistentvolumeclaims in ${namespace}`, (options) => this.core.listNamespacedPersistentVolumeClaim({ namespace, labelSelector }, options));
    const names = list.items.map((c) => c.metadata?.name ?? "").filter((n) => n !== "");
    for (const name of names) {
      await this.deleteIfPresent(`delete persistentvolumeclaim ${namespace}/${name}`, (options) => this.core.deleteNamespacedPersistentVolumeClaim({ namespace, name }, options));
    }
    return names;
  }

  /** The StatefulSets, claims and pods of the namespace that match the label selector. */
  async listManaged(namespace: string, labelSelector: string): Promise<ManagedObjectLists> {
    const [statefulSets, claims, pods] = await Promise.all([
      this.call(`list statefulsets in ${namespace}`, (o) => this.apps.listNamespacedStatefulSet({ namespace, labelSelector }, o)),
      this.call(`list persistentvolumeclaims in ${namespace}`, (o) => this.core.listNamespacedPersistentVolumeClaim({ namespace, labelSelector }, o)),
      this.call(`list pods in ${namespace}`, (o) => this.core.listNamespacedPod({ namespace, labelSelector }, o)),
    ]);
    return { statefulSets: statefulSets.items, claims: claims.items, pods: pods.items };
  }

  /** The cache servers' StatefulSets, Services and pods that carry the label selector. */
  async listCacheObjects(namespace: string, labelSelector: string): Promise<ExistingCacheObjects> {
    const [statefulSets, services, pods] = await Promise.all([
      this.call(`list statefulsets in ${namespace}`, (o) => this.apps.listNamespacedStatefulSet({ namespace, labelSelector }, o)),
      this.call(`list services in ${namespace}`, (o) => this.core.listNamespacedService({ namespace, labelSelector }, o)),
      this.call(`list pods in ${namespace}`, (o) => this.core.listNamespacedPod({ namespace, labelSelector }, o)),
    ]);
    return {
      statefulSets: statefulSets.items.map((s) => ({
        name: s.metadata?.name ?? "",
        ...(s.status?.updateRevision ? { updateRevision: s.status.updateRevision } : {}),
        settled: (s.status?.observedGeneration ?? 0) >= (s.metadata?.generation ?? 0),
      })),
      services: services.items.map((s) => s.metadata?.name ?? ""),
      pods: pods.items.map((p) => ({ name: p.metadata?.name ?? "", uid: p.metadata?.uid ?? "", ...(p.metadata?.labels?.["controller-revision-hash"] ? { revision: p.metadata.labels["controller-revision-hash"] } : {}) })),
    };
  }

  /** Deletes a StatefulSet (its pods go in the background) or a Service; one already gone counts as deleted. */
  async deleteObject(kind: CacheObjectRef["kind"], namespace: string, name: string): Promise<void> {
    const what = `delete ${kind} ${namespace}/${name}`;
    if (kind === "StatefulSet") await this.deleteIfPresent(what, (o) => this.apps.deleteNamespacedStatefulSet({ namespace, name, propagationPolicy: "Background" }, o));
    else await this.deleteIfPresent(what, (o) => this.core.deleteNamespacedService({ namespace, name }, o));
  }

  /** Asks for a larger volume: the API server refuses unless the claim's StorageClass allows expansion. */
  async resizeClaim(namespace: string, name: string, size: string): Promise<void> {
    const body = { spec: { resources: { requests: { storage: size } } } };
    await this.call(`patch persistentvolumeclaim ${namespace}/${name}`, (o) =>
      this.core.patchNamespacedPersistentVolumeClaim({ namespace, name, body, fieldManager: FIELD_MANAGER }, mergePatch(o)),
    );
  }

  /**
   * Restarts a StatefulSet's pod (its controller makes it again from the current template). With
   * `respectBudget` through the Eviction API, which the PodDisruptionBudget may refuse (429);
   * otherwise a plain delete. Only the pod of that uid: a pod made since is left alone (409).
   */
  async restartPod(namespace: string, name: string, uid: string, respectBudget: boolean): Promise<void> {
    const preconditions = { uid };
    if (respectBudget) {
      const body = { apiVersion: "policy/v1", kind: "Eviction", metadata: { name, namespace }, deleteOptions: { preconditions } };
      await this.call(`evict pod ${namespace}/${name}`, (o) => this.core.createNamespacedPodEviction({ name, namespace, body }, o));
      return;
    }
    await this.call(`delete pod ${namespace}/${name}`, (o) => this.core.deleteNamespacedPod({ name, namespace, body: { preconditions } }, o));
  }

  listBackups(namespace: string, labelSelector?: string): Promise<KubernetesListObject<MysqlBackup>> {
    return this.listCustom(BACKUP_RESOURCE, namespace, labelSelector);
  }

  getBackup(namespace: string, name: string): Promise<MysqlBackup> {
    return this.getCustom(BACKUP_RESOURCE, namespace, name);
  }

  /** Creates the MysqlBackup unless one of its name exists (false then). */
  createBackupIfAbsent(backup: MysqlBackup): Promise<boolean> {
    return this.createCustomIfAbsent(BACKUP_RESOURCE, backup);
  }

  listVerifications(namespace: string, labelSelector?: string): Promise<KubernetesListObject<MysqlBackupVerification>> {
    return this.listCustom(VERIFICATION_RESOURCE, namespace, labelSelector);
  }

  getVerification(namespace: string, name: string): Promise<MysqlBackupVerification> {
    return this.getCustom(VERIFICATION_RESOURCE, namespace, name);
  }

  /** Deletes a MysqlBackupVerification (its Job goes with it); a missing one counts as deleted. */
  async deleteVerification(namespace: string, name: string): Promise<void> {
    await this.deleteIfPresent(`delete ${MYSQL_BACKUP_VERIFICATION.plural} ${namespace}/${name}`, (o) => this.customObjects.deleteNamespacedCustomObject({ ...VERIFICATION_RESOURCE, namespace, name }, o));
  }

  /** Creates the MysqlBackupVerification unless one of its name exists (false then). */
  createVerificationIfAbsent(verification: MysqlBackupVerification): Promise<boolean> {
    return this.createCustomIfAbsent(VERIFICATION_RESOURCE, verification);
  }

  /** Merge-patches a verification's status, only if the object still has `resourceVersion` (409 otherwise). */
  patchVerificationStatus(namespace: string, name: string, status: MysqlBackupVerificationStatus, resourceVersion: string): Promise<MysqlBackupVerification> {
    return this.mergePatchCustom(VERIFICATION_RESOURCE, namespace, name, "status", { metadata: { resourceVersion }, status });
  }

  private listCustom<T extends KubernetesObject>(resource: CustomResourceRef, namespace: string, labelSelector?: string): Promise<KubernetesListObject<T>> {
    return this.call(`list ${resource.plural} in ${namespace}`, (options) =>
      this.customObjects.listNamespacedCustomObject({ ...resource, namespace, ...(labelSelector ? { labelSelector } : {}) }, options),
    );
  }

  private getCustom<T>(resource: CustomResourceRef, namespace: string, name: string): Promise<T> {
    return this.call(`get ${resource.plural} ${namespace}/${name}`, (options) => this.customObjects.getNamespacedCustomObject({ ...resource, namespace, name }, options));
  }

  private createCustomIfAbsent(resource: CustomResourceRef, body: { metadata: { namespace?: string; name?: string } }): Promise<boolean> {
    const namespace = body.metadata.namespace ?? "";
    return this.createIfAbsent(`create ${resource.plural} ${namespace}/${body.metadata.name ?? ""}`, (o) => this.customObjects.createNamespacedCustomObject({ ...resource, namespace, body }, o));
  }

  /** Deletes a MysqlBackup (its finalizer then holds it until its artifact is gone); a missing one counts as deleted. */
  async deleteBackup(namespace: string, name: string): Promise<void> {
    await this.deleteIfPresent(`delete ${MYSQL_BACKUP.plural} ${namespace}/${name}`, (o) => this.customObjects.deleteNamespacedCustomObject({ ...BACKUP_RESOURCE, namespace, name }, o));
  }

  /** Merge-patches a MysqlBackup's status, only if the object still has `resourceVersion` when given (409 otherwise). */
  patchBackupStatus(namespace: string, name: string, status: MysqlBackupStatus, opts: PatchOptions = {}): Promise<MysqlBackup> {
    return this.mergePatchCustom(BACKUP_RESOURCE, namespace, name, "status", { ...precondition(opts), status });
  }

  /** Merge-patches a MysqlBackup's annotations, only if it still has `resourceVersion`. */
  annotateBackup(namespace: string, name: string, annotations: Record<string, string>, resourceVersion: string): Promise<MysqlBackup> {
    return this.mergePatchCustom(BACKUP_RESOURCE, namespace, name, "metadata", { metadata: { resourceVersion, annotations } });
  }

  /** Replaces a MysqlBackup's finalizers, only if the object still has `resourceVersion` (409 otherwise). */
  setBackupFinalizers(namespace: string, name: string, finalizers: string[], resourceVersion: string): Promise<MysqlBackup> {
    return this.mergePatchCustom(BACKUP_RESOURCE, namespace, name, "finalizers", { metadata: { resourceVersion, finalizers } });
  }

  /** Creates the Job unless one of its name exists (false then). */
  createJobIfAbsent(job: V1Job): Promise<boolean> {
    const namespace = job.metadata?.namespace ?? "";
    return this.createIfAbsent(`create job ${namespace}/${job.metadata?.name ?? ""}`, (o) => this.batch.createNamespacedJob({ namespace, body: job }, o));
  }

  /**
   * Deletes a Job in the foreground: it stays, marked deleted, until its pods are gone, so a
   * caller that waits for the Job to disappear knows nothing of it still runs.
   */
  async deleteJob(namespace: string, name: string): Promise<void> {
    await this.deleteIfPresent(`delete job ${namespace}/${name}`, (o) => this.batch.deleteNamespacedJob({ namespace, name, propagationPolicy: "Foreground" }, o));
  }

  async listCronJobs(namespace: string, labelSelector: string): Promise<V1CronJob[]> {
    return (await this.call(`list cronjobs in ${namespace}`, (o) => this.batch.listNamespacedCronJob({ namespace, labelSelector }, o))).items;
  }

  async deleteCronJob(namespace: string, name: string): Promise<void> {
    await this.deleteIfPresent(`delete cronjob ${namespace}/${name}`, (o) => this.batch.deleteNamespacedCronJob({ namespace, name }, o));
  }

  /** The Job, or undefined when there is none of that name. */
  async getJob(namespace: string, name: string): Promise<V1Job | undefined> {
    try {
      return await this.call(`get job ${namespace}/${name}`, (o) => this.batch.readNamespacedJob({ namespace, name }, o));
    } catch (err) {
      if (apiStatus(err) === 404) return undefined;
      throw err;
    }
  }

  async listPods(namespace: string, labelSelector: string): Promise<V1Pod[]> {
    return (await this.call(`list pods in ${namespace}`, (o) => this.core.listNamespacedPod({ namespace, labelSelector }, o))).items;
  }

  getSecret(namespace: string, name: string): Promise<V1Secret> {
    return this.call(`get secret ${namespace}/${name}`, (options) => this.core.readNamespacedSecret({ namespace, name }, options));
  }

  /** Creates the Secret unless one of its name exists (false then; the existing one is left as it is). */
  createSecretIfAbsent(secret: V1Secret): Promise<boolean> {
    const namespace = secret.metadata?.namespace ?? "";
    return this.createIfAbsent(`create secret ${namespace}/${secret.metadata?.name ?? ""}`, (o) => this.core.createNamespacedSecret({ namespace, body: secret }, o));
  }

  /** Runs a delete request; one that finds nothing (404) counts as done. */
  private async deleteIfPresent(what: string, remove: (options: ConfigurationOptions) => Promise<unknown>): Promise<void> {
    try {
      await this.call(what, remove);
    } catch (err) {
      if (apiStatus(err) !== 404) throw err;
    }
  }

  /** Runs a create request: true when it made the object, false when one of its name exists (409). */
  private async createIfAbsent(what: string, create: (options: ConfigurationOptions) => Promise<unknown>): Promise<boolean> {
    try {
      await this.call(what, create);
      return true;
    } catch (err) {
      if (apiStatus(err) === 409) return false;
      throw err;
    }
  }

  /**
   * Server-side apply as field manager `bloodraven`, forced: the operator owns every field it
   * sets on these objects, and takes a field back from a hand edit.
   */
  async applyObject(obj: AppliedObject): Promise<void> {
    const namespace = obj.metadata?.namespace ?? "";
    const name = obj.metadata?.name ?? "";
    const what = `apply ${obj.kind} ${namespace}/${name}`;
    const params = { namespace, name, fieldManager: FIELD_MANAGER, force: true };
    const apply = (options: ConfigurationOptions) => setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply, options);
    switch (obj.kind) {
      case "ConfigMap":
        await this.call(what, (o) => this.core.patchNamespacedConfigMap({ ...params, body: obj }, apply(o)));
        return;
      case "Service":
        await this.call(what, (o) => this.core.patchNamespacedService({ ...params, body: obj }, apply(o)));
        return;
      case "StatefulSet":
        await this.call(what, (o) => this.apps.patchNamespacedStatefulSet({ ...params, body: obj }, apply(o)));
        return;
      case "PodDisruptionBudget":
        await this.call(what, (o) => this.policy.patchNamespacedPodDisruptionBudget({ ...params, body: obj }, apply(o)));
        return;
      case "CronJob":
        await this.call(what, (o) => this.batch.patchNamespacedCronJob({ ...params, body: obj }, apply(o)));
        return;
      case "ServiceAccount":
        await this.call(what, (o) => this.core.patchNamespacedServiceAccount({ ...params, body: obj }, apply(o)));
        return;
      case "Role":
        await this.call(what, (o) => this.rbac.patchNamespacedRole({ ...params, body: obj }, apply(o)));
        return;
      case "RoleBinding":
        await this.call(what, (o) => this.rbac.patchNamespacedRoleBinding({ ...params, body: obj }, apply(o)));
        return;
      default:
        throw new Error(`${what}: not a kind this operator applies`);
    }
  }
}

/** client-node 1.4 defaults patches to JSON patch; custom resources need the header set per call. */
export function mergePatch(options: ConfigurationOptions): ConfigurationOptions {
  return setHeaderOptions("Content-Type", PatchStrategy.MergePatch, options);
}

function signalOptions(signal: AbortSignal): ConfigurationOptions {
  const middleware: ObservableMiddleware = {
    pre: (context) => {
      context.setSignal(signal);
      return new Observable(Promise.resolve(context));
    },
    post: (context) => new Observable(Promise.resolve(context)),
  };
  // "append" keeps the kubeconfig's own middleware, if any, in front of ours.
  return { middleware: [middleware], middlewareMergeStrategy: "append" };
}

function precondition(opts: PatchOptions): { metadata?: { resourceVersion: string } } {
  return opts.resourceVersion === undefined ? {} : { metadata: { resourceVersion: opts.resourceVersion } };
}

function toApiError(what: string, err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof ApiException) {
    const status = Number(err.code);
    const body = parseBody(err.body);
    const httpReason = (STATUS_CODES[status] ?? "Unknown").replaceAll(" ", "");
    if (isStatus(body)) return new ApiError(status, body.reason || httpReason, body.message || `${what}: HTTP ${status}`, { cause: err });
    const text = typeof body === "string" && body.trim() !== "" ? body.trim().slice(0, 500) : `HTTP ${status}`;
    return new ApiError(status, httpReason, `${what}: ${text}`, { cause: err });
  }
  return new ApiError(0, "NetworkError", `${what}: ${errorText(err)}`, { cause: err });
}

/** Error bodies arrive as JSON text for most generated methods; parse them so the Status is usable. */
function parseBody(body: unknown): unknown {
  if (typeof body !== "string") return body;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return body;
  }
}

function isStatus(body: unknown): body is { reason?: string; message?: string } {
  return typeof body === "object" && body !== null && (body as { kind?: unknown }).kind === "Status";
}
