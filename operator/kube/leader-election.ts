/**
 * Lease-based leader election on coordination.k8s.io/v1, following client-go's leaderelection
 * package (client-node has none). One round: read the Lease; create it if absent; if another
 * holder's lease is still valid, wait; otherwise replace it with the read resourceVersion, so a
 * concurrent writer makes us lose with 409 rather than both winning.
 *
 * A lease held by another counts as valid until leaseDuration after we first saw its current
 * record (client-go's rule, immune to clock skew between replicas) and also until renewTime +
 * leaseDuration by our clock (the Lease's own promise); we wait for both.
 *
 * The leader gives up the moment renewDeadline passes without a successful renewal, even with a
 * request in flight: renewDeadline < leaseDuration, so it stops acting before any other replica
 * can consider the lease expired.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { V1Lease, V1LeaseSpec } from "@kubernetes/client-node";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { errorText } from "../../shared/errors.js";
import type { Logger } from "../log.js";
import { ApiError, apiStatus, type Kube } from "../../shared/kube/client.js";

export interface LeaderElectionOptions {
  namespace: string;
  /** Name of the Lease object. */
  name: string;
  /** This replica, e.g. the pod name; unique among the candidates. */
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  logger: Logger;
  /** Called on becoming leader; `signal` aborts the moment leadership ends. */
  onStartedLeading: (signal: AbortSignal) => void | Promise<void>;
  /** Called when leadership ends; `release()` waits for a returned promise before handing over. */
  onStoppedLeading: () => void | Promise<void>;
}

type Timing = Required<Pick<LeaderElectionOptions, "leaseDurationMs" | "renewDeadlineMs" | "retryPeriodMs">>;

export const LEADER_ELECTION_DEFAULTS: Readonly<Timing> = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

/** A MicroTime as the apiserver parses it: exactly six fractional digits (`2006-01-02T15:04:05.000000Z`). */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

type LeaseTimes = Omit<V1LeaseSpec, "acquireTime" | "renewTime"> & { acquireTime?: string; renewTime?: string };

export class LeaderElector {
  private readonly opts: LeaderElectionOptions & Timing;
  private readonly log: Logger;
  private readonly halt = new AbortController();
  private loop?: Promise<void>;
  private leadership?: AbortController;
  private lossAt = 0;
  private lossTimer?: NodeJS.Timeout;
  private observedRecord = "";
  private observedAt = 0;

  constructor(
    private readonly kube: Kube,
    opts: LeaderElectionOptions,
  ) {
    this.opts = {
      ...opts,
      leaseDurationMs: opts.leaseDurationMs ?? LEADER_ELECTION_DEFAULTS.leaseDurationMs,
      renewDeadlineMs: opts.renewDeadlineMs ?? LEADER_ELECTION_DEFAULTS.renewDeadlineMs,
      retryPeriodMs: opts.retryPeriodMs ?? LEADER_ELECTION_DEFAULTS.retryPeriodMs,
    };
    const { leaseDurationMs, renewDeadlineMs, retryPeriodMs } = this.opts;
    if (!(leaseDurationMs > renewDeadlineMs && renewDeadlineMs > retryPeriodMs && retryPeriodMs > 0)) {
      throw new Error("leader election needs leaseDuration > renewDeadline > retryPeriod > 0");
    }
    this.log = opts.logger.child({ component: "leader-election", lease: `${opts.namespace}/${opts.name}`, identity: opts.identity });
  }

  start(): void {
    if (this.loop) throw new Error("a leader elector starts only once");
    this.loop = this.run();
  }

  /** True while this replica holds a lease it renewed less than renewDeadline ago. */
  isLeader(): boolean {
    return this.holdsLease(0);
  }

  /**
   * True while this replica will still hold the lease `marginMs` from now, by the renewal it last
   * made: what a write checks right before it is sent. Read from the clock, not from the loss
   * timer, so a process that was frozen (SIGSTOP, a VM pause) answers false the moment it resumes,
   * before the timer has had its turn.
   */
  holdsLease(marginMs: number): boolean {
    return this.leadership !== undefined && Date.now() + marginMs < this.lossAt;
  }

