/**
 * Helpers the writing commands share (failover, reclone, maintenance): follow one group, read it
 * before a write, post annotations tied to the resourceVersion that was checked, and ask for
 * confirmation on a terminal.
 */
import { Option, type Command } from "commander";
import type { MysqlFailoverGroup } from "../shared/api/index.js";
import { explainApiError, isNotFound, usageError, writeOut, type KubeContext } from "./kube-context.js";
import { API_GROUP, API_VERSION, FAILOVER_GROUP } from "../shared/names.js";
import { OPERATOR_NAMESPACE } from "./commands/status.js";
import { isFatalReadError, watchGroups, type WatchHandle } from "./group-watch.js";

/** Field manager of the plugin's writes, so managedFields tell them apart from the operator's. */
export const PLUGIN_FIELD_MANAGER = "kubectl-bloodraven";
const OPERATOR_SELECTOR = "app.kubernetes.io/name=bloodraven";
export const OPERATOR_PODS_HINT = `kubectl get pods -n ${OPERATOR_NAMESPACE} -l ${OPERATOR_SELECTOR}`;

interface WatchCallbacks {
  object(g: MysqlFailoverGroup): void;
  deleted(): void;
  warning(text: string): void;
  fatal(err: Error): void;
}

/** Follows one group (group-watch.ts); a re-read that finds it gone counts as deleted. */
export function watchGroup(ctx: KubeContext, namespace: string, name: string, resourceVersion: string, on: WatchCallbacks): Promise<WatchHandle> {
  return watchGroups(ctx, {
    namespace,
    name,
    resourceVersion,
    relist: async () => {
      try {
        const g = await ctx.kube.getFailoverGroup(namespace, name);
        on.object(g);
        return g.metadata.resourceVersion ?? "";
      } catch (err) {
        if ((err as { status?: unknown }).status === 404) {
          on.deleted();
          return undefined;
        }
        const explained = explainApiError(err, { verb: "get", namespace, name }, ctx);
        if (!isFatalReadError(explained)) throw explained;
        on.fatal(explained);
        return undefined;
      }
    },
    event: (phase, g) => (phase === "DELETED" ? on.deleted() : on.object(g)),
    warning: (text) => on.warning(text),
    fatal: (err) => on.fatal(err),
  });
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
    if (isNotFound(err, name)) {
      usageError(command, `no ${FAILOVER_GROUP.kind} ${ctx.namespace}/${name}; kubectl get mfg -n ${ctx.namespace} lists them (nothing was changed)`);
    }
    throw explainApiError(err, { verb: "get", namespace: ctx.namespace, name }, ctx);
  }
}

/** What a writing command's check of the group says: refuse, nothing to do, or go on. */
export type WriteCheck = { verdict: "reject"; message: string } | { verdict: "noop"; message: string } | { verdict: "post" };

/**
 * Reads the group and checks the request against it: a rejection is bad input (exit 2, nothing
 * written), "nothing to do" is said and ends the command (undefined); otherwise the group and the
 * passing check.
 */
export async function readAndCheck<C extends WriteCheck>(
  command: Command,
  ctx: KubeContext,
  name: string,
  check: (g: MysqlFailoverGroup) => C,
): Promise<{ group: MysqlFailoverGroup; check: Extract<C, { verdict: "post" }> } | undefined> {
  const group = await readGroupForWrite(command, ctx, name);
  const result = check(group);
  if (result.verdict === "reject") usageError(command, `${result.message} (nothing was changed)`);
  if (result.verdict === "noop") {
    writeOut(command, `${result.message}\n`);
    return undefined;
  }
  return { group, check: result as Extract<C, { verdict: "post" }> };
}

/** One JSON merge patch of annotations (`null` removes a key), optionally only at `resourceVersion`. */
export async function patchAnnotations(ctx: KubeContext, name: string, annotations: Record<string, string | null>, resourceVersion?: string): Promise<MysqlFailoverGroup> {
  const { mergePatch } = await import("../shared/kube/client.js");
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

/** `--dry-run` of the commands that write: one flag, one meaning. */
export function dryRunOption(): Option {
  return new Option("--dry-run", "check the request as usual and print what would be written, without writing anything");
}

/**
 * What a writing command prints under --dry-run instead of writing: the annotation changes it
 * would send to the group it checked (`null` removes a key), and what it would do next.
 */
export function reportDryRun(command: Command, g: MysqlFailoverGroup, annotations: Record<string, string | null>, then?: string): void {
  const changes = Object.entries(annotations).map(([k, v]) => (v === null ? `  remove ${k}\n` : `  set ${k}=${v}\n`));
  const next = then ? `  then ${then}\n` : "";
  writeOut(command, `dry run: nothing was written; without --dry-run the plugin would patch the annotations of ${g.metadata.namespace ?? ""}/${g.metadata.name ?? ""}:\n${changes.join("")}${next}`);
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
