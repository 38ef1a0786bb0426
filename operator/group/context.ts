import type { V1CronJob, V1Job, V1Secret } from "@kubernetes/client-node";
import type { CloneJob, CloneRequest } from "../../shared/agent/clone.js";
import type {
  DefaultedMysqlFailoverGroupSpec,
  DefaultedSiteSpec,
  MysqlBackup,
  MysqlBackupStatus,
  MysqlBackupVerification,
  MysqlBackupVerificationStatus,
  MysqlFailoverGroup,
} from "../../shared/api/index.js";
import type { BackupJobState } from "../../shared/backup/job-result.js";
import { withDefaults } from "../../shared/api/index.js";
import { parseDuration } from "../../shared/duration.js";
import { errorText } from "../../shared/errors.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { EVENT_REASONS, type SiteState } from "../../shared/names.js";
import type { EventReason } from "../kube/events.js";
import type { GroupStatusMessage } from "../../shared/status-message.js";
import { EMPTY_MEMORY, type GroupMemory, type TopologyEvent } from "../../shared/topology/cycle.js";
import type { SiteAddress } from "../../shared/topology/site-observation.js";
import type { AppliedObject, StatusPatch } from "../../shared/kube/client.js";
import type { ManagedObjectLists } from "../../shared/managed/inventory.js";
import { AGENT_TOKEN_KEY, passwordTag, PREVIOUS_OPERATOR_KEYS, previousOperatorSecret, type SidecarOptions } from "../../shared/managed/objects.js";
import { isManaged, managedNames, managedSites } from "../../shared/managed/sites.js";
import type { Asked } from "../agent/ask.js";
import type { CacheAddress, CacheClient } from "../dragonfly/cache-client.js";
import type { CacheObjectRef, ExistingCacheObjects } from "../../shared/dragonfly/objects.js";
import type { Logger } from "../log.js";
import type { ReplicationSource } from "../mysql/flavor.js";
import { isAuthenticationFailure, type SiteSession } from "../mysql/site-client.js";
import { CredentialsError, resolveCredentials, type GroupCredentials, type MysqlAccount, type SecretReader } from "./credentials.js";
import type { GroupMetrics } from "./metrics.js";
import { GroupStatusStore } from "./status-store.js";

/** One connection to one site, opened on first use (operator/mysql/site-client.ts). */
/** A group's agent token Secret that is not there (yet) is looked for again this often. */
const AGENT_TOKEN_ABSENT_RETRY_MS = 30_000;

export interface SiteConnection {
  /** Runs fn with a session; settles within deadlineMs, whatever the server does. */
  run<T>(operation: string, fn: (s: SiteSession) => Promise<T>, deadlineMs: number): Promise<T>;
  close(): void;
}

