/**
 * A watch on MysqlFailoverGroups (client-node's Watch) that survives what a network does at 3 a.m.:
 * it restarts from the last resourceVersion when the server ends the watch, reads everything again
 * after an ERROR event (410 Gone) or when no data came for longer than the server's timeout, and
 * backs off on errors. Only RBAC and credential errors end it. `status --watch` and
 * `failover --wait` both follow groups through it.
 */
import type { MysqlFailoverGroup } from "../shared/api/index.js";
import { API_GROUP, API_VERSION, FAILOVER_GROUP } from "../shared/names.js";
import { explainApiError, type KubeContext } from "./kube-context.js";

export interface WatchHandle {
  stop(): void;
}

export interface GroupWatchOptions {
  /** One namespace; undefined: every namespace. */
  namespace?: string;
  /** One group by name; undefined: every group. */
  name?: string;
  /** Where the watch starts: the resourceVersion of the read it follows. */
  resourceVersion: string;
  /**
   * Reads everything again and hands it over; resolves to the resourceVersion to go on from, or to
   * undefined when the watch must end (the caller has said why). A rejection is retried.
   */
  relist(): Promise<string | undefined>;
  event(phase: "ADDED" | "MODIFIED" | "DELETED", g: MysqlFailoverGroup): void;
  warning(text: string): void;
  fatal(err: Error): void;
}

const WATCH_TIMEOUT_S = 300;
const WATCH_STALL_MS = (WATCH_TIMEOUT_S + 30) * 1000;

export async function watchGroups(ctx: KubeContext, opts: GroupWatchOptions): Promise<WatchHandle> {
  const { Watch } = await import("@kubernetes/client-node/dist/watch.js");
  const watch = new Watch(ctx.config);
  const path =
    opts.namespace === undefined
      ? `/apis/${API_GROUP}/${API_VERSION}/${FAILOVER_GROUP.plural}`
      : `/apis/${API_GROUP}/${API_VERSION}/namespaces/${opts.namespace}/${FAILOVER_GROUP.plural}`;
  let rv = opts.resourceVersion;
  let stopped = false;
  let generation = 0;
  let failures = 0;
  let controller: AbortController | undefined;
  let stallTimer: NodeJS.Timeout | undefined;
  let retryTimer: NodeJS.Timeout | undefined;

  const stop = (): void => {
    stopped = true;
    clearTimeout(stallTimer);
    clearTimeout(retryTimer);
    controller?.abort();
  };

  const retry = (reason: string, relist: boolean): void => {
    if (stopped) return;
    const delay = Math.min(10_000, 500 * 2 ** Math.min(failures, 5));
    failures++;
    if (failures === 1 || failures % 5 === 0) opts.warning(`watch interrupted (${reason}); reconnecting`);
    retryTimer = setTimeout(() => void start(relist), delay);
  };

  const start = async (relist: boolean): Promise<void> => {
    if (stopped) return;
    const mine = ++generation;
    if (relist) {
      let next: string | undefined;
      try {
        next = await opts.relist();
      } catch (err) {
        return retry(err instanceof Error ? err.message : String(err), true);
      }
      if (stopped || mine !== generation) return;
      if (next === undefined) return stop();
      rv = next;
    }
    const startedAt = Date.now();
    const armStall = (): void => {
      clearTimeout(stallTimer);
      stallTimer = setTimeout(() => {
        if (mine !== generation) return;
        generation++;
        controller?.abort();
        retry("no data from the watch", true);
      }, WATCH_STALL_MS);
    };
    armStall();
    const params: Record<string, string | number | boolean> = { allowWatchBookmarks: true, timeoutSeconds: WATCH_TIMEOUT_S };
    if (opts.name !== undefined) params.fieldSelector = `metadata.name=${opts.name}`;
    if (rv) params.resourceVersion = rv;
    try {
      controller = await watch.watch(
        path,
        params,
        (phase: string, obj: unknown) => {
          if (mine !== generation || stopped) return;
          armStall();
          if (phase === "ERROR") {
            // 410 Gone (the resourceVersion is too old) or another Status: read everything again.
            generation++;
            controller?.abort();
            void start(true);
            return;
          }
          const g = obj as MysqlFailoverGroup;
          if (g?.metadata?.resourceVersion) rv = g.metadata.resourceVersion;
          if (phase === "BOOKMARK") return;
          failures = 0;
          if (phase === "ADDED" || phase === "MODIFIED" || phase === "DELETED") opts.event(phase, g);
        },
        (err: unknown) => {
          if (mine !== generation || stopped) return;
          clearTimeout(stallTimer);
          const status = (err as { statusCode?: number } | null)?.statusCode;
          if (status === 401 || status === 403) {
            const apiErr = Object.assign(new Error(String(status)), { name: "ApiError", status, reason: "" });
            stop();
            return opts.fatal(explainApiError(apiErr, { verb: "watch", ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}) }, ctx));
          }
          if (err) return retry(err instanceof Error ? err.message : String(err), status === 410);
          // The server ended the watch (timeoutSeconds): carry on from the last resourceVersion.
          if (Date.now() - startedAt < 1_000) return retry("the watch ended at once", false);
          void start(false);
        },
      );
      if (stopped) controller.abort();
    } catch (err) {
      if (mine === generation) retry(err instanceof Error ? err.message : String(err), true);
    }
  };
  void start(false);
  return { stop };
}

/** Errors (as explainApiError words them) that reading again cannot fix: the watch ends with them. */
export const isFatalReadError = (err: unknown): err is Error => err instanceof Error && new RegExp(`^(forbidden|unauthorized|no ${FAILOVER_GROUP.kind} )`).test(err.message);
