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
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { fenceVerdict, leaseUntil, liftFenceAtStartup, newerView, startupAnswerDecides, possiblyWritable, type ActiveSiteView, type LeaseInput, type ServerState } from "../../shared/agent/fencing.js";
import { errorText } from "../../shared/errors.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import type { Logger } from "../log.js";
import { onlyRow, readInteger } from "../mysql/flavor.js";
import { isAuthenticationFailure, SiteClient } from "../mysql/site-client.js";
import { askOperator, askPeer, type Asked, type OperatorAnswer, type PeerAnswer } from "./ask.js";
import type { AgentConfig, AgentPeer } from "./config.js";
import { openStore } from "../backup/storage-config.js";
import { BinlogArchiver } from "./archiver.js";
import { CloneRecipient, streamBackup, type CloneSettings } from "./clone.js";
import { AgentServer, type AgentCloneRoles } from "./server.js";

/** The fence statement, the session kills and their reads together. */
const FENCE_DEADLINE_MS = 20_000;
const ASK_TIMEOUT_MS = 2_000;
/** The start-up fence is retried this often while the server is not up yet. */
const SERVER_RETRY_MS = 1_000;
const LOCK_WAIT_SECONDS = 5;
/**
 * The server's fence deadline falls this long after the lease's end: the agent's own fence (which
 * also ends the application's sessions) comes first while the agent runs, and the operator's
 * emergency promotion waits a second past the lease (operator/group/self-fence.ts).
 */
const DEADLINE_AFTER_LEASE_MS = 300;
/** A login tried before a backup stream starts. */
const LOGIN_DEADLINE_MS = 5_000;
const READ_ONLY = "SELECT @@global.read_only AS ro";

export class Agent {
  private client: SiteClient;
  /** The password the client logs in with; with a password file, re-read before each check. */
  private password: string;
  private readonly api: AgentServer;
  private readonly log: Logger;
  /** The freshest operator view, direct or relayed. */
  private view: ActiveSiteView | undefined;
  private operatorConfirmedAt: number | undefined;
  private readonly peerReachedAt: Record<string, number> = {};
  /** When each peer last asked this agent while its own server could be writable. */
  private readonly reachedWhileWritable = new Map<string, number>();
  private readonly startedAt: number;
  /** --peers, replaced by the list the operator sends (the sites with an agent, as in its spec). */
  private peers: readonly AgentPeer[];
  /** --lease-timeout, or the operator's spec.sidecar.leaseTimeout once heard if shorter: the operator waits that long. */
  private leaseTimeoutMs: number;
  /** The server at the last read ("unknown" until read). */
  private serverState: ServerState = "unknown";
  private writableSince = -Infinity;
  private becameWritableAfter = -Infinity;
  /** Send time of the last check (or the safety net) that read the server read-only. */
  private readOnlySeenAt = -Infinity;
  private stopped = false;
  private wake: (() => void) | undefined;
  private leaseTimer: NodeJS.Timeout | undefined;
  /** The server's own fence deadline as last set: undefined until this agent set or removed it. */
  private deadline: "armed" | "removed" | undefined;
  /** Why the deadline cannot be kept, as last logged. */
  private deadlineProblem = "";
  private fencing: Promise<void> | undefined;
  /** The safety net's question, until the operator has answered it (200). */
  private startup: { wasWritable: boolean; unanswered: boolean; noSiteNamed: boolean } | undefined;
  /** Fences begun so far: a read of the server that overlapped one is stale. */
  private fences = 0;
  private running: Promise<void> | undefined;
  private recipient: CloneRecipient | undefined;
  private readonly archiver: { archiver: BinlogArchiver; close: () => void } | undefined;

  constructor(
    private readonly config: AgentConfig,
    log: Logger,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.log = log.child({ site: config.site, group: config.group, namespace: config.namespace });
    this.startedAt = now();
    this.peers = config.peers;
    this.leaseTimeoutMs = config.leaseTimeoutMs;
    this.password = this.readPassword();
    this.client = this.newClient();
    const heardFrom = (site: string, server: ServerState): void => {
      if (possiblyWritable(server)) this.reachedWhileWritable.set(site, this.now());
    };
    this.archiver = this.newArchiver();
    this.api = new AgentServer({ view: () => this.answer(), heardFrom }, this.log, this.cloneRoles(), this.archiver?.archiver);
  }

