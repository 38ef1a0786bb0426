import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseDockerfile } from "../../scripts/images/dockerfile.js";

describe("parseDockerfile (the operator image's one source of truth)", () => {
  it("reads the project's Dockerfile: a Node.js LTS base, the bundle, a non-root user, the entrypoint", () => {
    const image = parseDockerfile(readFileSync(new URL("../../Dockerfile", import.meta.url), "utf8"));
    expect(Number(image.nodeVersion.split(".")[0]) % 2).toBe(0);
    expect(Number(image.nodeVersion.split(".")[0])).toBeGreaterThanOrEqual(22);
    expect(image.copies).toEqual([{ source: "dist/bloodraven.mjs", target: "/app/bloodraven.mjs" }]);
    expect(image.config).toMatchObject({
      user: "65532:65532",
      workingDir: "/app",
      entrypoint: ["node", "/app/bloodraven.mjs"],
      cmd: ["operator"],
      exposedPorts: ["8080/tcp", "8081/tcp", "8082/tcp"],
    });
    expect(image.config.env).toContain("NODE_ENV=production");
    expect(image.config.env).toContain(`NODE_VERSION=${image.nodeVersion}`);
  });

  it("names the line and the supported form of anything it cannot build", () => {
    const base = "FROM node:24.22.3-bookworm-slim\n";
    expect(() => parseDockerfile(`${base}RUN apt-get update\n`)).toThrow("Dockerfile line 2: RUN is not supported by scripts/images");
    expect(() => parseDockerfile("FROM node:24-slim\n")).toThrow("line 1: FROM must name an exact Node.js image like node:24.22.3-bookworm-slim");
    expect(() => parseDockerfile(`${base}CMD operator\n`)).toThrow("line 2: CMD must be a JSON array (exec form)");
    expect(() => parseDockerfile(`${base}COPY --chown=1:1 a /b\n`)).toThrow('line 2: COPY must be "COPY <file> <absolute path>"');
    expect(() => parseDockerfile(`${base}COPY a b\n`)).toThrow("line 2: COPY target must be absolute");
    expect(() => parseDockerfile("ENV A=1\n")).toThrow("no FROM node:<version>-<variant> line");
  });
});
