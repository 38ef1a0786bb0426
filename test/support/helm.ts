import { helmBinary } from "../../scripts/env/helm.js";
import { run, testKubeconfig, type CommandResult } from "./kubectl.js";

export { chartDir, helmBinary } from "../../scripts/env/helm.js";

/** Runs helm against the test cluster as its admin; never throws on a non-zero exit. */
export function helm(args: string[], timeoutMs = 60_000): Promise<CommandResult> {
  return run(helmBinary(), args, { timeoutMs, env: { ...process.env, KUBECONFIG: testKubeconfig() } });
}
