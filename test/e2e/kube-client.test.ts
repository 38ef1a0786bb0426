/**
 * shared/kube/client.ts against the real kube-apiserver: merge patches on the status
 * subresource and on annotations, error normalisation, and the per-request deadline against a
 * server that accepts connections and never answers.
 */
import { randomBytes } from "node:crypto";
import { createServer, type Socket } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiError, Kube, apiStatus, loadKubeConfig } from "../../shared/kube/client.js";
import { ANNOTATIONS, API_GROUP_VERSION, FAILOVER_GROUP } from "../../shared/names.js";
import { kubectl, mustKubectl, testKubeconfig } from "../support/kubectl.js";
import { kubeAt } from "../support/black-hole.js";
import { Relay } from "../support/relay.js";

const namespace = `kube-client-${randomBytes(4).toString("hex")}`;
const groupName = "orders";

function twoSiteExternal(name: string): object {
  return {
    apiVersion: API_GROUP_VERSION,
    kind: FAILOVER_GROUP.kind,
    metadata: { name, annotations: { "example.com/keep": "yes" } },
    spec: {
      credentials: { operator: { secretName: `${name}-operator` } },
      sites: [
        { name: "iad", endpoint: { host: "127.0.0.1", port: 33061 } },
        { name: "pdx", endpoint: { host: "127.0.0.1", port: 33062 } },
      ],
    },
  };
}

let kube: Kube;

beforeAll(async () => {
  kube = new Kube(loadKubeConfig({ kubeconfig: testKubeconfig() }));
  await mustKubectl(["create", "namespace", namespace]);
  await mustKubectl(["apply", "-n", namespace, "-f", "-"], JSON.stringify(twoSiteExternal(groupName)));
  await mustKubectl(["create", "secret", "generic", `${groupName}-operator`, "-n", namespace, "--from-literal=username=op", "--from-literal=password=pw"]);
});

afterAll(async () => {
  await kubectl(["delete", "namespace", namespace, "--wait=false"]);
});

