import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";

/** The layer rules of eslint.config.js, run on snippets placed where they would live. */
const eslint = new ESLint();

async function refused(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === "no-restricted-imports" || m.ruleId === "no-restricted-syntax").map((m) => m.message);
}

describe("layers enforced by npm run lint", () => {
  it.each([
    ["cli/commands/x.ts", `import { Kube } from "../../operator/kube/events.js";\nexport const k = Kube;`, /plugin imports only shared/],
    ["cli/x.ts", `export const load = () => import("../operator/kube/events.js");`, /plugin imports only shared/],
    ["operator/x.ts", `import { run } from "../cli/main.js";\nexport const r = run;`, /never imports the plugin/],
    ["shared/failover/x.ts", `import { connect } from "node:net";\nexport const c = connect;`, /shared\/ is pure/],
    ["shared/planned/x.ts", `import { createConnection } from "mysql2/promise";\nexport const c = createConnection;`, /shared\/ is pure/],
    ["shared/topology/x.ts", `import { Kube } from "../kube/client.js";\nexport const k = Kube;`, /shared\/ is pure/],
    ["shared/x.ts", `import { KubeConfig } from "@kubernetes/client-node";\nexport const k = KubeConfig;`, /shared\/ is pure/],
    ["shared/kube/x.ts", `import { createLogger } from "../../operator/log.js";\nexport const l = createLogger;`, /imports neither operator\/ nor cli\//],
    ["operator/agent/x.ts", `import { Kube } from "../../shared/kube/client.js";\nexport const k = Kube;`, /agent runs beside a server/],
    ["operator/agent/x.ts", `import { GroupWorker } from "../group/worker.js";\nexport const w = GroupWorker;`, /agent runs beside a server/],
    ["operator/agent/x.ts", `import { run } from "../../cli/main.js";\nexport const r = run;`, /agent runs beside a server/],
  ])("%s: refused", async (file, code, message) => {
    const messages = await refused(file, code);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(message);
  });

  it.each([
    ["shared/api/x.ts", `import type { V1ObjectMeta } from "@kubernetes/client-node";\nexport type M = V1ObjectMeta;`],
    ["shared/kube/x.ts", `import { KubeConfig } from "@kubernetes/client-node";\nexport const k = KubeConfig;`],
    ["cli/x.ts", `export const load = () => import("../shared/kube/client.js");`],
    ["operator/x.ts", `import { Kube } from "../shared/kube/client.js";\nexport const k = Kube;`],
    ["operator/agent/x.ts", `import { SiteClient } from "../mysql/site-client.js";\nexport const c = SiteClient;`],
  ])("%s: allowed", async (file, code) => {
    expect(await refused(file, code)).toEqual([]);
  });
});
