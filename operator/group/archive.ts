import type { ArchiverStatus } from "../../shared/agent/archiver-status.js";
import { pitrStatus } from "../../shared/backup/pitr-status.js";
import { agentUrls } from "../../shared/managed/sites.js";
import { askArchiver } from "../agent/ask.js";
import type { GroupContext } from "./context.js";
import { DONE, type GroupCycle, type ReconcileResult, type Reconciler } from "./reconciler.js";

/** The archive changes at most once a sealed binary log: asking every few seconds is plenty. */
const ASK_EVERY_MS = 10_000;
const ASK_TIMEOUT_MS = 2_000;

/**
 * Reads each site agent's binary log archive (GET /archiver/status) into the
 * bloodraven_archiver_* metrics and status.pitr (shared/backup/pitr-status.ts). A site whose agent
 * archives nothing, or does not answer, has no such series and no entry: an alert on a stale last
 * upload then fires on the missing series, not on a number the operator made up.
 */
export class ArchiveReconciler implements Reconciler {
  readonly name = "archive";
  private askedAt = -Infinity;
  private asking: Promise<void> | undefined;
  private stopped = false;
  /** The last answer of each site whose agent archives; complete once a first round of asks ended. */
  private readonly answers = new Map<string, ArchiverStatus>();
  private answered = false;

  constructor(private readonly ctx: GroupContext) {}

  /**
   * Never waits for the agents: an unreachable one would hold the whole cycle (and so failover)
   * for its timeout. The asks run beside the cycle, one round at a time, and set the metrics as
   * their answers arrive.
   */
  async reconcile(_cycle: GroupCycle): Promise<ReconcileResult> {
    const { ctx } = this;
    // Before the first round ends (an operator start, a new leader), the answers are not known yet:
    // status.pitr stays as it was rather than vanish for a cycle.
    const pitr = pitrStatus(this.answers, ctx.archiveFloor);
    if (this.answered && JSON.stringify(pitr) !== JSON.stringify(ctx.store.written?.pitr)) await ctx.store.persistSeen("pitr", pitr);
    const now = performance.now();
    if (this.asking || now - this.askedAt < ASK_EVERY_MS) return DONE;
    this.askedAt = now;
    this.asking = this.askAll().finally(() => {
      this.asking = undefined;
      this.answered = true;
    });
    return DONE;
  }

  private async askAll(): Promise<void> {
    const { ctx } = this;
    const urls = agentUrls(ctx.spec, ctx.name, ctx.namespace, ctx.deps.sidecar !== undefined);
    for (const site of this.answers.keys()) if (!ctx.spec.sites.some((s) => s.name === site)) this.answers.delete(site);
    await Promise.all(
      ctx.spec.sites.map(async ({ name: site }) => {
        const url = urls.get(site);
        const asked = url === undefined ? undefined : await askArchiver(url, ASK_TIMEOUT_MS);
        if (this.stopped) return;
        const archive = asked?.ok ? asked.value : null;
        if (archive === null) {
          this.answers.delete(site);
          ctx.deps.metrics.clearArchiver(ctx.namespace, ctx.name, site);
          return;
        }
        this.answers.set(site, archive);
        const last = archive.lastArchivedAt === undefined ? 0 : Math.floor(Date.parse(archive.lastArchivedAt) / 1000);
        ctx.deps.metrics.setArchiver(ctx.namespace, ctx.name, site, { uploadFailures: archive.uploadFailures, lastUploadSeconds: last, backlogFiles: archive.backlogFiles });
      }),
    );
  }

  stop(): void {
    this.stopped = true;
    for (const { name } of this.ctx.spec.sites) this.ctx.deps.metrics.clearArchiver(this.ctx.namespace, this.ctx.name, name);
  }
}