  private newArchiver(): { archiver: BinlogArchiver; close: () => void } | undefined {
    const archive = this.config.archive;
    if (!archive) return undefined;
    const { store, close } = openStore(archive.storage);
    const { site, group, namespace } = this.config;
    const archiver = new BinlogArchiver({ store, prefix: archive.prefix, passphrase: archive.passphrase, pollIntervalMs: archive.pollIntervalMs, site, group, namespace }, () => this.client, this.log);
    return { archiver, close };
  }

  private cloneRoles(): AgentCloneRoles | undefined {
    const clone = this.config.clone;
    if (!clone) return undefined;
    const settings: CloneSettings = { ...clone, mysql: this.config.mysql, password: () => this.password, loginRefused: () => this.loginRefused() };
    this.recipient = new CloneRecipient(settings, () => this.client, this.log);
    return { token: clone.token, recipient: this.recipient, donate: (res) => streamBackup(settings, res, this.log) };
  }

  private readPassword(): string {
    const p = this.config.password;
    return "value" in p ? p.value : readFileSync(p.file, "utf8").replace(/\r?\n$/, "");
  }

  /**
   * Why the server refuses this agent's password, tried on a new connection (the client's own
   * may have logged in before a rotation); undefined when it accepts it or fails for another
   * reason, which the tool that runs next reports.
   */
  private async loginRefused(): Promise<string | undefined> {
    this.refreshPassword();
    const probe = this.newClient();
    try {
      await probe.run("login", (s) => s.query("SELECT 1"), LOGIN_DEADLINE_MS);
      return undefined;
    } catch (err) {
      return isAuthenticationFailure(err) ? errorText(err) : undefined;
    } finally {
      probe.close();
    }
  }

  private newClient(): SiteClient {
    return new SiteClient({ ...this.config.mysql, password: this.password }, { connectTimeoutMs: 2_000, queryTimeoutMs: 5_000 });
  }

  /**
   * A mounted Secret changes its file when the password is rotated: the next login uses the new
   * one. A file that cannot be read keeps the password in use (logged with the server's errors).
   */
  private refreshPassword(): void {
    if ("value" in this.config.password) return;
    let current: string;
    try {
      current = this.readPassword();
    } catch (err) {
      this.log.warn(LOG_MESSAGES.agentServerUnreachable, { error: `password file: ${errorText(err)}` });
      return;
    }
    if (current === this.password) return;
    this.password = current;
    this.client.close();
    this.client = this.newClient();
    this.log.info(LOG_MESSAGES.agentPasswordChanged);
  }

  /** Binds the API, then runs the safety net and the monitor in the background; resolves with the port. */
  async start(): Promise<number> {
    this.log.info(LOG_MESSAGES.agentStarting, { peers: this.config.peers.map((p) => p.site), leaseTimeoutMs: this.config.leaseTimeoutMs, peerCheckIntervalMs: this.config.peerCheckIntervalMs });
    const port = await this.api.listen(this.config.port, this.config.bindAddress);
    this.running = this.run();
    this.archiver?.archiver.start();
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
    await Promise.all([this.running, this.fencing, this.recipient?.stop(), this.archiver?.archiver.stop(), this.api.close()]);
    this.archiver?.close();
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

  /**
   * Fence first, ask second: the server accepts no write until the operator names this site. The
   * question is asked again at every check until the operator answers naming a site (a standby
   * replica or a starting operator answers 503; an operator between a new group's seed and its
   * adoption names none); the first such answer decides.
   */
  private async safetyNet(): Promise<void> {
    let wasWritable = false;
    for (;;) {
      if (this.stopped) return;
      this.refreshPassword();
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
        await this.pause(Math.min(SERVER_RETRY_MS, this.config.peerCheckIntervalMs));
      }
    }
    this.serverState = "read-only";
    this.readOnlySeenAt = this.now();
    this.log.info(LOG_MESSAGES.safetyNetFenced);
    this.startup = { wasWritable, unanswered: false, noSiteNamed: false };
    await this.askAtStartup(ASK_TIMEOUT_MS);
  }

