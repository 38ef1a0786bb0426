/**
 * cli/group-watch.ts (behind `status --watch` and `failover --wait`) against the real API server:
 * a resourceVersion the server no longer serves makes it read everything again and carry on, and
 * a user without watch rights ends it with the RBAC message instead of retrying forever.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeConfig } from "@kubernetes/client-node";
import type { MysqlFailoverGroup } from "../../shared/api/index.js";
import { Kube, loadKubeConfig } from "../../shared/kube/client.js";
import { watchGroups, type GroupWatchOptions } from "../../cli/group-watch.js";
import type { KubeContext } from "../../cli/kube-context.js";
import { waitFor } from "../../scripts/env/ports.js";
import { kubectl, testKubeconfig } from "../support/kubectl.js";
import { asList, failoverGroup, namespaceWithCredentials, siteAt } from "../support/fixtures.js";

const ns = `cli-watch-${randomBytes(3).toString("hex")}`;
const NAME = "orders";

function context(config: KubeConfig): KubeContext {
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new Error("test kubeconfig has no cluster");
  return { kube: new Kube(config, { timeoutMs: 10_000 }), config, namespace: ns, contextName: config.getCurrentContext(), server: cluster.server, timeoutMs: 10_000 };
}

/** Records what the watch hands over. */
function recorder(ctx: KubeContext) {
  const seen = { relists: 0, events: [] as string[], warnings: [] as string[], fatal: undefined as Error | undefined };
  const callbacks: Omit<GroupWatchOptions, "resourceVersion"> = {
    namespace: ns,
    name: NAME,
    relist: async () => {
      seen.relists++;
      const g = await ctx.kube.getFailoverGroup(ns, NAME);
      return g.metadata.resourceVersion ?? "";
    },
    event: (phase, g: MysqlFailoverGroup) => void seen.events.push(`${phase} ${g.metadata.annotations?.["example.com/n"] ?? "-"}`),
    warning: (text) => void seen.warnings.push(text),
    fatal: (err) => void (seen.fatal = err),
  };
  return { seen, callbacks };
}

beforeAll(async () => {
  const group = failoverGroup(ns, NAME, { sites: [siteAt({ name: "iad", port: 33061 }), siteAt({ name: "pdx", port: 33062 })] });
  const r = await kubectl(["apply", "-f", "-"], { input: asList([...namespaceWithCredentials(ns), group]) });
  expect(r.code, r.stderr).toBe(0);
});

afterAll(async () => {
  await kubectl(["delete", "namespace", ns, "--wait=false"]);
});

describe("the plugin's group watch (real API server)", () => {
  it("starting from a resourceVersion the server no longer has, it reads everything again and then follows changes", async () => {
    const ctx = context(loadKubeConfig({ kubeconfig: testKubeconfig() }));
    const { seen, callbacks } = recorder(ctx);
    const handle = await watchGroups(ctx, { ...callbacks, resourceVersion: "1" });
    try {
      await waitFor("a re-read after 410 Gone", async () => seen.relists >= 1, 15_000, 50);
      // The watch is running again from the re-read's resourceVersion: a change arrives as an event.
      await waitFor(
        "the change as an event",
        async () => {
          const r = await kubectl(["annotate", "--overwrite", "mfg", NAME, "-n", ns, `example.com/n=${seen.relists}`]);
          expect(r.code, r.stderr).toBe(0);
          return seen.events.some((e) => e.startsWith("MODIFIED "));
        },
        15_000,
        500,
      );
      expect(seen.fatal).toBeUndefined();
    } finally {
      handle.stop();
    }
  });

  it("without the right to watch, it ends with the RBAC message instead of retrying", async () => {
    const sa = "no-watch";
    const created = await kubectl(["create", "serviceaccount", sa, "-n", ns]);
    expect(created.code, created.stderr).toBe(0);
    const token = await kubectl(["create", "token", sa, "-n", ns]);
    expect(token.code, token.stderr).toBe(0);
    const config = loadKubeConfig({ kubeconfig: testKubeconfig() });
    const user = { name: sa, token: token.stdout.trim() };
    config.users = [user];
    config.contexts = config.contexts.map((c) => ({ ...c, user: sa }));
    const ctx = context(config);
    const { seen, callbacks } = recorder(ctx);
    const handle = await watchGroups(ctx, { ...callbacks, resourceVersion: "" });
    try {
      await waitFor("the fatal RBAC error", async () => seen.fatal, 15_000, 50);
      expect(seen.fatal?.message).toMatch(/^forbidden: you cannot watch/);
      expect(seen.relists).toBe(0);
    } finally {
      handle.stop();
    }
  });
});