/** What a group's reconcilers need from the process: I/O, each bounded by its own deadline. */
export interface GroupDeps {
  log: Logger;
  metrics: GroupMetrics;
  readSecret: SecretReader;
  /** `probe`: the poll's own connection, kept open; `action`: fences, promotions, repoints. */
  openSite(address: SiteAddress, account: MysqlAccount, purpose: "probe" | "action"): SiteConnection;
  /** JSON merge patch of the status subresource (null removes a field). */
  patchStatus(namespace: string, name: string, status: StatusPatch): Promise<void>;
  /** null removes an annotation; with resourceVersion, only if the object still has it (409 otherwise). */
  patchAnnotations(namespace: string, name: string, annotations: Record<string, string | null>, resourceVersion?: string): Promise<void>;
  /** A fresh read of the group from the API server. */
  readGroup(namespace: string, name: string): Promise<MysqlFailoverGroup>;
  /** Replaces the group's finalizers if it still has resourceVersion. */
  setFinalizers(namespace: string, name: string, finalizers: string[], resourceVersion: string): Promise<void>;
  /**
   * What a deleted group leaves that garbage collection does not remove: the read-only taints on
   * its sites' nodes and its managed sites' volumes. Throws naming the step that failed.
   */
  cleanUp(group: MysqlFailoverGroup, spec: DefaultedMysqlFailoverGroupSpec): Promise<void>;
  /** Server-side apply of an object of the group's managed sites (shared/managed/objects.ts) or backup schedules (shared/backup/schedules.ts). */
  applyObject(obj: AppliedObject): Promise<void>;
  /** The StatefulSets, claims and pods labelled with the group (read, no leadership needed). */
  listManaged(namespace: string, group: string): Promise<ManagedObjectLists>;
  /** Patches a managed site's claim to a larger size; the API refuses it unless the StorageClass allows expansion. */
  resizeClaim(namespace: string, claim: string, size: string): Promise<void>;
  /** Evicts (respecting the PodDisruptionBudget) or deletes the managed site's pod of that uid, so it is made again. */
  restartPod(namespace: string, pod: string, uid: string, respectBudget: boolean): Promise<void>;
  /** Points DNS and node taints at the primary; throws when that failed. */
  followPrimary(group: MysqlFailoverGroup, spec: DefaultedMysqlFailoverGroupSpec, site: string): Promise<void>;
  /** From watched copies, no request: whether DNS, taints and role labels already follow `site`; undefined when not known yet. */
  routingInSync(group: MysqlFailoverGroup, spec: DefaultedMysqlFailoverGroupSpec, site: string): boolean | undefined;
  recordEvent(group: MysqlFailoverGroup, event: TopologyEvent): void;
  publish(message: GroupStatusMessage): void;
  /** Failpoints (operator/failpoints.ts): resolves at once unless a test set `point`. */
  pause(point: string): Promise<void>;
  /** Volatile status fields (lastSeen, GTIDs, lag) are written at most this often. */
  statusRefreshMs?: number;
  /** The credentials Secrets are read again this often (CREDENTIALS_REFRESH_MS by default). */
  credentialsRefreshMs?: number;
  /** The managed sites' sidecar (the per-site agent); undefined: none (operator/config.ts says when). */
  sidecar?: SidecarOptions;
  /** The agents' clone endpoints; each call sends the group's agent token (GroupContext.agentToken). */
  clones: CloneAgents;
  /** The operator's own agent token (BLOODRAVEN_AGENT_TOKEN), for groups without a token Secret. */
  agentToken?: string;
  /** Creates a Secret unless one of its name exists (a write: refused once this operator no longer leads). */
  createSecretIfAbsent(secret: V1Secret): Promise<boolean>;
  /** The image backup Jobs run (the operator's own, --agent-image); undefined: no Jobs. */
  jobImage?: string;
  backups: BackupCalls;
  verifications: VerificationCalls;
  /** Merge-patches a pod's labels (a write: refused once this operator no longer leads); a missing pod is skipped. */
  labelPod(namespace: string, pod: string, labels: Record<string, string>): Promise<void>;
  /**
   * With --watch-secrets: calls `changed` whenever one of the named Secrets of `namespace` is
   * created, changed or deleted; returns the way to stop. Undefined: Secrets are read again on a
   * timer only.
   */
  watchSecrets?: (namespace: string, names: readonly string[], changed: () => void) => () => void;
  /** Merge-patches a pod's annotations, as labelPod. */
  annotatePod(namespace: string, pod: string, annotations: Record<string, string>): Promise<void>;
  /** A connection to a cache server (spec.dragonfly), commands bounded; its writes go through the leadership guard. */
  openCache(address: CacheAddress, password: string | undefined): CacheClient;
  /** The cache servers' StatefulSets and Services labelled with the group (read, no leadership needed). */
  listCacheObjects(namespace: string, group: string): Promise<ExistingCacheObjects>;
  /** Deletes one of them (a write: refused once this operator no longer leads); one already gone counts as deleted. */
  deleteCacheObject(namespace: string, object: CacheObjectRef): Promise<void>;
}

