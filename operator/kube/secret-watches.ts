/**
 * Watches of the Secrets the groups name (--watch-secrets), one per Secret by name (a field
 * selector): only those are cached, never a namespace's every Secret. A change of one, after its
 * first list, is told to everyone watching it; the group then reads its Secrets again at once
 * instead of at its next --credentials-refresh.
 */
import type { V1Secret } from "@kubernetes/client-node";
import type { Kube } from "../../shared/kube/client.js";
import type { Logger } from "../log.js";
import { collectionPath, KubeInformer, type InformerResource } from "./informer.js";

const SECRETS: InformerResource<V1Secret> = {
  plural: "secrets",
  path: (namespace) => collectionPath("", "v1", "secrets", namespace),
  list: (kube, namespace, selectors) =>
    kube.call(`list secrets in ${namespace ?? "all namespaces"}`, (options) =>
      namespace === undefined ? kube.core.listSecretForAllNamespaces(selectors, options) : kube.core.listNamespacedSecret({ namespace, ...selectors }, options),
    ),
};

interface Watched {
  informer: KubeInformer<V1Secret>;
  listeners: Set<() => void>;
}

export class SecretWatches {
  private readonly watched = new Map<string, Watched>();

  constructor(
    private readonly kube: Kube,
    private readonly log: Logger,
  ) {}

  /** Calls `changed` whenever one of the named Secrets is created, changed or deleted; returns the way to stop. */
  watch(namespace: string, names: readonly string[], changed: () => void): () => void {
    const keys = [...new Set(names)].map((name) => this.subscribe(namespace, name, changed));
    return () => {
      for (const key of keys) this.unsubscribe(key, changed);
    };
  }

  stop(): void {
    for (const w of this.watched.values()) w.informer.stop();
    this.watched.clear();
  }

  private subscribe(namespace: string, name: string, changed: () => void): string {
    const key = `${namespace}/${name}`;
    let w = this.watched.get(key);
    if (!w) {
      // Nothing reads the cached Secret: no resync events, and no event for the first list.
      const informer = new KubeInformer(this.kube, SECRETS, { namespaces: [namespace], fieldSelector: `metadata.name=${name}`, logger: this.log, resyncPeriodMs: 0 });
      const listeners = new Set<() => void>();
      const tell = (): void => {
        if (informer.hasSynced()) for (const listener of listeners) listener();
      };
      informer.on("add", tell);
      informer.on("update", tell);
      informer.on("delete", tell);
      informer.start();
      w = { informer, listeners };
      this.watched.set(key, w);
    }
    w.listeners.add(changed);
    return key;
  }

  private unsubscribe(key: string, changed: () => void): void {
    const w = this.watched.get(key);
    if (!w) return;
    w.listeners.delete(changed);
    if (w.listeners.size > 0) return;
    w.informer.stop();
    this.watched.delete(key);
  }
}
