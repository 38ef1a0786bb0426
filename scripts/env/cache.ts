import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

/**
 * The machine's cache of built things (binaries, images, the MariaDB template datadir), outside
 * every checkout: $BLOODRAVEN_CACHE, else ~/.cache/bloodraven. The build scripts use the same rule.
 */
export function cacheDir(...parts: string[]): string {
  return join(process.env.BLOODRAVEN_CACHE ?? join(homedir(), ".cache", "bloodraven"), ...parts);
}

/**
 * The folder of a Go tool that scripts/<folder>/build.sh (scripts/lib/go-tool.sh) builds:
 * $<overrideVar>, else the cache's <name>-<version>, the version being the one scripts/<folder>/go.mod
 * requires of `module`. Every one of `binaries` must be there; a missing one is an error naming the fix.
 */
export function goToolDir(tool: { folder: string; module: string; name: string; overrideVar: string; binaries: string[] }): string {
  const goMod = readFileSync(join(root, "scripts", tool.folder, "go.mod"), "utf8");
  const escaped = tool.module.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  const version = new RegExp(`^\\s*(?:require\\s+)?${escaped}\\s+(v\\S+)`, "m").exec(goMod)?.[1];
  if (!version) throw new Error(`scripts/${tool.folder}/go.mod requires no ${tool.module} version`);
  const dir = process.env[tool.overrideVar] ?? cacheDir(`${tool.name}-${version}`);
  const missing = tool.binaries.filter((b) => !existsSync(join(dir, b)));
  if (missing.length > 0) {
    throw new Error(`${tool.name} ${version} is not built (looked for ${missing.map((b) => join(dir, b)).join(", ")}). Build it from the Go module proxy with:\n  bash scripts/${tool.folder}/build.sh`);
  }
  return dir;
}
