/**
 * core/v1 Events on MysqlFailoverGroup objects, as `kubectl describe mfg` shows them. A repeat of
 * the same event (same object, type, reason and message) within the window bumps the existing
 * Event's count and lastTimestamp instead of adding a new one, as client-go's recorder does, so a
 * flapping site cannot flood the namespace. The Event's name is derived from that tuple, so a
 * restarted operator (or a new leader) that has no memory of it finds the existing series
 * (AlreadyExists) and continues it instead of starting a second one.
 *
 * Recording never fails the caller: an Event is a courtesy to humans and must not stop a
 * failover. Failures are logged and counted.
 */
import { createHash } from "node:crypto";
import type { CoreV1Event } from "@kubernetes/client-node";
import type { MysqlFailoverGroup } from "../../shared/api/index.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { API_GROUP_VERSION, FAILOVER_GROUP, type EVENT_REASONS } from "../../shared/names.js";
import { errorText } from "../../shared/errors.js";
import type { Logger } from "../log.js";
import { apiStatus, mergePatch, type Kube } from "../../shared/kube/client.js";

export type EventType = "Normal" | "Warning";
export type EventReason = (typeof EVENT_REASONS)[keyof typeof EVENT_REASONS];

export interface EventRecorderOptions {
  logger: Logger;
  /** `source.component` and `reportingComponent`. */
  component?: string;
  /** `source.host` and `reportingInstance`, e.g. the pod name. */
  host?: string;
  /** Repeats closer together than this are folded into one Event. */
  windowMs?: number;
  /** Most (object, type, reason, message) tuples remembered for folding; the oldest are forgotten first. */
  maxCached?: number;
}

const DEFAULT_WINDOW_MS = 10 * 60_000;
const DEFAULT_MAX_CACHED = 256;
// Keeps a runaway message (a whole SQL error dump) from bloating etcd and the fold cache.
const MAX_MESSAGE_LENGTH = 1024;

interface Recorded {
  name: string;
  count: number;
  lastSeen: number;
}

/** The object an Event is about: a group, or another of our kinds (a MysqlBackup) when it says so. */
type EventSubject = Pick<MysqlFailoverGroup, "apiVersion" | "metadata"> & { kind?: string };

export class EventRecorder {
  private readonly recent = new Map<string, Recorded>();
  private readonly queues = new Map<string, Promise<void>>();
  private readonly component: string;
  private readonly windowMs: number;
  private readonly maxCached: number;
  private readonly log: Logger;
  private failures = 0;

  constructor(
    private readonly kube: Kube,
    private readonly opts: EventRecorderOptions,
  ) {
    this.component = opts.component ?? "bloodraven";
    this.windowMs = opts.windowMs ?? DEFAULT_WINDOW_MS;
    this.maxCached = opts.maxCached ?? DEFAULT_MAX_CACHED;
    this.log = opts.logger.child({ component: "events" });
  }

  /** Event writes that failed since start. */
  get failedWrites(): number {
    return this.failures;
  }

  normal(group: EventSubject, reason: EventReason, message: string): Promise<void> {
    return this.record(group, "Normal", reason, message);
  }

  warning(group: EventSubject, reason: EventReason, message: string): Promise<void> {
    return this.record(group, "Warning", reason, message);
  }

  /** Resolves once the Event is written or the failure logged; never rejects. */
  record(group: EventSubject, type: EventType, reason: EventReason, message: string): Promise<void> {
    const text = message.length > MAX_MESSAGE_LENGTH ? `${message.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : message;
    const { namespace, name, uid } = group.metadata;
    const key = JSON.stringify([uid ?? `${namespace}/${name}`, type, reason, text]);
    // Writes of one tuple run one after another, so concurrent repeats neither create two Events
    // nor race each other's count.
    const queued = (this.queues.get(key) ?? Promise.resolve())
      .then(() => this.write(key, group, type, reason, text))
      .catch((err: unknown) => {
        this.failures++;
        this.log.warn(LOG_MESSAGES.eventFailed, { namespace, group: name, type, reason, error: errorText(err) });
      });
    this.queues.set(key, queued);
    void queued.finally(() => this.queues.get(key) === queued && this.queues.delete(key));
    return queued;
  }

  private async write(key: string, group: EventSubject, type: EventType, reason: EventReason, message: string): Promise<void> {
    const { namespace, name, uid } = group.metadata;
    if (!namespace || !name) throw new Error("the object has no namespace or name");
    const now = new Date();
    const seen = this.recent.get(key);
    if (seen && now.getTime() - seen.lastSeen <= this.windowMs) {
      try {
        const body = { count: seen.count + 1, lastTimestamp: now };
        await this.kube.call("patch event", (o) => this.kube.core.patchNamespacedEvent({ namespace, name: seen.name, body }, mergePatch(o)));
        this.remember(key, { name: seen.name, count: seen.count + 1, lastSeen: now.getTime() });
        return;
      } catch (err) {
        // The apiserver drops Events after --event-ttl (1 h by default): start a new one.
        if (apiStatus(err) !== 404) throw err;
      }
    }
    const eventName = `${name}.${createHash("sha256").update(key).digest("hex").slice(0, 20)}`;
    const body: CoreV1Event = {
      metadata: { name: eventName, namespace },
      involvedObject: { apiVersion: group.apiVersion || API_GROUP_VERSION, kind: group.kind || FAILOVER_GROUP.kind, name, namespace, uid },
      type,
      reason,
      message,
      source: { component: this.component, host: this.opts.host },
      reportingComponent: this.component,
      reportingInstance: this.opts.host,
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
    };
    try {
      await this.kube.call("create event", (o) => this.kube.core.createNamespacedEvent({ namespace, body }, o));
      this.remember(key, { name: eventName, count: 1, lastSeen: now.getTime() });
    } catch (err) {
      if (apiStatus(err) !== 409) throw err;
      await this.continueSeries(key, namespace, eventName, now);
    }
  }

  /**
   * The series exists but this process did not know it: bump it when its last occurrence lies
   * within the window, else start it over under the same name.
   */
  private async continueSeries(key: string, namespace: string, name: string, now: Date): Promise<void> {
    const existing = await this.kube.call("read event", (o) => this.kube.core.readNamespacedEvent({ namespace, name }, o));
    const last = existing.lastTimestamp ? new Date(existing.lastTimestamp).getTime() : 0;
    const count = now.getTime() - last <= this.windowMs ? (existing.count ?? 1) + 1 : 1;
    const body = count === 1 ? { count, firstTimestamp: now, lastTimestamp: now } : { count, lastTimestamp: now };
    await this.kube.call("patch event", (o) => this.kube.core.patchNamespacedEvent({ namespace, name, body }, mergePatch(o)));
    this.remember(key, { name, count, lastSeen: now.getTime() });
  }

  private remember(key: string, recorded: Recorded): void {
    this.recent.delete(key);
    this.recent.set(key, recorded);
    for (const oldest of this.recent.keys()) {
      if (this.recent.size <= this.maxCached) break;
      this.recent.delete(oldest);
    }
  }
}
