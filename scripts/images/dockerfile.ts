import type { ImageConfig } from "./docker-archive.js";

/**
 * The operator image as the project's Dockerfile describes it. The Dockerfile is the one source of
 * truth for what is in the image: `docker build` reads it on a workstation, and the test cluster's
 * image builder, which has no registry and no daemon, reads the same file here and runs the same
 * stages on a Node.js runtime of the version each FROM line names (scripts/images/stages.ts).
 */

/** One instruction of a stage that changes its files, in Dockerfile order. */
export type StageStep =
  | { kind: "workdir"; path: string }
  /** COPY of files from the build context, or with `from` from an earlier stage's files. */
  | { kind: "copy"; line: number; from?: string; sources: string[]; target: string }
  /** A shell-form RUN: `/bin/sh -c <command>` in the stage's files. */
  | { kind: "run"; line: number; command: string }
  /** ENV and ARG reach the RUN lines after them, as in Docker. */
  | { kind: "env"; name: string; value: string }
  | { kind: "arg"; name: string; default?: string };

export interface DockerfileStage {
  /** The `AS <name>` of the FROM line, if any. */
  name?: string;
  /** Node.js version of the base image, from `FROM node:<version>-<variant>`. */
  nodeVersion: string;
  steps: StageStep[];
  config: ImageConfig;
}

/** The PATH of the official Node.js images, which the Dockerfile builds on. */
export const BASE_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

function jsonArray(line: number, keyword: string, text: string): string[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`Dockerfile line ${line}: ${keyword} must be a JSON array (exec form), got ${text}`);
  }
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
    throw new Error(`Dockerfile line ${line}: ${keyword} must be a JSON array of strings, got ${text}`);
  }
  return value;
}

function parseCopy(line: number, rest: string, stageNames: string[]): StageStep {
  const parts = rest.split(/\s+/);
  let from: string | undefined;
  if (parts[0]?.startsWith("--from=")) {
    from = parts.shift()!.slice("--from=".length);
    if (!stageNames.includes(from)) throw new Error(`Dockerfile line ${line}: COPY --from=${from} names no earlier stage (stages: ${stageNames.join(", ") || "none"})`);
  }
  if (parts.length < 2 || parts.some((p) => p.startsWith("--"))) {
    throw new Error(`Dockerfile line ${line}: COPY must be "COPY [--from=<stage>] <source>... <target>", got ${rest}`);
  }
  const target = parts.pop()!;
  if (parts.length > 1 && !target.endsWith("/")) throw new Error(`Dockerfile line ${line}: COPY of several sources needs a target folder ending in /, got ${target}`);
  const badSource = parts.find((p) => (from === undefined ? p.startsWith("/") || p.split("/").includes("..") : !p.startsWith("/")));
  if (badSource !== undefined) {
    throw new Error(`Dockerfile line ${line}: COPY ${from === undefined ? "sources must be relative paths inside the build context" : "--from sources must be absolute paths"}, got ${badSource}`);
  }
  return { kind: "copy", line, ...(from === undefined ? {} : { from }), sources: parts, target };
}

/**
 * Parses the subset of Dockerfile syntax the project's Dockerfile uses, stage by stage; anything
 * else is an error that names the line.
 */
