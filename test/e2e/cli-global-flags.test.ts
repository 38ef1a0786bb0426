import { randomBytes } from "node:crypto";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type IncomingHttpHeaders } from "node:http";
import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from "node:net";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify as toYaml } from "yaml";
import { EnvDir } from "../../scripts/env/env-dir.js";
import { parseMaintenance } from "../../shared/maintenance.js";
import { waitFor } from "../../scripts/env/ports.js";
import { asList, failoverGroup, siteAt } from "../support/fixtures.js";
import { kubectl, startKubectl, testKubeconfig, type CommandResult } from "../support/kubectl.js";

/**
 * kubectl's global flags in `kubectl bloodraven`, through the real kubectl against the real API
 * server (RBAC on, a static admin token, ServiceAccount tokens): impersonation with --as /
 * --as-group (API calls and watches), --token, --server, --certificate-authority,
 * --insecure-skip-tls-verify, --request-timeout against a port that never answers, -v=6, and
 * KUBECONFIG listing several files. Where the exact header lines matter, a loopback HTTP server
 * stands in for the API server and records them.
 */
const suffix = randomBytes(3).toString("hex");
const ns = `cli-flags-${suffix}`;
const GROUP = "orders";
const RESOURCE = "mysqlfailovergroups.shipstream.io";

const plugin = (args: string[], opts: Parameters<typeof kubectl>[1] = {}) => kubectl(["bloodraven", ...args], opts);

/** What kubectl's plugins see of the test kubeconfig: its one cluster, user and admin token. */
interface TestKubeconfig {
  server: string;
  token: string;
  text: string;
}

function readTestKubeconfig(): TestKubeconfig {
  const text = readFileSync(testKubeconfig(), "utf8");
  const server = /server: (\S+)/.exec(text)?.[1];
  const token = /token: (\S+)/.exec(text)?.[1];
  if (!server || !token) throw new Error(`unexpected test kubeconfig:\n${text}`);
  return { server, token, text };
}

function kubeconfigYaml(doc: { clusters: object[]; users: object[]; contexts: object[]; currentContext?: string }): string {
  return toYaml({
    apiVersion: "v1",
    kind: "Config",
    clusters: doc.clusters,
    users: doc.users,
    contexts: doc.contexts,
    ...(doc.currentContext ? { "current-context": doc.currentContext } : {}),
  });
}

/** `status -o json`: no operator runs here, and the table would add staleness warnings on stderr. */
const status = (args: string[], opts: Parameters<typeof kubectl>[1] = {}) => plugin(["status", "-o", "json", ...args], opts);

/** The command succeeded and listed the test group. */
const listed = (r: CommandResult) => r.code === 0 && (JSON.parse(r.stdout) as { items: { metadata: { name: string } }[] }).items.some((g) => g.metadata.name === GROUP);

