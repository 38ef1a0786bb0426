import { describe, expect, it } from "vitest";
import { ConfigError, parseOperatorConfig } from "../../operator/config.js";
import { credentialSecretNames, parseDsn } from "../../operator/group/credentials.js";
import { withDefaults, type MysqlFailoverGroupSpec } from "../../shared/api/index.js";

describe("operator configuration", () => {
  it("has production defaults", () => {
    const c = parseOperatorConfig([], {});
    expect(c).toMatchObject({ namespaces: [], metricsPort: 8080, healthPort: 8081, statusPort: 8082, leaderElection: true, leaseDurationMs: 15_000, logLevel: "info", credentialsRefreshMs: 600_000, watchSecrets: false });
    expect(c.statusToken).toBeUndefined();
  });

  it("takes flags over environment variables", () => {
    const c = parseOperatorConfig(["--namespaces=a,b", "--status-port", "9000", "--no-leader-election"], { BLOODRAVEN_NAMESPACES: "x", BLOODRAVEN_STATUS_PORT: "1", BLOODRAVEN_STATUS_TOKEN: "t0k", BLOODRAVEN_CREDENTIALS_REFRESH: "30s" });
    expect(c).toMatchObject({ namespaces: ["a", "b"], statusPort: 9000, leaderElection: false, statusToken: "t0k", credentialsRefreshMs: 30_000 });
  });

  it.each([
    [["--status-port=99999"], /--status-port must be a port/],
    [["--log-level=loud"], /--log-level must be one of/],
    [["--lease-duration=5x"], /--lease-duration: invalid duration/],
    [["--credentials-refresh=0s"], /--credentials-refresh/],
    [["--lease-duration=5s", "--renew-deadline=10s"], /--lease-duration must exceed --renew-deadline/],
    [["--nope"], /Unknown option '--nope'/],
  ])("rejects %j", (argv, message) => {
    expect(() => parseOperatorConfig(argv, {})).toThrow(ConfigError);
    expect(() => parseOperatorConfig(argv, {})).toThrow(message);
  });

  it("reads failpoints from BLOODRAVEN_FAILPOINTS only, none by default", () => {
    expect(parseOperatorConfig([], {}).failpoints.size).toBe(0);
    const c = parseOperatorConfig([], { BLOODRAVEN_FAILPOINTS: " planned.after.drain=10s, planned.after.persist.Resuming=250ms " });
    expect([...c.failpoints]).toEqual([
      ["planned.after.drain", 10_000],
      ["planned.after.persist.Resuming", 250],
    ]);
  });

  it.each([
    ["planned.after.dran=1s", /unknown failpoint "planned.after.dran".*known: planned.after.drain/],
    ["planned.after.promote", /planned.after.promote needs a duration such as 5s/],
    ["planned.after.promote=soon", /planned.after.promote needs a duration/],
  ])("rejects failpoints %j", (value, message) => {
    expect(() => parseOperatorConfig([], { BLOODRAVEN_FAILPOINTS: value })).toThrow(ConfigError);
    expect(() => parseOperatorConfig([], { BLOODRAVEN_FAILPOINTS: value })).toThrow(message);
  });
});

describe("legacy DSN secrets", () => {
  it("reads user and password, passwords may contain @ and :", () => {
    expect(parseDsn("root:s3cr:et@tcp(mysql:3306)/")).toEqual({ user: "root", password: "s3cr:et" });
    expect(parseDsn("u:p@ss@tcp(h:1)/db?x=1")).toEqual({ user: "u", password: "p@ss" });
    expect(parseDsn("nouser")).toBeUndefined();
    expect(parseDsn(":pw@tcp(h)/")).toBeUndefined();
  });
});

describe("the Secrets a group names", () => {
  const sites = [{ name: "iad", endpoint: { host: "db", port: 3306 } }];
  it("are each role's, once each, or the legacy secretName's", () => {
    const spec = (over: Partial<MysqlFailoverGroupSpec>) => withDefaults({ sites, ...over } as MysqlFailoverGroupSpec);
    expect(credentialSecretNames(spec({ credentials: { operator: { secretName: "op" }, replication: { secretName: "repl" }, application: { secretName: "app" }, backup: { secretName: "op" } } }))).toEqual(["op", "repl", "app"]);
    expect(credentialSecretNames(spec({ secretName: "dsn" }))).toEqual(["dsn"]);
    expect(credentialSecretNames(spec({}))).toEqual([]);
  });
});
