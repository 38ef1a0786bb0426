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
      fenceDeadline: true,
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
    // Without a status token, the agent token goes to the operator (its group's /active-site takes it).
    const token = "0123456789abcdef";
    expect(parseAgentConfig(required, { ...env, BLOODRAVEN_AGENT_TOKEN: token }).operatorToken).toBe(token);
    expect(parseAgentConfig(required, { ...env, BLOODRAVEN_AGENT_TOKEN: token, BLOODRAVEN_STATUS_TOKEN: "t2" }).operatorToken).toBe("t2");
    expect(parseAgentConfig(required, env).operatorToken).toBeUndefined();
  });

  it("turns clone on with --datadir and an agent token, staging beside the datadir unless told", () => {
    const token = "0123456789abcdef";
    const config = parseAgentConfig([...required, "--datadir=/var/lib/mysql/"], { ...env, BLOODRAVEN_AGENT_TOKEN: token });
    expect(config.clone).toEqual({ datadir: "/var/lib/mysql", stagingDir: "/var/lib/mysql.clone", timeoutMs: 6 * 3_600_000, token });
    const custom = parseAgentConfig([...required, "--datadir=/d", "--clone-dir=/s", "--clone-timeout=30m"], { ...env, BLOODRAVEN_AGENT_TOKEN: token });
    expect(custom.clone).toMatchObject({ stagingDir: "/s", timeoutMs: 1_800_000 });
    expect(parseAgentConfig(required, { ...env, BLOODRAVEN_AGENT_TOKEN: token }).clone).toBeUndefined();
  });

  it("turns the server's fence deadline off with --fence-deadline=off or BLOODRAVEN_FENCE_DEADLINE=off", () => {
    expect(parseAgentConfig([...required, "--fence-deadline=off"], env).fenceDeadline).toBe(false);
    expect(parseAgentConfig(required, { ...env, BLOODRAVEN_FENCE_DEADLINE: "off" }).fenceDeadline).toBe(false);
    expect(parseAgentConfig([...required, "--fence-deadline=on"], { ...env, BLOODRAVEN_FENCE_DEADLINE: "off" }).fenceDeadline).toBe(true);
  });

  it.each([
    [["--datadir=/d"], {}, "needs BLOODRAVEN_AGENT_TOKEN"],
    [["--datadir=/d"], { BLOODRAVEN_AGENT_TOKEN: "short" }, "at least 16 characters"],
    [["--datadir=/d"], { BLOODRAVEN_AGENT_TOKEN: "0123456789abcdef", BLOODRAVEN_AGENT_TOKEN_FILE: "/t" }, "not both"],
    [["--datadir=/d"], { BLOODRAVEN_AGENT_TOKEN_FILE: "/nonexistent/token" }, "cannot read /nonexistent/token"],
    [["--datadir=/d", "--clone-dir=/d/"], { BLOODRAVEN_AGENT_TOKEN: "0123456789abcdef" }, "--clone-dir must differ"],
  ])("refuses clone settings %j %j: %s", (flags, tokens, message) => {
    expect(() => parseAgentConfig([...required, ...flags], { ...env, ...tokens })).toThrow(message);
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
    [[...required, "--fence-deadline=false"], {}, '--fence-deadline must be on or off, got "false"'],
    [[...required, "--mysql-password=x"], {}, "Unknown option '--mysql-password'"],
  ])("refuses %j with a message naming the flag", (argv, extraEnv, message) => {
    const run = () => parseAgentConfig(argv, { ...env, ...extraEnv });
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(message);
  });
});
