import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { cacheDir } from "../env/cache.js";
import { writeDockerArchive, type ImageConfig } from "./docker-archive.js";
import { BASE_PATH, parseDockerfile } from "./dockerfile.js";
import { busyboxBase, copyInto, copyWithLibraries } from "./rootfs.js";
import { buildStages } from "./stages.js";

const repo = fileURLToPath(new URL("../..", import.meta.url));

/** Image references the test cluster uses; pods name them with imagePullPolicy Never. */
export const IMAGES = {
  pause: "localhost/bloodraven/pause:1",
  tools: "localhost/bloodraven/tools:1",
  mariadb: "localhost/bloodraven/mariadb:10.11",
  /** The stand-in for Dragonfly: redis-server taking Dragonfly-style flags (images/cache/entrypoint.sh). */
  cache: "localhost/bloodraven/cache:7.0",
  operator: "localhost/bloodraven/bloodraven:dev",
} as const;
export type ImageName = keyof typeof IMAGES;

export function imageCacheDir(): string {
  return cacheDir("images");
}

interface ImageRecipe {
  /** Everything the image's content depends on; a change in any of them rebuilds it. */
  inputs: () => string[];
  fill: (rootfs: string) => ImageConfig;
}

function debianVersion(pkg: string): string {
  return execFileSync("dpkg-query", ["-W", "-f=${Version}", pkg], { encoding: "utf8" });
}

