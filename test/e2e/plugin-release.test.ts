/**
 * The plugin's release (scripts/release/plugin.mjs) as krew users get it: the archives served over
 * HTTP from a local server, the generated manifest checked by krew's own validator (which installs
 * every platform from its uri, sha256 checked), `krew install --manifest --archive` of the
 * linux-amd64 archive, and the installed standalone executable run with no Node.js on PATH, alone
 * and through the real kubectl. A wrong sha256 in the manifest must make the install fail.
 * krew and validate-krew-manifest are built by scripts/krew/build.sh.
 */
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { goToolDir } from "../../scripts/env/cache.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const version = `v${(JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version}`;
const archiveName = (os: string, arch: string) => `kubectl-bloodraven-${version}-${os}-${arch}.tar.gz`;

/** The folder holding kubectl-krew and validate-krew-manifest, as scripts/krew/build.sh leaves them. */
const krewBin = (): string =>
  goToolDir({ folder: "krew", module: "sigs.k8s.io/krew", name: "kubectl-krew", overrideVar: "BLOODRAVEN_KREW_BIN", binaries: ["kubectl-krew", "validate-krew-manifest"] });

/** A folder with links to the named programs only, for a PATH that has no node on it. */
function pathWith(dir: string, programs: string[]): string {
  mkdirSync(dir, { recursive: true });
  for (const program of programs) {
    const found = execFileSync("sh", ["-c", `command -v ${program}`], { encoding: "utf8" }).trim();
    symlinkSync(found, join(dir, program));
  }
  return dir;
}

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program to its end without blocking this process, which serves the archives meanwhile. */
function run(program: string, args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { env, stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"], timeout: 300_000 });
    let stdout = "";
    let stderr = "";
    child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.once("error", reject);
    child.once("close", (status) => resolve({ status, stdout, stderr }));
    if (input !== undefined) child.stdin!.end(input);
  });
}

let tmp: string;
let release: string;
let server: Server;
let krew: string;