  /**
   * Stops campaigning without touching the Lease, as a crash would: another replica takes over
   * once the lease expires.
   */
  async stop(): Promise<void> {
    this.halt.abort();
    await this.lose("stopped");
    await this.loop;
  }

  /**
   * Stops campaigning, lets onStoppedLeading finish, then empties the Lease's holder (client-go's
   * ReleaseOnCancel) so that another replica takes over at its next retry instead of waiting
   * for the lease to expire.
   */
  async release(): Promise<void> {
    this.halt.abort();
    await this.lose("released");
    await this.loop;
    try {
      for (let tries = 0; tries < 3; tries++) {
        const lease = await this.readLease(this.kube.timeoutMs);
        if (lease?.spec?.holderIdentity !== this.opts.identity) return;
        const now = microTime(new Date());
        const spec: LeaseTimes = { ...leaseTimes(lease.spec), holderIdentity: "", leaseDurationSeconds: 1, acquireTime: now, renewTime: now };
        if (await this.replaceLease(lease, spec, this.kube.timeoutMs)) {
          this.log.info(LOG_MESSAGES.leaseReleased);
          return;
        }
      }
    } catch (err) {
      this.log.warn(LOG_MESSAGES.leaseError, { error: errorText(err), during: "release" });
    }
  }

  private async run(): Promise<void> {
    const { renewDeadlineMs, retryPeriodMs } = this.opts;
    while (!this.halt.signal.aborted) {
      const started = Date.now();
      // A renewal must land before leadership would be given up anyway; an acquisition gets a full renewDeadline.
      const budget = this.leadership ? this.lossAt - started : renewDeadlineMs;
      try {
        if ((await this.tryAcquireOrRenew(started, budget)) && !this.halt.signal.aborted && Date.now() < started + renewDeadlineMs) {
          this.renewed(started);
        }
      } catch (err) {
        this.log.warn(LOG_MESSAGES.leaseError, { error: errorText(err), leading: this.leadership !== undefined });
      }
      // Candidates spread their retries a little so that they do not collide on every round.
      const wait = this.leadership ? retryPeriodMs : retryPeriodMs * (1 + Math.random() * 0.2);
      await sleep(wait, undefined, { signal: this.halt.signal }).catch(() => undefined);
    }
  }

  /** One round of the algorithm; resolves true when this replica holds the lease as of `now`. */
  private async tryAcquireOrRenew(now: number, budgetMs: number): Promise<boolean> {
    const deadline = now + budgetMs;
    const left = () => {
      const ms = deadline - Date.now();
      if (ms <= 0) throw new ApiError(0, "DeadlineExceeded", "lease round ran out of time");
      return ms;
    };
    const { identity, namespace } = this.opts;
    const stamp = microTime(new Date(now));
    const leaseDurationSeconds = Math.ceil(this.opts.leaseDurationMs / 1000);
    const lease = await this.readLease(left());
    if (!lease) {
      const body = leaseObject({ metadata: { name: this.opts.name, namespace } }, {
        holderIdentity: identity,
        leaseDurationSeconds,
        acquireTime: stamp,
        renewTime: stamp,
        leaseTransitions: 0,
      });
      try {
        this.observe(await this.kube.call("create lease", (o) => this.kube.coordination.createNamespacedLease({ namespace, body }, o), left()), now);
        return true;
      } catch (err) {
        if (apiStatus(err) === 409) return false;
        throw err;
      }
    }
    this.observe(lease, now);
    const current = leaseTimes(lease.spec);
    const holder = current.holderIdentity ?? "";
    if (holder !== "" && holder !== identity && this.validForOthers(current, now)) return false;
    const ours = holder === identity;
    const transitions = current.leaseTransitions ?? 0;
    return this.replaceLease(
      lease,
      {
        ...current,
        holderIdentity: identity,
        leaseDurationSeconds,
        acquireTime: ours && current.acquireTime ? current.acquireTime : stamp,
        renewTime: stamp,
        leaseTransitions: ours ? transitions : transitions + 1,
      },
      left(),
    );
  }