function fileDigest(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/** "<path> <sha256>" of a context file, or of every file under a context folder, sorted. */
function treeDigests(source: string): string[] {
  const path = join(repo, source);
  if (!statSync(path).isDirectory()) return [`${source} ${fileDigest(path)}`];
  return readdirSync(path, { recursive: true, encoding: "utf8" })
    .sort()
    .filter((f) => statSync(join(path, f)).isFile())
    .map((f) => `${source}/${f} ${fileDigest(join(path, f))}`);
}

/** The Dockerfile's build arguments: REVISION, the commit the bundle reports (bloodraven_build_info). */
function operatorBuildArgs(): Record<string, string> {
  try {
    return { REVISION: execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: repo, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim() };
  } catch {
    return { REVISION: "unknown" };
  }
}

const MARIADB_BINARIES = [
  "/usr/sbin/mariadbd",
  "/usr/bin/mariadb",
  "/usr/bin/my_print_defaults",
  "/usr/bin/resolveip",
  "/usr/bin/mariadb-backup",
  "/usr/bin/mbstream",
  // A verification's replay of the binary log archive (operator/backup/point-in-time.ts).
  "/usr/bin/mariadb-binlog",
];

/**
 * glibc's libraries (Debian's libc6), whole, as every distribution's server image has them: the
 * managed sites' sidecar runs the agent's Node.js in the server's image (shared/managed/objects.ts),
 * and Node.js loads some that the server's binaries do not.
 */
function libcLibraries(): string[] {
  return execFileSync("dpkg-query", ["-L", "libc6"], { encoding: "utf8" })
    .split("\n")
    .filter((path) => /^\/(usr\/)?lib\/x86_64-linux-gnu\/[^/]+\.so[.0-9]*$/.test(path));
}

/** images/mariadb/<name>.sh becomes /usr/local/bin/mariadb-<name> in the image. */
const MARIADB_SCRIPTS = ["entrypoint.sh", "ready.sh", "apply-clone.sh"];

const recipes: Record<ImageName, ImageRecipe> = {
  // The pod sandbox: Debian's statically linked catatonit, which reaps zombies like Kubernetes' pause.
  pause: {
    inputs: () => [`catatonit ${debianVersion("catatonit")}`],
    fill: (rootfs) => {
      copyInto(rootfs, ["/usr/bin/catatonit"]);
      return { env: [BASE_PATH], entrypoint: ["/usr/bin/catatonit", "-P"], cmd: [], exposedPorts: [] };
    },
  },
  tools: {
    inputs: () => [`busybox-static ${debianVersion("busybox-static")}`],
    fill: (rootfs) => {
      busyboxBase(rootfs);
      return { env: [BASE_PATH], entrypoint: [], cmd: ["/bin/sh"], exposedPorts: [] };
    },
  },
  mariadb: {
    inputs: () => [
      `busybox-static ${debianVersion("busybox-static")}`,
      `mariadb-server-core ${debianVersion("mariadb-server-core")}`,
      `mariadb-client-core ${debianVersion("mariadb-client-core")}`,
      `mariadb-client ${debianVersion("mariadb-client")}`,
      `mariadb-backup ${debianVersion("mariadb-backup")}`,
      `libc6 ${debianVersion("libc6")}`,
      ...MARIADB_SCRIPTS.map((script) => `${script} ${fileDigest(join(repo, "images/mariadb", script))}`),
    ],
    fill: (rootfs) => {
      busyboxBase(rootfs);
      copyWithLibraries(rootfs, MARIADB_BINARIES);
      copyInto(rootfs, ["/usr/bin/mariadb-install-db", "/usr/share/mysql", "/lib64/ld-linux-x86-64.so.2", ...libcLibraries()]);
      for (const dir of ["var/lib/mysql", "run/mysqld", "etc/mysql"]) mkdirSync(join(rootfs, dir), { recursive: true });
      for (const script of MARIADB_SCRIPTS) {
        const target = join(rootfs, "usr/local/bin", `mariadb-${script.replace(/\.sh$/, "")}`);
        copyFileSync(join(repo, "images/mariadb", script), target);
        // Executable whatever the checkout made of the file's mode.
        chmodSync(target, 0o755);
      }
      return { env: [BASE_PATH], entrypoint: ["/usr/local/bin/mariadb-entrypoint"], cmd: [], exposedPorts: ["3306/tcp"] };
    },
  },
  cache: {
    inputs: () => [
      `busybox-static ${debianVersion("busybox-static")}`,
      `redis-server ${debianVersion("redis-server")}`,
      `redis-tools ${debianVersion("redis-tools")}`,
      `entrypoint.sh ${fileDigest(join(repo, "images/cache/entrypoint.sh"))}`,
    ],
    fill: (rootfs) => {
      busyboxBase(rootfs);
      // redis-server is Debian's link to redis-check-rdb, which serves when called by that name.
      copyWithLibraries(rootfs, ["/usr/bin/redis-server"]);
      copyInto(rootfs, ["/lib64/ld-linux-x86-64.so.2"]);
      mkdirSync(join(rootfs, "data"), { recursive: true });
      const entrypoint = join(rootfs, "usr/local/bin/cache-entrypoint");
      copyFileSync(join(repo, "images/cache/entrypoint.sh"), entrypoint);
      chmodSync(entrypoint, 0o755);
      return { env: [BASE_PATH], entrypoint: ["/usr/local/bin/cache-entrypoint"], cmd: [], exposedPorts: ["6379/tcp"] };
    },
  },
  // What the Dockerfile describes, every stage run on the official Node.js build its FROM names.
  operator: {
    inputs: () => {
      const dockerfile = readFileSync(join(repo, "Dockerfile"), "utf8");
      const sources = parseDockerfile(dockerfile).flatMap((stage) => stage.steps.flatMap((s) => (s.kind === "copy" && s.from === undefined ? s.sources : [])));
      return [
        `Dockerfile ${createHash("sha256").update(dockerfile).digest("hex")}`,
        `.dockerignore ${fileDigest(join(repo, ".dockerignore"))}`,
        `npm ${execFileSync("npm", ["--version"], { encoding: "utf8" }).trim()}`,
        ...Object.entries(operatorBuildArgs()).map(([k, v]) => `ARG ${k}=${v}`),
        ...sources.flatMap((source) => treeDigests(source)),
      ];
    },
    fill: (rootfs) =>
      buildStages(parseDockerfile(readFileSync(join(repo, "Dockerfile"), "utf8")), {
        context: repo,
        rootfs,
        workDir: dirname(rootfs),
        cacheDir: cacheDir(),
        buildArgs: operatorBuildArgs(),
      }),
  },
};

// The builder's own code is an input of every image: changing how images are assembled rebuilds them.
const BUILDER_FILES = ["docker-archive.ts", "dockerfile.ts", "rootfs.ts", "stages.ts", "images.ts"];

function cacheKey(name: ImageName): string {
  const hash = createHash("sha256");
  for (const file of BUILDER_FILES) hash.update(readFileSync(fileURLToPath(new URL(file, import.meta.url))));
  hash.update(IMAGES[name]);
  for (const input of recipes[name].inputs()) hash.update(`\n${input}`);
  return hash.digest("hex").slice(0, 16);
}

/**
 * The docker-archive tarball of one image, built unless the cache holds one for the same inputs.
 * Older tarballs of the same image are removed.
 */
export function ensureImage(name: ImageName, log: (line: string) => void = () => {}): string {
  const dir = imageCacheDir();
  mkdirSync(dir, { recursive: true });
  const key = cacheKey(name);
  const out = join(dir, `${name}-${key}.tar`);
  if (existsSync(out)) return out;
  const started = Date.now();
  const work = join(dir, `work-${name}-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  try {
    const rootfs = join(work, "rootfs");
    mkdirSync(rootfs, { recursive: true });
    const config = recipes[name].fill(rootfs);
    writeDockerArchive({ rootfs, ref: IMAGES[name], config, out, workDir: work });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  for (const old of readdirSync(dir)) {
    if (old.startsWith(`${name}-`) && old.endsWith(".tar") && join(dir, old) !== out) rmSync(join(dir, old));
  }
  log(`image ${IMAGES[name]} built in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  return out;
}

/** Every image of the test cluster, as tarballs to import into the node's containerd. */
export function ensureImages(log?: (line: string) => void): Record<ImageName, string> {
  const names = Object.keys(IMAGES) as ImageName[];
  return Object.fromEntries(names.map((n) => [n, ensureImage(n, log)])) as Record<ImageName, string>;
}
