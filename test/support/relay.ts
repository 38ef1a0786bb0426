/** A TCP relay to the test apiserver, to cut its connections and count them. */
import { connect, createServer, type Server, type Socket } from "node:net";
import type { KubeConfig } from "@kubernetes/client-node";
import { loadKubeConfig } from "../../shared/kube/client.js";
import { PooledKubeConfig } from "../../shared/kube/kubeconfig.js";
import { testKubeconfig } from "./kubectl.js";

/** A TCP relay to the apiserver that can be cut: down() drops every connection and refuses new ones. */
export class Relay {
  private readonly sockets = new Set<Socket>();
  private server?: Server;
  port = 0;
  /** Client connections accepted since the relay was made. */
  accepted = 0;

  constructor(private readonly target: URL) {}

  async up(): Promise<void> {
    const server = createServer((client) => {
      this.accepted++;
      const upstream = connect(Number(this.target.port), this.target.hostname);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on("error", () => undefined);
        socket.on("close", () => {
          this.sockets.delete(socket);
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(this.port, "127.0.0.1", resolve));
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => server?.close(resolve));
  }

  /** The test kubeconfig, pointed at the relay, pooling connections as the operator does. */
  kubeConfig(): KubeConfig {
    const direct = loadKubeConfig({ kubeconfig: testKubeconfig() });
    const relayed = new PooledKubeConfig();
    relayed.loadFromOptions({
      clusters: direct.clusters.map((c) => ({ ...c, server: `https://127.0.0.1:${this.port}` })),
      users: direct.users,
      contexts: direct.contexts,
      currentContext: direct.currentContext,
    });
    return relayed;
  }
}