  private async askAtStartup(timeoutMs: number): Promise<void> {
    const startup = this.startup;
    if (!startup) return;
    const sentAt = this.now();
    const asked = await askOperator(this.config.operatorUrl, { ...this.operatorQuery(), phase: "startup" }, this.config.operatorToken, timeoutMs);
    this.heardOperator(asked, sentAt);
    if (!asked.ok) {
      if (!startup.unanswered) this.log.warn(LOG_MESSAGES.safetyNetKept, { reason: `no answer from the operator: ${asked.error}; asking again at every check` });
      startup.unanswered = true;
      return;
    }
    if (!startupAnswerDecides(asked.value)) {
      if (!startup.noSiteNamed) this.log.warn(LOG_MESSAGES.safetyNetKept, { reason: "the operator names no active site" });
      startup.noSiteNamed = true;
      return;
    }
    this.startup = undefined;
    if (!liftFenceAtStartup(this.config.site, asked.value, startup.wasWritable)) {
      this.log.warn(LOG_MESSAGES.safetyNetKept, { reason: asked.value.activeSite === "" ? "the operator names no active site" : `the operator names ${asked.value.activeSite}` });
      return;
    }
    // The operator recorded this answer as standing behind this site: it renews the lease.
    this.operatorConfirmedAt = sentAt;
    try {
      await this.client.run("safety net lift", (s) => s.flavor.unfence(s), FENCE_DEADLINE_MS);
      this.log.info(LOG_MESSAGES.safetyNetLifted, { wasWritable: startup.wasWritable });
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
    if (!this.fencing) this.refreshPassword();
    await Promise.all([
      this.startup ? this.askAtStartup(timeout) : askOperator(this.config.operatorUrl, this.operatorQuery(), this.config.operatorToken, timeout).then((asked) => this.heardOperator(asked, sentAt)),
      ...this.peers.map((p) => askPeer(p.url, { site: this.config.site, server: this.serverState }, timeout).then((asked) => this.heardPeer(p.site, asked, sentAt))),
      this.readServer(timeout).then((server) => {
        // A fence that began meanwhile makes this read stale: the next check reads again.
        if (fences !== this.fences) return;
        const writable = server === "writable";
        if (writable && this.serverState !== "writable") {
          // Made writable by the operator (or by hand): no verdict on views from before, which
          // may name the primary it replaced.
          this.writableSince = this.now();
          this.becameWritableAfter = this.readOnlySeenAt;
          this.log.info(LOG_MESSAGES.selfFenceArmed);
        }
        if (server === "read-only") this.readOnlySeenAt = sentAt;
        this.serverState = server;
      }),
    ]);
    this.decide();
    await this.keepFenceDeadline(timeout);
  }

  /**
   * Keeps the server's own fence deadline (Flavor.fenceDeadline) at the lease's end while the
   * server is writable, so that an agent that hangs cannot leave it writable past its lease (the
   * operator's emergency promotion waits for exactly that); clears it once the server is
   * read-only, so that a server made writable again is not fenced by a deadline from before.
   */
  private async keepFenceDeadline(deadlineMs: number): Promise<void> {
    const writable = this.serverState === "writable";
    if (!this.config.fenceDeadline || this.fencing || this.stopped || (!writable && (this.serverState !== "read-only" || this.deadline === "removed"))) return;
    const inMs = leaseUntil(this.leaseInput()) - this.now() + DEADLINE_AFTER_LEASE_MS;
    // Too soon for the scheduler's whole seconds: decide() fences at the lease's end anyway.
    if (writable && inMs < 1_000) return;
    let problem: string;
    try {
      problem = await this.client.run(
        "fence deadline",
        async (s) => {
          const deadline = s.flavor.fenceDeadline;
          if (!deadline) return `${s.flavor.name} servers have none yet`;
          if (!writable) await deadline.remove(s);
          else if (!(await deadline.arm(s, inMs, LOCK_WAIT_SECONDS))) return "the server's event scheduler is off: set event_scheduler = ON in its configuration";
          return "";
        },
        deadlineMs,
      );
    } catch (err) {
      problem = errorText(err);
    }
    if (problem !== "") {
      if (problem !== this.deadlineProblem) this.log.warn(LOG_MESSAGES.fenceDeadlineUnavailable, { reason: problem });
      this.deadlineProblem = problem;
      return;
    }
    this.deadlineProblem = "";
    if (writable && this.deadline !== "armed") this.log.info(LOG_MESSAGES.fenceDeadlineArmed, { leaseTimeoutMs: this.leaseTimeoutMs });
    this.deadline = writable ? "armed" : "removed";
  }

  /** Applies the rules to what is known now; while the lease holds, a timer waits for its end. */
  private decide(): void {
    clearTimeout(this.leaseTimer);
    if (this.serverState !== "writable" || this.stopped || this.fencing) return;
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
      this.serverState = "read-only";
      this.log.warn(LOG_MESSAGES.selfFenced, { rule, sessionsKilled: killed.length });
    } catch (err) {
      this.log.error(LOG_MESSAGES.selfFenceFailed, { rule, error: errorText(err) });
    }
  }

