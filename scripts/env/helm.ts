import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { IMAGES } from "../images/images.js";
import { cacheDir } from "./cache.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
export const chartDir = join(root, "charts/bloodraven");

/**
 * The helm binary scripts/helm/build.sh builds: $BLOODRAVEN_HELM_BIN/helm, else
 * ~/.cache/bloodraven/helm-<version in scripts/helm/go.mod>/helm. Missing is an error naming the fix.
 */
export function helmBinary(): string {
  const goMod = readFileSync(join(root, "scripts/helm/go.mod"), "utf8");
  const version = /^\s*(?:require\s+)?helm\.sh\/helm\/v3\s+(v\S+)/m.exec(goMod)?.[1];
  if (!version) throw new Error("scripts/helm/go.mod requires no helm.sh/helm/v3 version");
  const dir = process.env.BLOODRAVEN_HELM_BIN ?? cacheDir(`helm-${version}`);
  const binary = join(dir, "helm");
  if (!existsSync(binary)) {
    throw new Error(`helm ${version} is not built (looked for ${binary}). Build it from the Go module proxy with:\n  bash scripts/helm/build.sh`);
  }
  return binary;
}

/**
 * `helm upgrade --install` of the chart with the operator image built from dist/ (scripts/images),
 * waiting until its pods are Ready: the operator runs in the cluster, as users run it.
 */
export async function installOperatorChart(opts: { kubeconfig: string; namespace: string; release: string; set?: string[] }): Promise<void> {
  const [repository, tag] = IMAGES.operator.split(":") as [string, string];
  await promisify(execFile)(
    helmBinary(),
    ["upgrade", "--install", opts.release, chartDir, "--namespace", opts.namespace, "--create-namespace",
      "--set", `image.repository=${repository}`, "--set", `image.tag=${tag}`, "--set", "image.pullPolicy=Never",
      ...(opts.set ?? []).flatMap((value) => ["--set", value]), "--wait", "--timeout", "180s"],
    { env: { ...process.env, KUBECONFIG: opts.kubeconfig }, timeout: 200_000 },
  );
}
