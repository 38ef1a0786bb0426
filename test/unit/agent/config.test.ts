import { describe, expect, it } from "vitest";
import { parseAgentConfig } from "../../../operator/agent/config.js";
import { ConfigError } from "../../../operator/flags.js";

const env = { BLOODRAVEN_MYSQL_PASSWORD: "secret" };
const required = ["--site=iad", "--group=orders", "--namespace=shop", "--operator-url=http://bloodraven.system.svc:8082/", "--mysql-user=bloodraven"];

describe("bloodraven agent flags", () => {
  it("has defaults for everything but the site, the group, the operator and the server's account", () => {
    expect(parseAgentConfig(required, env)).toEqual({
      site: "iad",
      group: "orders",
      namespace: "shop",
      operatorUrl: "http://bloodraven.system.svc:8082",
      peers: [],
      bindAddress: "0.0.0.0",
      port: 8080,
      mysql: { host: "127.0.0.1", port: 3306, user: "bloodraven" },
      password: { value: "secret" },
      spareUsers: [],
      peerCheckIntervalMs: 5_000,
      leaseTimeoutMs: 20_000,
      logLevel: "info",
    });
  });

  it("reads the password from a file when BLOODRAVEN_MYSQL_PASSWORD_FILE names one", () => {
    expect(parseAgentConfig(required, { BLOODRAVEN_MYSQL_PASSWORD_FILE: "/etc/bloodraven/credentials/password" }).password).toEqual({ file: "/etc/bloodraven/credentials/password" });
  });

  it("reads peers as site=url and the operator's token from the environment only", () => {
    const config = parseAgentConfig([...required, "--peers=pdx=http://a:8080, sfo=https://b"], { ...env, BLOODRAVEN_STATUS_TOKEN: "t2" });
    expect(config.peers).toEqual([
      { site: "pdx", url: "http://a:8080" },
      { site: "sfo", url: "https://b" },
    ]);
    expect(config.operatorToken).toBe("t2");
  });

  it.each([
    [[...required.slice(1)], {}, "--site is required"],
    [[...required, "--site=IAD"], {}, "--site must be a DNS label"],
    [required, { BLOODRAVEN_MYSQL_PASSWORD: undefined }, "exactly one of BLOODRAVEN_MYSQL_PASSWORD and BLOODRAVEN_MYSQL_PASSWORD_FILE is required"],
    [required, { BLOODRAVEN_MYSQL_PASSWORD_FILE: "/etc/password" }, "exactly one of BLOODRAVEN_MYSQL_PASSWORD and BLOODRAVEN_MYSQL_PASSWORD_FILE is required"],
    [[...required, "--operator-url=bloodraven:8082"], {}, "--operator-url: \"bloodraven:8082\" must start with http:// or https://"],
    [[...required, "--peers=pdx"], {}, "--peers: \"pdx\" is not site=url"],
    [[...required, "--peers=iad=http://a"], {}, "--peers: iad is this site"],
    [[...required, "--peers=pdx=http://a,pdx=http://b"], {}, "--peers: pdx given twice"],
    [[...required, "--peer-check-interval=500ms"], {}, "--peer-check-interval must be at least 1s"],
    [[...required, "--peer-check-interval=5s", "--lease-timeout=10s"], {}, "--lease-timeout must be at least 3 x --peer-check-interval"],
    [[...required, "--lease-timeout=soon"], {}, "--lease-timeout: "],
    [[...required, "--port=99999"], {}, "--port must be a port number"],
    [[...required, "--mysql-password=x"], {}, "Unknown option '--mysql-password'"],
  ])("refuses %j with a message naming the flag", (argv, extraEnv, message) => {
    const run = () => parseAgentConfig(argv, { ...env, ...extraEnv });
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(message);
  });
});
