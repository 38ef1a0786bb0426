import { homedir } from "node:os";
import { join } from "node:path";

/**
 * The machine's cache of built things (binaries, images, the MariaDB template datadir), outside
 * every checkout: $BLOODRAVEN_CACHE, else ~/.cache/bloodraven. The build scripts use the same rule.
 */
export function cacheDir(...parts: string[]): string {
  return join(process.env.BLOODRAVEN_CACHE ?? join(homedir(), ".cache", "bloodraven"), ...parts);
}
