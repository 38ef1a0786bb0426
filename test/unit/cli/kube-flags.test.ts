import { CommanderError } from "commander";
import { describe, expect, it } from "vitest";
import type { Cluster, Context, User } from "@kubernetes/client-node";
import { buildProgram } from "../../../cli/program.js";
import { explainApiError } from "../../../cli/kube-context.js";
import {
  MAX_TIMER_MS,
  applyOverrides,
  impersonationHeaders,
  kubeconfigPaths,
  mergeKubeconfigs,
  normalizeArgs,
  parseGlobalFlags,
  parseRequestTimeout,
  type Overrides,
} from "../../../cli/kube-flags.js";
import type { KubeconfigData } from "../../../shared/kube/kubeconfig.js";

const cluster = (name: string, server: string, extra: Partial<Cluster> = {}): Cluster => ({ name, server, skipTLSVerify: false, ...extra });
const context = (name: string, clusterName: string, user: string, namespace?: string): Context => ({ name, cluster: clusterName, user, ...(namespace ? { namespace } : {}) });
const kubeconfig = (data: Partial<KubeconfigData>): KubeconfigData => ({ clusters: [], users: [], contexts: [], currentContext: "", ...data });
const none: Overrides = { insecureSkipTlsVerify: false, asGroups: [] };

function errorsOf(flags: Parameters<typeof parseGlobalFlags>[0]): string[] {
  const checked = parseGlobalFlags(flags);
  return checked.ok ? [] : checked.errors;
}

describe("--request-timeout, as kubectl reads it", () => {
  it.each([
    ["30", 30_000],
    ["500ms", 500],
    ["1m", 60_000],
    ["1h30m", 5_400_000],
    [" 5s ", 5_000],
  ])("%j is %d ms", (text, ms) => expect(parseRequestTimeout(text)).toBe(ms));

  it("0, with or without a unit, is no deadline", () => {
    expect(parseRequestTimeout("0")).toBe(MAX_TIMER_MS);
    expect(parseRequestTimeout("0s")).toBe(MAX_TIMER_MS);
  });

  it.each(["abc", "-1", "1.5s", "", "5 s"])("refuses %j, naming the flag and the fix", (text) => {
    expect(errorsOf({ requestTimeout: text })).toEqual([`--request-timeout: ${JSON.stringify(text)} is not a duration; write seconds (30) or a duration (500ms, 30s, 1m), 0 for none`]);
  });
});

describe("the global flags, checked", () => {
  it("defaults: 30s deadline, log level 0, nothing overridden", () => {
    expect(parseGlobalFlags({})).toEqual({ ok: true, value: { timeoutMs: 30_000, verbosity: 0, overrides: none } });
  });

  it("keeps what was given", () => {
    const checked = parseGlobalFlags({
      kubeconfig: "/k",
      context: "prod",
      namespace: "shop",
      requestTimeout: "5",
      v: "6",
      server: "https://api.example:6443",
      token: "t0ken",
      certificateAuthority: "/ca.crt",
      as: "alice",
      asGroup: ["dba", "ops"],
      asUid: "42",
    });
    expect(checked).toEqual({
      ok: true,
      value: {
        kubeconfig: "/k",
        context: "prod",
        namespace: "shop",
        timeoutMs: 5_000,
        verbosity: 6,
        overrides: { server: "https://api.example:6443", token: "t0ken", certificateAuthority: "/ca.crt", insecureSkipTlsVerify: false, as: "alice", asGroups: ["dba", "ops"], asUid: "42" },
      },
    });
  });

  it("--server: host:port means https, a trailing slash goes, anything but a http(s) URL is refused", () => {
    const server = (text: string) => {
      const checked = parseGlobalFlags({ server: text });
      return checked.ok ? checked.value.overrides.server : checked.errors[0];
    };
    expect(server("127.0.0.1:6443")).toBe("https://127.0.0.1:6443");
    expect(server("https://api.example:6443/")).toBe("https://api.example:6443");
    expect(server("http://localhost:8080")).toBe("http://localhost:8080");
    expect(server("https://lb.example/k8s")).toBe("https://lb.example/k8s");
    for (const bad of ["not-a-url", "ftp://api.example", "api.example:https", "https://"]) {
      expect(server(bad)).toBe(`--server: ${JSON.stringify(bad)} is not a URL; write it as https://host:port`);
    }
  });

  it("-v takes a number", () => {
    expect(errorsOf({ v: "x" })).toEqual(['-v: "x" is not a log level; write a number, e.g. -v=6 to see each API request']);
    expect(errorsOf({ v: "-1" })).toHaveLength(1);
  });

  it("refuses what kubectl refuses: a CA with --insecure-skip-tls-verify, groups or a UID without --as", () => {
    expect(errorsOf({ certificateAuthority: "/ca.crt", insecureSkipTlsVerify: true })).toEqual([
      "--insecure-skip-tls-verify cannot be combined with --certificate-authority (kubectl refuses it too): give the CA to verify the server, or skip verification",
    ]);
    expect(errorsOf({ asGroup: ["dba"] })).toEqual(["--as-group needs --as: name the user to impersonate (kubectl refuses it too)"]);
    expect(errorsOf({ asUid: "42" })).toEqual(["--as-uid needs --as: name the user to impersonate (kubectl refuses it too)"]);
  });

  it("reports every bad flag at once", () => {
    expect(errorsOf({ requestTimeout: "abc", v: "x", server: "not-a-url", asGroup: ["g"] })).toHaveLength(4);
  });

  it("empty values count as not given, as in kubectl", () => {
    expect(parseGlobalFlags({ token: "", as: "", server: "" })).toEqual({ ok: true, value: { timeoutMs: 30_000, verbosity: 0, overrides: none } });
  });
});

