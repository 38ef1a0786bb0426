import { Kube } from "../../shared/kube/client.js";
import { PooledKubeConfig } from "../../shared/kube/kubeconfig.js";

/** A Kube client, pooling connections as the operator does, aimed at a local port that accepts connections and never answers (a black hole). */
export function kubeAt(port: number, timeoutMs: number): Kube {
  const config = new PooledKubeConfig();
  config.loadFromOptions({
    clusters: [{ name: "black-hole", server: `https://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: "nobody", token: "none" }],
    contexts: [{ name: "black-hole", cluster: "black-hole", user: "nobody" }],
    currentContext: "black-hole",
  });
  return new Kube(config, { timeoutMs });
}