  private validForOthers(spec: LeaseTimes, now: number): boolean {
    const durationMs = (spec.leaseDurationSeconds ?? Math.ceil(this.opts.leaseDurationMs / 1000)) * 1000;
    const renewedAt = spec.renewTime ? Date.parse(spec.renewTime) : NaN;
    return now < this.observedAt + durationMs || (Number.isFinite(renewedAt) && now < renewedAt + durationMs);
  }

  private observe(lease: V1Lease, now: number): void {
    const spec = leaseTimes(lease.spec);
    const record = JSON.stringify([spec.holderIdentity, spec.acquireTime, spec.renewTime, spec.leaseDurationSeconds, spec.leaseTransitions]);
    if (record !== this.observedRecord) {
      this.observedRecord = record;
      this.observedAt = now;
    }
  }

  private async readLease(timeoutMs: number): Promise<V1Lease | undefined> {
    const { name, namespace } = this.opts;
    try {
      return await this.kube.call("get lease", (o) => this.kube.coordination.readNamespacedLease({ name, namespace }, o), timeoutMs);
    } catch (err) {
      if (apiStatus(err) === 404) return undefined;
      throw err;
    }
  }

  /** Replaces the Lease if nobody wrote it since `lease` was read; false when someone did (409). */
  private async replaceLease(lease: V1Lease, spec: LeaseTimes, timeoutMs: number): Promise<boolean> {
    const { name, namespace } = this.opts;
    const body = leaseObject(lease, spec);
    try {
      this.observe(await this.kube.call("update lease", (o) => this.kube.coordination.replaceNamespacedLease({ name, namespace, body }, o), timeoutMs), Date.now());
      return true;
    } catch (err) {
      if (apiStatus(err) === 409) return false;
      throw err;
    }
  }

  private renewed(started: number): void {
    this.lossAt = started + this.opts.renewDeadlineMs;
    clearTimeout(this.lossTimer);
    this.lossTimer = setTimeout(() => void this.lose("renew deadline passed"), this.lossAt - Date.now());
    if (this.leadership) return;
    const leadership = new AbortController();
    this.leadership = leadership;
    this.log.info(LOG_MESSAGES.leaderElected);
    void this.guard("onStartedLeading", () => this.opts.onStartedLeading(leadership.signal));
  }

  private async lose(reason: string): Promise<void> {
    clearTimeout(this.lossTimer);
    const leadership = this.leadership;
    if (!leadership) return;
    this.leadership = undefined;
    this.lossAt = 0;
    leadership.abort();
    this.log.warn(LOG_MESSAGES.leaderLost, { reason });
    await this.guard("onStoppedLeading", () => this.opts.onStoppedLeading());
  }

  private async guard(callback: string, fn: () => void | Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.log.error(LOG_MESSAGES.leaderCallbackFailed, { callback, error: errorText(err) });
    }
  }
}

/**
 * The deserializer hands MicroTime fields back as strings, but a Date could slip in; either way
 * the body carries 6-digit strings, never Dates, which the serializer would write with 3 digits
 * and the apiserver would reject.
 */
function leaseTimes(spec: V1LeaseSpec | undefined): LeaseTimes {
  const time = (value: unknown): string | undefined => (value instanceof Date ? microTime(value) : typeof value === "string" ? value : undefined);
  return { ...spec, acquireTime: time(spec?.acquireTime), renewTime: time(spec?.renewTime) };
}

function leaseObject(base: Pick<V1Lease, "metadata">, spec: LeaseTimes): V1Lease {
  // The serializer passes the strings through untouched (V1MicroTime is not in its type map).
  return { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: base.metadata, spec: spec as V1LeaseSpec };
}