describe("the = forms of Go's flag parser", () => {
  it("-v=6 becomes --v=6; -v 6 and -v6 stay (commander reads them)", () => {
    expect(normalizeArgs(["status", "-v=6"])).toEqual({ ok: true, value: ["status", "--v=6"] });
    expect(normalizeArgs(["status", "-v", "6", "-v6"])).toEqual({ ok: true, value: ["status", "-v", "6", "-v6"] });
  });

  it("--insecure-skip-tls-verify=true is the switch, =false leaves it off, anything else is refused", () => {
    expect(normalizeArgs(["--insecure-skip-tls-verify=true", "status"])).toEqual({ ok: true, value: ["--insecure-skip-tls-verify", "status"] });
    expect(normalizeArgs(["--insecure-skip-tls-verify=T", "status"])).toEqual({ ok: true, value: ["--insecure-skip-tls-verify", "status"] });
    expect(normalizeArgs(["status", "--insecure-skip-tls-verify=false"])).toEqual({ ok: true, value: ["status"] });
    expect(normalizeArgs(["status", "--insecure-skip-tls-verify=0"])).toEqual({ ok: true, value: ["status"] });
    expect(normalizeArgs(["--insecure-skip-tls-verify=yes"])).toEqual({ ok: false, errors: ['--insecure-skip-tls-verify: "yes" is not true or false'] });
  });

  it("leaves the words after -- alone", () => {
    expect(normalizeArgs(["gtid", "--", "-v=6", "--insecure-skip-tls-verify=no"])).toEqual({ ok: true, value: ["gtid", "--", "-v=6", "--insecure-skip-tls-verify=no"] });
  });
});

describe("KUBECONFIG with several files", () => {
  it("splits on the path separator, dropping empty entries and repeats", () => {
    expect(kubeconfigPaths("/a::/b:/a:")).toEqual(["/a", "/b"]);
    expect(kubeconfigPaths("C:\\a;C:\\b", ";")).toEqual(["C:\\a", "C:\\b"]);
  });

  it("merges as kubectl does: the first file wins per name, current-context from the first file that sets one", () => {
    const first = kubeconfig({
      clusters: [cluster("prod", "https://prod:6443")],
      users: [{ name: "admin", token: "first" }],
      contexts: [context("prod", "prod", "admin", "shop")],
    });
    const second = kubeconfig({
      clusters: [cluster("prod", "https://elsewhere:6443"), cluster("dev", "https://dev:6443")],
      users: [{ name: "admin", token: "second" }, { name: "dev", token: "d" }],
      contexts: [context("prod", "dev", "dev"), context("dev", "dev", "dev")],
      currentContext: "dev",
    });
    const third = kubeconfig({ currentContext: "prod" });
    const merged = mergeKubeconfigs([first, second, third]);
    expect(merged.currentContext).toBe("dev");
    expect(merged.clusters).toEqual([cluster("prod", "https://prod:6443"), cluster("dev", "https://dev:6443")]);
    expect(merged.users).toEqual([{ name: "admin", token: "first" }, { name: "dev", token: "d" }]);
    expect(merged.contexts).toEqual([context("prod", "prod", "admin", "shop"), context("dev", "dev", "dev")]);
    expect(mergeKubeconfigs([{ ...first, currentContext: "prod" }, second]).currentContext).toBe("prod");
    expect(mergeKubeconfigs([]).currentContext).toBe("");
  });
});

