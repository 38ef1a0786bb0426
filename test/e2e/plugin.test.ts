import { describe, expect, it } from "vitest";
import { kubectl } from "../support/kubectl.js";

describe("kubectl bloodraven through the real kubectl", () => {
  it("is discovered as a plugin and prints help", async () => {
    const plugins = await kubectl(["plugin", "list"]);
    expect(plugins.stdout).toContain("kubectl-bloodraven");
    const help = await kubectl(["bloodraven", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: kubectl.bloodraven/);
    expect(help.stdout).toContain("gtid");
  });

  it("prints its version", async () => {
    const version = await kubectl(["bloodraven", "version"]);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^kubectl-bloodraven \d+\.\d+\.\d+ \(commit /);
  });

  it("exits 2 with an error on an unknown command", async () => {
    const bad = await kubectl(["bloodraven", "no-such-command"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/error: unknown command/);
  });

  it("talks to the real API server (the CRD is installed)", async () => {
    const crd = await kubectl(["get", "crd", "mysqlfailovergroups.shipstream.io", "-o", "jsonpath={.spec.names.shortNames}"]);
    expect(crd.code).toBe(0);
    expect(crd.stdout).toContain("mfg");
  });
});
