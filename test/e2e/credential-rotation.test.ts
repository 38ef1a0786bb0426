import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MariaDbSites, TEST_USERS } from "../../scripts/env/mariadb-sites.js";
import { waitFor } from "../../scripts/env/ports.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { TEST_CREDENTIALS, failoverGroup, namespaceWithCredentials, siteAt } from "../support/fixtures.js";
import { applyAll, groupReader } from "../support/groups.js";
import { kubectl } from "../support/kubectl.js";
import { OperatorProcess } from "../support/operator.js";

/**
 * The credential-rotation runbook on MariaDB (one password per account): the operator account's
 * password changes on the servers, then in its Secret; the primary dies right after. The
 * promotion's new connection is refused with the old password, the operator reads the Secret
 * again and promotes with the new one.
 */
const ns = `rotate-${randomBytes(3).toString("hex")}`;
const NEW_PASSWORD = "rotated-operator-password";

/**
 * Two sites (iad the primary) in a group of their own namespace, and an operator for it with
 * `args` besides its namespace; the calling describe's hooks start and remove them.
 */
function rotationGroup(namespace: string, identity: string, args: string[] = []) {
  const handles = { sites: undefined as unknown as MariaDbSites, operator: undefined as unknown as OperatorProcess, group: groupReader(namespace) };
  beforeAll(async () => {
    handles.sites = await MariaDbSites.start({ names: ["iad", "pdx"], primary: "iad" });
    await applyAll([...namespaceWithCredentials(namespace), failoverGroup(namespace, "orders", { pollInterval: "500ms", failureThreshold: 2, failoverCooldown: "1s", sites: handles.sites.sites.map((s) => siteAt(s)) })]);
    handles.operator = await OperatorProcess.start({ identity, args: [`--namespaces=${namespace}`, "--no-leader-election", ...args] });
    await waitFor("orders healthy", async () => (await handles.group("orders")).status?.lastKnownPrimary === "iad", 20_000, 200);
  });
  afterAll(async () => {
    await handles.operator?.stop("SIGKILL");
    await handles.sites?.teardown();
    await kubectl(["delete", "namespace", namespace, "--wait=false"]);
  });
  return handles;
}

describe("credential rotation (real operator, API server and MariaDB)", () => {
  const env = rotationGroup(ns, "rotate-op");

  it("a failover right after a rotation logs in with the new password", { timeout: 90_000 }, async () => {
    const { sites, operator, group } = env;
    const iad = sites.site("iad");
    const pdx = sites.site("pdx");
    await iad.query(`ALTER USER '${TEST_USERS.operator.user}'@'%' IDENTIFIED BY '${NEW_PASSWORD}'`);
    expect(await pdx.waitForGtid(await iad.gtidBinlogPos(), 10)).toBe(true);
    const secret = { apiVersion: "v1", kind: "Secret", metadata: { name: TEST_CREDENTIALS.operator.secretName, namespace: ns }, stringData: { username: TEST_USERS.operator.user, password: NEW_PASSWORD } };
    await applyAll([secret]);

    await iad.kill9();
    await waitFor("pdx promoted and recorded", async () => (await group("orders")).status?.lastFailoverTarget === "pdx" && !(await pdx.isReadOnly()), 30_000, 200);
    expect(operator.logged(LOG_MESSAGES.credentialsRetry).length).toBeGreaterThan(0);
    expect(operator.logged(LOG_MESSAGES.credentialsReloaded)).toHaveLength(1);
    // The password never reaches a log line.
    expect(operator.lines.filter((l) => JSON.stringify(l).includes(NEW_PASSWORD))).toEqual([]);
  });
});

describe("credential rotation with --watch-secrets (real operator, API server and MariaDB)", () => {
  const watchNs = `rotatew-${randomBytes(3).toString("hex")}`;
  const password = "rotated-and-watched";
  const secret = (name: string, stringData: Record<string, string>) => ({ apiVersion: "v1", kind: "Secret", metadata: { name, namespace: watchNs }, stringData });
  // An hour between reads: only the watch can make the operator read the Secret again soon.
  const env = rotationGroup(watchNs, "rotate-watch-op", ["--watch-secrets", "--credentials-refresh=1h"]);

  it("reads a changed Secret the group names within seconds, without a refused login; another Secret changes nothing", { timeout: 60_000 }, async () => {
    const { sites, operator, group } = env;
    await applyAll([secret("unrelated", { password: "x" })]);
    await new Promise((r) => setTimeout(r, 2_000));
    expect(operator.logged(LOG_MESSAGES.credentialsSecretChanged)).toEqual([]);

    const iad = sites.site("iad");
    await iad.query(`ALTER USER '${TEST_USERS.operator.user}'@'%' IDENTIFIED BY '${password}'`);
    expect(await sites.site("pdx").waitForGtid(await iad.gtidBinlogPos(), 10)).toBe(true);
    const changedAt = Date.now();
    await applyAll([secret(TEST_CREDENTIALS.operator.secretName, { username: TEST_USERS.operator.user, password })]);
    const reloaded = await operator.waitForLog(LOG_MESSAGES.credentialsReloaded, 10_000);
    expect(Date.parse(String(reloaded.time)) - changedAt).toBeLessThan(5_000);
    expect(operator.logged(LOG_MESSAGES.credentialsSecretChanged).length).toBeGreaterThan(0);
    expect(operator.logged(LOG_MESSAGES.credentialsRetry)).toEqual([]);
    // The sites are polled with the new password from then on.
    await new Promise((r) => setTimeout(r, 1_500));
    const g = await group("orders");
    expect(g.status?.sites?.map((s) => [s.name, s.state])).toEqual([
      ["iad", "writable"],
      ["pdx", "read-only"],
    ]);
    expect(operator.lines.filter((l) => JSON.stringify(l).includes(password))).toEqual([]);
  });
});
