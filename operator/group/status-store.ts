import type { BootstrapStatus, MysqlFailoverGroupStatus, PlannedFailoverStatus, RestoreInPlaceStatus, RestoreStatus } from "../../shared/api/index.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { ANNOTATIONS } from "../../shared/names.js";
import { needsStatusWrite, type TopologyStatus } from "../../shared/topology/status.js";
import type { FailoverRecord, RecoveryRecord } from "../failover/executor.js";
import { errorText } from "../../shared/errors.js";
import type { Logger } from "../log.js";
import type { StatusPatch } from "../../shared/kube/client.js";
import { annotationTime, formatIntent, recordRepair, statusRecord, type FailoverIntent, type IntentCopy, type RecordCopy } from "../../shared/failover/record.js";

export interface StatusStoreDeps {
  log: Logger;
  /** JSON merge patch of the group's status subresource (null removes a field). */
  patchStatus(status: StatusPatch): Promise<void>;
  /** null removes an annotation. */
  patchAnnotations(annotations: Record<string, string | null>): Promise<void>;
  /** Volatile fields (lastSeen, GTIDs, lag) are written at most this often. */
  refreshMs: number;
  /** After a topology write landed. */
  onWritten(written: MysqlFailoverGroupStatus): void;
}

/**
 * One group's status as this operator last wrote it, and the writes. The topology report goes out
 * beside the poll loop, one write at a time; the records a restarted operator must find (the
 * failover record, recovery fields, the planned-failover block) are awaited by their callers.
 */
export class GroupStatusStore {
  private current: MysqlFailoverGroupStatus | undefined;
  private lastWriteAt = 0;
  private writing: Promise<void> | undefined;
  private pendingFailoverRecord: FailoverRecord | undefined;
  /** Intents (formatIntent) this store recorded or dropped: a cached copy that still shows one is stale. */
  private readonly closedIntents = new Set<string>();

  constructor(
    initial: MysqlFailoverGroupStatus | undefined,
    private readonly deps: StatusStoreDeps,
  ) {
    this.current = initial;
  }

  get written(): MysqlFailoverGroupStatus | undefined {
    return this.current;
  }

  /** Resolves once no topology write is in flight. */
  async idle(): Promise<void> {
    await this.writing;
  }

  recoveryOf(site: string): RecoveryRecord | undefined {
    const s = this.current?.sites?.find((x) => x.name === site);
    if (s?.recoveryState !== "RecoveryInProgress" && s?.recoveryState !== "RecoveryBlocked" && s?.recoveryState !== "ErrantTransactions") return undefined;
    return {
      state: s.recoveryState,
      ...(s.divergentGtid ? { divergentGtid: s.divergentGtid } : {}),
      ...(s.divergentTransactionCount !== undefined ? { divergentTransactionCount: s.divergentTransactionCount } : {}),
    };
  }

  /**
   * Status and the annotation pair, awaited: a restarted operator must honour the cooldown. The
   * record counts in memory at once, so that a failed write cannot make the next decision treat
   * the site just promoted as a returning old primary; flushFailoverRecord retries it.
   */
  async persistFailover(record: FailoverRecord): Promise<void> {
    const { failoverIntent: settled, ...rest } = this.current ?? {};
    if (settled) this.closedIntents.add(formatIntent({ target: settled.target, at: settled.startedAt }));
    this.current = { ...rest, ...record };
    this.pendingFailoverRecord = record;
    await this.flushFailoverRecord();
  }

  /**
   * Writes the failover record if an earlier write of it failed; the caller runs this every cycle.
   * The record settles an open intent, so both copies of the intent go in the same writes.
   */
  async flushFailoverRecord(): Promise<void> {
    const record = this.pendingFailoverRecord;
    if (!record) return;
    try {
      // Independent writes, both retried until they landed: in parallel, as the promotion waits on them.
      await Promise.all([
        this.deps.patchStatus({ ...record, failoverIntent: null }),
        this.deps.patchAnnotations({
          [ANNOTATIONS.lastFailover]: annotationTime(record.lastFailover),
          [ANNOTATIONS.lastFailoverTarget]: record.lastFailoverTarget,
          [ANNOTATIONS.failoverIntent]: null,
        }),
      ]);
      this.pendingFailoverRecord = undefined;
    } catch (err) {
      this.deps.log.error(LOG_MESSAGES.statusPatchFailed, { record: "failover", error: errorText(err) });
    }
  }

  /** A failover record written earlier has not landed yet. */
  get recordPending(): boolean {
    return this.pendingFailoverRecord !== undefined;
  }

  /**
   * Both copies of an emergency promotion's intent, awaited, before the target is made writable:
   * when this throws, the promotion must not happen (a crash or a lost API server afterwards
   * would otherwise forget it, and the cooldown with it).
   */
  async persistIntent(intent: FailoverIntent): Promise<void> {
    await Promise.all([
      this.deps.patchStatus({ failoverIntent: intent }),
      this.deps.patchAnnotations({ [ANNOTATIONS.failoverIntent]: formatIntent({ target: intent.target, at: intent.startedAt }) }),
    ]);
    this.current = { ...this.current, failoverIntent: intent };
  }

