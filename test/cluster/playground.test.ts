/**
 * What `npm run playground` sets up, on the tier's cluster: the chart with the local image and the
 * sample group on servers of this machine. The operator pod runs, `kubectl bloodraven status`
 * answers against it, and the prompt's `partition` cuts the pods off a server (the operator reports
 * it unreachable) until `heal`.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { EnvDir } from "../../scripts/env/env-dir.js";
import { MariaDbSites } from "../../scripts/env/mariadb-sites.js";
import { waitFor } from "../../scripts/env/ports.js";
import { Partitions } from "../../scripts/playground/partitions.js";
import { installSample, SAMPLE } from "../../scripts/playground/sample.js";
import { applyAll, groupReader } from "../support/groups.js";
import { helm } from "../support/helm.js";
import { kubectl, testKubeconfig } from "../support/kubectl.js";

const suffix = randomBytes(3).toString("hex");
const operatorNamespace = `playground-system-${suffix}`;
const groupNamespace = `playground-${suffix}`;

describe("the playground's setup on a real node", () => {
  let sites: MariaDbSites;
  let env: EnvDir;
  let partitions: Partitions;
  const group = groupReader(groupNamespace);

  beforeAll(async () => {
    sites = await MariaDbSites.start({ names: ["iad", "pdx", "sfo"], primary: "iad", listenAddress: inject("nodeAddress") });
    env = new EnvDir("playground");
    partitions = new Partitions(env);
    await applyAll([{ apiVersion: "v1", kind: "Namespace", metadata: { name: groupNamespace } }]);
    await installSample({ kubeconfig: testKubeconfig(), sites, operatorNamespace, groupNamespace });
  });

  afterAll(async () => {
    partitions?.healAll(sites);
    env?.remove();
    await helm(["uninstall", SAMPLE.release, "--namespace", operatorNamespace, "--wait"]);
    await kubectl(["delete", "namespace", operatorNamespace, groupNamespace, "--wait=false"]);
    await sites?.teardown();
  });

  it("runs the operator in a pod, and `kubectl bloodraven status` answers against it", async () => {
    const pods = await kubectl(["get", "pods", "-A"]);
    expect(pods.stdout).toMatch(new RegExp(`${operatorNamespace}\\s+${SAMPLE.release}-\\S+\\s+1/1\\s+Running`));
    await waitFor("the sample group's status", async () => (await group(SAMPLE.group)).status?.activeSite === "iad", 60_000, 250);
    const status = await kubectl(["bloodraven", "status", SAMPLE.group, "-n", groupNamespace]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain("iad");
    expect(status.stdout).toContain("pdx");
    expect(status.stdout).toContain("sfo");
  });

  it("`partition` cuts the operator's pods off a server until `heal`", async () => {
    const sfo = sites.site("sfo");
    const state = async () => (await group(SAMPLE.group)).status?.sites?.find((s) => s.name === "sfo")?.state;
    partitions.partition(sfo);
    expect(await waitFor("sfo unreachable", async () => (await state()) === "unreachable", 60_000, 250)).toBe(true);
    // Only the pods lose it: this machine still reaches the server.
    expect(await sfo.isReadOnly()).toBe(true);
    partitions.heal(sfo);
    expect(await waitFor("sfo back", async () => (await state()) === "read-only", 60_000, 250)).toBe(true);
  });
});
