import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/env/ports.js";
import type { MariaDbSites } from "../../scripts/env/mariadb-sites.js";
import { managedNames } from "../../shared/managed/sites.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { AgentProcess } from "../support/agent.js";
import { applyAll, namespaceWithOperator } from "../support/groups.js";
import { kubectl } from "../support/kubectl.js";

/**
 * An operator whose status API has a token lets a group's own agents into that group's
 * /active-site with the group's agent token (what the managed sites' sidecars hold, since their
 * pods cannot reference the status token): the primary's agent lifts its safety net with it; a
 * wrong token keeps a server fenced; the agent token opens no other group and not /status.
 */
const ns = `agent-token-${randomBytes(3).toString("hex")}`;
const STATUS_TOKEN = `status-${randomBytes(12).toString("hex")}`;
const AGENT_TOKEN = `agent-${randomBytes(12).toString("hex")}`;

describe("agents with the status API's token on (real operator, API server and MariaDB)", () => {
  const { operator, freshGroup } = namespaceWithOperator(ns, "agent-token-e2e", { env: { BLOODRAVEN_STATUS_TOKEN: STATUS_TOKEN } });
  const agents: AgentProcess[] = [];
  let sites: MariaDbSites;

  beforeAll(async () => {
    // The group's token Secret, as an admin makes it for agents beside external sites.
    await applyAll([{ apiVersion: "v1", kind: "Secret", metadata: { name: managedNames.agentToken("orders"), namespace: ns }, stringData: { token: AGENT_TOKEN } }]);
    sites = await freshGroup("orders");
  });

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop("SIGKILL")));
  });

  it("lifts the primary's safety net with the group's agent token, and keeps a server fenced with a wrong one", async () => {
    const start = async (site: string, token: string) => {
      const agent = await AgentProcess.start({ site, group: "orders", namespace: ns, server: sites.site(site), operatorUrl: operator().url("status", ""), port: await freePort(), env: { BLOODRAVEN_AGENT_TOKEN: token } });
      agents.push(agent);
      return agent;
    };
    const iad = await start("iad", AGENT_TOKEN);
    const pdx = await start("pdx", `wrong-${randomBytes(12).toString("hex")}`);
    const patch = [{ op: "add", path: "/spec/sites/0/agentUrl", value: iad.url }, { op: "add", path: "/spec/sites/1/agentUrl", value: pdx.url }];
    const patched = await kubectl(["patch", "mfg", "orders", "-n", ns, "--type=json", "-p", JSON.stringify(patch)]);
    expect(patched.code, patched.stderr).toBe(0);
    await iad.waitForLog(LOG_MESSAGES.safetyNetLifted, 20_000).catch((err: unknown) => {
      throw new Error(`${String(err)}\noperator:\n${operator().dump(60)}`);
    });
    expect(await sites.site("iad").isReadOnly()).toBe(false);
    expect((await pdx.waitForLog(LOG_MESSAGES.safetyNetKept, 10_000)).reason).toMatch(/HTTP 401/);
    expect(await sites.site("pdx").isReadOnly()).toBe(true);
  });

  it("opens nothing else with the agent token: another group's /active-site, /status", async () => {
    const ask = (path: string, token: string) => fetch(operator().url("status", path), { headers: { authorization: `Bearer ${token}` } });
    expect((await ask(`/active-site?namespace=${ns}&group=orders&site=iad`, AGENT_TOKEN)).status).toBe(200);
    expect((await ask(`/active-site?namespace=${ns}&group=carts`, AGENT_TOKEN)).status).toBe(401);
    expect((await ask("/status", AGENT_TOKEN)).status).toBe(401);
    expect((await ask("/status", STATUS_TOKEN)).status).toBe(200);
  });
});
