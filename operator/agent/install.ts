/**
 * `bloodraven install-agent --target=<dir>`: the managed sites' init container. It copies the
 * running Node.js binary and this bundle into a volume the sidecar shares, so the agent runs in
 * the server's image beside the server's own backup and clone tools (shared/managed/objects.ts).
 */
import { chmod, copyFile, rename } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, flagsHelp, readFlags, type Flag } from "../flags.js";

const INSTALL_FLAGS: readonly Flag[] = [{ name: "target", help: "the folder the sidecar runs the agent from (required)" }];

export function installFlagsHelp(): string {
  return flagsHelp(INSTALL_FLAGS);
}

export function parseInstallConfig(argv: string[], env: NodeJS.ProcessEnv): { target: string } {
  const target = readFlags(INSTALL_FLAGS, argv, env).value("target");
  if (!target) throw new ConfigError("--target is required: the folder the sidecar runs the agent from");
  return { target };
}

/** Each file lands whole or not at all (copied beside, then renamed): a restarted init container never leaves half a binary. */
export async function installAgent(target: string, bundle = fileURLToPath(import.meta.url)): Promise<void> {
  for (const [source, name] of [
    [process.execPath, "node"],
    [bundle, "bloodraven.mjs"],
  ] as const) {
    const path = join(target, name);
    await copyFile(source, `${path}.partial`);
    await chmod(`${path}.partial`, 0o755);
    await rename(`${path}.partial`, path);
  }
}