export function parseDockerfile(text: string): DockerfileStage[] {
  const stages: DockerfileStage[] = [];
  const current = (line: number, keyword: string): DockerfileStage => {
    const stage = stages.at(-1);
    if (!stage) throw new Error(`Dockerfile line ${line}: ${keyword} before the first FROM`);
    return stage;
  };
  text.split("\n").forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#")) return;
    const match = /^([A-Z]+)\s+(.*)$/.exec(trimmed);
    if (!match) throw new Error(`Dockerfile line ${line}: cannot read "${trimmed}"`);
    const [, keyword, rest] = match as unknown as [string, string, string];
    if (keyword === "FROM") {
      const from = /^node:(\d+\.\d+\.\d+)-[a-z-]+(?:\s+AS\s+([a-z][a-z0-9-]*))?$/.exec(rest);
      if (!from) throw new Error(`Dockerfile line ${line}: FROM must name an exact Node.js image like node:24.22.3-bookworm-slim, optionally "AS <name>", got ${rest}`);
      const nodeVersion = from[1]!;
      stages.push({
        ...(from[2] === undefined ? {} : { name: from[2] }),
        nodeVersion,
        steps: [],
        config: { env: [BASE_PATH, `NODE_VERSION=${nodeVersion}`], entrypoint: [], cmd: [], exposedPorts: [] },
      });
      return;
    }
    const stage = current(line, keyword);
    switch (keyword) {
      case "ARG": {
        const arg = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(\S*))?$/.exec(rest);
        if (!arg) throw new Error(`Dockerfile line ${line}: ARG must be NAME or NAME=default, got ${rest}`);
        stage.steps.push({ kind: "arg", name: arg[1]!, ...(arg[2] === undefined ? {} : { default: arg[2] }) });
        return;
      }
      case "ENV": {
        const env = /^([A-Za-z_][A-Za-z0-9_]*)=(\S*)$/.exec(rest);
        if (!env) throw new Error(`Dockerfile line ${line}: ENV must be one KEY=value, got ${rest}`);
        stage.config.env.push(`${env[1]}=${env[2]}`);
        stage.steps.push({ kind: "env", name: env[1]!, value: env[2]! });
        return;
      }
      case "WORKDIR":
        if (!rest.startsWith("/")) throw new Error(`Dockerfile line ${line}: WORKDIR must be absolute, got ${rest}`);
        stage.config.workingDir = rest;
        stage.steps.push({ kind: "workdir", path: rest });
        return;
      case "USER":
        stage.config.user = rest;
        return;
      case "EXPOSE":
        stage.config.exposedPorts.push(...rest.split(/\s+/).map((p) => (p.includes("/") ? p : `${p}/tcp`)));
        return;
      case "COPY":
        stage.steps.push(parseCopy(line, rest, stages.slice(0, -1).flatMap((s) => (s.name === undefined ? [] : [s.name]))));
        return;
      case "RUN":
        if (rest.startsWith("[")) throw new Error(`Dockerfile line ${line}: RUN must be in shell form, got ${rest}`);
        stage.steps.push({ kind: "run", line, command: rest });
        return;
      case "ENTRYPOINT":
        stage.config.entrypoint = jsonArray(line, keyword, rest);
        return;
      case "CMD":
        stage.config.cmd = jsonArray(line, keyword, rest);
        return;
      default:
        throw new Error(`Dockerfile line ${line}: ${keyword} is not supported by scripts/images (supported: FROM [AS] ARG ENV WORKDIR USER EXPOSE COPY [--from] RUN ENTRYPOINT CMD)`);
    }
  });
  if (stages.length === 0) throw new Error("Dockerfile: no FROM node:<version>-<variant> line");
  return stages;
}

/** The stage the image is made of: the last one. */
export function finalStage(stages: DockerfileStage[]): DockerfileStage {
  return stages.at(-1)!;
}

/**
 * The paths a `.dockerignore` of the form `*` followed by `!<path>` lines lets into the build
 * context. Other forms are refused, so the builder never guesses what Docker would send.
 */
export function parseDockerignore(text: string): string[] {
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
  if (lines[0] !== "*") throw new Error(`.dockerignore must start with "*" (everything ignored), then "!<path>" lines; got ${lines[0] ?? "nothing"}`);
  return lines.slice(1).map((l, i) => {
    if (!l.startsWith("!") || /[*?[\]]/.test(l)) throw new Error(`.dockerignore line "${l}" (entry ${i + 2}): only "!<path>" lines without wildcards are supported`);
    return l.slice(1).replace(/\/$/, "");
  });
}

/** Whether a context path is inside one that `.dockerignore` lets in. */
export function inContext(allowed: string[], path: string): boolean {
  const clean = path.replace(/^\.\//, "").replace(/\/$/, "");
  return allowed.some((a) => clean === a || clean.startsWith(`${a}/`));
}
