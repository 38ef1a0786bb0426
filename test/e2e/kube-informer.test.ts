/**
 * operator/kube/informer.ts against the real kube-apiserver. Errors are real: the informer talks
 * through a TCP relay that the test takes down (open connections cut, new ones refused) and
 * brings back, so restarts, backoff and catching up after an outage all run for real.
 */
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { KubeConfig, ListWatch, Watch } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Kube, loadKubeConfig } from "../../shared/kube/client.js";
import { FailoverGroupInformer, backoffDelay, type InformerEvent } from "../../operator/kube/informer.js";
import { createLogger, type LogFields, type Logger } from "../../operator/log.js";
import type { MysqlFailoverGroup } from "../../shared/api/index.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { API_GROUP, API_GROUP_VERSION, API_VERSION, FAILOVER_GROUP } from "../../shared/names.js";
import { kubectl, testKubeconfig } from "../support/kubectl.js";
import { Relay } from "../support/relay.js";

const namespace = `kube-informer-${randomBytes(4).toString("hex")}`;
const CR = { group: API_GROUP, version: API_VERSION, plural: FAILOVER_GROUP.plural, namespace };

let kube: Kube;

function group(name: string): MysqlFailoverGroup {
  return {
    apiVersion: API_GROUP_VERSION,
    kind: FAILOVER_GROUP.kind,
    metadata: { name },
    spec: {
      credentials: { operator: { secretName: `${name}-operator` } },
      sites: [
        { name: "iad", endpoint: { host: "127.0.0.1", port: 33061 } },
        { name: "pdx", endpoint: { host: "127.0.0.1", port: 33062 } },
      ],
    },
  };
}

const createGroup = (name: string): Promise<MysqlFailoverGroup> =>
  kube.customObjects.createNamespacedCustomObject({ ...CR, body: group(name) }) as Promise<MysqlFailoverGroup>;
const deleteGroup = (name: string): Promise<unknown> => kube.customObjects.deleteNamespacedCustomObject({ ...CR, name });

/** Every event an informer emitted, as "add a", "update a", "delete a". */
function record(informer: FailoverGroupInformer): string[] {
  const seen: string[] = [];
  for (const event of ["add", "update", "delete"] as InformerEvent[]) {
    informer.on(event, (g) => seen.push(`${event} ${g.metadata.name}`));
  }
  return seen;
}

function capturingLogger(): { logger: Logger; lines: LogFields[] } {
  const lines: LogFields[] = [];
  return { logger: createLogger({ level: "debug", write: (line) => lines.push(JSON.parse(line) as LogFields) }), lines };
}

beforeAll(async () => {
  kube = new Kube(loadKubeConfig({ kubeconfig: testKubeconfig() }));
  const created = await kubectl(["create", "namespace", namespace]);
  if (created.code !== 0) throw new Error(created.stderr);
});

afterAll(async () => {
  await kubectl(["delete", "namespace", namespace, "--wait=false"]);
});

