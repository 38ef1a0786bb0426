import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import type { MysqlFailoverGroup } from "../../shared/api/index.js";
import { EnvDir } from "../../scripts/env/env-dir.js";
import { asList, failoverGroup, namespaceWithCredentials, siteAt } from "../support/fixtures.js";
import { MariaDbSites } from "../../scripts/env/mariadb-sites.js";
import { waitFor } from "../../scripts/env/ports.js";
import { kubectl, startKubectl, testKubeconfig } from "../support/kubectl.js";
import { OperatorProcess } from "../support/operator.js";

/**
 * `kubectl bloodraven status|runbook|completion` through the real kubectl, against the real API
 * server, a real operator and real MariaDB. `ns` holds a group the operator manages; `other`
 * holds one it does not watch, whose status the test writes by hand to show the rare blocks
 * (planned failover, divergence, split brain, a stale status).
 */
const suffix = randomBytes(3).toString("hex");
const ns = `cli-status-${suffix}`;
const other = `cli-other-${suffix}`;
const GROUP = "orders";
const UNMANAGED = "billing";

const plugin = (args: string[], opts: Parameters<typeof kubectl>[1] = {}) => kubectl(["bloodraven", ...args], opts);

/**
 * Golden-friendly text: namespaces named, timestamps and ports masked, and in tables the AGE,
 * LAST-SEEN and LAG cells masked; runs of spaces collapse to two, so column alignment (unit
 * tested) does not depend on how wide an age happens to be.
 */
function mask(text: string): string {
  const volatile = new Set(["AGE", "LAST-SEEN", "LAG"]);
  let header: string[] | undefined;
  return text
    .replaceAll(ns, "<ns>")
    .replaceAll(other, "<other>")
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, "<time>")
    .replace(/127\.0\.0\.1:\d+/g, "127.0.0.1:<port>")
    .replace(/\(\d+[smhdy][0-9smhdy]* ago\)/g, "(<age> ago)")
    .replace(/^\w[\w ]*: +\d+[smh][0-9smh]* remaining, until <time>/gm, (m) => m.replace(/\d+[smh][0-9smh]* remaining/, "<left> remaining"))
    .split("\n")
    .map((line) => {
      const indent = /^ */.exec(line)![0];
      const cells = line.trim().split(/ {2,}/);
      if (line.trim() === "") {
        header = undefined;
        return line;
      }
      if (cells.length > 1 && cells.every((c) => /^[A-Z][A-Z-]*$/.test(c))) {
        header = cells;
        return indent + cells.join("  ");
      }
      if (!header || cells[0]!.endsWith(":")) return line.replace(/(\S) {2,}/g, "$1  ");
      return indent + cells.map((c, i) => (volatile.has(header![i] ?? "") ? "<" + header![i]!.toLowerCase() + ">" : c)).join("  ");
    })
    .join("\n");
}

/** Runs bash without a stdin pipe (a script that exits at once would make writing to one fail). */
function bash(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile("bash", args, { env, timeout: 30_000 }, (err, stdout) => resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) || 1 : 0, stdout }));
  });
}

async function group(namespace = ns, name = GROUP): Promise<MysqlFailoverGroup> {
  const r = await kubectl(["get", "mfg", name, "-n", namespace, "-o", "json"]);
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as MysqlFailoverGroup;
}

