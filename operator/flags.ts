import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { DurationError, parsePositiveDuration } from "../shared/duration.js";
import type { LogLevel } from "./log.js";

/** A command-line flag, optionally read from an environment variable when not given. */
export interface Flag {
  name: string;
  env?: string;
  boolean?: boolean;
  help: string;
}

/** Bad flags or environment: the process prints it with its flag list and exits 2. */
export class ConfigError extends Error {}

export function flagsHelp(flags: readonly Flag[]): string {
  const rows = flags.map((f) => `  --${f.name.padEnd(22)} ${f.help}${f.env ? ` [env ${f.env}]` : ""}`);
  return `Flags:\n${rows.join("\n")}`;
}

/**
 * Parses `argv` strictly against `flags`. The accessor answers a flag's value: the flag wins over
 * its environment variable; undefined when neither is set. Booleans are flags only.
 */
export function readFlags(flags: readonly Flag[], argv: string[], env: NodeJS.ProcessEnv): { value: (name: string) => string | undefined; set: (name: string) => boolean } {
  let parsed: ReturnType<typeof parseArgs>["values"];
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      options: Object.fromEntries(flags.map((f) => [f.name, { type: f.boolean ? ("boolean" as const) : ("string" as const) }])),
    }).values;
  } catch (err) {
    throw new ConfigError(err instanceof Error ? err.message : String(err));
  }
  return {
    value: (name) => {
      const v = parsed[name];
      if (typeof v === "string") return v;
      const flag = flags.find((f) => f.name === name);
      return flag?.env ? env[flag.env] : undefined;
    },
    set: (name) => parsed[name] === true,
  };
}

export function port(name: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new ConfigError(`--${name} must be a port number 0-65535, got ${JSON.stringify(value)}`);
  return n;
}

export function duration(name: string, value: string): number {
  try {
    return parsePositiveDuration(value);
  } catch (err) {
    throw new ConfigError(`--${name}: ${err instanceof DurationError ? err.message : String(err)}`);
  }
}

export function list(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

/** `--log-level`: one of LOG_LEVELS, info when unset. */
export function logLevel(value: string | undefined): LogLevel {
  const level = (value ?? "info") as LogLevel;
  if (!LOG_LEVELS.includes(level)) throw new ConfigError(`--log-level must be one of ${LOG_LEVELS.join(", ")}, got ${JSON.stringify(level)}`);
  return level;
}

/**
 * The token the agents' clone endpoints require (the same for the operator and every agent of a
 * group): BLOODRAVEN_AGENT_TOKEN, or the file BLOODRAVEN_AGENT_TOKEN_FILE names; environment only.
 */
export function agentToken(env: NodeJS.ProcessEnv): string | undefined {
  const { BLOODRAVEN_AGENT_TOKEN: value, BLOODRAVEN_AGENT_TOKEN_FILE: file } = env;
  if (value !== undefined && value !== "" && file !== undefined && file !== "") throw new ConfigError("give BLOODRAVEN_AGENT_TOKEN or BLOODRAVEN_AGENT_TOKEN_FILE, not both");
  let token = value;
  if (file !== undefined && file !== "") {
    try {
      token = readFileSync(file, "utf8").trim();
    } catch (err) {
      throw new ConfigError(`BLOODRAVEN_AGENT_TOKEN_FILE: cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (token === undefined || token === "") return undefined;
  if (token.length < 16) throw new ConfigError("the agent token must be at least 16 characters");
  return token;
}

/** An http(s) URL flag, reduced to its origin (scheme, host, port): a base URL the caller appends paths to. */
export function httpOrigin(name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`--${name}: ${JSON.stringify(value)} is not a URL; give http(s)://host:port`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new ConfigError(`--${name}: ${JSON.stringify(value)} must start with http:// or https://`);
  return url.origin;
}
