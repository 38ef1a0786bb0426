/**
 * The per-site agent (`bloodraven agent`): the sidecar of a managed site, or a process beside an
 * external one. It runs the startup safety net once, then the self-fencing monitor every
 * `peerCheckIntervalMs` (rules in shared/agent/fencing.ts), and serves its view to its peers.
 *
 * Every outside call has a deadline: the operator and the peers are asked with
 * min(2 s, interval) each, the server's reads with the SiteClient's timeouts, the fence with
 * FENCE_DEADLINE_MS. A lease that runs out between two checks is acted on by a timer set to its
 * end, not at the next check.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { fenceVerdict, leaseUntil, liftFenceAtStartup, newerView, type ActiveSiteView, type LeaseInput } from "../../shared/agent/fencing.js";
import { errorText } from "../../shared/errors.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import type { Logger } from "../log.js";
import { onlyRow, readInteger } from "../mysql/flavor.js";
import { SiteClient } from "../mysql/site-client.js";
import { askOperator, askPeer, type Asked, type OperatorAnswer, type PeerAnswer } from "./ask.js";
import type { AgentConfig } from "./config.js";
import { AgentServer } from "./server.js";

/** The fence statement, the session kills and their reads together. */
export const FENCE_DEADLINE_MS = 20_000;
const ASK_TIMEOUT_MS = 2_000;
const LOCK_WAIT_SECONDS = 5;
const READ_ONLY = "SELECT @@global.read_only AS ro";

export class Agent {
  private readonly client: SiteClient;
  private readonly server: AgentServer;
  private readonly log: Logger;
  /** The freshest operator view, direct or relayed. */
  private view: ActiveSiteView | undefined;
  private operatorConfirmedAt: number | undefined;
  private readonly peerReachedAt: Record<string, number> = {};
  /** When each peer last asked this agent. */
  private readonly askedBy = new Map<string, number>();
  private readonly startedAt: number;
  /** --lease-timeout, or the operator's spec.sidecar.leaseTimeout once heard if shorter: the operator waits that long. */
  private leaseTimeoutMs: number;
  /** The server's read_only at the last read: null until read, or when the read failed. */
  private writable: boolean | null = null;
  private writableSince = -Infinity;
  private stopped = false;
  private wake: (() => void) | undefined;
  private leaseTimer: NodeJS.Timeout | undefined;
  private fencing: Promise<void> | undefined;
  /** Fences begun so far: a read of the server that overlapped one is stale. */
  private fences = 0;
  private running: Promise<void> | undefined;

  constructor(
    private readonly config: AgentConfig,
    log: Logger,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.log = log.child({ site: config.site, group: config.group, namespace: config.namespace });
    this.startedAt = now();
    this.leaseTimeoutMs = config.leaseTimeoutMs;
    this.client = new SiteClient(config.mysql, { connectTimeoutMs: 2_000, queryTimeoutMs: 5_000 });
    this.server = new AgentServer({ view: () => this.answer(), heardFrom: (site) => this.askedBy.set(site, this.now()) }, this.log);
  }

  /** Binds the API, then runs the safety net and the monitor in the background; resolves with the port. */
  async start(): Promise<number> {
    this.log.info(LOG_MESSAGES.agentStarting, { peers: this.config.peers.map((p) => p.site), leaseTimeoutMs: this.config.leaseTimeoutMs, peerCheckIntervalMs: this.config.peerCheckIntervalMs });
    const port = await this.server.listen(this.config.port, this.config.bindAddress);
    this.running = this.run();
    return port;
  }

