import { Writable } from "node:stream";
import type { Command } from "commander";
import { parsePositiveDuration } from "../shared/duration.js";
import { errorText } from "../shared/errors.js";
import { usageError, type KubeContext } from "./kube-context.js";

/** `--since`: a positive duration, as whole seconds (at least 1); a bad one is a usage error. */
export function sinceFlag(command: Command, value: string): number {
  try {
    return Math.max(1, Math.ceil(parsePositiveDuration(value) / 1000));
  } catch (err) {
    return usageError(command, `--since: ${errorText(err)}`);
  }
}

/** Without `follow`, the whole log must have arrived by then. */
const READ_MS = 60_000;

/** Splits a stream of log text into lines and hands each to `keep`. */
function lineFilter(keep: (line: string) => void): Writable {
  let rest = "";
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      const lines = (rest + chunk.toString("utf8")).split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) keep(line);
      done();
    },
    final(done) {
      if (rest !== "") keep(rest);
      done();
    },
  });
}

export interface PodLogRequest {
  namespace: string;
  pod: string;
  container: string;
  /** Keep reading until the stream ends (the container stops, or Ctrl-C). */
  follow?: boolean;
  sinceSeconds?: number;
  tailLines?: number;
}

/**
 * Reads a container's log a line at a time. The API server must answer within the context's
 * request timeout, and without `follow` the whole log must arrive within 60 s. A refused or failed
 * read names the `kubectl auth can-i` check.
 */
export async function readPodLog(ctx: KubeContext, request: PodLogRequest, onLine: (line: string) => void): Promise<void> {
  const { namespace, pod, container } = request;
  const { Log } = await import("@kubernetes/client-node");
  const sink = lineFilter(onLine);
  const ended = new Promise<void>((resolve, reject) => {
    sink.once("finish", resolve);
    sink.once("error", reject);
  });
  const options = {
    follow: request.follow === true,
    ...(request.sinceSeconds !== undefined ? { sinceSeconds: request.sinceSeconds } : {}),
    ...(request.tailLines !== undefined ? { tailLines: request.tailLines } : {}),
  };
  const started = new Log(ctx.config).log(namespace, pod, container, sink, options);
  let timer: NodeJS.Timeout | undefined;
  const answered = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ctx.timeoutMs} ms`)), ctx.timeoutMs)));
  const controller = await Promise.race([started, answered])
    .catch((err: unknown) => {
      throw new Error(`reading the log of ${namespace}/${pod} (container ${container}): ${errorText(err)} (kubectl auth can-i get pods/log -n ${namespace})`);
    })
    .finally(() => clearTimeout(timer));
  if (!request.follow) {
    const reading = setTimeout(() => {
      controller.abort();
      sink.destroy(new Error(`the log of ${namespace}/${pod} (container ${container}) did not arrive within ${READ_MS / 1000}s: narrow it with --since`));
    }, READ_MS);
    void ended.finally(() => clearTimeout(reading)).catch(() => undefined);
  }
  await ended;
}
