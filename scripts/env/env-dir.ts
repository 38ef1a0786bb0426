import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const guardianScript = fileURLToPath(new URL("./guardian.sh", import.meta.url));

/**
 * A temporary folder that holds one test environment (datadirs, certs, logs, pid files).
 * A detached guardian process removes it, and kills every server with a pid file in it, as soon
 * as the current process is gone; remove() does the same at once for an orderly teardown.
 */
export class EnvDir {
  readonly path: string;

  constructor(prefix: string) {
    // /dev/shm keeps datadirs and etcd off the disk: faster fsyncs, and nothing survives a reboot.
    const base = process.env.BLOODRAVEN_TMPDIR ?? (isWritableDir("/dev/shm") ? "/dev/shm" : tmpdir());
    this.path = mkdtempSync(join(base, `bloodraven-${prefix}-`));
    const guardian = spawn("bash", [guardianScript, String(process.pid), this.path], {
      detached: true,
      stdio: "ignore",
    });
    guardian.unref();
  }

  join(...parts: string[]): string {
    return join(this.path, ...parts);
  }

  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}

function isWritableDir(path: string): boolean {
  try {
    const probe = mkdtempSync(join(path, "probe-"));
    rmSync(probe, { recursive: true });
    return true;
  } catch {
    return false;
  }
}
