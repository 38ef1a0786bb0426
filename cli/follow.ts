/**
 * `--wait` of the commands that post a request (failover, reclone): follows the group through a
 * watch (group-watch.ts) and hands every version to the command, which says where its request
 * stands and when it has ended. Around that: a spinner on a terminal and timestamped lines
 * otherwise, the --timeout deadline, and Ctrl-C, which stops waiting and leaves the request to
 * the operator. `--wait` of the commands that create an object the operator carries out (backup,
 * verify-backup) polls that object instead (followPhases).
 */
import type { Command } from "commander";
import type { ChalkInstance } from "chalk";
import type { MysqlFailoverGroup } from "../shared/api/index.js";
import { DurationError, formatDuration, parsePositiveDuration } from "../shared/duration.js";
import { API_GROUP, FAILOVER_GROUP, type BackupPhase } from "../shared/names.js";
import { colors, useColor } from "./format.js";
import { watchGroup } from "./group-actions.js";
import type { WatchHandle } from "./group-watch.js";
import { explainApiError, usageError, writeErr, writeOut, type KubeContext } from "./kube-context.js";

/** The longest delay a Node.js timer can express (a longer --timeout would fire at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** How often followPhases reads its object: a backup's phase changes a few times over minutes or hours. */
const PHASE_POLL_MS = 2_000;

/** A duration flag greater than zero; anything else is bad input (exit 2) before anything is written. */
export function durationFlag(command: Command, flag: string, text: string): number {
  try {
    return parsePositiveDuration(text);
  } catch (err) {
    if (err instanceof DurationError) usageError(command, `${flag}: ${err.message}`);
    throw err;
  }
}

/** `--timeout` of a `--wait`, in ms: a duration, and given only together with --wait. */
export function waitTimeout(command: Command, opts: { wait?: boolean; timeout: string }): number {
  const ms = durationFlag(command, "--timeout", opts.timeout);
  if (!opts.wait && command.getOptionValueSource("timeout") === "cli") usageError(command, "--timeout only applies with --wait");
  return ms;
}

/** How a wait ends: the exit code and the last words (stdout for success, stderr otherwise). */
export interface WaitEnd {
  code: number;
  stream: "out" | "err";
  text: string;
}

/** What the command's examination of each version of the group may do. */
export interface Follow {
  /** The group as last seen. */
  readonly latest: MysqlFailoverGroup;
  /** Time since the request was posted. */
  elapsedMs(): number;
  /**
   * Where the request stands: a new line (a new spinner step) when `key` differs from the last
   * one shown, otherwise only the spinner's text changes. `final` marks the last step.
   */
  show(key: string, text: string, final?: { ok: boolean }): void;
  note(text: string): void;
  /** Runs `fn` after `ms` unless the wait has ended by then; the returned function cancels it. */
  later(ms: number, fn: () => void): () => void;
  /** Ends the wait; later calls are ignored. */
  finish(end: WaitEnd): void;
}

export interface FollowSpec {
  /** The group as the post returned it: examined first, and where the watch starts. */
  posted: MysqlFailoverGroup;
  startedAt: number;
  timeoutMs: number;
  /** What is awaited, after "waiting for" (e.g. `the operator to act on request <id>`). */
  awaiting: string;
  examine(g: MysqlFailoverGroup, follow: Follow): void;
  timedOut(latest: MysqlFailoverGroup): WaitEnd;
  interrupted(latest: MysqlFailoverGroup): WaitEnd;
}

interface Progress {
  /** A new step; `final` when it ends the request. */
  step(text: string, elapsedMs: number, final?: { ok: boolean }): void;
  /** New text for the current step (a byte count that grew); lines leave it out. */
  update(text: string): void;
  note(text: string): void;
  stop(): void;
}

function elapsedText(ms: number): string {
  return formatDuration(Math.floor(Math.max(0, ms) / 1000) * 1000);
}

/** Plain timestamped lines: `2026-11-22T03:00:04Z +3s Draining: fencing iad`. */
function lineProgress(command: Command): Progress {
  const stamp = () => `${new Date().toISOString().slice(0, 19)}Z`;
  return {
    step: (text, elapsed) => writeOut(command, `${stamp()} +${elapsedText(elapsed)} ${text}\n`),
    update: () => undefined,
    note: (text) => writeOut(command, `${stamp()} ${text}\n`),
    stop: () => undefined,
  };
}

