import type { ImageConfig } from "./docker-archive.js";

/**
 * The operator image as the project's Dockerfile describes it. The Dockerfile is the one source of
 * truth for what is in the image: `docker build` reads it on a workstation, and the test cluster's
 * image builder, which has no registry and no daemon, reads the same file here and assembles the
 * same layout from a Node.js runtime of the version its FROM line names.
 */
export interface DockerfileImage {
  /** Node.js version of the base image, from `FROM node:<version>-<variant>`. */
  nodeVersion: string;
  copies: { source: string; target: string }[];
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

/** Parses the subset of Dockerfile syntax the project's Dockerfile uses; anything else is an error. */
export function parseDockerfile(text: string): DockerfileImage {
  let nodeVersion: string | undefined;
  const copies: DockerfileImage["copies"] = [];
  const config: ImageConfig = { env: [BASE_PATH], entrypoint: [], cmd: [], exposedPorts: [] };
  text.split("\n").forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#")) return;
    const match = /^([A-Z]+)\s+(.*)$/.exec(trimmed);
    if (!match) throw new Error(`Dockerfile line ${line}: cannot read "${trimmed}"`);
    const [, keyword, rest] = match as unknown as [string, string, string];
    switch (keyword) {
      case "FROM": {
        const from = /^node:(\d+\.\d+\.\d+)-[a-z-]+$/.exec(rest);
        if (!from) throw new Error(`Dockerfile line ${line}: FROM must name an exact Node.js image like node:24.22.3-bookworm-slim, got ${rest}`);
        nodeVersion = from[1];
        config.env.push(`NODE_VERSION=${nodeVersion}`);
        return;
      }
      case "ENV": {
        const env = /^([A-Za-z_][A-Za-z0-9_]*)=(\S*)$/.exec(rest);
        if (!env) throw new Error(`Dockerfile line ${line}: ENV must be one KEY=value, got ${rest}`);
        config.env.push(`${env[1]}=${env[2]}`);
        return;
      }
      case "WORKDIR":
        config.workingDir = rest;
        return;
      case "USER":
        config.user = rest;
        return;
      case "EXPOSE":
        config.exposedPorts.push(...rest.split(/\s+/).map((p) => (p.includes("/") ? p : `${p}/tcp`)));
        return;
      case "COPY": {
        const parts = rest.split(/\s+/);
        if (parts.length !== 2 || parts.some((p) => p.startsWith("--"))) {
          throw new Error(`Dockerfile line ${line}: COPY must be "COPY <file> <absolute path>", got ${rest}`);
        }
        const [source, target] = parts as [string, string];
        if (!target.startsWith("/")) throw new Error(`Dockerfile line ${line}: COPY target must be absolute, got ${target}`);
        copies.push({ source, target });
        return;
      }
      case "ENTRYPOINT":
        config.entrypoint = jsonArray(line, keyword, rest);
        return;
      case "CMD":
        config.cmd = jsonArray(line, keyword, rest);
        return;
      default:
        throw new Error(`Dockerfile line ${line}: ${keyword} is not supported by scripts/images (supported: FROM ENV WORKDIR USER EXPOSE COPY ENTRYPOINT CMD)`);
    }
  });
  if (nodeVersion === undefined) throw new Error("Dockerfile: no FROM node:<version>-<variant> line");
  return { nodeVersion, copies, config };
}