describe("kubectl bloodraven status (real kubectl, API server, operator and MariaDB)", () => {
  let sites: MariaDbSites;
  let operator: OperatorProcess;
  const env = new EnvDir("cli-status");

  beforeAll(async () => {
    sites = await MariaDbSites.start({ names: ["iad", "pdx", "sfo"], primary: "iad" });
    const site = (name: string, role: string, extra: object = {}) => siteAt(sites.site(name), { role, ...extra });
    const manifest = [
      ...namespaceWithCredentials(ns),
      { apiVersion: "v1", kind: "Namespace", metadata: { name: other } },
      { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "nobody", namespace: ns } },
      failoverGroup(ns, GROUP, {
        pollInterval: "500ms",
        sites: [site("iad", "primary-candidate"), site("pdx", "primary-candidate"), site("sfo", "read-only")],
      }),
      {
        // Not watched by the operator: its status is whatever the test writes.
        apiVersion: "shipstream.io/v1alpha1",
        kind: "MysqlFailoverGroup",
        metadata: { name: UNMANAGED, namespace: other },
        spec: {
          secretName: "billing-dsn",
          dns: { hostname: "billing-db.example.com" },
          failoverCooldown: "1h",
          sites: [
            { name: "fra", endpoint: { host: "10.0.1.5" }, lbIP: "192.0.2.1" },
            { name: "ams", endpoint: { host: "10.0.2.5", port: 3307 }, lbIP: "192.0.2.2" },
          ],
        },
      },
    ];
    const applied = await kubectl(["apply", "-f", "-"], { input: asList(manifest) });
    expect(applied.stderr).toBe("");
    operator = await OperatorProcess.start({ identity: "cli-status", args: [`--namespaces=${ns}`, `--lease-namespace=${ns}`] });
    const pos = await sites.site("iad").injectWrite("cli-status");
    await waitFor(
      "orders to converge",
      async () => {
        const g = await group();
        const ready = g.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";
        const caughtUp = ["pdx", "sfo"].every((n) => g.status?.sites?.find((s) => s.name === n)?.gtidExecuted === pos);
        return g.status?.activeSite === "iad" && ready && caughtUp;
      },
      30_000,
      200,
    );
  });

  afterAll(async () => {
    await operator?.stop("SIGKILL");
    await sites?.teardown();
    env.remove();
    await kubectl(["delete", "namespace", ns, other, "--wait=false"]);
  });

  it("lists the groups of a namespace like kubectl get", async () => {
    const r = await plugin(["status", "-n", ns]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(mask(r.stdout)).toBe(["NAME  ACTIVE  READY  SITES  AGE", "orders  iad  True  1W/2RO/0X  <age>", ""].join("\n"));
    // Columns are aligned: every line has the same prefix width up to AGE.
    const [head, row] = r.stdout.split("\n");
    expect(row!.indexOf("1W/2RO/0X")).toBe(head!.indexOf("SITES"));
  });

  it("-A lists every namespace with a NAMESPACE column; -o wide adds PLANNED, LAST-FAILOVER, RECOVERY", async () => {
    const all = await plugin(["status", "-A"]);
    expect(all.code).toBe(0);
    const lines = mask(all.stdout).split("\n");
    expect(lines[0]).toBe("NAMESPACE  NAME  ACTIVE  READY  SITES  AGE");
    expect(lines).toContain("<ns>  orders  iad  True  1W/2RO/0X  <age>");
    // No status at all: every spec site counts as unknown (X).
    expect(lines).toContain("<other>  billing  -  -  0W/0RO/2X  <age>");

    const wide = await plugin(["status", "-n", ns, "-o", "wide"]);
    expect(wide.code).toBe(0);
    expect(mask(wide.stdout)).toBe(
      ["NAME  ACTIVE  READY  SITES  AGE  PLANNED  LAST-FAILOVER  RECOVERY", "orders  iad  True  1W/2RO/0X  <age>  -  -  -", ""].join("\n"),
    );
  });

  it("an empty namespace prints kubectl's notice on stderr and exits 0", async () => {
    const r = await plugin(["status", "-n", `${ns}-empty`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(`No MysqlFailoverGroups found in ${ns}-empty namespace.\n`);
  });

  it("shows one group in detail (golden)", async () => {
    const r = await plugin(["status", GROUP, "-n", ns]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    // Exact up to the conditions; other features may add condition types of their own.
    const [report, conditions] = mask(r.stdout).split("\nConditions:\n");
    expect(report).toBe(
      [
        "Group:  <ns>/orders",
        "Active site:  iad",
        "Ready:  True (Healthy)",
        "Last failover:  never",
        "Cooldown:  none (failoverCooldown 5m)",
        "",
        "Sites:",
        "  NAME  ROLE  STATE  REPL  LAG  RECOVERY  LAST-SEEN",
        "  iad  primary-candidate  writable  -  <lag>  -  <last-seen>",
        "  pdx  primary-candidate  read-only  yes  <lag>  -  <last-seen>",
        "  sfo  read-only  read-only  yes  <lag>  -  <last-seen>",
        "",
      ].join("\n"),
    );
    const rows = conditions!.split("\n");
    expect(rows[0]).toBe("  TYPE  STATUS  REASON  AGE  MESSAGE");
    expect(rows).toContain("  Degraded  False  Healthy  <age>  iad is primary; all sites reachable");
    expect(rows).toContain("  Ready  True  Healthy  <age>  iad is primary; all sites reachable");
    // The primary has no lag; replicas are caught up.
    expect(r.stdout).toMatch(/^ {2}iad .* - +- +- +\d+s$/m);
    expect(r.stdout).toMatch(/^ {2}pdx .* yes +\d+s +- +\d+s$/m);

    const wide = await plugin(["status", GROUP, "-n", ns, "-o", "wide"]);
    expect(wide.code).toBe(0);
    expect(mask(wide.stdout)).toContain(
      [
        "  NAME  ROLE  STATE  REPL  LAG  RECOVERY  LAST-SEEN  ENDPOINT  SOURCE",
        "  iad  primary-candidate  writable  -  <lag>  -  <last-seen>  127.0.0.1:<port>  -",
        "  pdx  primary-candidate  read-only  yes  <lag>  -  <last-seen>  127.0.0.1:<port>  127.0.0.1",
      ].join("\n"),
    );
  });

  it("shows the planned failover, divergence with the exact reclone command, split brain and a stale status", async () => {
    const ago = (ms: number) => new Date(Date.now() - ms).toISOString().replace(/\.\d+Z$/, "Z");
    const status = {
      activeSite: "",
      summary: "2W/0RO/0X",
      lastFailover: ago(10 * 60_000),
      lastFailoverTarget: "ams",
      sites: [
        {
          name: "fra",
          state: "writable",
          lastSeen: ago(20 * 60_000),
          replicating: false,
          secondsBehindSource: null,
          recoveryState: "RecoveryBlocked",
          divergentGtid: "3e11fa47-71ca-11e1-9e33-c80aa9429562:11-15",
          divergentTransactionCount: 5,
        },
        { name: "ams", state: "writable", lastSeen: ago(20 * 60_000), replicating: false, secondsBehindSource: null, lastError: "connect ECONNREFUSED 10.0.2.5:3307" },
      ],
      conditions: [
        { type: "Ready", status: "False", reason: "SplitBrain", message: "split brain: 2 sites are writable (fra, ams)", lastTransitionTime: ago(20 * 60_000) },
        { type: "Degraded", status: "True", reason: "SplitBrain", message: "split brain: 2 sites are writable (fra, ams)", lastTransitionTime: ago(20 * 60_000) },
      ],
      plannedFailover: {
        phase: "Failed",
        reason: "LagTimeout",
        message: "ams did not catch up within 5m; fra unfenced",
        target: "ams",
        source: "fra",
        startTime: ago(16 * 60_000),
        completionTime: ago(11 * 60_000),
        maxLagWait: "5m",
        transactionsLost: 0,
      },
    };
    const patched = await kubectl(["patch", "mfg", UNMANAGED, "-n", other, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status })]);
    expect(patched.stderr).toBe("");

    const r = await plugin(["status", UNMANAGED, "-n", other]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("warning: status last updated 20m ago; is the operator running? (kubectl get pods -n bloodraven -l app.kubernetes.io/name=bloodraven)\n");
    expect(mask(r.stdout)).toBe(
      [
        "Group:  <other>/billing",
        "Active site:  none (SplitBrain: split brain: 2 sites are writable (fra, ams))",
        "Ready:  False (SplitBrain)",
        "DNS:  billing-db.example.com (TTL 60s)",
        "Last failover:  <time> (<age> ago), target ams",
        "Cooldown:  <left> remaining, until <time> (failoverCooldown 1h)",
        "",
        "Sites:",
        "  NAME  ROLE  STATE  REPL  LAG  RECOVERY  LAST-SEEN",
        "  fra  primary-candidate  writable  -  <lag>  RecoveryBlocked  <last-seen>",
        "  ams  primary-candidate  writable  -  <lag>  -  <last-seen>",
        "",
        "Site errors:",
        "  ams: connect ECONNREFUSED 10.0.2.5:3307",
        "",
        "Planned failover:",
        "  Phase:  Failed (LagTimeout)",
        "  Target:  ams",
        "  Source:  fra",
        "  Message:  ams did not catch up within 5m; fra unfenced",
        "  Started:  <time> (<age> ago)",
        "  Completed:  <time> (<age> ago)",
        "  Duration:  5m",
        "  Max lag wait:  5m",
        "  Transactions lost:  0",
        "",
        "Divergent transactions on fra (RecoveryBlocked):",
        "  fra committed transactions the active primary never received. Review them first",
        "  (kubectl bloodraven runbook divergent-old-primary): fra holds the only copy, and a clone destroys it:",
        "  GTID set:  3e11fa47-71ca-11e1-9e33-c80aa9429562:11-15",
        "  Transactions:  5",
        `  Reclone:  kubectl bloodraven reclone billing fra -n <other>`,
        "  Note:  the operator clones through the site's agent; a site without one is refused: rebuild it by hand (kubectl bloodraven runbook pvc-loss)",
        "",
        "Conditions:",
        "  TYPE  STATUS  REASON  AGE  MESSAGE",
        "  Ready  False  SplitBrain  <age>  split brain: 2 sites are writable (fra, ams)",
        "  Degraded  True  SplitBrain  <age>  split brain: 2 sites are writable (fra, ams)",
        "",
      ].join("\n"),
    );
    expect(r.stdout).toMatch(/Cooldown: +(49m\d+s|50m) remaining/);

    const wide = await plugin(["status", "-n", other, "-o", "wide"]);
    expect(mask(wide.stdout)).toContain("billing  -  False  2W/0RO/0X  <age>  Failed(LagTimeout)  10m  fra=RecoveryBlocked");
    expect(wide.stderr).toBe(`warning: ${other}/billing: status last updated 20m ago; is the operator running? (kubectl get pods -n bloodraven -l app.kubernetes.io/name=bloodraven)\n`);
  });

  it("-o json and -o yaml print the objects as the API server returns them; many as a List", async () => {
    const json = await plugin(["status", GROUP, "-n", ns, "-o", "json"]);
    expect(json.code).toBe(0);
    const g = JSON.parse(json.stdout) as MysqlFailoverGroup;
    const direct = await group();
    expect(g).toMatchObject({ apiVersion: "shipstream.io/v1alpha1", kind: "MysqlFailoverGroup", metadata: { name: GROUP, namespace: ns, uid: direct.metadata.uid } });
    expect(g.spec).toEqual(direct.spec);
    expect(g.status?.activeSite).toBe("iad");
    expect(g.status?.sites?.map((s) => s.name)).toEqual(["iad", "pdx", "sfo"]);
    expect(json.stdout).toMatch(/^\{\n {4}"apiVersion"/);

    const yaml = await plugin(["status", GROUP, "-n", ns, "-o", "yaml"]);
    expect(yaml.code).toBe(0);
    const y = parseYaml(yaml.stdout) as MysqlFailoverGroup;
    expect(y.metadata.uid).toBe(direct.metadata.uid);
    expect(y.spec).toEqual(direct.spec);
    expect(y.status?.activeSite).toBe("iad");

    const list = await plugin(["status", "-n", ns, "-o", "json"]);
    const parsed = JSON.parse(list.stdout) as { kind: string; apiVersion: string; items: MysqlFailoverGroup[] };
    expect(parsed.kind).toBe("List");
    expect(parsed.apiVersion).toBe("v1");
    expect(parsed.items.map((i) => i.metadata.name)).toEqual([GROUP]);
    expect(parsed.items[0]?.kind).toBe("MysqlFailoverGroup");

    const empty = await plugin(["status", "-n", `${ns}-empty`, "-o", "yaml"]);
    expect(empty.code).toBe(0);
    expect(parseYaml(empty.stdout)).toEqual({ apiVersion: "v1", items: [], kind: "List", metadata: { resourceVersion: "" } });
  });

  // Exit codes: 2 for input the plugin rejects before asking the API server (usage, flag
  // values); 1 for an operation that failed, including a group that does not exist, like
  // `kubectl get` (which exits 1 on NotFound).
  it("exit codes: unknown group 1, bad -o 2, a name with -A 2, bad --request-timeout 2", async () => {
    const missing = await plugin(["status", "nope", "-n", ns]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe("");
    expect(missing.stderr).toBe(`error: no MysqlFailoverGroup ${ns}/nope; kubectl get mfg -n ${ns} lists them\n`);

    const badOutput = await plugin(["status", "-n", ns, "-o", "xml"]);
    expect(badOutput.code).toBe(2);
    expect(badOutput.stderr).toMatch(/^error: .*'xml' is invalid\. Allowed choices are table, wide, json, yaml\./);

    const both = await plugin(["status", GROUP, "-A"]);
    expect(both.code).toBe(2);
    expect(both.stderr).toBe("error: a group name cannot be combined with -A/--all-namespaces\n");

    const timeout = await plugin(["status", "--request-timeout", "5x"]);
    expect(timeout.code).toBe(2);
    expect(timeout.stderr).toMatch(/^error: --request-timeout: "5x" is not a duration; write seconds \(30\) or a duration/);
  });

  it("explains unreachable servers, bad credentials and missing RBAC (exit 1)", async () => {
    const config = readFileSync(testKubeconfig(), "utf8");
    const write = (name: string, text: string) => {
      const path = env.join(name);
      writeFileSync(path, text, { mode: 0o600 });
      return path;
    };
    const unreachable = write("unreachable", config.replace(/server: https:\/\/127\.0\.0\.1:\d+/, "server: https://127.0.0.1:1"));
    const r1 = await plugin(["status", "--kubeconfig", unreachable]);
    expect(r1.code).toBe(1);
    expect(r1.stderr).toBe("error: cannot reach the API server at https://127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1; check --context/--kubeconfig\n");

    const bogus = write("bogus", config.replace(/token: .*/, "token: not-a-token"));
    const r2 = await plugin(["status", "--kubeconfig", bogus]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/^error: unauthorized: the API server at https:\/\/127\.0\.0\.1:\d+ did not accept the credentials of context "[^"]+"; log in again or check --context\/--kubeconfig\n$/);

    const token = await kubectl(["create", "token", "nobody", "-n", ns]);
    expect(token.code).toBe(0);
    const nobody = write("nobody", config.replace(/token: .*/, `token: ${token.stdout.trim()}`));
    const r3 = await plugin(["status", GROUP, "-n", ns, "--kubeconfig", nobody]);
    expect(r3.code).toBe(1);
    expect(r3.stderr).toBe(
      `error: forbidden: you cannot get mysqlfailovergroups.shipstream.io in namespace ${ns}; ask for RBAC that grants "get" on mysqlfailovergroups.shipstream.io (check with: kubectl auth can-i get mysqlfailovergroups.shipstream.io -n ${ns})\n`,
    );
    const r4 = await plugin(["status", "-A", "--kubeconfig", nobody]);
    expect(r4.stderr).toMatch(/^error: forbidden: you cannot list mysqlfailovergroups\.shipstream\.io across all namespaces;/);

    const r5 = await plugin(["--context", "nope", "status"]);
    expect(r5.code).toBe(1);
    expect(r5.stderr).toMatch(/^error: context "nope" does not exist in the kubeconfig/);
  });

  it("--watch redraws on every change from a real watch and ends on Ctrl-C with exit 0", async () => {
    const { child, out, exited } = startKubectl(["bloodraven", "status", GROUP, "-n", ns, "--watch"]);
    const drawings = () => out.stdout.split(/^Group: /m).length - 1;
    try {
      await waitFor("first drawing", async () => drawings() >= 1 && out.stdout.includes("Conditions:"), 15_000, 50);
      const before = drawings();
      const annotated = await kubectl(["annotate", "mfg", GROUP, "-n", ns, `cli-status-test=${Date.now()}`, "--overwrite"]);
      expect(annotated.code).toBe(0);
      await waitFor("a redraw after the change", async () => drawings() > before, 10_000, 50);
      // A non-terminal gets each drawing after a blank line, never a screen-clearing sequence.
      expect(out.stdout).toContain("\n\nGroup: ");
      expect(out.stdout).not.toContain("\u001b[");
      child.kill("SIGINT");
      expect(await exited).toBe(0);
      expect(out.stderr).toBe("");
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("runbook list and runbook <name>", async () => {
    const list = await plugin(["runbook", "list"]);
    expect(list.code).toBe(0);
    expect(list.stdout.split("\n")[0]).toMatch(/^NAME +SUMMARY$/);
    for (const name of ["alerts", "planned-failover", "manual-promotion", "split-brain-recovery", "divergent-old-primary", "pvc-loss", "total-loss", "maintenance-mode", "credential-rotation", "replication-lag-high", "operator-unavailable"]) {
      expect(list.stdout).toMatch(new RegExp(`^${name} `, "m"));
    }
    const book = await plugin(["runbook", "split-brain-recovery"]);
    expect(book.code).toBe(0);
    // NO_COLOR (and no terminal): the Markdown as written.
    expect(book.stdout.startsWith("# Split-brain recovery\n")).toBe(true);
    expect(book.stdout).toContain("kubectl bloodraven gtid subtract");
    const unknown = await plugin(["runbook", "split-brain"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^error: unknown runbook "split-brain"; did you mean split-brain-recovery\?/);
  });

  it("completion bash is valid bash and completes commands and group names through kubectl", async () => {
    const script = await plugin(["completion", "bash"]);
    expect(script.code).toBe(0);
    expect(script.stdout).toContain("complete -F _kubectl_bloodraven kubectl-bloodraven");
    const path = env.join("completion.bash");
    writeFileSync(path, script.stdout);
    expect((await bash(["-n", path])).code).toBe(0);
    const complete = async (...words: string[]) => {
      const r = await bash(
        ["-c", `source ${path}; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _kubectl_bloodraven; echo "\${COMPREPLY[*]}"`, "_", "kubectl-bloodraven", ...words],
        { ...process.env, KUBECONFIG: testKubeconfig() },
      );
      return r.stdout.trim();
    };
    expect((await complete("")).split(" ")).toEqual(expect.arrayContaining(["status", "runbook", "completion", "gtid", "version"]));
    expect(await complete("gtid", "sub")).toBe("subtract subset");
    expect(await complete("status", "-o", "")).toBe("table wide json yaml");
    expect(await complete("status", "-n", ns, "")).toBe(GROUP);
    expect(await complete("runbook", "split")).toBe("split-brain-recovery");

    const zsh = await plugin(["completion", "zsh"]);
    expect(zsh.code).toBe(0);
    expect(zsh.stdout.startsWith("#compdef kubectl-bloodraven\n")).toBe(true);
    const bad = await plugin(["completion", "fish"]);
    expect(bad.code).toBe(2);
  });

  it("kubectl itself completes the plugin's commands, groups and sites through kubectl_complete-bloodraven", async () => {
    const complete = async (...words: string[]) => {
      const r = await kubectl(["__complete", "bloodraven", ...words]);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.split("\n").filter((l) => l !== "" && !l.startsWith(":")).map((l) => l.split("\t")[0]);
    };
    expect(await complete("fail")).toEqual(["failover"]);
    expect(await complete("-n", ns, "status", "")).toEqual([GROUP]);
    expect(await complete("-n", ns, "failover", GROUP, "")).toEqual(expect.arrayContaining(["iad", "pdx"]));
    expect(await complete("status", "-o", "w")).toEqual(["wide"]);
    // An unreachable answer completes nothing rather than printing an error into the shell.
    expect(await complete("-n", "no-such-namespace", "failover", GROUP, "")).toEqual([]);
  });
});
