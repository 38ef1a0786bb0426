/**
 * The leader label (--label-leader-pod) with the real API server and two real operator processes
 * electing a leader: the leading replica's pod (a Pod object; no kubelet needed) carries
 * bloodraven.shipstream.io/leader=true and no other does; a replica that starts takes a stale
 * label off its own pod; on SIGTERM the leader releases the Lease and takes its label off, and the
 * new leader puts it on its own pod.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../../scripts/env/ports.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { LABELS } from "../../shared/names.js";
import { applyAll } from "../support/groups.js";
import { kubectl } from "../support/kubectl.js";
import { OperatorProcess } from "../support/operator.js";

const ns = `leader-label-${randomBytes(3).toString("hex")}`;
const TIMING = ["--lease-duration=2s", "--renew-deadline=1500ms", "--retry-period=300ms"];

const pod = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: ns, labels: { app: "bloodraven-e2e", ...labels } },
  spec: { containers: [{ name: "operator", image: "localhost/none:1" }] },
});

/** The pods that carry the leader label. */
async function labelled(): Promise<string> {
  const r = await kubectl(["get", "pods", "-n", ns, "-l", `${LABELS.leader}=true`, "-o", "jsonpath={.items[*].metadata.name}"]);
  return r.stdout.trim();
}

describe("the leader label on the leading replica's pod (real API server, two operators)", () => {
  const operators: OperatorProcess[] = [];
  const start = async (identity: string) => {
    const op = await OperatorProcess.start({ identity, args: [`--namespaces=${ns}`, `--lease-namespace=${ns}`, "--label-leader-pod", ...TIMING] });
    operators.push(op);
    return op;
  };

  beforeAll(async () => {
    // operator-b's pod carries a stale label, as a pod whose container restarted would.
    await applyAll([{ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } }, pod("operator-a"), pod("operator-b", { [LABELS.leader]: "true" })]);
  });

  afterAll(async () => {
    await Promise.all(operators.map((op) => op.stop("SIGKILL")));
    await kubectl(["delete", "namespace", ns, "--wait=false"]);
  });

  it("labels the leader's pod only, takes a stale label off at start, and moves the label with the Lease", async () => {
    const a = await start("operator-a");
    await a.waitForLog(LOG_MESSAGES.leaderElected, 10_000);
    await waitFor("operator-a's pod labelled", async () => (await labelled()) === "operator-a operator-b" || (await labelled()) === "operator-a", 10_000, 100);
    const b = await start("operator-b");
    await b.waitForLog(LOG_MESSAGES.leaderLabelRemoved, 10_000);
    expect(await labelled()).toBe("operator-a");
    // Several renewals later, still only the leader.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await labelled()).toBe("operator-a");
    expect(b.logged(LOG_MESSAGES.leaderElected)).toEqual([]);

    const stopped = await a.stop("SIGTERM");
    expect(stopped.code).toBe(0);
    expect(a.logged(LOG_MESSAGES.leaderLabelRemoved).length).toBeGreaterThan(0);
    await b.waitForLog(LOG_MESSAGES.leaderElected, 10_000);
    await waitFor("operator-b's pod labelled, operator-a's not", async () => (await labelled()) === "operator-b", 10_000, 100);
  });
});