describe("overrides of the current context, with kubectl's meaning", () => {
  const admin: User = { name: "admin", token: "kubeconfig-token", certData: "Y2VydA==", keyData: "a2V5", exec: { command: "login" }, username: "u", password: "p" };
  const base = kubeconfig({
    clusters: [cluster("prod", "https://prod:6443", { caData: "Y2E=", tlsServerName: "prod.internal" }), cluster("dev", "https://dev:6443", { skipTLSVerify: true })],
    users: [admin, { name: "dev", token: "d" }],
    contexts: [context("prod", "prod", "admin"), context("dev", "dev", "dev")],
    currentContext: "prod",
  });
  const current = (data: KubeconfigData) => {
    const ctx = data.contexts.find((c) => c.name === data.currentContext)!;
    return { cluster: data.clusters.find((c) => c.name === ctx.cluster)!, user: data.users.find((u) => u.name === ctx.user)! };
  };

  it("nothing given: nothing changes", () => {
    expect(applyOverrides(base, none)).toEqual(base);
  });

  it("--server replaces the server and drops the tls-server-name meant for the old one", () => {
    const { cluster: c } = current(applyOverrides(base, { ...none, server: "https://lb:443" }));
    expect(c).toMatchObject({ server: "https://lb:443", caData: "Y2E=" });
    expect(c.tlsServerName).toBeUndefined();
  });

  it("--certificate-authority replaces the CA data and turns verification on; --insecure-skip-tls-verify drops the CA", () => {
    const withCa = current(applyOverrides(base, { ...none, certificateAuthority: "/ca.crt" })).cluster;
    expect(withCa).toMatchObject({ caFile: "/ca.crt", skipTLSVerify: false, tlsServerName: "prod.internal" });
    expect(withCa.caData).toBeUndefined();
    const insecure = current(applyOverrides(base, { ...none, insecureSkipTlsVerify: true })).cluster;
    expect(insecure).toMatchObject({ skipTLSVerify: true });
    expect(insecure.caData).toBeUndefined();
    expect(insecure.caFile).toBeUndefined();
    const onDev = current(applyOverrides({ ...base, currentContext: "dev" }, { ...none, certificateAuthority: "/ca.crt" })).cluster;
    expect(onDev).toMatchObject({ name: "dev", caFile: "/ca.crt", skipTLSVerify: false });
  });

  it("--token replaces the user's credentials but keeps the client certificate, as kubectl presents it still", () => {
    expect(current(applyOverrides(base, { ...none, token: "flag-token" })).user).toEqual({
      name: "admin",
      token: "flag-token",
      certData: "Y2VydA==",
      keyData: "a2V5",
      certFile: undefined,
      keyFile: undefined,
      impersonateUser: undefined,
    });
  });

  it("--as replaces the user's `as`; groups and a UID become headers, one line per group", () => {
    const o: Overrides = { ...none, as: "alice", asGroups: ["dba", "ops"], asUid: "42" };
    expect(current(applyOverrides(base, o)).user).toEqual({ ...admin, impersonateUser: "alice" });
    expect(impersonationHeaders(o)).toEqual([
      ["Impersonate-Group", "dba"],
      ["Impersonate-Group", "ops"],
      ["Impersonate-Uid", "42"],
    ]);
    expect(impersonationHeaders(none)).toEqual([]);
  });

  it("touches only the current context's cluster and user", () => {
    const data = applyOverrides(base, { ...none, server: "https://lb:443", token: "flag-token", as: "alice" });
    expect(data.clusters.find((c) => c.name === "dev")).toEqual(base.clusters[1]);
    expect(data.users.find((u) => u.name === "dev")).toEqual(base.users[1]);
    expect(data.contexts).toEqual(base.contexts);
  });

  it("a user the context names but the kubeconfig lacks gets the token", () => {
    const data = kubeconfig({ clusters: [cluster("c", "https://c:6443")], contexts: [context("c", "c", "ghost")], currentContext: "c" });
    expect(current(applyOverrides(data, { ...none, token: "t" })).user).toMatchObject({ name: "ghost", token: "t" });
  });

  it("without a current context there is nothing to override", () => {
    const data = kubeconfig({ clusters: [cluster("c", "https://c:6443")] });
    expect(applyOverrides(data, { ...none, server: "https://lb:443" })).toEqual(data);
  });
});

