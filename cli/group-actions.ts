/**
 * Helpers the writing commands share (failover, reclone, maintenance): watch one group, read it
 * before a write, post annotations tied to the resourceVersion that was checked, and ask for
 * confirmation on a terminal.
 */
import type { Command } from "commander";
import type { MysqlFailoverGroup } from "../shared/api/index.js";
import { API_GROUP, API_VERSION, FAILOVER_GROUP } from "../shared/names.js";
import { explainApiError, usageError, type KubeContext } from "./kube-context.js";
import { OPERATOR_NAMESPACE } from "./commands/status.js";

/** Field manager of the plugin's writes, so managedFields tell them apart from the operator's. */
export const PLUGIN_FIELD_MANAGER = "kubectl-bloodraven";
const OPERATOR_SELECTOR = "app.kubernetes.io/name=bloodraven";
export const OPERATOR_PODS_HINT = `kubectl get pods -n ${OPERATOR_NAMESPACE} -l ${OPERATOR_SELECTOR}`;

export interface WatchHandle {
  stop(): void;
}

interface WatchCallbacks {
  object(g: MysqlFailoverGroup): void;
  deleted(): void;
  warning(text: string): void;
  fatal(err: Error): void;
}

const WATCH_TIMEOUT_S = 300;
const WATCH_STALL_MS = (WATCH_TIMEOUT_S + 30) * 1000;

/**
 * Watches one group from `resourceVersion` with client-node's Watch, as `status --watch` does:
 * restarts from the last resourceVersion when the server ends the watch, re-reads the object
 * after an ERROR event (410 Gone), backs off on errors; only RBAC and credential errors are fatal.
 */
