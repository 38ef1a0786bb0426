import { execFileSync } from "node:child_process";
import { accessSync, constants } from "node:fs";

/** Debian packages that provide the binaries the MariaDB test sites need. */
export const MARIADB_PACKAGES = ["mariadb-server-core", "mariadb-client-core", "mariadb-client", "mariadb-backup"];
export const MARIADB_BINARIES = ["/usr/sbin/mariadbd", "/usr/bin/mariadb-install-db", "/usr/bin/mariadb", "/usr/bin/mariadb-backup", "/usr/bin/mbstream", "/usr/bin/mariadb-binlog"];

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes sure the given binaries exist. As root, installs the packages with apt; otherwise fails
 * with the exact command to run, so a missing prerequisite never turns into a skipped test.
 */
export function ensureDebianPackages(binaries: string[], packages: string[]): void {
  const missing = binaries.filter((b) => !isExecutable(b));
  if (missing.length === 0) return;
  const command = `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ${packages.join(" ")}`;
  if (process.getuid?.() !== 0) {
    throw new Error(`missing ${missing.join(", ")}; install them as root with:\n  sudo sh -c '${command}'`);
  }
  process.stderr.write(`installing ${packages.join(" ")} (missing ${missing.join(", ")})\n`);
  execFileSync("sh", ["-c", command], { stdio: ["ignore", "inherit", "inherit"] });
  const still = binaries.filter((b) => !isExecutable(b));
  if (still.length > 0) throw new Error(`apt-get finished but ${still.join(", ")} is still missing`);
}
