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

describe("credential rotation (real operator, API server and MariaDB)", () => {
  let sites: MariaDbSites;
  let operator: OperatorProcess;
  const group = groupReader(ns);

  beforeAll(async () => {
    sites = await MariaDbSites.start({ names: ["iad", "pdx"], primary: "iad" });
    await applyAll([...namespaceWithCredentials(ns), failoverGroup(ns, "orders", { pollInterval: "500ms", failureThreshold: 2, failoverCooldown: "1s", sites: sites.sites.map((s) => siteAt(s)) })]);
    operator = await OperatorProcess.start({ identity: "rotate-op", args: [`--namespaces=${ns}`, "--no-leader-election"] });
    await waitFor("orders healthy", async () => (await group("orders")).status?.lastKnownPrimary === "iad", 20_000, 200);
  });

  afterAll(async () => {
    await operator?.stop("SIGKILL");
    await sites?.teardown();
    await kubectl(["delete", "namespace", ns, "--wait=false"]);
  });

  it("a failover right after a rotation logs in with the new password", { timeout: 90_000 }, async () => {
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
