import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { ControlPlane } from "../../scripts/env/control-plane.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const distDir = `${root}dist`;

/**
 * One real control plane for the whole e2e tier: etcd + kube-apiserver + kube-controller-manager,
 * with the CRDs from crds/ installed and Established before any test runs.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  for (const binary of ["kubectl-bloodraven", "bloodraven.mjs"]) {
    if (!existsSync(`${distDir}/${binary}`)) throw new Error(`dist/${binary} is missing: run \`npm run build\` first (npm run test:e2e does)`);
  }
  const started = Date.now();
  const plane = await ControlPlane.start();
  const kubectl = (...args: string[]) =>
    execFileSync("kubectl", args, { env: { ...process.env, KUBECONFIG: plane.kubeconfigPath }, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 });
  try {
    const crds = readdirSync(`${root}crds`).filter((f) => f.endsWith(".yaml"));
    if (crds.length === 0) throw new Error("crds/ holds no CRD: run `npm run generate:crds`");
    kubectl("apply", "--server-side", "-f", `${root}crds`);
    // external-dns's DNSEndpoint type, which the operator writes; in a real cluster external-dns installs it.
    kubectl("apply", "--server-side", "-f", `${root}test/fixtures/crds`);
    kubectl("wait", "--for=condition=Established", "--timeout=30s", "crd", "--all");
  } catch (err) {
    await plane.stop();
    throw err;
  }
  process.stderr.write(`e2e: control plane ${plane.apiServerUrl} ready with CRDs in ${Date.now() - started} ms\n`);
  project.provide("kubeconfig", plane.kubeconfigPath);
  project.provide("distDir", distDir);
  return () => plane.stop();
}
