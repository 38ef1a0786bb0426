import { readdir, readFile } from "node:fs/promises";
import { waitFor } from "../../scripts/env/ports.js";
import { kubectl } from "./kubectl.js";

export interface Pod {
  metadata: { name: string; uid: string };
  status?: {
    phase?: string;
    podIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { name: string; restartCount: number; state?: { terminated?: { exitCode: number; reason?: string } } }[];
  };
}

/** `kubectl get -o json` of one object; throws with kubectl's error. */
export async function getObject<T>(args: string[]): Promise<T> {
  const r = await kubectl(["get", ...args, "-o", "json"]);
  if (r.code !== 0) throw new Error(`kubectl get ${args.join(" ")}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

const isReady = (pod: Pod) => pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

/**
 * Polls until the pod is Ready and, with `replacing`, is not the pod of that uid (a StatefulSet
 * recreates a deleted pod under the same name). The pod's last state is in the timeout's message.
 */
export async function readyPod(ns: string, name: string, opts: { replacing?: string; timeoutMs?: number } = {}): Promise<Pod> {
  let last = "not found";
  try {
    return await waitFor(
      `pod ${ns}/${name} Ready`,
      async () => {
        const r = await kubectl(["get", "pod", name, "-n", ns, "-o", "json"]);
        if (r.code !== 0) return undefined;
        const pod = JSON.parse(r.stdout) as Pod;
        last = JSON.stringify(pod.status ?? {});
        return pod.metadata.uid !== opts.replacing && isReady(pod) ? pod : undefined;
      },
      opts.timeoutMs ?? 90_000,
      250,
    );
  } catch (err) {
    const events = await kubectl(["get", "events", "-n", ns, "--field-selector", `involvedObject.name=${name}`, "-o", "custom-columns=REASON:.reason,MESSAGE:.message"]);
    throw new Error(`${(err as Error).message}\nlast status: ${last}\nevents:\n${events.stdout}`);
  }
}

/** Polls until a pod that runs to completion has finished; returns its phase and logs. */
export async function finishedPod(ns: string, name: string, timeoutMs = 90_000): Promise<{ phase: string; logs: string }> {
  const phase = await waitFor(
    `pod ${ns}/${name} to finish`,
    async () => {
      const pod = await getObject<Pod>(["pod", name, "-n", ns]);
      const p = pod.status?.phase;
      return p === "Succeeded" || p === "Failed" ? p : undefined;
    },
    timeoutMs,
    250,
  );
  const logs = await kubectl(["logs", name, "-n", ns]);
  if (logs.code !== 0) throw new Error(`kubectl logs ${name}: ${logs.stderr}`);
  return { phase, logs: logs.stdout };
}

/**
 * Host PIDs of the processes named `comm` in one container of a pod. The tests run on the node
 * itself, so a process of a container is a process of this machine, found by the container's id
 * in its cgroup path.
 */
export async function containerPids(ns: string, podName: string, container: string, comm: string): Promise<number[]> {
  const pod = await getObject<{ status?: { containerStatuses?: { name: string; containerID?: string }[] } }>(["pod", podName, "-n", ns]);
  const id = pod.status?.containerStatuses?.find((c) => c.name === container)?.containerID?.replace(/^[a-z]+:\/\//, "");
  if (!id) throw new Error(`pod ${ns}/${podName} has no running container ${container}`);
  const pids: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const [cgroup, name] = await Promise.all([readFile(`/proc/${entry}/cgroup`, "utf8"), readFile(`/proc/${entry}/comm`, "utf8")]).catch(() => ["", ""]);
    if (cgroup.includes(id) && name.trim() === comm) pids.push(Number(entry));
  }
  return pids;
}