  /** Settles when the agent stops; rejects if its loop failed (the process then exits). */
  finished(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  async stop(): Promise<void> {
    this.log.info(LOG_MESSAGES.agentStopping);
    this.stopped = true;
    clearTimeout(this.leaseTimer);
    this.wake?.();
    await Promise.all([this.running, this.fencing, this.server.close()]);
    this.client.close();
  }

  private async run(): Promise<void> {
    await this.safetyNet();
    // A fixed cadence: every check starts one interval after the last one started, whatever it
    // waited for (each of its calls ends within the interval).
    while (!this.stopped) {
      const started = this.now();
      await this.check();
      await this.pause(Math.max(0, this.config.peerCheckIntervalMs - (this.now() - started)));
    }
  }

  /** Fence first, ask second: the server accepts no write until the operator names this site. */
  private async safetyNet(): Promise<void> {
    let wasWritable = false;
    for (;;) {
      if (this.stopped) return;
      try {
        wasWritable = await this.client.run(
          "safety net fence",
          async (s) => {
            const before = readInteger(s, onlyRow(s, await s.query(READ_ONLY), READ_ONLY), "ro") === 0;
            await s.flavor.fence(s, { lockWaitTimeoutSeconds: LOCK_WAIT_SECONDS });
            return before;
          },
          FENCE_DEADLINE_MS,
        );
        break;
      } catch (err) {
        this.log.warn(LOG_MESSAGES.safetyNetWaiting, { error: errorText(err) });
        await this.pause(this.config.peerCheckIntervalMs);
      }
    }
    this.writable = false;
    this.log.info(LOG_MESSAGES.safetyNetFenced);
    const sentAt = this.now();
    const asked = await askOperator(this.config.operatorUrl, { ...this.operatorQuery(), phase: "startup" }, this.config.operatorToken, ASK_TIMEOUT_MS);
    this.heardOperator(asked, sentAt);
    if (!liftFenceAtStartup(this.config.site, asked.ok ? asked.value : undefined, wasWritable)) {
      const reason = asked.ok ? (asked.value.activeSite === "" ? "the operator names no active site" : `the operator names ${asked.value.activeSite}`) : `no answer from the operator: ${asked.error}`;
      this.log.warn(LOG_MESSAGES.safetyNetKept, { reason });
      return;
    }
    // The operator recorded this answer as standing behind this site: it renews the lease.
    this.operatorConfirmedAt = sentAt;
    try {
      await this.client.run("safety net lift", (s) => s.flavor.unfence(s), FENCE_DEADLINE_MS);
      this.log.info(LOG_MESSAGES.safetyNetLifted, { wasWritable });
    } catch (err) {
      this.log.warn(LOG_MESSAGES.safetyNetKept, { reason: `lifting the fence failed: ${errorText(err)}` });
    }
  }

  /**
   * One round: ask everyone and read the server, all at once. Each answer counts as it arrives,
   * so a slow or silent party never holds back another's renewal.
   */
  private async check(): Promise<void> {
    const timeout = Math.min(ASK_TIMEOUT_MS, this.config.peerCheckIntervalMs);
    const sentAt = this.now();
    const fences = this.fences;
    await Promise.all([
      askOperator(this.config.operatorUrl, this.operatorQuery(), this.config.operatorToken, timeout).then((asked) => this.heardOperator(asked, sentAt)),
      ...this.config.peers.map((p) => askPeer(p.url, this.config.site, timeout).then((asked) => this.heardPeer(p.site, asked, sentAt))),
      this.readWritable(timeout).then((writable) => {
        // A fence that began meanwhile makes this read stale: the next check reads again.
        if (writable === null || fences !== this.fences) return;
        if (writable && this.writable !== true) {
          // Made writable by the operator (or by hand): no verdict on views from before, which
          // may name the primary it replaced.
          this.writableSince = this.now();
          this.log.info(LOG_MESSAGES.selfFenceArmed);
        }
        this.writable = writable;
      }),
    ]);
    this.decide();
  }

  /** Applies the rules to what is known now; while the lease holds, a timer waits for its end. */
  private decide(): void {
    clearTimeout(this.leaseTimer);
    if (this.writable !== true || this.stopped || this.fencing) return;
    const input = this.leaseInput();
    const verdict = fenceVerdict(input, this.view, this.now());
    if (!verdict.fence) {
      this.leaseTimer = setTimeout(() => this.decide(), Math.max(0, leaseUntil(input) - this.now()) + 1);
      return;
    }
    this.log.warn(LOG_MESSAGES.selfFencing, { rule: verdict.rule, reason: verdict.reason });
    this.fences++;
    this.fencing = this.fence(verdict.rule).finally(() => {
      this.fencing = undefined;
    });
  }

  private async fence(rule: string): Promise<void> {
    try {
      const killed = await this.client.run(
        "self-fence",
        async (s) => {
          await s.flavor.fence(s, { lockWaitTimeoutSeconds: LOCK_WAIT_SECONDS });
          return s.flavor.killApplicationConnections(s, { spareUsers: [this.config.mysql.user, ...this.config.spareUsers] });
        },
        FENCE_DEADLINE_MS,
      );
      this.writable = false;
      this.log.warn(LOG_MESSAGES.selfFenced, { rule, sessionsKilled: killed.length });
    } catch (err) {
      this.log.error(LOG_MESSAGES.selfFenceFailed, { rule, error: errorText(err) });
    }
  }

  private async readWritable(deadlineMs: number): Promise<boolean | null> {
    try {
      return await this.client.run(
        "read_only",
        async (s) => {
          return readInteger(s, onlyRow(s, await s.query(READ_ONLY), READ_ONLY), "ro") === 0;
        },
        deadlineMs,
      );
    } catch (err) {
      this.log.warn(LOG_MESSAGES.agentServerUnreachable, { error: errorText(err) });
      return null;
    }
  }

  private heardOperator(asked: Asked<OperatorAnswer>, sentAt: number): void {
    if (!asked.ok) {
      this.log.debug(LOG_MESSAGES.agentOperatorUnreachable, { error: asked.error });
      return;
    }
    const { confirmedPrimary: primary, leaseTimeoutMs } = asked.value;
    this.view = newerView(this.view, { primary, observedAt: sentAt - asked.value.observedAgoMs, source: "operator" });
    if (primary === this.config.site) this.operatorConfirmedAt = sentAt;
    if (leaseTimeoutMs !== undefined) this.leaseTimeoutMs = Math.min(this.config.leaseTimeoutMs, leaseTimeoutMs);
  }

  private heardPeer(site: string, asked: Asked<PeerAnswer>, sentAt: number): void {
    if (!asked.ok) {
      this.log.debug(LOG_MESSAGES.agentPeerUnreachable, { peer: site, error: asked.error });
      return;
    }
    this.peerReachedAt[site] = sentAt;
    const relayed = asked.value.view;
    // A peer relays only what it heard from the operator itself, so views never echo between peers.
    if (relayed?.source === "operator") this.view = newerView(this.view, { primary: relayed.primary, observedAt: sentAt - relayed.observedAgoMs, source: site });
  }

  private leaseInput(): LeaseInput {
    return {
      site: this.config.site,
      groupSize: this.config.peers.length + 1,
      leaseTimeoutMs: this.leaseTimeoutMs,
      operatorConfirmedAt: this.operatorConfirmedAt,
      peerReachedAt: this.peerReachedAt,
      writableSince: this.writableSince,
    };
  }

  private answer(): PeerAnswer {
    const v = this.view;
    return {
      site: this.config.site,
      ...(v ? { view: { primary: v.primary, observedAgoMs: Math.max(0, Math.round(this.now() - v.observedAt)), source: v.source } } : {}),
      writable: this.writable,
      askedBy: Object.fromEntries([...this.askedBy].map(([site, at]) => [site, Math.max(0, Math.round(this.now() - at))])),
      upMs: Math.round(this.now() - this.startedAt),
    };
  }

  private operatorQuery(): { namespace: string; group: string; site: string; phase?: string } {
    return { namespace: this.config.namespace, group: this.config.group, site: this.config.site };
  }

  /** Sleeps `ms`, or less when stop() is called. */
  private async pause(ms: number): Promise<void> {
    const ac = new AbortController();
    this.wake = () => ac.abort();
    await sleep(ms, undefined, { signal: ac.signal }).catch(() => undefined);
    this.wake = undefined;
  }
}