beforeAll(async () => {
  krew = krewBin();
  tmp = mkdtempSync(join(tmpdir(), "bloodraven-plugin-release-"));
  release = join(tmp, "release");
  // The archives' download site: what a release's base URL points at.
  server = createServer((req, res) => {
    const file = join(release, basename(req.url ?? ""));
    if (req.method !== "GET" || !file.endsWith(".tar.gz") || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/gzip" }).end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  const built = await run(process.execPath, [join(root, "scripts/release/plugin.mjs"), "--base-url", `http://127.0.0.1:${port}/download/`, "--out", release], process.env);
  if (built.status !== 0) throw new Error(`scripts/release/plugin.mjs exited ${built.status}:\n${built.stderr}`);
}, 600_000);

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("the plugin's release", () => {
  it("has the four archives, each with the executable and the licenses, and their sha256 sums", () => {
    const sums = readFileSync(join(release, "sha256sums.txt"), "utf8").trim().split("\n");
    const platforms = [
      ["linux", "amd64"],
      ["linux", "arm64"],
      ["darwin", "amd64"],
      ["darwin", "arm64"],
    ];
    expect(sums.map((line) => line.split("  ")[1])).toEqual(platforms.map(([os, arch]) => archiveName(os!, arch!)));
    for (const line of sums) {
      const [sum, name] = line.split("  ");
      expect(createHash("sha256").update(readFileSync(join(release, name!))).digest("hex")).toBe(sum);
      const listing = execFileSync("tar", ["-tvzf", join(release, name!)], { encoding: "utf8" }).trim().split("\n");
      expect(listing.map((l) => l.split(/\s+/).at(-1)).sort()).toEqual(["LICENSE", "LICENSE.node", "kubectl-bloodraven"]);
      expect(listing.find((l) => l.endsWith(" kubectl-bloodraven"))).toMatch(/^-rwxr-xr-x /);
    }
    const manifest = readFileSync(join(release, "bloodraven.yaml"), "utf8");
    expect(manifest).toContain(`version: ${version}`);
    for (const placeholder of ["<version>", "<base URL>", "<sha256", "<https"]) expect(manifest).not.toContain(placeholder);
  });

  it("passes krew's manifest validator, which installs every platform from its uri", async () => {
    // validate-krew-manifest runs `kubectl krew install --manifest` once per platform (KREW_OS and
    // KREW_ARCH set), downloading from the local server and checking each sha256 and the LICENSE.
    const env = { ...process.env, PATH: `${krew}:${process.env.PATH ?? ""}` };
    const r = await run(join(krew, "validate-krew-manifest"), ["-manifest", join(release, "bloodraven.yaml")], env);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain("all 4 spec.platforms installed fine");
  }, 600_000);

  it("installs with `krew install --manifest --archive` and runs without Node.js, alone and through kubectl", async () => {
    const krewRoot = join(tmp, "krew-root");
    const env = { PATH: `${krew}:${process.env.PATH ?? ""}`, HOME: tmp, KREW_ROOT: krewRoot };
    const installed = await run(join(krew, "kubectl-krew"), ["install", `--manifest=${join(release, "bloodraven.yaml")}`, `--archive=${join(release, archiveName("linux", "amd64"))}`], env);
    expect(installed.status, installed.stderr).toBe(0);
    expect(installed.stderr).toContain("Installed plugin: bloodraven");
    const plugin = join(krewRoot, "bin", "kubectl-bloodraven");
    expect(readlinkSync(plugin)).toBe(join(krewRoot, "store", "bloodraven", version, "kubectl-bloodraven"));

    // No node anywhere on PATH: an empty folder.
    const empty = join(tmp, "empty-path");
    mkdirSync(empty);
    const bare = { PATH: empty, HOME: tmp, NO_COLOR: "1" };
    expect((await run("/bin/sh", ["-c", "command -v node"], { PATH: empty })).status).not.toBe(0);
    const help = await run(plugin, ["--help"], bare);
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toContain("Usage: kubectl bloodraven [command] [flags]");
    const versionOut = await run(plugin, ["version"], bare);
    expect(versionOut.status, versionOut.stderr).toBe(0);
    expect(versionOut.stdout).toMatch(/^kubectl-bloodraven 0\.1\.0 \(commit \w+, node v22\.\d+\.\d+\)\n$/);
    // Bundled dependencies and lazily loaded modules: GTID arithmetic from stdin, a runbook, and a
    // real API request (the Kubernetes client) to the tier's API server, with no warning of Node's
    // printed (`(node:PID) [DEP0040] DeprecationWarning: ...`). The plugin's own staleness warnings
    // may appear: other files of the tier leave groups behind whose operator is gone.
    const gtid = await run(plugin, ["gtid", "count", "-"], bare, "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5\n");
    expect(gtid.stdout.trim()).toBe("5");
    expect((await run(plugin, ["runbook", "list"], bare)).stdout).toContain("planned-failover");
    const status = await run(plugin, ["status", "-A"], { ...bare, KUBECONFIG: inject("kubeconfig") });
    expect(status.status, status.stderr).toBe(0);
    expect(status.stdout + status.stderr).not.toMatch(/\(node:\d+\)|DeprecationWarning/);

    // Through kubectl: PATH is krew's bin folder and a folder holding kubectl alone.
    const kubectlPath = `${join(krewRoot, "bin")}:${pathWith(join(tmp, "kubectl-only"), ["kubectl"])}`;
    const viaKubectl = await run("kubectl", ["bloodraven", "version"], { PATH: kubectlPath, HOME: tmp, NO_COLOR: "1" });
    expect(viaKubectl.status, viaKubectl.stderr).toBe(0);
    expect(viaKubectl.stdout).toBe(versionOut.stdout);
    const list = await run("kubectl", ["plugin", "list"], { PATH: kubectlPath, HOME: tmp });
    expect(list.stdout).toContain(plugin);
  });

  it("refuses an archive whose sha256 is not the manifest's", async () => {
    const krewRoot = join(tmp, "krew-root-bad");
    const manifest = readFileSync(join(release, "bloodraven.yaml"), "utf8");
    const sum = (os: string, arch: string) => createHash("sha256").update(readFileSync(join(release, archiveName(os, arch)))).digest("hex");
    const good = sum("linux", "amd64");
    expect(manifest).toContain(`sha256: ${good}`);
    // The sums of two archives mixed up.
    const badDir = join(tmp, "bad-manifest");
    mkdirSync(badDir);
    const bad = join(badDir, "bloodraven.yaml");
    writeFileSync(bad, manifest.replace(`sha256: ${good}`, `sha256: ${sum("linux", "arm64")}`));
    const env = { PATH: `${krew}:${process.env.PATH ?? ""}`, HOME: tmp, KREW_ROOT: krewRoot };
    const r = await run(join(krew, "kubectl-krew"), ["install", `--manifest=${bad}`, `--archive=${join(release, archiveName("linux", "amd64"))}`], env);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/checksum does not match/i);
    expect(existsSync(join(krewRoot, "bin", "kubectl-bloodraven"))).toBe(false);
    // The validator, downloading from the server, refuses it too.
    const validated = await run(join(krew, "validate-krew-manifest"), ["-manifest", bad], { ...process.env, PATH: env.PATH });
    expect(validated.status).not.toBe(0);
    expect(validated.stderr).toMatch(/checksum does not match/i);
  }, 300_000);
});