/** The MysqlBackupVerifications of a namespace; their Jobs go through BackupCalls. Writes are refused once this operator no longer leads. */
export interface VerificationCalls {
  list(namespace: string): Promise<MysqlBackupVerification[]>;
  /** Only while the verification still has `resourceVersion`. */
  patchStatus(namespace: string, name: string, status: MysqlBackupVerificationStatus, resourceVersion: string): Promise<void>;
  delete(namespace: string, name: string): Promise<void>;
  event(verification: MysqlBackupVerification, type: "Normal" | "Warning", reason: EventReason, message: string): void;
}

/** The MysqlBackups of a namespace and their Jobs; the writes are refused once this operator no longer leads. */
export interface BackupCalls {
  list(namespace: string): Promise<MysqlBackup[]>;
  /** Only while the backup still has `resourceVersion`: a backup changed meanwhile is decided again. */
  patchStatus(namespace: string, name: string, status: MysqlBackupStatus, resourceVersion: string): Promise<void>;
  createJob(job: V1Job): Promise<boolean>;
  /** Replaces the backup's finalizers while it still has `resourceVersion`; answers its new resourceVersion. */
  setFinalizers(namespace: string, name: string, finalizers: string[], resourceVersion: string): Promise<string>;
  job(namespace: string, name: string, container: string): Promise<BackupJobState>;
  /** Deletes a Job in the foreground (it stays, marked deleted, until its pod is gone). */
  deleteJob(namespace: string, name: string): Promise<void>;
  /** Creates a MysqlBackup unless one of its name exists (false then). */
  create(backup: MysqlBackup): Promise<boolean>;
  /** Deletes a MysqlBackup; its finalizer holds it until its artifact is gone. */
  delete(namespace: string, name: string): Promise<void>;
  /** Merge-patches annotations while the backup still has `resourceVersion`. */
  annotate(namespace: string, name: string, annotations: Record<string, string>, resourceVersion: string): Promise<void>;
  /** The CronJobs of the namespace that match the label selector. */
  cronJobs(namespace: string, labelSelector: string): Promise<V1CronJob[]>;
  deleteCronJob(namespace: string, name: string): Promise<void>;
  event(backup: MysqlBackup, type: "Normal" | "Warning", reason: EventReason, message: string): void;
}

export interface CloneAgents {
  /** Starts a clone on the recipient's agent (a write: refused once this operator no longer leads). */
  send(agentUrl: string, token: string, request: CloneRequest): Promise<Asked<CloneJob>>;
  job(agentUrl: string, token: string): Promise<Asked<CloneJob | null>>;
}

/**
 * The referenced Secrets are read again about this often (up to half as long again, jittered per
 * group), besides at once after a refused login and before every repoint (which hands the
 * replication account to a replica, where a stale password would fail without telling us). Rare,
 * because a thousand groups each reading two Secrets cost the API server and the operator.
 */
export const CREDENTIALS_REFRESH_MS = 600_000;

/** Address the operator polls: the endpoint of an external site, the site's Service otherwise. */
export function siteAddress(group: string, namespace: string, site: DefaultedSiteSpec): SiteAddress {
  if (site.endpoint) return { host: site.endpoint.host, port: site.endpoint.port };
  return { host: `mysql-${group}-${site.name}.${namespace}.svc`, port: 3306 };
}

/**
 * One group as its reconcilers share it: the object and its defaulted spec, the status store, the
 * MySQL accounts, and the debounced site states, which the executors' own actions update at once.
 */
