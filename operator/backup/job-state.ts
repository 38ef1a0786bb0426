/**
 * What became of a backup's Job, read from the API server: not there, running, or finished with
 * the result line its command wrote as the pod's termination message.
 */
import type { V1Job, V1Pod } from "@kubernetes/client-node";
import type { BackupJobState } from "../../shared/backup/job-result.js";

/** The label the Job controller puts on its pods. */
const JOB_NAME_LABEL = "batch.kubernetes.io/job-name";

export interface JobReader {
  getJob(namespace: string, name: string): Promise<V1Job | undefined>;
  listPods(namespace: string, labelSelector: string): Promise<V1Pod[]>;
}

export async function backupJobState(kube: JobReader, namespace: string, name: string, container: string): Promise<BackupJobState> {
  const job = await kube.getJob(namespace, name);
  if (!job) return { state: "absent" };
  const conditions = job.status?.conditions ?? [];
  const done = (type: string) => conditions.some((c) => c.type === type && c.status === "True");
  const succeeded = done("Complete");
  if (!succeeded && !done("Failed")) return job.metadata?.deletionTimestamp ? { state: "running", stopping: true } : { state: "running" };
  const pods = await kube.listPods(namespace, `${JOB_NAME_LABEL}=${name}`);
  const message = pods
    .flatMap((p) => p.status?.containerStatuses ?? [])
    .filter((c) => c.name === container)
    .map((c) => c.state?.terminated?.message)
    .find((m) => m !== undefined && m !== "");
  // Without a result (the pod is gone, or was killed before it wrote one), the Job's own reason says why.
  const failure = conditions.find((c) => c.type === "Failed" && c.status === "True");
  const gone = pods.length === 0 ? "; its pod is gone (evicted, deleted, or never made: kubectl describe job)" : "";
  return { state: "finished", succeeded, result: message, ...(failure ? { reason: `${`${failure.reason ?? ""} ${failure.message ?? ""}`.trim()}${gone}` } : {}) };
}
