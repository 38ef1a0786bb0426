/**
 * Where backup artifacts live: an S3 bucket (any S3-compatible store) or a folder on a mounted
 * volume (the `pvc` storage type). One small interface so the runner, the verifier, the restore
 * and the retention sweep never care which.
 *
 * Deadlines: every S3 request has a connect timeout and an idle timeout on its socket, the SDK
 * retries a failed request (maxAttempts) with backoff, and each call takes the caller's signal.
 */
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

export interface StoredObject {
  readonly key: string;
  readonly bytes: number;
}

export interface ObjectStore {
  /** Where it is, for status and logs: `s3://bucket/` or `pvc:/backups/`. */
  readonly location: string;
  /** Streams `body` to `key`; the object appears whole or not at all. */
  put(key: string, body: Readable, signal: AbortSignal): Promise<void>;
  putText(key: string, text: string, signal: AbortSignal): Promise<void>;
  get(key: string, signal: AbortSignal): Promise<Readable>;
  /** undefined when there is no such object. */
  getText(key: string, signal: AbortSignal): Promise<string | undefined>;
  list(prefix: string, signal: AbortSignal): Promise<StoredObject[]>;
  /** Deletes these keys; a key already gone counts as deleted. */
  delete(keys: readonly string[], signal: AbortSignal): Promise<void>;
}

export interface S3Settings {
  readonly bucket: string;
  readonly region: string;
  /** An S3-compatible store's URL; absent for AWS itself. */
  readonly endpoint?: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
  /** Defaults: connect 5 s, idle 30 s, 4 attempts. */
  readonly limits?: { readonly connectMs?: number; readonly idleMs?: number; readonly attempts?: number };
}

/** Multipart parts: the upload holds at most PART_BYTES x PART_QUEUE of the stream in memory. */
const PART_BYTES = 16 * 1024 * 1024;
const PART_QUEUE = 2;
const CONNECT_MS = 5_000;
/** A socket silent this long is dead (a store paused or cut off). */
const IDLE_MS = 30_000;
const ATTEMPTS = 4;

export class S3ObjectStore implements ObjectStore {
  readonly location: string;
  private readonly client: S3Client;

  constructor(private readonly settings: S3Settings) {
    this.location = `s3://${settings.bucket}/`;
    const config: S3ClientConfig = {
      region: settings.region,
      credentials: settings.credentials,
      maxAttempts: settings.limits?.attempts ?? ATTEMPTS,
      requestHandler: { connectionTimeout: settings.limits?.connectMs ?? CONNECT_MS, socketTimeout: settings.limits?.idleMs ?? IDLE_MS },
      // Only a checksum the store asks for: S3-compatible stores differ in the newer ones.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      ...(settings.endpoint ? { endpoint: settings.endpoint, forcePathStyle: true } : {}),
    };
    this.client = new S3Client(config);
  }

  async put(key: string, body: Readable, signal: AbortSignal): Promise<void> {
    const abortController = new AbortController();
    const abort = (): void => abortController.abort(signal.reason);
    signal.addEventListener("abort", abort, { once: true });
    try {
      signal.throwIfAborted();
      // A multipart upload that fails is aborted (leavePartsOnError false): no parts are left billed.
      await new Upload({ client: this.client, params: { Bucket: this.settings.bucket, Key: key, Body: body }, partSize: PART_BYTES, queueSize: PART_QUEUE, leavePartsOnError: false, abortController }).done();
    } finally {
      signal.removeEventListener("abort", abort);
    }
  }

  async putText(key: string, text: string, signal: AbortSignal): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.settings.bucket, Key: key, Body: text, ContentType: "application/json" }), { abortSignal: signal });
  }

  async get(key: string, signal: AbortSignal): Promise<Readable> {
    const out = await this.client.send(new GetObjectCommand({ Bucket: this.settings.bucket, Key: key }), { abortSignal: signal });
    return out.Body as Readable;
  }

  async getText(key: string, signal: AbortSignal): Promise<string | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.settings.bucket, Key: key }), { abortSignal: signal });
      return await out.Body?.transformToString("utf8");
    } catch (err) {
      if (err instanceof Error && (err.name === "NoSuchKey" || err.name === "NotFound")) return undefined;
      throw err;
    }
  }

  async list(prefix: string, signal: AbortSignal): Promise<StoredObject[]> {
    const out: StoredObject[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.settings.bucket, Prefix: prefix, ContinuationToken: token }), { abortSignal: signal });
      for (const o of page.Contents ?? []) if (o.Key) out.push({ key: o.Key, bytes: o.Size ?? 0 });
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  async delete(keys: readonly string[], signal: AbortSignal): Promise<void> {
    // DeleteObjects takes at most 1000 keys; a missing key is no error in S3's answer.
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const out = await this.client.send(new DeleteObjectsCommand({ Bucket: this.settings.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }), { abortSignal: signal });
      const failed = (out.Errors ?? []).filter((e) => e.Code !== "NoSuchKey");
      if (failed.length > 0) throw new Error(`the store refused to delete ${failed.length} object(s), first ${failed[0]?.Key}: ${failed[0]?.Code} ${failed[0]?.Message ?? ""}`.trim());
    }
  }

  destroy(): void {
    this.client.destroy();
  }
}

/**
 * A folder on a mounted volume. Keys are paths below the root and never leave it; an object is
 * written beside its place and renamed in, so a reader never sees half of one.
 */
export class VolumeObjectStore implements ObjectStore {
  readonly location: string;
  private readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
    this.location = `pvc:${this.root}/`;
  }

  private path(key: string): string {
    const path = resolve(this.root, key);
    if (key === "" || (path !== this.root && !path.startsWith(this.root + sep))) throw new Error(`the key ${JSON.stringify(key)} leaves the backup volume`);
    return path;
  }

  async put(key: string, body: Readable, signal: AbortSignal): Promise<void> {
    const path = this.path(key);
    await mkdir(dirname(path), { recursive: true });
    const partial = `${path}.partial`;
    try {
      await pipeline(body, createWriteStream(partial, { flush: true }), { signal });
      await rename(partial, path);
    } catch (err) {
      await rm(partial, { force: true });
      throw err;
    }
  }

  async putText(key: string, text: string, signal: AbortSignal): Promise<void> {
    const path = this.path(key);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(`${path}.partial`, text, { signal, flush: true });
    await rename(`${path}.partial`, path);
  }

  async get(key: string): Promise<Readable> {
    const path = this.path(key);
    await stat(path);
    return createReadStream(path);
  }

  async getText(key: string, signal: AbortSignal): Promise<string | undefined> {
    return readFile(this.path(key), { encoding: "utf8", signal }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return undefined;
      throw err;
    });
  }

  async list(prefix: string): Promise<StoredObject[]> {
    const entries = await readdir(this.root, { recursive: true, withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return [];
      throw err;
    });
    const out: StoredObject[] = [];
    for (const e of entries) {
      if (!e.isFile() || e.name.endsWith(".partial")) continue;
      const key = relative(this.root, join(e.parentPath, e.name)).split(sep).join("/");
      if (key.startsWith(prefix)) out.push({ key, bytes: (await stat(join(e.parentPath, e.name))).size });
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : 1));
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) await rm(this.path(key), { force: true });
  }
}
