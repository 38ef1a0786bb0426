/**
 * The one-line JSON result a Job's command writes as its termination message
 * (operator/backup/job.ts), read back by the operator: Failed with its message, Succeeded with
 * the fields the caller checks, or unreadable. And what a failed Job says, with or without one.
 */
/** The Job as the operator finds it; `result` is the line the command wrote as its termination message. */
export type BackupJobState =
  | { readonly state: "absent" }
  /** `stopping`: the Job is deleted and waits for its pod to end. */
  | { readonly state: "running"; readonly stopping?: boolean }
  /** `reason`: the Job's own, when it failed (e.g. DeadlineExceeded). */
  | { readonly state: "finished"; readonly succeeded: boolean; readonly result: string | undefined; readonly reason?: string };

/** `serverChanged: false`: a restore into a running server failed before it changed the server. */
export type JobResult<T> = ({ readonly phase: "Succeeded" } & T) | { readonly phase: "Failed"; readonly message: string; readonly serverChanged?: false } | { readonly phase: "unreadable"; readonly error: string };

/**
 * `succeeded` checks a Succeeded result's fields and returns them, or undefined when one is
 * missing or wrong; `fields` names them for the message.
 */
export function readJobResult<T>(text: string | undefined, succeeded: (r: Record<string, unknown>) => T | undefined, fields: string): JobResult<T> {
  if (text === undefined || text.trim() === "") return { phase: "unreadable", error: "no termination message" };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { phase: "unreadable", error: `a termination message that is no JSON: ${JSON.stringify(text.slice(0, 200))}` };
  }
  const r = (typeof value === "object" && value !== null ? value : {}) as Record<string, unknown>;
  if (r.phase === "Failed" && typeof r.message === "string") return { phase: "Failed", message: r.message, ...(r.serverChanged === false ? { serverChanged: false as const } : {}) };
  const fieldsRead = r.phase === "Succeeded" ? succeeded(r) : undefined;
  if (fieldsRead !== undefined) return { phase: "Succeeded", ...fieldsRead };
  return { phase: "unreadable", error: `a result without phase, ${fields}: ${JSON.stringify(text.slice(0, 200))}` };
}

export const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
export const isFilled = (v: unknown): v is string => typeof v === "string" && v !== "";

/** Why a finished Job failed: its result's message, or what the Job itself says without one. */
export function jobFailureMessage(jobName: string, job: Extract<BackupJobState, { state: "finished" }>, result: JobResult<unknown>): string {
  switch (result.phase) {
    case "Failed":
      return result.message;
    case "Succeeded":
      return `the Job ${jobName} failed although its result says Succeeded: see its pod's log`;
    case "unreadable":
      return job.succeeded ? `the Job ${jobName} succeeded but its result is unreadable: ${result.error}` : `the Job ${jobName} failed without a result (${job.reason || result.error}): see its pod's log`;
  }
}
