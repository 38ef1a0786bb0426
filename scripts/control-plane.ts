/**
 * Starts the local Kubernetes control plane by hand (debugging, the playground) and keeps it
 * running until Ctrl-C: `npm run control-plane`. Prints the KUBECONFIG to export.
 */
import { ControlPlane, KUBERNETES_VERSION } from "./env/control-plane.js";

const started = Date.now();
const plane = await ControlPlane.start();
console.log(`control plane ${KUBERNETES_VERSION} ready in ${Date.now() - started} ms at ${plane.apiServerUrl}`);
console.log(`export KUBECONFIG=${plane.kubeconfigPath}`);
console.log("Ctrl-C stops it and removes its data.");
const stop = async () => {
  await plane.stop();
  process.exit(0);
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
setInterval(() => undefined, 1 << 30);
