import { readFileSync } from "node:fs";
import { defineConfig } from "vitest/config";

// The CLI imports its runbooks (cli/runbooks/*.md) as text: esbuild's "text" loader in the
// bundle, this plugin under vitest.
const markdownAsText = {
  name: "markdown-as-text",
  enforce: "pre" as const,
  load(id: string) {
    return id.endsWith(".md") ? `export default ${JSON.stringify(readFileSync(id, "utf8"))};` : undefined;
  },
};

// Five tiers. Unit tests are pure and fast; integration tests start real mariadbd
// processes; e2e tests add a real etcd + kube-apiserver, the built operator and CLI,
// and the installed kubectl; chaos cuts links between sites; cluster runs real pods on a
// real node. Every tier but unit runs one file at a time: they own real processes and
// ports, and the machine has two cores.
export default defineConfig({
  test: {
    projects: [
      {
        plugins: [markdownAsText],
        test: { name: "unit", include: ["test/unit/**/*.test.ts"], environment: "node" },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          environment: "node",
          poolOptions: { forks: { singleFork: true } },
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          poolOptions: { forks: { singleFork: true } },
          testTimeout: 120_000,
          hookTimeout: 300_000,
          globalSetup: ["test/e2e/global-setup.ts"],
        },
      },
      {
        // Fault injection: sites in network namespaces with links cut by iptables (root only),
        // on the same real control plane as e2e.
        test: {
          name: "chaos",
          include: ["test/chaos/**/*.test.ts"],
          environment: "node",
          poolOptions: { forks: { singleFork: true } },
          testTimeout: 90_000,
          hookTimeout: 300_000,
          globalSetup: ["test/e2e/global-setup.ts"],
        },
      },
      {
        // Real pods: one cluster with a real node (containerd, kubelet, kube-proxy, CoreDNS) for the
        // whole tier, one namespace per test file, files one at a time (one node per machine).
        test: {
          name: "cluster",
          include: ["test/cluster/**/*.test.ts"],
          environment: "node",
          poolOptions: { forks: { singleFork: true } },
          testTimeout: 180_000,
          hookTimeout: 300_000,
          globalSetup: ["test/cluster/global-setup.ts"],
        },
      },
    ],
  },
});