export class GroupContext {
  group: MysqlFailoverGroup;
  spec: DefaultedMysqlFailoverGroupSpec;
  credentials: GroupCredentials | undefined;
  /**
   * Managed servers that still have the operator's previous password, with it: set when the
   * Secret's password changes, removed by the accounts reconciler once it changed the server's.
   * Kept in memory only: an operator that restarts meanwhile logs in with the Secret's password,
   * and a server it could not change yet refuses it (docs/managed-sites.md).
   */
  readonly operatorLogins = new Map<string, MysqlAccount>();
  /** The operator's previous password, not yet written to its Secret: no server's is changed until it is. */
  private unsavedPrevious: { replacedBy: string; previous: MysqlAccount } | undefined;
  /** Sites whose refused login was already looked up in the previous password's Secret, with the password then current. */
  private readonly recallTried = new Map<string, string>();
  private credentialsReadAt = 0;
  /** `fromSecret`: the group's Secret was there; without it the read is tried again sooner. */
  private agentTokenRead: { at: number; token: string | undefined; fromSecret: boolean } | undefined;
  /** Jittered per group, so that a thousand groups do not read their Secrets in one burst. */
  private readonly credentialsRefreshMs: number;
  /**
   * Connections for actions, opened on first use in a cycle and closed at its end (endCycle): the
   * steps of one switchover share them, and an idle connection never outlives the cycle, so no
   * fence ever meets a connection the server dropped while nobody used it.
   */
  private readonly actionConnections = new Map<string, { key: string; conn: SiteConnection }>();
  memory: GroupMemory = EMPTY_MEMORY;
  /**
   * When this operator last answered an agent's /active-site standing behind that agent's site,
   * and when it began watching the group: what it answered before (or another leader did) is
   * unknown, so a wait for a self-fence counts from here at the earliest (shared/agent/evidence.ts).
   */
  readonly agentConfirmedAt = new Map<string, number>();
  /**
   * What every Succeeded backup that stays holds, from the last housekeeping scan: the agents
   * prune their binary log archives up to it (shared/backup/replay-plan.ts prunableFiles).
   * undefined until a scan found one; agents then prune nothing.
   */
  archiveFloor: string | undefined;
  readonly watchingSince = Date.now();
  readonly store: GroupStatusStore;
  readonly log: Logger;
  /** Asks the worker for a cycle now, or right after the one running. */
  nudge: () => void = () => undefined;

  constructor(
    group: MysqlFailoverGroup,
    readonly deps: GroupDeps,
  ) {
    this.group = group;
    this.spec = withDefaults(group.spec);
    this.credentialsRefreshMs = (deps.credentialsRefreshMs ?? CREDENTIALS_REFRESH_MS) * (1 + Math.random() / 2);
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
  }

  get namespace(): string {
    return this.group.metadata.namespace ?? "default";
  }

  get name(): string {
    return this.group.metadata.name ?? "";
  }

  get annotations(): Readonly<Record<string, string>> {
    return this.group.metadata.annotations ?? {};
  }

  pollIntervalMs(): number {
    return parseDuration(this.spec.pollInterval);
  }

  address(site: string): SiteAddress {
    const spec = this.spec.sites.find((s) => s.name === site);
    if (!spec) throw new Error(`no site ${site} in the spec`);
    return siteAddress(this.name, this.namespace, spec);
  }

  /** Where and as whom a replica of `site` connects: the replication account of the Secret. */
  replicationSource(site: string): ReplicationSource {
    const account = this.credentials?.replication;
    if (!account) throw new Error("replication credentials unavailable");
    return { ...this.address(site), user: account.user, password: account.password };
  }

  addresses(): Map<string, SiteAddress> {
    return new Map(this.spec.sites.map((s) => [s.name, siteAddress(this.name, this.namespace, s)]));
  }

  /** The debounced state of every site. */
  states(): Map<string, SiteState> {
    return new Map([...this.memory.trackers].map(([name, t]) => [name, t.state]));
  }

