/**
 * When a cluster test fails, the operator's logs are what explains it, and its pods are gone by
 * the time anyone looks: each failure saves every operator pod's log (all containers, previous
 * instances too) under the system temp folder and prints the path and the last warnings.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";
import { kubectl } from "./kubectl.js";

const FOLDER = join(tmpdir(), "bloodraven-failure-logs");
const WARNINGS_SHOWN = 40;

export function saveOperatorLogsOnFailure(namespace: string, selector: string): void {
  afterEach(async ({ task }) => {
    if (task.result?.state !== "fail") return;
    const current = await kubectl(["logs", "-n", namespace, "-l", selector, "--all-containers", "--prefix", "--tail=-1"]);
    const previous = await kubectl(["logs", "-n", namespace, "-l", selector, "--all-containers", "--prefix", "--previous", "--tail=-1"]);
    const pods = await kubectl(["get", "pods", "-n", namespace, "-o", "wide"]);
    mkdirSync(FOLDER, { recursive: true });
    const file = join(FOLDER, `${namespace}-${task.name.replace(/[^a-z0-9]+/gi, "-").slice(0, 60)}-${Date.now()}.log`);
    writeFileSync(file, `${pods.stdout}\n--- previous instances\n${previous.stdout}\n--- current\n${current.stdout}`);
    const warnings = current.stdout.split("\n").filter((l) => /"level":"(WARN|ERROR)"/.test(l)).slice(-WARNINGS_SHOWN);
    console.error(`operator logs saved in ${file}\n${pods.stdout}\nlast warnings:\n${warnings.join("\n")}`);
  });
}
