import { describe, expect, it } from "vitest";
import { buildProgram } from "../../../cli/program.js";
import { commandModels } from "../../../cli/commands/completion.js";
import { DIRECTIVE, formatCompletion, planCompletion } from "../../../cli/commands/complete.js";

const models = commandModels(buildProgram());
const plan = (...words: string[]) => planCompletion(models, words);
const values = (...words: string[]) => plan(...words).candidates.map((c) => c.value);

describe("kubectl plugin completion (__complete)", () => {
  it("offers the commands first, with their descriptions, and never files", () => {
    const p = plan("");
    expect(values("")).toEqual(expect.arrayContaining(["status", "failover", "reclone", "maintenance", "backup", "verify-backup", "runbook", "gtid", "version", "completion"]));
    expect(p.candidates.find((c) => c.value === "failover")?.description).toMatch(/planned failover/);
    expect(p.directive).toBe(DIRECTIVE.noFileComp);
    expect(values("maintenance", "")).toEqual(["on", "off", "status"]);
  });

  it("asks the API server for groups, then for the sites of the group already typed", () => {
    expect(plan("failover", "")).toMatchObject({ lookup: { kind: "groups" } });
    expect(plan("failover", "orders", "p")).toMatchObject({ lookup: { kind: "sites", group: "orders" }, prefix: "p" });
    expect(plan("failover", "orders", "pdx", "")).not.toHaveProperty("lookup");
    expect(plan("status", "")).toMatchObject({ lookup: { kind: "groups" } });
  });

  it("skips flags and their values, and keeps the connection flags for the lookup", () => {
    const p = plan("-n", "shop", "--context=prod", "failover", "--max-lag-wait", "30s", "orders", "");
    expect(p).toMatchObject({ lookup: { kind: "sites", group: "orders" }, connection: { namespace: "shop", context: "prod" } });
    expect(plan("--kubeconfig", "/tmp/k", "status", "--namespace", "ns", "").connection).toEqual({ kubeconfig: "/tmp/k", namespace: "ns" });
  });

  it("keeps kubectl's other connection flags for the lookup, in both spellings", () => {
    const p = plan("status", "--server", "https://k:6443", "--token=t", "--as", "alice", "--as-group=dba", "--as-group", "ops", "--insecure-skip-tls-verify=true", "-v=6", "");
    expect(p).toMatchObject({ lookup: { kind: "groups" } });
    expect(p.connection).toEqual({ server: "https://k:6443", token: "t", as: "alice", asGroup: ["dba", "ops"], insecureSkipTlsVerify: true });
  });

  it("completes flag values: choices, namespaces, contexts, and files only for --kubeconfig", () => {
    expect(values("status", "-o", "")).toEqual(["table", "wide", "json", "yaml"]);
    expect(plan("status", "-n", "")).toMatchObject({ lookup: { kind: "namespaces" } });
    expect(plan("--context", "")).toMatchObject({ lookup: { kind: "contexts" } });
    expect(plan("--kubeconfig", "").directive).toBe(DIRECTIVE.default);
    expect(plan("failover", "--timeout", "")).toMatchObject({ candidates: [], directive: DIRECTIVE.noFileComp });
    expect(plan("failover", "--timeout", "")).not.toHaveProperty("lookup");
  });

  it("completes the flags of the command typed, long names and lone short ones", () => {
    const flags = values("failover", "--");
    expect(flags).toEqual(expect.arrayContaining(["--wait", "--max-lag-wait", "--yes", "--namespace", "--help"]));
    expect(flags).not.toContain("-y");
  });

  it("prints Cobra's format: matching candidates, tab-separated descriptions on one line, then the directive", () => {
    const p = plan("failover", "orders", "p");
    expect(formatCompletion(p, ["iad", "pdx", "pdx-dr"])).toBe("pdx\npdx-dr\n:4\n");
    expect(formatCompletion(plan("ma"), [])).toBe("maintenance\tpause automatic failover of a group for a while (on, off, status)\n:4\n");
    expect(formatCompletion(plan("zzz"), [])).toBe(":4\n");
  });
});
