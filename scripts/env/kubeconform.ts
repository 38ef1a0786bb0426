import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { cacheDir } from "./cache.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

/**
 * The kubeconform binary scripts/kubeconform/build.sh builds: $BLOODRAVEN_KUBECONFORM_BIN/kubeconform,
 * else ~/.cache/bloodraven/kubeconform-<version in scripts/kubeconform/go.mod>/kubeconform.
 * Missing is an error naming the fix.
 */
export function kubeconformBinary(): string {
  const goMod = readFileSync(join(root, "scripts/kubeconform/go.mod"), "utf8");
  const version = /^\s*(?:require\s+)?github\.com\/yannh\/kubeconform\s+(v\S+)/m.exec(goMod)?.[1];
  if (!version) throw new Error("scripts/kubeconform/go.mod requires no github.com/yannh/kubeconform version");
  const binary = join(process.env.BLOODRAVEN_KUBECONFORM_BIN ?? cacheDir(`kubeconform-${version}`), "kubeconform");
  if (!existsSync(binary)) {
    throw new Error(`kubeconform ${version} is not built (looked for ${binary}). Build it from the Go module proxy with:\n  bash scripts/kubeconform/build.sh`);
  }
  return binary;
}
