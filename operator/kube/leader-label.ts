/**
 * The leader label (`bloodraven.shipstream.io/leader=true`) on this replica's own pod, which the
 * chart's leader Service selects: the agents' asks then reach the replica that can answer them,
 * never a standby's 503. Taken off at start (a restarted container keeps its pod's labels, and it
 * starts as a standby), put on when leadership begins, taken off when it ends and at shutdown.
 * A change that fails is tried again every RETRY_MS until it lands or a newer one replaces it.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { mergePatch, type Kube } from "../../shared/kube/client.js";
import { errorText } from "../../shared/errors.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { LABELS } from "../../shared/names.js";
import type { Logger } from "../log.js";

const RETRY_MS = 2_000;

export class LeaderLabel {
  private wanted: boolean | undefined;
  /** Set and cleared by apply() itself, the clearing right after its last check of `wanted`, so a change is never left waiting. */
  private busy = false;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly kube: Kube,
    private readonly pod: { readonly namespace: string; readonly name: string },
    private readonly log: Logger,
  ) {}

  set(leading: boolean): void {
    this.wanted = leading;
    if (!this.busy) this.running = this.apply();
  }

  /** The last change, given at most `deadlineMs` to land; no retries after it. */
  async close(deadlineMs: number): Promise<void> {
    await Promise.race([this.running, sleep(deadlineMs)]);
    this.stopped = true;
  }

  private async apply(): Promise<void> {
    this.busy = true;
    const { namespace, name } = this.pod;
    try {
      while (this.wanted !== undefined && !this.stopped) {
        const leading = this.wanted;
        const body = { metadata: { labels: { [LABELS.leader]: leading ? "true" : null } } };
        try {
          await this.kube.call(`label pod ${namespace}/${name}`, (options) => this.kube.core.patchNamespacedPod({ namespace, name, body }, mergePatch(options)));
          this.log.info(leading ? LOG_MESSAGES.leaderLabelSet : LOG_MESSAGES.leaderLabelRemoved, { pod: `${namespace}/${name}` });
          if (this.wanted === leading) this.wanted = undefined;
        } catch (err) {
          this.log.warn(LOG_MESSAGES.leaderLabelFailed, { pod: `${namespace}/${name}`, leading, error: errorText(err) });
          await sleep(RETRY_MS);
        }
      }
    } finally {
      this.busy = false;
    }
  }
}