  /** Removes both copies of `intent`, whose target was not made writable. */
  async dropIntent(intent: IntentCopy): Promise<void> {
    await Promise.all([this.deps.patchStatus({ failoverIntent: null }), this.deps.patchAnnotations({ [ANNOTATIONS.failoverIntent]: null })]);
    this.closedIntents.add(formatIntent(intent));
    const { failoverIntent: _dropped, ...rest } = this.current ?? {};
    this.current = rest;
  }

  /** Whether this store already recorded or dropped `intent` (a copy read from a cache may lag). */
  isClosed(intent: IntentCopy): boolean {
    return this.closedIntents.has(formatIntent(intent));
  }

  /**
   * Brings the two copies of the failover record into agreement (the newer wins): a write that
   * landed in one copy only (a kill between the two, a status wipe) is completed here.
   */
  async repairRecordCopies(annotated: RecordCopy | undefined): Promise<void> {
    const repair = recordRepair(statusRecord(this.current), annotated);
    if (repair.status) {
      await this.deps.patchStatus({ lastFailover: repair.status.at, lastFailoverTarget: repair.status.target });
      this.current = { ...this.current, lastFailover: repair.status.at, lastFailoverTarget: repair.status.target };
    }
    if (repair.annotations) {
      await this.deps.patchAnnotations({ [ANNOTATIONS.lastFailover]: annotationTime(repair.annotations.at), [ANNOTATIONS.lastFailoverTarget]: repair.annotations.target });
    }
  }

  /**
   * Writes one site's recovery fields. Waits for a topology write in flight first: both write the
   * whole sites list, and the older one must not land last.
   */
  async persistRecovery(site: string, record: RecoveryRecord | undefined): Promise<void> {
    await this.writing;
    const sites = (this.current?.sites ?? []).map((s) => {
      if (s.name !== site) return s;
      const { recoveryState: _r, divergentGtid: _g, divergentTransactionCount: _c, ...rest } = s;
      return record
        ? { ...rest, recoveryState: record.state, ...(record.divergentGtid ? { divergentGtid: record.divergentGtid } : {}), ...(record.divergentTransactionCount !== undefined ? { divergentTransactionCount: record.divergentTransactionCount } : {}) }
        : rest;
    });
    await this.deps.patchStatus({ sites });
    this.current = { ...this.current, sites };
  }

  /**
   * The planned-failover block, awaited. A JSON merge patch merges objects, so fields the new block
   * drops (a rollback's reason, retryAfter) are removed with null.
   */
  async persistPlanned(block: PlannedFailoverStatus, previous: PlannedFailoverStatus | undefined): Promise<void> {
    const patch: Record<string, unknown> = { ...block };
    for (const key of Object.keys(previous ?? {})) if (!(key in block)) patch[key] = null;
    await this.deps.patchStatus({ plannedFailover: patch as StatusPatch["plannedFailover"] });
    this.current = { ...this.current, plannedFailover: block };
  }

  /** The clone record (status.bootstrap), awaited; fields the new one drops are removed. */
  persistBootstrap(record: BootstrapStatus): Promise<void> {
    return this.persistRecord("bootstrap", record);
  }

  /** The restore of spec.initFromBackup (status.restore), awaited; fields the new one drops are removed. */
  persistRestore(record: RestoreStatus): Promise<void> {
    return this.persistRecord("restore", record);
  }

  /** The restore of spec.restoreInPlace (status.restoreInPlace), awaited; fields the new one drops are removed. */
  persistRestoreInPlace(record: RestoreInPlaceStatus): Promise<void> {
    return this.persistRecord("restoreInPlace", record);
  }

  /** A record of what was last seen (status.dragonfly, status.pitr); undefined removes it. */
  async persistSeen<K extends "dragonfly" | "pitr">(key: K, record: MysqlFailoverGroupStatus[K] | undefined): Promise<void> {
    if (record !== undefined) return this.persistRecord(key, record as NonNullable<MysqlFailoverGroupStatus[K]>);
    await this.writing;
    await this.deps.patchStatus({ [key]: null } as StatusPatch);
    const { [key]: _, ...rest } = this.current ?? {};
    this.current = rest;
  }

  private async persistRecord<K extends "bootstrap" | "restore" | "restoreInPlace" | "dragonfly" | "pitr">(key: K, record: NonNullable<MysqlFailoverGroupStatus[K]>): Promise<void> {
    await this.writing;
    const patch: Record<string, unknown> = { ...record };
    for (const field of Object.keys(this.current?.[key] ?? {})) if (!(field in record)) patch[field] = null;
    await this.deps.patchStatus({ [key]: patch } as StatusPatch);
    this.current = { ...this.current, [key]: record };
  }

  /**
   * Reports the topology when it changed materially, or when the volatile fields are due. The
   * write runs beside the loop (an API server under load answers in seconds) and is skipped while
   * one is in flight; a failed one is retried by the next cycle, whose diff still shows the change.
   */
  report(status: TopologyStatus): void {
    if (this.writing || !needsStatusWrite(this.current, status, Date.now() - this.lastWriteAt, this.deps.refreshMs)) return;
    this.writing = this.deps
      .patchStatus(status)
      .then(() => {
        this.current = { ...this.current, ...status };
        this.lastWriteAt = Date.now();
        this.deps.onWritten(this.current);
      })
      .catch((err: unknown) => this.deps.log.warn(LOG_MESSAGES.statusPatchFailed, { error: errorText(err) }))
      .finally(() => (this.writing = undefined));
  }
}