describe("kubectl's global flags in kubectl bloodraven (real kubectl and API server)", () => {
  const env = new EnvDir("cli-flags");
  let kc: TestKubeconfig;
  /** The API server's serving certificate and its self-signed CA, as kube-apiserver wrote them. */
  let apiServerCa: string;
  /** A CA that did not sign the API server's certificate. */
  let otherCa: string;
  let readerToken: string;

  const write = (name: string, text: string): string => {
    const path = env.join(name);
    writeFileSync(path, text, { mode: 0o600 });
    return path;
  };

  beforeAll(async () => {
    kc = readTestKubeconfig();
    apiServerCa = join(dirname(testKubeconfig()), "certs", "apiserver.crt");
    otherCa = "/etc/ssl/certs/ca-certificates.crt";
    const rule = { apiGroups: ["shipstream.io"], resources: ["mysqlfailovergroups"], verbs: ["get", "list", "watch", "patch"] };
    const objects = [
      { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } },
      failoverGroup(ns, GROUP, { sites: [siteAt({ name: "iad", port: 3306 }, { role: "primary-candidate" }), siteAt({ name: "pdx", port: 3307 }, { role: "primary-candidate" })] }),
      { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "reader", namespace: ns } },
      { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "mfg-operator", namespace: ns }, rules: [rule] },
      { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "mfg-no-watch", namespace: ns }, rules: [{ ...rule, verbs: ["get", "list"] }] },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: "mfg-operator", namespace: ns },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "mfg-operator" },
        subjects: [
          { kind: "Group", apiGroup: "rbac.authorization.k8s.io", name: "dba" },
          { kind: "ServiceAccount", name: "reader", namespace: ns },
        ],
      },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: "mfg-no-watch", namespace: ns },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "mfg-no-watch" },
        subjects: [{ kind: "User", apiGroup: "rbac.authorization.k8s.io", name: "carol" }],
      },
    ];
    const applied = await kubectl(["apply", "-f", "-"], { input: asList(objects) });
    expect(applied.stderr).toBe("");
    // The TokenRequest API: a ServiceAccount token, as `kubectl create token` gets one.
    const token = await kubectl(["create", "token", "reader", "-n", ns]);
    expect(token.stderr).toBe("");
    readerToken = token.stdout.trim();
  });

  afterAll(async () => {
    await kubectl(["delete", "namespace", ns, "--wait=false"]);
    env.remove();
  });

  describe("--as, --as-group", () => {
    it("acts as the impersonated user: refused by RBAC where the admin is allowed", async () => {
      expect(listed(await status(["-n", ns]))).toBe(true);
      const sa = `system:serviceaccount:${ns}:nobody`;
      const r = await status(["-n", ns, `--as=${sa}`]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        `error: forbidden: the impersonated user "${sa}" cannot list ${RESOURCE} in namespace ${ns}; ask for RBAC that grants "list" on ${RESOURCE} (check with: kubectl auth can-i list ${RESOURCE} -n ${ns} --as=${sa})\n`,
      );
    });

    it("sends every --as-group as its own header: a role bound to the second group works", async () => {
      expect((await status(["-n", ns, "--as", "alice"])).code).toBe(1);
      const r = await status(["-n", ns, "--as", "alice", "--as-group", "ops", "--as-group=dba"]);
      expect(r.stderr).toBe("");
      expect(listed(r)).toBe(true);
      // Before the command name too, as kubectl takes its flags.
      expect(listed(await plugin(["--as=alice", "--as-group=dba", "status", "-o", "json", "-n", ns]))).toBe(true);
    });

    it("impersonates the watch of --watch too: a user who may get but not watch is refused there", async () => {
      const r = await status([GROUP, "-n", ns, "--watch", "--as=carol"], { timeoutMs: 30_000 });
      expect(r.code).toBe(1);
      expect(JSON.parse(r.stdout)).toMatchObject({ metadata: { name: GROUP } });
      expect(r.stderr).toBe(
        `error: forbidden: the impersonated user "carol" cannot watch ${RESOURCE} in namespace ${ns}; ask for RBAC that grants "watch" on ${RESOURCE} (check with: kubectl auth can-i watch ${RESOURCE} -n ${ns} --as=carol)\n`,
      );
    });

    it("writes as the impersonated user, who is the one maintenance records", async () => {
      const r = await plugin(["maintenance", "on", GROUP, "-n", ns, "--for", "1h", "--as=alice", "--as-group=dba"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const annotation = await kubectl(["get", "mfg", GROUP, "-n", ns, "-o", "jsonpath={.metadata.annotations.bloodraven\\.shipstream\\.io/maintenance}"]);
      expect(parseMaintenance(annotation.stdout)).toMatchObject({ ok: true, value: { by: "alice" } });
      expect((await plugin(["maintenance", "off", GROUP, "-n", ns, "--as=alice"])).code).toBe(1);
    });

    it("says so when the real user may not impersonate", async () => {
      const r = await status(["-n", ns, `--token=${readerToken}`, "--as=alice"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^error: forbidden: users "alice" is forbidden: User "system:serviceaccount:.*" cannot impersonate .*; impersonation \(--as=alice\) needs RBAC that grants "impersonate" on users and groups\n$/);
    });

    it("refuses --as-group without --as, before any request (exit 2)", async () => {
      const r = await status(["-n", ns, "--as-group=dba"]);
      expect(r).toMatchObject({ code: 2, stdout: "", stderr: "error: --as-group needs --as: name the user to impersonate (kubectl refuses it too)\n" });
    });
  });

  describe("--token", () => {
    it("replaces the context's credentials: a ServiceAccount's token reads its namespace and nothing beyond", async () => {
      const own = await status(["-n", ns, `--token=${readerToken}`]);
      expect(own.stderr).toBe("");
      expect(listed(own)).toBe(true);
      expect((await status(["-A"])).code).toBe(0);
      const all = await status(["-A", "--token", readerToken]);
      expect(all.code).toBe(1);
      expect(all.stderr).toMatch(new RegExp(`^error: forbidden: you cannot list ${RESOURCE.replaceAll(".", "\\.")} across all namespaces;`));
    });

    it("a token the server does not know is blamed, not the context", async () => {
      const r = await status(["-n", ns, "--token=not-a-token"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`error: unauthorized: the API server at ${kc.server} did not accept the --token; check that it is current and meant for this cluster\n`);
    });
  });

  describe("--server, --certificate-authority, --insecure-skip-tls-verify", () => {
    it("--server replaces the context's server, as a URL or host:port", async () => {
      const elsewhere = write("elsewhere", kc.text.replace(kc.server, "https://127.0.0.1:1"));
      const broken = await status(["-n", ns, "--kubeconfig", elsewhere]);
      expect(broken.code).toBe(1);
      expect(broken.stderr).toMatch(/^error: cannot reach the API server at https:\/\/127\.0\.0\.1:1:/);
      expect(listed(await status(["-n", ns, "--kubeconfig", elsewhere, `--server=${kc.server}`]))).toBe(true);
      expect(listed(await status(["-n", ns, "--kubeconfig", elsewhere, "--server", kc.server.replace("https://", "")]))).toBe(true);
    });

    it("--server that is not a URL is refused before any request (exit 2)", async () => {
      const r = await status(["-n", ns, "--server", "not-a-url"]);
      expect(r).toMatchObject({ code: 2, stdout: "", stderr: 'error: --server: "not-a-url" is not a URL; write it as https://host:port\n' });
    });

    it("--certificate-authority verifies the server, in place of the kubeconfig's insecure-skip-tls-verify", async () => {
      const verified = await status(["-n", ns, `--certificate-authority=${apiServerCa}`]);
      expect(verified.stderr).toBe("");
      expect(listed(verified)).toBe(true);
      const wrong = await status(["-n", ns, "--certificate-authority", otherCa]);
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toMatch(/^error: cannot reach the API server at .*: (self[- ]signed certificate|unable to verify|unable to get local issuer)/);
    });

    it("--insecure-skip-tls-verify drops the kubeconfig's CA", async () => {
      const pinned = write("pinned", kc.text.replace("insecure-skip-tls-verify: true", `certificate-authority: ${otherCa}`));
      expect((await status(["-n", ns, "--kubeconfig", pinned])).code).toBe(1);
      expect(listed(await status(["-n", ns, "--kubeconfig", pinned, "--insecure-skip-tls-verify"]))).toBe(true);
      expect(listed(await status(["-n", ns, "--kubeconfig", pinned, "--insecure-skip-tls-verify=true"]))).toBe(true);
    });

    it("refuses both together, and a CA file that does not exist (exit 2)", async () => {
      const both = await status(["-n", ns, `--certificate-authority=${apiServerCa}`, "--insecure-skip-tls-verify"]);
      expect(both).toMatchObject({
        code: 2,
        stderr: "error: --insecure-skip-tls-verify cannot be combined with --certificate-authority (kubectl refuses it too): give the CA to verify the server, or skip verification\n",
      });
      const missing = await status(["-n", ns, "--certificate-authority=/nonexistent/ca.crt"]);
      expect(missing).toMatchObject({ code: 2, stderr: "error: --certificate-authority: no file /nonexistent/ca.crt\n" });
    });
  });

  describe("--request-timeout", () => {
    let blackHole: Server;
    const sockets = new Set<Socket>();

    beforeAll(async () => {
      // Accepts connections and never answers, not even the TLS handshake.
      blackHole = createTcpServer((socket) => {
        sockets.add(socket);
        socket.on("close", () => sockets.delete(socket));
      });
      await new Promise<void>((resolve) => blackHole.listen(0, "127.0.0.1", resolve));
    });

    afterAll(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => blackHole.close(resolve));
    });

    it("bounds each request: a duration, or whole seconds as kubectl takes them", async () => {
      const server = `https://127.0.0.1:${(blackHole.address() as AddressInfo).port}`;
      for (const [flag, shown] of [
        ["1s", "1s"],
        ["2", "2s"],
      ] as const) {
        const started = Date.now();
        const r = await status(["-n", ns, `--server=${server}`, "--request-timeout", flag], { timeoutMs: 20_000 });
        expect(r.code).toBe(1);
        expect(r.stderr).toBe(`error: the API server at ${server} did not answer within ${shown} (--request-timeout); check --context/--kubeconfig\n`);
        expect(Date.now() - started).toBeLessThan(10_000);
      }
    });

    it("refuses a value that is not a duration (exit 2)", async () => {
      const r = await status(["-n", ns, "--request-timeout", "abc"]);
      expect(r).toMatchObject({ code: 2, stdout: "", stderr: 'error: --request-timeout: "abc" is not a duration; write seconds (30) or a duration (500ms, 30s, 1m), 0 for none\n' });
    });
  });

  describe("-v", () => {
    it("from 6 up prints each request's method, URL and status to stderr, never a token", async () => {
      const url = `${kc.server}/apis/shipstream.io/v1alpha1/namespaces/${ns}/mysqlfailovergroups`;
      const line = new RegExp(`^GET ${url.replaceAll(".", "\\.")} 200 OK in \\d+ milliseconds$`, "m");
      for (const flag of [["-v=6"], ["-v", "7"], ["--v=6"], ["-v6"]]) {
        const r = await status(["-n", ns, ...flag, `--token=${readerToken}`]);
        expect(listed(r)).toBe(true);
        expect(r.stderr).toMatch(line);
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
        expect(r.stderr).not.toContain(readerToken);
        expect(r.stderr).not.toContain(kc.token);
      }
      const forbidden = await status(["-A", "-v=6", "--as=nobody"]);
      expect(forbidden.stderr).toMatch(/^GET https:\/\/127\.0\.0\.1:\d+\/apis\/shipstream\.io\/v1alpha1\/mysqlfailovergroups 403 Forbidden in \d+ milliseconds\nerror: forbidden: /);
      expect((await status(["-n", ns, "-v=5"])).stderr).toBe("");
    });

    it("refuses a level that is not a number (exit 2)", async () => {
      const r = await status(["-n", ns, "-v", "x"]);
      expect(r).toMatchObject({ code: 2, stdout: "", stderr: 'error: -v: "x" is not a log level; write a number, e.g. -v=6 to see each API request\n' });
    });
  });

  describe("KUBECONFIG with several files", () => {
    it("merges as kubectl does: the first file wins per name, current-context from the first file that sets one, missing files skipped", async () => {
      // The CA relative to the file's folder, as kubectl resolves it.
      copyFileSync(apiServerCa, env.join("api-ca.crt"));
      const first = write(
        "first",
        kubeconfigYaml({
          clusters: [{ name: "test", cluster: { server: kc.server, "certificate-authority": "api-ca.crt" } }],
          users: [{ name: "admin", user: { token: kc.token } }],
          contexts: [{ name: "shared", context: { cluster: "test", user: "admin", namespace: ns } }],
        }),
      );
      const second = write(
        "second",
        kubeconfigYaml({
          clusters: [
            { name: "test", cluster: { server: "https://127.0.0.1:1", "insecure-skip-tls-verify": true } },
            { name: "dead", cluster: { server: "https://127.0.0.1:2", "insecure-skip-tls-verify": true } },
          ],
          users: [{ name: "admin", user: { token: "not-a-token" } }],
          contexts: [
            { name: "shared", context: { cluster: "dead", user: "admin", namespace: "elsewhere" } },
            { name: "second-only", context: { cluster: "test", user: "admin", namespace: ns } },
          ],
          currentContext: "shared",
        }),
      );
      const firstThen = await status([], { env: { KUBECONFIG: `${env.join("missing")}:${first}:${second}` } });
      expect(firstThen.stderr).toBe("");
      expect(listed(firstThen)).toBe(true);

      const secondThen = await status([], { env: { KUBECONFIG: `${second}:${first}` } });
      expect(secondThen.code).toBe(1);
      expect(secondThen.stderr).toMatch(/^error: cannot reach the API server at https:\/\/127\.0\.0\.1:2:/);

      // A context only the second file has, with the cluster and user of the first.
      expect(listed(await status(["--context", "second-only"], { env: { KUBECONFIG: `${first}:${second}` } }))).toBe(true);

      const none = await status([], { env: { KUBECONFIG: `${env.join("missing")}:${env.join("gone")}` } });
      expect(none).toMatchObject({ code: 1, stderr: `error: no kubeconfig: none of the files in KUBECONFIG exists (${env.join("missing")}, ${env.join("gone")})\n` });
    });
  });

  describe("the headers on the wire", () => {
    it("every request, list and watch, carries the --token and one header line per impersonation value", async () => {
      const seen: { url: string; headers: IncomingHttpHeaders; raw: string[] }[] = [];
      const fake = createHttpServer((req, res) => {
        seen.push({ url: req.url ?? "", headers: req.headers, raw: req.rawHeaders });
        res.writeHead(200, { "Content-Type": "application/json" });
        // The watch stays open, silent; the list is empty.
        if (req.url?.includes("watch=true")) res.flushHeaders();
        else res.end(JSON.stringify({ apiVersion: "shipstream.io/v1alpha1", kind: "MysqlFailoverGroupList", metadata: { resourceVersion: "5" }, items: [] }));
      });
      await new Promise<void>((resolve) => fake.listen(0, "127.0.0.1", resolve));
      const server = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
      const args = ["bloodraven", "status", "-n", "fake", "-w", `--server=${server}`, "--insecure-skip-tls-verify", "--token=flag-token", "--as=alice", "--as-group=dba", "--as-group=ops", "--as-uid=42"];
      const { child, out, exited } = startKubectl(args);
      try {
        await waitFor("the watch request", async () => seen.some((s) => s.url.includes("watch=true")), 20_000, 50);
        child.kill("SIGINT");
        expect(await exited).toBe(0);
      } finally {
        child.kill("SIGKILL");
        fake.closeAllConnections();
        await new Promise((resolve) => fake.close(resolve));
      }
      expect(out.stderr).toBe("No MysqlFailoverGroups found in fake namespace.\n");
      expect(seen.map((s) => s.url.split("?")[0])).toEqual(["/apis/shipstream.io/v1alpha1/namespaces/fake/mysqlfailovergroups", "/apis/shipstream.io/v1alpha1/namespaces/fake/mysqlfailovergroups"]);
      for (const { headers, raw } of seen) {
        expect(headers.authorization).toBe("Bearer flag-token");
        expect(headers["impersonate-user"]).toBe("alice");
        expect(headers["impersonate-uid"]).toBe("42");
        const groups = raw.flatMap((v, i) => (i % 2 === 0 && v.toLowerCase() === "impersonate-group" ? [raw[i + 1]] : []));
        expect(groups).toEqual(["dba", "ops"]);
      }
    });
  });
});
