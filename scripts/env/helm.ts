import { execFile } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { IMAGES } from "../images/images.js";
import { goToolDir } from "./cache.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
export const chartDir = join(root, "charts/bloodraven");

/** The helm binary scripts/helm/build.sh builds ($BLOODRAVEN_HELM_BIN, else the cache); missing is an error naming the fix. */
export function helmBinary(): string {
  return join(goToolDir({ folder: "helm", module: "helm.sh/helm/v3", name: "helm", overrideVar: "BLOODRAVEN_HELM_BIN", binaries: ["helm"] }), "helm");
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