  /**
   * Reads the MySQL accounts from their Secrets when `force`, when none are known, or when the last
   * read is older than CREDENTIALS_REFRESH_MS. A Secret that cannot be read is reported
   * (SecretNotFound, SecretMissingKey) and the accounts in use are kept. True when accounts are known.
   */
  async loadCredentials(force = false): Promise<boolean> {
    if (this.credentials && !force && Date.now() - this.credentialsReadAt < this.credentialsRefreshMs) return true;
    this.credentialsReadAt = Date.now();
    try {
      const next = await resolveCredentials(this.namespace, this.spec, this.deps.readSecret);
      const previous = this.credentials;
      this.credentials = next;
      if (previous && previous.operator.user === next.operator.user && previous.operator.password !== next.operator.password) {
        // Managed servers keep the password they have until the accounts reconciler changes it on each.
        for (const site of managedSites(this.spec)) if (!this.operatorLogins.has(site.name)) this.operatorLogins.set(site.name, previous.operator);
        if (managedSites(this.spec).length > 0) this.unsavedPrevious = { replacedBy: next.operator.password, previous: previous.operator };
      }
      if (previous && JSON.stringify(previous) !== JSON.stringify(next)) this.log.info(LOG_MESSAGES.credentialsReloaded, { operatorUser: next.operator.user, replicationUser: next.replication.user });
    } catch (err) {
      const reason = err instanceof CredentialsError ? err.reason : EVENT_REASONS.secretNotFound;
      this.log.warn(LOG_MESSAGES.credentialsMissing, { reason, error: errorText(err), keptPrevious: this.credentials !== undefined });
      this.recordEvent({ type: "Warning", reason, message: errorText(err) });
    }
    return this.credentials !== undefined;
  }

  /**
   * The token the group's agents require: its Secret's (managedNames.agentToken; the
   * managed-sites reconciler makes one for sidecars), else the operator's own, else none. Read
   * again as often as the credentials, and every 30 s while the Secret does not exist.
   */
  async agentToken(): Promise<string | undefined> {
    const read = this.agentTokenRead;
    if (read && Date.now() - read.at < (read.fromSecret ? this.credentialsRefreshMs : AGENT_TOKEN_ABSENT_RETRY_MS)) return read.token;
    const secret = (await this.deps.readSecret(this.namespace, managedNames.agentToken(this.name)))?.[AGENT_TOKEN_KEY];
    this.agentTokenRead = { at: Date.now(), token: secret || this.deps.agentToken, fromSecret: Boolean(secret) };
    return this.agentTokenRead.token;
  }

  /**
   * Writes the operator's previous password to its Secret (previousOperatorSecret) unless it is
   * there already; true once it is, or when there is none to write. Called before any server's
   * password is changed, so that an operator that restarts midway still reaches the others.
   */
  async savePreviousOperator(): Promise<boolean> {
    const pending = this.unsavedPrevious;
    if (!pending) return true;
    const secret = previousOperatorSecret({ name: this.name, namespace: this.namespace, uid: this.group.metadata.uid ?? "", spec: this.spec }, pending.replacedBy, pending.previous);
    try {
      await this.deps.createSecretIfAbsent(secret);
    } catch (err) {
      this.log.warn(LOG_MESSAGES.previousPasswordSaveFailed, { object: `Secret/${secret.metadata?.name ?? ""}`, error: errorText(err) });
      return false;
    }
    this.unsavedPrevious = undefined;
    this.log.info(LOG_MESSAGES.previousPasswordSaved, { object: `Secret/${secret.metadata?.name ?? ""}` });
    return true;
  }

  /**
   * A managed server refused the operator Secret's password: an operator that stopped in the
   * middle of a rotation left it with the previous one. Looks it up in the Secret written before
   * the rotation (once per site and password) and logs in with it from then on, so that the
   * accounts reconciler changes it. True when it found one.
   */
  async recallPreviousOperator(site: string): Promise<boolean> {
    const current = this.credentials?.operator;
    const uid = this.group.metadata.uid;
    const spec = this.spec.sites.find((s) => s.name === site);
    if (!current || !uid || !spec || !isManaged(spec) || this.operatorLogins.has(site) || this.recallTried.get(site) === current.password) return false;
    const name = managedNames.previousOperator(this.name, passwordTag(uid, current.password));
    let data: Record<string, string> | undefined;
    try {
      data = await this.deps.readSecret(this.namespace, name);
    } catch (err) {
      // Looked up again after the next refused login: a poll is never held up by it.
      this.log.warn(LOG_MESSAGES.previousPasswordUnreadable, { site, object: `Secret/${name}`, error: errorText(err) });
      return false;
    }
    this.recallTried.set(site, current.password);
    const user = data?.[PREVIOUS_OPERATOR_KEYS.username];
    const password = data?.[PREVIOUS_OPERATOR_KEYS.password];
    if (user !== current.user || password === undefined || password === current.password) return false;
    this.operatorLogins.set(site, { user, password });
    this.log.info(LOG_MESSAGES.previousPasswordRecalled, { site, user });
    return true;
  }