describe("FailoverGroupInformer", () => {
  it("lists, resolves synced, then delivers add, update and delete", async () => {
    await createGroup("early");
    const { logger, lines } = capturingLogger();
    const informer = new FailoverGroupInformer(kube, { namespaces: [namespace], logger });
    const seen = record(informer);
    const previous: (string | undefined)[] = [];
    informer.on("update", (g, prev) => previous.push(prev?.metadata.resourceVersion === g.metadata.resourceVersion ? "same" : prev?.metadata.name));
    informer.start();
    try {
      expect(await informer.synced).toBe(true);
      expect(informer.hasSynced()).toBe(true);
      expect(seen).toEqual(["add early"]);
      expect(informer.get(namespace, "early")?.spec.sites).toHaveLength(2);
      expect(lines.some((l) => l.msg === LOG_MESSAGES.informerSynced)).toBe(true);

      await createGroup("late");
      await vi.waitFor(() => expect(seen).toContain("add late"), { timeout: 5_000 });

      await kube.patchFailoverGroupStatus(namespace, "late", { summary: "0W/2RO/0X" });
      await vi.waitFor(() => expect(seen).toContain("update late"), { timeout: 5_000 });
      expect(previous).toEqual(["late"]);
      expect(informer.get(namespace, "late")?.status?.summary).toBe("0W/2RO/0X");

      await deleteGroup("late");
      await vi.waitFor(() => expect(seen).toContain("delete late"), { timeout: 5_000 });
      expect(informer.get(namespace, "late")).toBeUndefined();
      expect(informer.list().map((g) => g.metadata.name)).toEqual(["early"]);
      expect(seen).toEqual(["add early", "add late", "update late", "delete late"]);
    } finally {
      informer.stop();
      await deleteGroup("early");
    }
  });

  it("restarts with exponential backoff while the apiserver is unreachable, then catches up", async () => {
    await createGroup("before-outage");
    const relay = new Relay(new URL(kube.config.getCurrentCluster()?.server ?? ""));
    await relay.up();
    const { logger, lines } = capturingLogger();
    const informer = new FailoverGroupInformer(new Kube(relay.kubeConfig(), { timeoutMs: 2_000 }), {
      namespaces: [namespace],
      logger,
      backoff: { initialMs: 200, maxMs: 800, resetAfterMs: 1_500 },
    });
    const seen = record(informer);
    const delays = () => lines.filter((l) => l.msg === LOG_MESSAGES.informerError).map((l) => l.retryInMs);
    informer.start();
    try {
      expect(await informer.synced).toBe(true);
      const errorsBefore = delays().length;

      await relay.down();
      await createGroup("during-outage");
      await deleteGroup("before-outage");
      await vi.waitFor(() => expect(delays().length - errorsBefore).toBeGreaterThanOrEqual(5), { timeout: 10_000 });
      expect(delays().slice(errorsBefore, errorsBefore + 5)).toEqual([200, 400, 800, 800, 800]);
      expect(seen).not.toContain("add during-outage");

      await relay.up();
      // The relist after the outage reports the deletion that no watch saw.
      await vi.waitFor(() => expect(seen).toEqual(expect.arrayContaining(["add during-outage", "delete before-outage"])), { timeout: 5_000 });

      // After a healthy spell longer than resetAfterMs, the next failure starts from initialMs again.
      await sleep(1_700);
      const errorsAfterRecovery = delays().length;
      await relay.down();
      await vi.waitFor(() => expect(delays().length).toBeGreaterThan(errorsAfterRecovery), { timeout: 5_000 });
      expect(delays()[errorsAfterRecovery]).toBe(200);
      await relay.up();
      await createGroup("after-second-outage");
      await vi.waitFor(() => expect(seen).toContain("add after-second-outage"), { timeout: 5_000 });
      expect(seen.filter((s) => s === "add during-outage")).toHaveLength(1);
    } finally {
      informer.stop();
      await relay.down();
      await deleteGroup("during-outage");
      await deleteGroup("after-second-outage");
    }
  });

  it("keeps watching across watches the apiserver ends (timeoutSeconds)", async () => {
    const { logger, lines } = capturingLogger();
    const informer = new FailoverGroupInformer(kube, { namespaces: [namespace], logger, watchTimeoutSeconds: 1 });
    const seen = record(informer);
    informer.start();
    try {
      expect(await informer.synced).toBe(true);
      const errorsAtSync = lines.filter((l) => l.msg === LOG_MESSAGES.informerError).length;
      await sleep(2_500);
      await createGroup("after-timeouts");
      await vi.waitFor(() => expect(seen).toContain("add after-timeouts"), { timeout: 5_000 });
      expect(lines.filter((l) => l.msg === LOG_MESSAGES.informerError)).toHaveLength(errorsAtSync);
    } finally {
      informer.stop();
      await deleteGroup("after-timeouts");
    }
  });

  it("re-emits every cached object as an update on resync", async () => {
    await createGroup("resynced");
    const informer = new FailoverGroupInformer(kube, { namespaces: [namespace], logger: capturingLogger().logger, resyncPeriodMs: 300 });
    const resyncs: boolean[] = [];
    informer.on("update", (g, prev) => resyncs.push(g === prev));
    informer.start();
    try {
      expect(await informer.synced).toBe(true);
      await vi.waitFor(() => expect(resyncs.length).toBeGreaterThanOrEqual(2), { timeout: 3_000 });
      expect(resyncs.every(Boolean)).toBe(true);
    } finally {
      informer.stop();
      await deleteGroup("resynced");
    }
  });

  it("watches all namespaces when none are named", async () => {
    const informer = new FailoverGroupInformer(kube, { logger: capturingLogger().logger });
    const seen: string[] = [];
    informer.on("add", (g) => seen.push(`${g.metadata.namespace}/${g.metadata.name}`));
    informer.start();
    try {
      expect(await informer.synced).toBe(true);
      await createGroup("anywhere");
      await vi.waitFor(() => expect(seen).toContain(`${namespace}/anywhere`), { timeout: 5_000 });
    } finally {
      informer.stop();
      await deleteGroup("anywhere");
    }
  });

  it("resolves synced false when stopped before the first list succeeded", async () => {
    const config = new KubeConfig();
    config.loadFromOptions({
      clusters: [{ name: "nowhere", server: "https://127.0.0.1:1", skipTLSVerify: true }],
      users: [{ name: "nobody", token: "none" }],
      contexts: [{ name: "nowhere", cluster: "nowhere", user: "nobody" }],
      currentContext: "nowhere",
    });
    const { logger, lines } = capturingLogger();
    const informer = new FailoverGroupInformer(new Kube(config), { logger, backoff: { initialMs: 50 } });
    informer.start();
    await vi.waitFor(() => expect(lines.filter((l) => l.msg === LOG_MESSAGES.informerError).length).toBeGreaterThanOrEqual(2));
    informer.stop();
    expect(await informer.synced).toBe(false);
    expect(informer.hasSynced()).toBe(false);
    const errors = lines.filter((l) => l.msg === LOG_MESSAGES.informerError).length;
    await sleep(300);
    expect(lines.filter((l) => l.msg === LOG_MESSAGES.informerError)).toHaveLength(errors);
  });

  // The informer relies on client-node to relist after 410 Gone; this pins that behaviour of 1.4.
  it("client-node's ListWatch relists when its resourceVersion is too old (410)", async () => {
    const watched: string[] = [];
    const watch = new Watch(kube.config);
    const open = watch.watch.bind(watch);
    watch.watch = (path, params, callback, done) => {
      watched.push(String(params.resourceVersion));
      return open(path, params, callback, done);
    };
    let lists = 0;
    let realVersion = "";
    const listWatch = new ListWatch<MysqlFailoverGroup>(
      `/apis/${API_GROUP}/${API_VERSION}/namespaces/${namespace}/${FAILOVER_GROUP.plural}`,
      watch,
      async () => {
        const list = await kube.listFailoverGroups(namespace);
        realVersion = list.metadata?.resourceVersion ?? "";
        // The first list claims a version long compacted out of the watch cache.
        return ++lists === 1 ? { ...list, metadata: { resourceVersion: "1" } } : list;
      },
      false,
    );
    const added: string[] = [];
    const errors: unknown[] = [];
    listWatch.on("add", (g) => added.push(g.metadata?.name ?? ""));
    listWatch.on("error", (err) => errors.push(err));
    await listWatch.start();
    try {
      await vi.waitFor(() => expect(lists).toBe(2), { timeout: 5_000 });
      await vi.waitFor(() => expect(watched).toEqual(["1", realVersion]), { timeout: 5_000 });
      await createGroup("after-gone");
      await vi.waitFor(() => expect(added).toContain("after-gone"), { timeout: 5_000 });
      expect(errors).toEqual([]);
    } finally {
      await listWatch.stop();
      await deleteGroup("after-gone");
    }
  });
});

describe("backoffDelay", () => {
  it("doubles from the initial delay and stops at the cap", () => {
    expect([0, 1, 2, 3, 4, 5, 6, 50].map((attempt) => backoffDelay(attempt))).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
    expect([0, 1, 2, 3].map((attempt) => backoffDelay(attempt, { initialMs: 200, maxMs: 800 }))).toEqual([200, 400, 800, 800]);
  });
});