describe("messages for requests refused under --token or --as", () => {
  const apiError = (status: number, message: string) => Object.assign(new Error(message), { name: "ApiError", status, reason: "" });
  const ctx = { server: "https://k:6443", timeoutMs: 30_000, contextName: "prod" };

  it("403 names the impersonated user and puts the flags in the can-i check", () => {
    const err = explainApiError(apiError(403, "forbidden"), { verb: "list", namespace: "shop" }, { ...ctx, identity: { token: false, as: "alice", asGroups: ["dba"] } });
    expect(err.message).toBe(
      'forbidden: the impersonated user "alice" cannot list mysqlfailovergroups.shipstream.io in namespace shop; ask for RBAC that grants "list" on mysqlfailovergroups.shipstream.io (check with: kubectl auth can-i list mysqlfailovergroups.shipstream.io -n shop --as=alice --as-group=dba)',
    );
  });

  it("403 for the impersonation itself says what is missing", () => {
    const server = 'users "alice" is forbidden: User "bob" cannot impersonate resource "users" in API group "" at the cluster scope';
    const err = explainApiError(apiError(403, server), { verb: "list", namespace: "shop" }, { ...ctx, identity: { token: false, as: "alice", asGroups: [] } });
    expect(err.message).toBe(`forbidden: ${server}; impersonation (--as=alice) needs RBAC that grants "impersonate" on users and groups`);
  });

  it("401 under --token blames the token, not the context", () => {
    const err = explainApiError(apiError(401, "Unauthorized"), { verb: "list", namespace: "shop" }, { ...ctx, identity: { token: true, asGroups: [] } });
    expect(err.message).toBe("unauthorized: the API server at https://k:6443 did not accept the --token; check that it is current and meant for this cluster");
  });

  it("404 of an object names the object's resource: a verification gone while --wait follows it is not a missing group", () => {
    const gone = (name: string) => apiError(404, `mysqlbackupverifications.shipstream.io "${name}" not found`);
    expect(explainApiError(gone("v1"), { verb: "get", resource: "mysqlbackupverifications.shipstream.io", namespace: "shop", name: "v1" }, ctx).message).toBe(
      "no mysqlbackupverifications.shipstream.io shop/v1; kubectl get mysqlbackupverifications.shipstream.io -n shop lists them",
    );
    expect(explainApiError(gone("orders"), { verb: "get", namespace: "shop", name: "orders" }, ctx).message).toBe("no MysqlFailoverGroup shop/orders; kubectl get mfg -n shop lists them");
  });
});

describe("the program", () => {
  async function run(...args: string[]): Promise<{ code: number | undefined; stderr: string }> {
    let stderr = "";
    const program = buildProgram().configureOutput({ writeErr: (s) => (stderr += s), writeOut: () => undefined });
    try {
      await program.parseAsync(args, { from: "user" });
      return { code: undefined, stderr };
    } catch (err) {
      if (!(err instanceof CommanderError)) throw err;
      return { code: err.exitCode, stderr };
    }
  }

  it("refuses a bad global flag for any command, before it acts (exit 2)", async () => {
    expect(await run("gtid", "subtract", "a:1", "a:1", "--request-timeout", "abc")).toEqual({
      code: 2,
      stderr: 'error: --request-timeout: "abc" is not a duration; write seconds (30) or a duration (500ms, 30s, 1m), 0 for none\n',
    });
    expect((await run("runbook", "list", "--as-group", "dba")).code).toBe(2);
  });

  it("knows every kubectl flag the issue lists", async () => {
    const names = buildProgram().options.map((o) => o.long);
    expect(names).toEqual(
      expect.arrayContaining(["--kubeconfig", "--context", "--namespace", "--as", "--as-group", "--as-uid", "--token", "--server", "--certificate-authority", "--insecure-skip-tls-verify", "--request-timeout", "--v"]),
    );
  });
});