  /** A Secret the group names changed (--watch-secrets): the next cycle reads them again, and starts now. */
  credentialsChanged(): void {
    this.credentialsReadAt = 0;
    this.agentTokenRead = undefined;
    this.log.info(LOG_MESSAGES.credentialsSecretChanged);
    this.nudge();
  }

  /** The token as last read, without reading: the status API answers synchronously. */
  knownAgentToken(): string | undefined {
    return this.agentTokenRead?.token;
  }

  /** The token of the Secret the operator just made. */
  rememberAgentToken(token: string): void {
    this.agentTokenRead = { at: Date.now(), token, fromSecret: true };
  }

  /**
   * A fresh connection to `site` for one operation, bounded by deadlineMs. Refused at login (a
   * rotated password), it re-reads the Secret once and, if the account changed, tries again.
   */
  async withSite<T>(site: string, operation: string, fn: (s: SiteSession) => Promise<T>, deadlineMs: number): Promise<T> {
    const account = this.operatorAccount(site);
    if (!account) throw new Error("operator credentials unavailable");
    try {
      return await this.actionConnection(site, account).run(operation, fn, deadlineMs);
    } catch (err) {
      if (!isAuthenticationFailure(err)) throw err;
      await this.loadCredentials(true);
      const reread = this.operatorAccount(site);
      if (!reread || (reread.user === account.user && reread.password === account.password)) throw err;
      this.log.info(LOG_MESSAGES.credentialsRetry, { site, operation });
      return this.actionConnection(site, reread).run(operation, fn, deadlineMs);
    }
  }

  /**
   * The operator account to log in to `site` with: the Secret's, or, on a managed server whose
   * password the operator has not changed yet since the Secret changed, the one it still has.
   */
  operatorAccount(site: string): MysqlAccount | undefined {
    return this.operatorLogins.get(site) ?? this.credentials?.operator;
  }

  private actionConnection(site: string, account: MysqlAccount): SiteConnection {
    const address = this.address(site);
    const key = JSON.stringify([address, account.user, account.password]);
    const open = this.actionConnections.get(site);
    if (open?.key === key) return open.conn;
    open?.conn.close();
    const conn = this.deps.openSite(address, account, "action");
    this.actionConnections.set(site, { key, conn });
    return conn;
  }

  /** Closes the cycle's action connections (see actionConnections). */
  endCycle(): void {
    for (const { conn } of this.actionConnections.values()) conn.close();
    this.actionConnections.clear();
  }

  /** Sessions a fence must not kill: the operator's own and replication's. */
  spareUsers(): string[] {
    return [...new Set([this.credentials?.operator.user, this.credentials?.replication.user].filter((u): u is string => u !== undefined))];
  }

  recordEvent(event: TopologyEvent): void {
    this.deps.recordEvent(this.group, event);
  }

  /** Our own actions change a site's state at once; waiting for debounced polls would only lag. */
  /**
   * The operator made `site` writable (or tried to): its agent starts a lease no earlier than
   * its last check before, so this counts as standing behind the site (shared/agent/evidence.ts).
   */
  madeWritable(site: string): void {
    this.agentConfirmedAt.set(site, Date.now());
  }

  markState(site: string, state: "writable" | "read-only"): void {
    if (state === "writable") this.madeWritable(site);
    const trackers = new Map(this.memory.trackers);
    const prev = trackers.get(site);
    if (!prev) return;
    trackers.set(site, { ...prev, state, consecutiveFailures: 0, consecutiveWritable: state === "writable" ? this.spec.recoveryThreshold : 0 });
    this.memory = { ...this.memory, trackers };
  }
}