export async function watchGroup(ctx: KubeContext, namespace: string, name: string, resourceVersion: string, on: WatchCallbacks): Promise<WatchHandle> {
  const { Watch } = await import("@kubernetes/client-node/dist/watch.js");
  const watch = new Watch(ctx.config);
  const path = `/apis/${API_GROUP}/${API_VERSION}/namespaces/${namespace}/${FAILOVER_GROUP.plural}`;
  let rv = resourceVersion;
  let stopped = false;
  let generation = 0;
  let failures = 0;
  let controller: AbortController | undefined;
  let stallTimer: NodeJS.Timeout | undefined;
  let retryTimer: NodeJS.Timeout | undefined;

  const retry = (reason: string, relist: boolean) => {
    if (stopped) return;
    const delay = Math.min(10_000, 500 * 2 ** Math.min(failures, 5));
    failures++;
    if (failures === 1 || failures % 5 === 0) on.warning(`watch interrupted (${reason}); reconnecting`);
    retryTimer = setTimeout(() => void start(relist), delay);
  };

  const start = async (relist: boolean): Promise<void> => {
    if (stopped) return;
    const mine = ++generation;
    if (relist) {
      try {
        const g = await ctx.kube.getFailoverGroup(namespace, name);
        if (stopped || mine !== generation) return;
        rv = g.metadata.resourceVersion ?? "";
        on.object(g);
      } catch (err) {
        const explained = explainApiError(err, { verb: "get", namespace, name }, ctx);
        if (/^(forbidden|unauthorized)/.test(explained.message)) return on.fatal(explained);
        if ((err as { status?: unknown }).status === 404) return on.deleted();
        return retry(explained.message, true);
      }
    }
    const startedAt = Date.now();
    const armStall = () => {
      clearTimeout(stallTimer);
      stallTimer = setTimeout(() => {
        if (mine !== generation) return;
        generation++;
        controller?.abort();
        retry("no data from the watch", true);
      }, WATCH_STALL_MS);
    };
    armStall();
    const params: Record<string, string | number | boolean> = {
      allowWatchBookmarks: true,
      timeoutSeconds: WATCH_TIMEOUT_S,
      fieldSelector: `metadata.name=${name}`,
    };
    if (rv) params.resourceVersion = rv;
    try {
      controller = await watch.watch(
        path,
        params,
        (phase: string, obj: unknown) => {
          if (mine !== generation || stopped) return;
          armStall();
          if (phase === "ERROR") {
            generation++;
            controller?.abort();
            void start(true);
            return;
          }
          const g = obj as MysqlFailoverGroup;
          if (g?.metadata?.resourceVersion) rv = g.metadata.resourceVersion;
          if (phase === "BOOKMARK") return;
          failures = 0;
          if (phase === "DELETED") on.deleted();
          else on.object(g);
        },
        (err: unknown) => {
          if (mine !== generation || stopped) return;
          clearTimeout(stallTimer);
          const status = (err as { statusCode?: number } | null)?.statusCode;
          if (status === 401 || status === 403) {
            const apiErr = Object.assign(new Error(String(status)), { name: "ApiError", status, reason: "" });
            return on.fatal(explainApiError(apiErr, { verb: "watch", namespace }, ctx));
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
  return {
    stop: () => {
      stopped = true;
      clearTimeout(stallTimer);
      clearTimeout(retryTimer);
      controller?.abort();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Helpers for commands that write requests (failover, reclone, maintenance)

function isApiError(err: unknown): err is Error & { status: number } {
  return err instanceof Error && err.name === "ApiError" && typeof (err as { status?: unknown }).status === "number";
}

/**
 * Reads the group a command is about to write to. A group that does not exist is rejected
 * input (exit 2, nothing written); other failures are explained and exit 1.
 */
export async function readGroupForWrite(command: Command, ctx: KubeContext, name: string): Promise<MysqlFailoverGroup> {
  try {
    return await ctx.kube.getFailoverGroup(ctx.namespace, name);
  } catch (err) {
    if (isApiError(err) && err.status === 404 && err.message.includes(`"${name}" not found`)) {
      usageError(command, `no ${FAILOVER_GROUP.kind} ${ctx.namespace}/${name}; kubectl get mfg -n ${ctx.namespace} lists them (nothing was changed)`);
    }
    throw explainApiError(err, { verb: "get", namespace: ctx.namespace, name }, ctx);
  }
}

/** One JSON merge patch of annotations (`null` removes a key), optionally only at `resourceVersion`. */
export async function patchAnnotations(ctx: KubeContext, name: string, annotations: Record<string, string | null>, resourceVersion?: string): Promise<MysqlFailoverGroup> {
  const { mergePatch } = await import("../operator/kube/client.js");
  const metadata = resourceVersion === undefined ? { annotations } : { annotations, resourceVersion };
  return ctx.kube.call(`patch ${FAILOVER_GROUP.plural} ${ctx.namespace}/${name}`, (options) =>
    ctx.kube.customObjects.patchNamespacedCustomObject(
      { group: API_GROUP, version: API_VERSION, plural: FAILOVER_GROUP.plural, namespace: ctx.namespace, name, body: { metadata }, fieldManager: PLUGIN_FIELD_MANAGER },
      mergePatch(options),
    ),
  );
}

/**
 * Posts annotations on the group exactly as it was checked: the patch carries the checked
 * resourceVersion, and when the group changed in between (409) it is read again, `recheck`
 * runs on the fresh copy (throwing a usage error when the request no longer holds), and the
 * patch is retried.
 */
export async function postAnnotations(
  command: Command,
  ctx: KubeContext,
  checked: MysqlFailoverGroup,
  annotations: Record<string, string | null>,
  recheck?: (fresh: MysqlFailoverGroup) => void,
): Promise<MysqlFailoverGroup> {
  const name = checked.metadata.name ?? "";
  let group = checked;
  for (let attempt = 1; ; attempt++) {
    try {
      return await patchAnnotations(ctx, name, annotations, recheck ? group.metadata.resourceVersion : undefined);
    } catch (err) {
      if (!(isApiError(err) && err.status === 409 && attempt < 5)) throw explainApiError(err, { verb: "patch", namespace: ctx.namespace, name }, ctx);
    }
    group = await readGroupForWrite(command, ctx, name);
    recheck?.(group);
  }
}

/** A human can answer: stdin and stderr (where prompts go) are terminals. */
export function isInteractive(): boolean {
  return process.stdin.isTTY === true && process.stderr.isTTY === true;
}

/** Asks on the terminal; Ctrl-C or end of input count as an empty answer. */
export async function ask(question: string): Promise<string> {
  const { createInterface } = await import("node:readline/promises");
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const controller = new AbortController();
  rl.on("SIGINT", () => controller.abort());
  rl.on("close", () => controller.abort());
  try {
    return await rl.question(question, { signal: controller.signal });
  } catch {
    process.stderr.write("\n");
    return "";
  } finally {
    rl.close();
  }
}

/** A usage error (exit 2) when `yes` is not given and nobody can be asked. */
export function requireConfirmation(command: Command, yes: boolean | undefined, what: string): void {
  if (yes || isInteractive()) return;
  usageError(command, `refusing without --yes: ${what}, and stdin is not a terminal to confirm it; read the summary above and rerun with --yes`);
}
