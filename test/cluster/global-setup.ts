import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { ControlPlane } from "../../scripts/env/control-plane.js";
import { machineAddress, Node } from "../../scripts/env/node.js";
import { IMAGES } from "../../scripts/images/images.js";

const NEXT_MARIADB_IMAGE = `${IMAGES.mariadb}-next`;

const root = fileURLToPath(new URL("../..", import.meta.url));
const distDir = `${root}dist`;

/**
 * One real cluster for the whole tier: the control plane with every controller and the scheduler,
 * and one real node (containerd, kubelet, kube-proxy, CoreDNS) on this machine, with the CRDs
 * installed. Tests take a namespace each and run one at a time. Stopping the node checks that it
 * left nothing on the machine.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  for (const binary of ["kubectl-bloodraven", "bloodraven.mjs"]) {
    if (!existsSync(`${distDir}/${binary}`)) throw new Error(`dist/${binary} is missing: run \`npm run build\` first (npm run test:cluster does)`);
  }
  const started = Date.now();
  const address = machineAddress();
  const plane = await ControlPlane.start({ node: { address } });
  let node: Node | undefined;
  try {
    node = await Node.start(plane, { address, log: (line) => process.stderr.write(`cluster: ${line}\n`) });
    const kubectl = (...args: string[]) =>
      execFileSync("kubectl", args, { env: { ...process.env, KUBECONFIG: plane.kubeconfigPath }, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 });
    // An image update needs a second image: the same MariaDB under another reference.
    node.tagImage(IMAGES.mariadb, NEXT_MARIADB_IMAGE);
    kubectl("apply", "--server-side", "-f", `${root}crds`);
    kubectl("wait", "--for=condition=Established", "--timeout=30s", "crd", "--all");
  } catch (err) {
    await node?.stop().catch(() => undefined);
    await plane.stop();
    throw err;
  }
  process.stderr.write(`cluster: control plane and node ready in ${Date.now() - started} ms (kubeconfig ${plane.kubeconfigPath})\n`);
  project.provide("kubeconfig", plane.kubeconfigPath);
  project.provide("distDir", distDir);
  project.provide("nodeAddress", address);
  project.provide("nextMariadbImage", NEXT_MARIADB_IMAGE);
  const running = node;
  return async () => {
    try {
      await running.stop();
    } finally {
      await plane.stop();
    }
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    nodeAddress: string;
    nextMariadbImage: string;
  }
}
