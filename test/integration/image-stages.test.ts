/**
 * The image builder's stages for real: RUN lines run chrooted in a stage made of the FROM's
 * official Node.js build, with the stage's ARG and ENV values and nothing of this process's
 * environment; COPY --from takes an earlier stage's files; the image holds the last stage only;
 * a failing RUN and a COPY of what .dockerignore keeps out are errors that name the line; nothing
 * stays mounted. (The operator image's own stages, npm ci and the bundle, run in the cluster
 * tier's setup, and test/cluster/operator-image.test.ts runs what they made.)
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cacheDir } from "../../scripts/env/cache.js";
import { parseDockerfile } from "../../scripts/images/dockerfile.js";
import { buildStages } from "../../scripts/images/stages.js";

const NODE = "24.22.3";
const work = mkdtempSync(join(tmpdir(), "bloodraven-stages-"));

function build(name: string, dockerfile: string, files: Record<string, string>, buildArgs: Record<string, string> = {}) {
  const context = join(work, name, "context");
  mkdirSync(context, { recursive: true });
  writeFileSync(join(context, ".dockerignore"), "*\n!hello.js\n!lib\n");
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(context, path, ".."), { recursive: true });
    writeFileSync(join(context, path), text);
  }
  const rootfs = join(work, name, "rootfs");
  const config = buildStages(parseDockerfile(dockerfile), { context, rootfs, workDir: join(work, name), cacheDir: cacheDir(), buildArgs });
  return { rootfs, config };
}

describe("image stages (scripts/images/stages.ts)", () => {
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("runs a build stage chrooted on the FROM's Node.js and copies its result into the image", () => {
    process.env.BLOODRAVEN_STAGE_LEAK = "host";
    const { rootfs, config } = build(
      "ok",
      [
        `FROM node:${NODE}-bookworm-slim AS build`,
        "WORKDIR /src",
        "COPY hello.js lib ./",
        "ENV GREETING=hello",
        "ARG WHO=nobody",
        "ARG UNSET",
        'RUN node hello.js > out.txt && echo "${BLOODRAVEN_STAGE_LEAK:-clean} ${UNSET:-unset} $(pwd) $(ls /proc/self/fd | wc -l)" >> out.txt',
        `FROM node:${NODE}-bookworm-slim`,
        "WORKDIR /app",
        "COPY --from=build /src/out.txt /app/",
        "USER 65532:65532",
        'ENTRYPOINT ["node"]',
      ].join("\n"),
      { "hello.js": 'const { suffix } = require("./suffix.js"); console.log(`${process.env.GREETING} ${process.env.WHO} ${process.version}${suffix}`);', "lib/suffix.js": 'exports.suffix = "!";' },
      { WHO: "bloodraven" },
    );
    delete process.env.BLOODRAVEN_STAGE_LEAK;
    const [greeting, environment] = readFileSync(join(rootfs, "app/out.txt"), "utf8").trim().split("\n");
    expect(greeting).toBe(`hello bloodraven v${NODE}!`);
    expect(environment).toMatch(/^clean unset \/src [1-9]\d*$/);
    expect(existsSync(join(rootfs, "src"))).toBe(false);
    expect(existsSync(join(rootfs, "usr/local/bin/npm"))).toBe(false);
    expect(config).toMatchObject({ user: "65532:65532", workingDir: "/app", entrypoint: ["node"] });
    expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(work);
  });

  it("names the line of a RUN that fails, with its last output, and leaves nothing mounted", () => {
    const dockerfile = [`FROM node:${NODE}-bookworm-slim`, "WORKDIR /src", "RUN echo one", "RUN echo broken >&2; exit 3"].join("\n");
    expect(() => build("fails", dockerfile, {})).toThrow(/^Dockerfile line 4: RUN echo broken >&2; exit 3 failed \(exit 3\); its last lines:\nbroken$/);
    expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(work);
  });

  it("refuses a COPY of what .dockerignore keeps out of the context, naming the fix", () => {
    const dockerfile = [`FROM node:${NODE}-bookworm-slim`, "COPY secret.txt /"].join("\n");
    expect(() => build("ignored", dockerfile, { "secret.txt": "x" })).toThrow('Dockerfile line 2: COPY secret.txt: .dockerignore keeps it out of the build context; add "!secret.txt" there');
  });
});