/** An ora spinner on the terminal: each finished step stays as a line, the current one spins. */
async function spinnerProgress(c: ChalkInstance, startedAt: number, first: string): Promise<Progress> {
  const { default: ora } = await import("ora");
  let current = first;
  let since = startedAt;
  const spinner = ora({ stream: process.stdout, text: current }).start();
  const render = () => {
    const total = elapsedText(Date.now() - startedAt);
    spinner.text = `${current} ${c.dim(since === startedAt ? `(${total})` : `(${elapsedText(Date.now() - since)}, total ${total})`)}`;
  };
  render();
  const tick = setInterval(render, 1_000);
  return {
    step: (text, elapsed, final) => {
      const failed = final !== undefined && !final.ok;
      spinner.stopAndPersist({ symbol: failed ? c.red("✗") : c.green("✓"), text: `${current} ${c.dim(`(${elapsedText(Date.now() - since)})`)}` });
      current = text;
      since = startedAt + elapsed;
      if (final) return;
      spinner.start();
      render();
    },
    update: (text) => {
      current = text;
      render();
    },
    note: (text) => {
      spinner.clear();
      process.stdout.write(`${text}\n`);
      render();
    },
    stop: () => {
      clearInterval(tick);
      spinner.stop();
    },
  };
}

/**
 * Follows the group until `spec.examine` finishes the wait, the deadline passes, the group is
 * deleted or the watch cannot go on; returns the exit code (130 on Ctrl-C).
 */
export async function followGroup(command: Command, ctx: KubeContext, spec: FollowSpec): Promise<number> {
  const { posted, startedAt, timeoutMs } = spec;
  // A spinner needs a terminal with a width (ora divides by it); anything else gets plain lines.
  const spin = useColor() && (process.stdout.columns ?? 0) > 0;
  const progress = spin ? await spinnerProgress(colors(true), startedAt, `waiting for ${spec.awaiting}`) : lineProgress(command);
  if (!spin) progress.note(`waiting up to ${formatDuration(timeoutMs)} for ${spec.awaiting}`);
  const name = posted.metadata.name ?? "";
  const key = `${posted.metadata.namespace ?? ""}/${name}`;
  const timers = new Set<NodeJS.Timeout>();
  let latest = posted;
  let lastKey: string | undefined;

  const end = await new Promise<WaitEnd>((resolve) => {
    let finished = false;
    let handle: WatchHandle | undefined;
    const finish = (e: WaitEnd) => {
      if (finished) return;
      finished = true;
      clearTimeout(deadline);
      for (const t of timers) clearTimeout(t);
      process.off("SIGINT", onInterrupt);
      handle?.stop();
      resolve(e);
    };
    const follow: Follow = {
      get latest() {
        return latest;
      },
      elapsedMs: () => Date.now() - startedAt,
      show: (k, text, final) => {
        if (k === lastKey) return progress.update(text);
        lastKey = k;
        progress.step(text, Date.now() - startedAt, final);
      },
      note: (text) => progress.note(text),
      later: (ms, fn) => {
        if (finished) return () => undefined;
        const t = setTimeout(() => {
          timers.delete(t);
          if (!finished) fn();
        }, ms);
        timers.add(t);
        return () => {
          clearTimeout(t);
          timers.delete(t);
        };
      },
      finish,
    };
    const examine = (g: MysqlFailoverGroup) => {
      if (finished) return;
      latest = g;
      spec.examine(g, follow);
    };
    const deadline = setTimeout(() => finish(spec.timedOut(latest)), Math.min(timeoutMs, MAX_TIMER_MS));
    const onInterrupt = () => finish(spec.interrupted(latest));
    process.on("SIGINT", onInterrupt);

    examine(posted);
    if (finished) return;
    const failed = (text: string): WaitEnd => ({ code: 1, stream: "err", text: `error: ${text}\n` });
    void watchGroup(ctx, ctx.namespace, name, posted.metadata.resourceVersion ?? "", {
      object: examine,
      deleted: () => finish(failed(`${FAILOVER_GROUP.kind} ${key} was deleted while waiting`)),
      warning: (text) => progress.note(`warning: ${text}`),
      fatal: (err) => finish(failed(err.message)),
    }).then(
      (h) => {
        if (finished) h.stop();
        else handle = h;
      },
      (err: unknown) => finish(failed(`cannot watch ${key}: ${err instanceof Error ? err.message : String(err)}`)),
    );
  });
  progress.stop();
  (end.stream === "out" ? writeOut : writeErr)(command, end.text);
  return end.code;
}

/** An object the operator takes through Pending and Running to Succeeded or Failed (MysqlBackup, MysqlBackupVerification). */
/** An object the operator carries out, by its name. */
export interface Requested {
  kind: string;
  metadata: { name?: string };
}

/**
 * The line for where such an object stands: Pending and Running with the operator's message,
 * Failed with why, Succeeded as `succeeded` tells the outcome.
 */
