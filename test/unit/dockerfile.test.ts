import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { finalStage, inContext, parseDockerfile, parseDockerignore } from "../../scripts/images/dockerfile.js";

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");

describe("parseDockerfile (the operator image's one source of truth)", () => {
  it("reads the project's Dockerfile: a build stage that bundles from the lockfile, an image of the bundle on the same Node.js LTS", () => {
    const stages = parseDockerfile(read("Dockerfile"));
    expect(stages.map((s) => s.name)).toEqual(["build", undefined]);
    const [build, image] = stages as [NonNullable<(typeof stages)[0]>, NonNullable<(typeof stages)[0]>];
    expect(build.nodeVersion).toBe(image.nodeVersion);
    expect(Number(image.nodeVersion.split(".")[0]) % 2).toBe(0);
    expect(Number(image.nodeVersion.split(".")[0])).toBeGreaterThanOrEqual(22);
    const runs = build.steps.filter((s) => s.kind === "run").map((s) => s.command);
    expect(runs).toEqual(["npm ci --no-audit --no-fund", "BLOODRAVEN_COMMIT=$REVISION npm run build"]);
    expect(build.steps).toContainEqual({ kind: "arg", name: "REVISION", default: "unknown" });
    expect(image.steps.filter((s) => s.kind === "copy")).toEqual([{ kind: "copy", line: expect.any(Number), from: "build", sources: ["/src/dist/bloodraven.mjs"], target: "/app/bloodraven.mjs" }]);
    expect(image.steps.some((s) => s.kind === "run")).toBe(false);
    expect(finalStage(stages)).toBe(image);
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

  it("lets into the build context exactly what the build stage copies", () => {
    const allowed = parseDockerignore(read(".dockerignore"));
    const sources = parseDockerfile(read("Dockerfile")).flatMap((s) => s.steps.flatMap((step) => (step.kind === "copy" && step.from === undefined ? step.sources : [])));
    expect(sources.every((source) => inContext(allowed, source))).toBe(true);
    expect(new Set(allowed)).toEqual(new Set(sources));
    expect(inContext(allowed, "node_modules")).toBe(false);
    expect(inContext(allowed, "shared/names.ts")).toBe(true);
    expect(inContext(allowed, "sharedx")).toBe(false);
  });

  it("names the line and the supported form of anything it cannot build", () => {
    const base = "FROM node:24.22.3-bookworm-slim\n";
    expect(() => parseDockerfile(`${base}HEALTHCHECK CMD true\n`)).toThrow("Dockerfile line 2: HEALTHCHECK is not supported by scripts/images");
    expect(() => parseDockerfile(`${base}RUN ["npm", "ci"]\n`)).toThrow("line 2: RUN must be in shell form");
    expect(() => parseDockerfile("FROM node:24-slim\n")).toThrow("line 1: FROM must name an exact Node.js image like node:24.22.3-bookworm-slim");
    expect(() => parseDockerfile("FROM node:24.22.3-slim as build\n")).toThrow("line 1: FROM must name");
    expect(() => parseDockerfile(`${base}CMD operator\n`)).toThrow("line 2: CMD must be a JSON array (exec form)");
    expect(() => parseDockerfile(`${base}COPY --chown=1:1 a /b\n`)).toThrow('line 2: COPY must be "COPY [--from=<stage>] <source>... <target>"');
    expect(() => parseDockerfile(`${base}COPY a b /c\n`)).toThrow("line 2: COPY of several sources needs a target folder ending in /");
    expect(() => parseDockerfile(`${base}COPY ../a /c\n`)).toThrow("line 2: COPY sources must be relative paths inside the build context");
    expect(() => parseDockerfile(`${base}COPY --from=build /a /c\n`)).toThrow("line 2: COPY --from=build names no earlier stage (stages: none)");
    expect(() => parseDockerfile(`FROM node:24.22.3-slim AS build\n${base}COPY --from=build a /c\n`)).toThrow("line 3: COPY --from sources must be absolute paths");
    expect(() => parseDockerfile(`${base}WORKDIR src\n`)).toThrow("line 2: WORKDIR must be absolute");
    expect(() => parseDockerfile(`${base}ARG a b\n`)).toThrow("line 2: ARG must be NAME or NAME=default");
    expect(() => parseDockerfile("ENV A=1\n")).toThrow("line 1: ENV before the first FROM");
    expect(() => parseDockerfile("# nothing\n")).toThrow("no FROM node:<version>-<variant> line");
  });

  it("refuses a .dockerignore it would have to guess about", () => {
    expect(() => parseDockerignore("node_modules\n")).toThrow('.dockerignore must start with "*"');
    expect(() => parseDockerignore("*\n!src/*.ts\n")).toThrow('only "!<path>" lines without wildcards');
    expect(parseDockerignore("# c\n*\n!a/\n!b\n")).toEqual(["a", "b"]);
  });
});