  private async readServer(deadlineMs: number): Promise<ServerState> {
    try {
      const writable = await this.client.run("read_only", async (s) => readInteger(s, onlyRow(s, await s.query(READ_ONLY), READ_ONLY), "ro") === 0, deadlineMs);
      return writable ? "writable" : "read-only";
    } catch (err) {
      this.log.warn(LOG_MESSAGES.agentServerUnreachable, { error: errorText(err) });
      return refused(err) ? "down" : "unknown";
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
    if (asked.value.archiveFloor !== undefined) this.archiver?.archiver.pruneTo(asked.value.archiveFloor);
    // An operator whose spec names no agents (no agentUrl, no sidecars) leaves --peers in force.
    if (asked.value.peers !== undefined && Object.keys(asked.value.peers).length > 0) this.adoptPeers(asked.value.peers);
  }

  private adoptPeers(urls: Readonly<Record<string, string>>): void {
    const next = Object.entries(urls)
      .filter(([site]) => site !== this.config.site)
      .map(([site, url]) => ({ site, url: url.replace(/\/$/, "") }))
      .sort((a, b) => a.site.localeCompare(b.site));
    if (JSON.stringify(next) === JSON.stringify(this.peers)) return;
    this.peers = next;
    // A site that left the group renews nothing any more.
    for (const site of Object.keys(this.peerReachedAt)) if (!next.some((p) => p.site === site)) delete this.peerReachedAt[site];
    this.log.info(LOG_MESSAGES.agentPeersChanged, { peers: next.map((p) => p.site) });
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
      groupSize: this.peers.length + 1,
      leaseTimeoutMs: this.leaseTimeoutMs,
      operatorConfirmedAt: this.operatorConfirmedAt,
      peerReachedAt: this.peerReachedAt,
      writableSince: this.writableSince,
      becameWritableAfter: this.becameWritableAfter,
    };
  }

  private answer(): PeerAnswer {
    const v = this.view;
    return {
      site: this.config.site,
      ...(v ? { view: { primary: v.primary, observedAgoMs: Math.max(0, Math.round(this.now() - v.observedAt)), source: v.source } } : {}),
      server: this.serverState,
      reachedWhileWritable: Object.fromEntries([...this.reachedWhileWritable].map(([site, at]) => [site, Math.max(0, Math.round(this.now() - at))])),
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

/** Nothing listens on the server's port: it is down, and takes no writes from anyone. */
function refused(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if ((e as NodeJS.ErrnoException).code === "ECONNREFUSED") return true;
  }
  return false;
}