export function describePhase<S extends { phase?: BackupPhase | undefined; message?: string | undefined }>(status: S | undefined, succeeded: (status: S) => string): string {
  switch (status?.phase) {
    case undefined:
      return "Pending: created, not picked up by the operator yet";
    case "Pending":
    case "Running":
      return `${status.phase}: ${status.message ?? ""}`.replace(/: $/, "");
    case "Succeeded":
      return `Succeeded: ${succeeded(status)}`;
    case "Failed":
      return `Failed: ${status.message ?? ""}`;
  }
}

/** An object through which a command asks the operator for work, and how the command handles it. */
export interface RequestedObject<T extends Requested> {
  object: T;
  /** What messages call it: `backup`, `verification`. */
  noun: string;
  /** Its resource's names (shared/names.ts), for messages and the way back to it. */
  names: { readonly plural: string; readonly singular: string };
  /** What the `created` line says was asked for, after the name. */
  summary: string;
  /** Creates it unless an object of its name exists (false then). */
  create(object: T): Promise<boolean>;
  get(namespace: string, name: string): Promise<T>;
  /** Where it stands: Pending, Running, Succeeded or Failed; undefined before the operator took it up. */
  phase(object: T): BackupPhase | undefined;
  /** One line for where it stands; --wait prints a new one whenever it changes. */
  describe(object: T): string;
  /** What to do when it failed, after `error: <noun> <namespace>/<name> failed; `. */
  failedHint: string;
}

/**
 * Reads the object every 2 s until it Succeeded (0), Failed (1) or the timeout passed (1; the
 * operator goes on with it), printing a timestamped line whenever its description changes. A
 * poll rather than a watch: the phase changes a handful of times in hours, and `get` is all the
 * on-call role grants on these objects.
 */
export async function followPhases<T extends Requested>(command: Command, ctx: KubeContext, spec: Omit<RequestedObject<T>, "create" | "summary">, timeoutMs: number): Promise<number> {
  const name = spec.object.metadata.name ?? "";
  const key = `${ctx.namespace}/${name}`;
  const progress = lineProgress(command);
  const startedAt = Date.now();
  let last = "";
  for (;;) {
    let object: T;
    try {
      object = await spec.get(ctx.namespace, name);
    } catch (err) {
      throw explainApiError(err, { verb: "get", resource: `${spec.names.plural}.${API_GROUP}`, namespace: ctx.namespace, name }, ctx);
    }
    const line = spec.describe(object);
    if (line !== last) progress.step(line, Date.now() - startedAt);
    last = line;
    const phase = spec.phase(object);
    if (phase === "Succeeded") return 0;
    if (phase === "Failed") {
      writeErr(command, `error: ${spec.noun} ${key} failed; ${spec.failedHint}\n`);
      return 1;
    }
    const elapsedMs = Date.now() - startedAt;
    if (elapsedMs >= timeoutMs) {
      writeErr(command, `error: ${spec.noun} ${key} has not ended within ${formatDuration(timeoutMs)} (--timeout); it goes on: kubectl get ${spec.names.singular} ${name} -n ${ctx.namespace}\n`);
      return 1;
    }
    await new Promise((r) => setTimeout(r, Math.min(PHASE_POLL_MS, timeoutMs - elapsedMs)));
  }
}

/**
 * Creates the object (under --dry-run prints it instead), says so, and with --wait follows it to
 * its end and exits with followPhases' code. A name already taken is bad input (exit 2): the
 * object there is someone else's request, not this one.
 */
export async function createAndFollow<T extends Requested>(
  command: Command,
  ctx: KubeContext,
  flags: { dryRun?: boolean | undefined; wait?: boolean | undefined; timeoutMs: number },
  spec: RequestedObject<T>,
): Promise<void> {
  const key = `${ctx.namespace}/${spec.object.metadata.name ?? ""}`;
  if (flags.dryRun) {
    writeOut(command, `dry run: nothing was written. Would create:\n${JSON.stringify(spec.object, null, 2)}\n`);
    return;
  }
  let created: boolean;
  try {
    created = await spec.create(spec.object);
  } catch (err) {
    throw explainApiError(err, { verb: "create", resource: `${spec.names.plural}.${API_GROUP}`, namespace: ctx.namespace }, ctx);
  }
  if (!created) usageError(command, `a ${spec.object.kind} ${key} exists already; give another --name`);
  writeOut(command, `created ${spec.object.kind} ${key} (${spec.summary})\n`);
  if (!flags.wait) return;
  const code = await followPhases(command, ctx, spec, flags.timeoutMs);
  // Leave now rather than when pooled keep-alive sockets time out.
  process.exit(code);
}
