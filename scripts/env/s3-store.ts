import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { CreateBucketCommand, S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import { goToolDir } from "./cache.js";
import { EnvDir } from "./env-dir.js";
import { freePort, waitFor } from "./ports.js";
import { ManagedProcesses, pauseProcess } from "./processes.js";

/** The MinIO server scripts/s3-store/build.sh builds ($BLOODRAVEN_MINIO_BIN, else the cache); missing is an error naming the fix. */
export function minioBinary(): string {
  return join(goToolDir({ folder: "s3-store", module: "github.com/minio/minio", name: "minio", overrideVar: "BLOODRAVEN_MINIO_BIN", binaries: ["minio"] }), "minio");
}

/** A running S3-compatible object store (one MinIO server on loopback) and its root account. */
export interface S3Store {
  endpoint: string;
  region: "us-east-1";
  accessKeyId: string;
  secretAccessKey: string;
  dataDir: string;
  /** Stops the server and removes its folder (and the data, unless the caller chose dataDir). */
  stop(): Promise<void>;
  /** SIGSTOP: the server hangs with its connections open, as a stalled store does. Returns once every thread is stopped. */
  pause(): Promise<void>;
  /** SIGCONT. */
  resume(): void;
}

const START_TIMEOUT_MS = 30_000;

/**
 * Starts a MinIO server on a free port of loopback (or of `address`: the machine's own, for pods
 * of the test node) with freshly generated root credentials and
 * waits until it serves requests. The server and its folder live in an EnvDir, so the guardian
 * kills and removes them when this process dies without calling stop().
 */
export async function startS3Store(options: { dataDir?: string; address?: string } = {}): Promise<S3Store> {
  const binary = minioBinary();
  const env = new EnvDir("s3");
  const processes = new ManagedProcesses(env);
  try {
    const dataDir = options.dataDir ?? env.join("data");
    mkdirSync(dataDir, { recursive: true });
    const port = await freePort();
    const address = options.address ?? "127.0.0.1";
    const endpoint = `http://${address}:${port}`;
    const accessKeyId = `bloodraven-${randomBytes(6).toString("hex")}`;
    const secretAccessKey = randomBytes(24).toString("base64url");
    const child = processes.start(
      "minio",
      binary,
      // --certs-dir puts the EnvDir's path on the command line: the guardian kills only a pid
      // whose command line names its folder, and a caller's dataDir may lie outside it. No
      // certificates in it means plain HTTP.
      ["server", dataDir, "--address", `${address}:${port}`, "--certs-dir", env.join("certs")],
      {
        MINIO_ROOT_USER: accessKeyId,
        MINIO_ROOT_PASSWORD: secretAccessKey,
        MINIO_SITE_REGION: "us-east-1",
        // No web console (it would listen on a random port of its own) and no update check (a
        // test must not wait on the way out).
        MINIO_BROWSER: "off",
        MINIO_UPDATE: "off",
      },
    );
    const pid = child.pid as number;
    const exited = new Promise<never>((_, reject) =>
      child.once("exit", (code, signal) => reject(new Error(`minio exited during start (code ${code}, signal ${signal})`))),
    );
    exited.catch(() => undefined);
    try {
      // /minio/health/ready answers 200 only once the drive is formatted and the object layer is up.
      await Promise.race([
        waitFor(
          `minio on ${endpoint}`,
          async () => (await fetch(`${endpoint}/minio/health/ready`, { signal: AbortSignal.timeout(1_000) })).ok,
          START_TIMEOUT_MS,
          100,
        ),
        exited,
      ]);
    } catch (err) {
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n--- minio log (tail) ---\n${processes.logTail("minio")}`);
    }

    let stopped = false;
    return {
      endpoint,
      region: "us-east-1",
      accessKeyId,
      secretAccessKey,
      dataDir,
      async stop() {
        if (stopped) return;
        stopped = true;
        // A stopped process leaves SIGTERM pending; let it run so that it can shut down.
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGCONT");
        await processes.stop();
        env.remove();
      },
      pause: () => pauseProcess(pid, "minio"),
      resume() {
        // A test's timer may fire after the store was stopped: nothing is left to resume then.
        if (!stopped) process.kill(pid, "SIGCONT");
      },
    };
  } catch (err) {
    await processes.stop();
    env.remove();
    throw err;
  }
}

/**
 * An S3 client for the store's root account. Path-style addressing: bucket names are no DNS
 * names on loopback. Timeouts bound every request, so a hung store fails a test instead of hanging it.
 */
export function s3Client(store: S3Store, overrides: Partial<S3ClientConfig> = {}): S3Client {
  return new S3Client({
    endpoint: store.endpoint,
    region: store.region,
    credentials: { accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey },
    forcePathStyle: true,
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 },
    // A refused or failed request is what a test asserts on: retrying would only delay it.
    maxAttempts: 1,
    ...overrides,
  });
}

/** Creates a bucket with the store's root account. */
export async function createBucket(store: S3Store, name: string): Promise<void> {
  const client = s3Client(store);
  try {
    await client.send(new CreateBucketCommand({ Bucket: name }), { abortSignal: AbortSignal.timeout(10_000) });
  } finally {
    client.destroy();
  }
}
