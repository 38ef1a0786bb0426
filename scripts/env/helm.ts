import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
export const chartDir = join(root, "charts/bloodraven");

/**
 * The helm binary scripts/helm/build.sh builds: $BLOODRAVEN_HELM_BIN/helm, else
 * ~/.cache/bloodraven/helm-<version in scripts/helm/go.mod>/helm. Missing is an error naming the fix.
 */
export function helmBinary(): string {
  const goMod = readFileSync(join(root, "scripts/helm/go.mod"), "utf8");
  const version = /^\s*(?:require\s+)?helm\.sh\/helm\/v3\s+(v\S+)/m.exec(goMod)?.[1];
  if (!version) throw new Error("scripts/helm/go.mod requires no helm.sh/helm/v3 version");
  const dir = process.env.BLOODRAVEN_HELM_BIN ?? join(homedir(), ".cache", "bloodraven", `helm-${version}`);
  const binary = join(dir, "helm");
  if (!existsSync(binary)) {
    throw new Error(`helm ${version} is not built (looked for ${binary}). Build it from the Go module proxy with:\n  bash scripts/helm/build.sh`);
  }
  return binary;
}