describe("Kube against the real apiserver", () => {
  it("reads and lists groups", async () => {
    const group = await kube.getFailoverGroup(namespace, groupName);
    expect(group.kind).toBe(FAILOVER_GROUP.kind);
    expect(group.spec.sites.map((s) => s.name)).toEqual(["iad", "pdx"]);
    const inNamespace = await kube.listFailoverGroups(namespace);
    expect(inNamespace.items.map((g) => g.metadata.name)).toEqual([groupName]);
    expect(inNamespace.metadata?.resourceVersion).toMatch(/^\d+$/);
    const everywhere = await kube.listFailoverGroups(undefined);
    expect(everywhere.items.some((g) => g.metadata.namespace === namespace && g.metadata.name === groupName)).toBe(true);
  });

  it("merge-patches the status subresource; null removes a field and the spec is untouched", async () => {
    const before = await kube.getFailoverGroup(namespace, groupName);
    const patched = await kube.patchFailoverGroupStatus(namespace, groupName, {
      activeSite: "iad",
      summary: "1W/1RO/0X",
      sites: [
        { name: "iad", state: "writable" },
        { name: "pdx", state: "read-only", secondsBehindSource: 0 },
      ],
    });
    expect(patched.status?.activeSite).toBe("iad");
    expect(patched.status?.sites?.[1]).toMatchObject({ name: "pdx", state: "read-only" });
    expect(patched.metadata.generation).toBe(before.metadata.generation);

    const cleared = await kube.patchFailoverGroupStatus(namespace, groupName, { activeSite: null });
    expect(cleared.status?.activeSite).toBeUndefined();
    expect(cleared.status?.summary).toBe("1W/1RO/0X");

    // What another client sees, not just what the patch returned.
    const seen = JSON.parse(await mustKubectl(["get", "mfg", groupName, "-n", namespace, "-o", "json"])) as {
      status: { summary: string; activeSite?: string };
      spec: { sites: unknown[] };
    };
    expect(seen.status.summary).toBe("1W/1RO/0X");
    expect(seen.status.activeSite).toBeUndefined();
    expect(seen.spec.sites).toHaveLength(2);
  });

  it("patches annotations: adds and deletes keys and keeps the others", async () => {
    const added = await kube.patchFailoverGroupMetadata(namespace, groupName, {
      annotations: { [ANNOTATIONS.plannedFailover]: "pdx", [ANNOTATIONS.lastFailoverTarget]: "iad" },
    });
    expect(added.metadata.annotations).toMatchObject({ [ANNOTATIONS.plannedFailover]: "pdx", "example.com/keep": "yes" });

    const removed = await kube.patchFailoverGroupMetadata(namespace, groupName, { annotations: { [ANNOTATIONS.plannedFailover]: null } });
    expect(removed.metadata.annotations?.[ANNOTATIONS.plannedFailover]).toBeUndefined();
    expect(removed.metadata.annotations).toMatchObject({ [ANNOTATIONS.lastFailoverTarget]: "iad", "example.com/keep": "yes" });

    const seen = await mustKubectl(["get", "mfg", groupName, "-n", namespace, "-o", "jsonpath={.metadata.annotations}"]);
    expect(seen).not.toContain(ANNOTATIONS.plannedFailover);
  });

  it("honours a resourceVersion precondition with 409 Conflict", async () => {
    const current = await kube.getFailoverGroup(namespace, groupName);
    await kube.patchFailoverGroupMetadata(namespace, groupName, { annotations: { "example.com/bump": "1" } });
    const stale = await kube
      .patchFailoverGroupMetadata(namespace, groupName, { annotations: { "example.com/bump": "2" } }, { resourceVersion: current.metadata.resourceVersion })
      .catch((err: unknown) => err);
    expect(stale).toBeInstanceOf(ApiError);
    expect(stale).toMatchObject({ status: 409, reason: "Conflict" });
  });

  it("normalises 404 and 422 into ApiError", async () => {
    const missing = await kube.getFailoverGroup(namespace, "no-such-group").catch((err: unknown) => err);
    expect(missing).toBeInstanceOf(ApiError);
    expect(missing).toMatchObject({ status: 404, reason: "NotFound" });
    expect((missing as ApiError).message).toMatch(/"no-such-group" not found/);
    expect(apiStatus(missing)).toBe(404);

    const invalid = await kube.patchFailoverGroupStatus(namespace, groupName, { summary: "everything is fine" }).catch((err: unknown) => err);
    expect(invalid).toMatchObject({ status: 422, reason: "Invalid" });
    expect((invalid as ApiError).message).toContain("status.summary");

    const noSecret = await kube.getSecret(namespace, "absent").catch((err: unknown) => err);
    expect(noSecret).toMatchObject({ status: 404, reason: "NotFound" });
  });

  it("reads a Secret", async () => {
    const secret = await kube.getSecret(namespace, `${groupName}-operator`);
    expect(Buffer.from(secret.data?.username ?? "", "base64").toString()).toBe("op");
  });

  it("gives up at the deadline on a server that accepts and never answers, and closes the socket", async () => {
    const held: Socket[] = [];
    let closed = 0;
    const blackHole = createServer((socket) => {
      held.push(socket);
      // Reads and drops the TLS hello; a paused socket would never notice the client closing.
      socket.resume();
      socket.on("close", () => closed++);
    });
    await new Promise<void>((resolve) => blackHole.listen(0, "127.0.0.1", resolve));
    const { port } = blackHole.address() as { port: number };
    try {
      const slow = kubeAt(port, 500);
      const started = Date.now();
      const err = await slow.getFailoverGroup("default", "orders").catch((e: unknown) => e);
      const elapsed = Date.now() - started;
      expect(err).toMatchObject({ status: 0, reason: "DeadlineExceeded" });
      expect(elapsed).toBeGreaterThanOrEqual(450);
      expect(elapsed).toBeLessThan(1_500);
      expect(held.length).toBe(1);
      // The AbortSignal reached the socket: the request was cancelled, not merely abandoned.
      await expect.poll(() => closed, { timeout: 1_000 }).toBe(1);
    } finally {
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => blackHole.close(resolve));
    }
  });

  it("reports a refused connection as a NetworkError", async () => {
    const config = new KubeConfig();
    config.loadFromOptions({
      clusters: [{ name: "nowhere", server: "https://127.0.0.1:1", skipTLSVerify: true }],
      users: [{ name: "nobody", token: "none" }],
      contexts: [{ name: "nowhere", cluster: "nowhere", user: "nobody" }],
      currentContext: "nowhere",
    });
    const err = await new Kube(config, { timeoutMs: 2_000 }).getFailoverGroup("default", "orders").catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 0, reason: "NetworkError" });
    expect((err as ApiError).message).toContain("ECONNREFUSED");
  });

  it("sends successive requests over one kept-alive connection, and opens a new one after it is cut", async () => {
    const relay = new Relay(new URL(kube.config.getCurrentCluster()?.server ?? ""));
    await relay.up();
    try {
      const pooled = new Kube(relay.kubeConfig(), { timeoutMs: 5_000 });
      for (let i = 0; i < 10; i++) await pooled.getFailoverGroup(namespace, groupName);
      await pooled.patchFailoverGroupStatus(namespace, groupName, { observedGeneration: 1 });
      expect(relay.accepted).toBe(1);
      await relay.down();
      // down() and up() would otherwise run without one turn of the event loop between them,
      // so the client would not have seen the close yet: a real cut is seen before the next cycle.
      await new Promise((resolve) => setTimeout(resolve, 100));
      await relay.up();
      // The cut connection left the pool when it closed: the next request opens a new one.
      await expect(pooled.getFailoverGroup(namespace, groupName)).resolves.toMatchObject({ kind: FAILOVER_GROUP.kind });
      expect(relay.accepted).toBe(2);
    } finally {
      await relay.down();
    }
  });

  it("loads an explicit kubeconfig and rejects an unknown context", () => {
    const config = loadKubeConfig({ kubeconfig: testKubeconfig() });
    expect(config.getCurrentCluster()?.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const context = config.getCurrentContext();
    expect(loadKubeConfig({ kubeconfig: testKubeconfig(), context }).getCurrentContext()).toBe(context);
    expect(() => loadKubeConfig({ kubeconfig: testKubeconfig(), context: "no-such-context" })).toThrow(/no context "no-such-context"/);
  });
});
