import { createHash, randomBytes } from "node:crypto";
import { Readable, Transform } from "node:stream";
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBucket, s3Client, startS3Store, type S3Store } from "../../scripts/env/s3-store.js";
import { S3ObjectStore } from "../../operator/backup/object-store.js";

const MiB = 1024 * 1024;
const BUCKET = "backups";

/** Options that bound one SDK call: a hung store fails the test here, not at the test timeout. */
function within(ms: number): { abortSignal: AbortSignal } {
  return { abortSignal: AbortSignal.timeout(ms) };
}

/** A stream of `size` random bytes in 1 MiB chunks, and the sha256 of what it produced once drained. */
function randomStream(size: number): { body: Readable; sha256: () => string } {
  const hash = createHash("sha256");
  let left = size;
  const body = new Readable({
    read() {
      if (left === 0) return void this.push(null);
      const chunk = randomBytes(Math.min(MiB, left));
      left -= chunk.length;
      hash.update(chunk);
      this.push(chunk);
    },
  });
  return { body, sha256: () => hash.digest("hex") };
}

async function sha256Of(stream: Readable): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest("hex"), bytes };
}

function rejectionOf(promise: Promise<unknown>): Promise<{ name?: string; Code?: string; $metadata?: { httpStatusCode?: number } }> {
  return promise.then(
    () => {
      throw new Error("expected the request to fail");
    },
    (err: unknown) => err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } },
  );
}

describe("S3 store (real MinIO server)", () => {
  let store: S3Store;
  let client: S3Client;

  beforeAll(async () => {
    store = await startS3Store();
    client = s3Client(store);
    await createBucket(store, BUCKET);
  });

  afterAll(async () => {
    client?.destroy();
    await store?.stop();
  });

  it("streams 24 MiB up in 8 MiB parts and reads back the same bytes", async () => {
    const size = 24 * MiB;
    const source = randomStream(size);
    const upload = new Upload({
      client,
      params: { Bucket: BUCKET, Key: "stream/base.xb", Body: source.body },
      partSize: 8 * MiB,
      queueSize: 2,
      abortController: abortAfter(45_000),
    });
    await upload.done();

    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "stream/base.xb" }), within(10_000));
    expect(head.ContentLength).toBe(size);
    // A multipart object's ETag is the digest of its parts' digests, suffixed with their count.
    expect(head.ETag).toMatch(/-3"$/);

    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: "stream/base.xb" }), within(30_000));
    const back = await sha256Of(got.Body as Readable);
    expect(back.bytes).toBe(size);
    expect(back.sha256).toBe(source.sha256());
  });

  it("lists by prefix, and a deleted object is gone", async () => {
    for (const key of ["list/iad/1.xb", "list/iad/2.xb", "list/pdx/1.xb"]) {
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key }), within(10_000));
    }
    const keys = async (prefix: string) =>
      ((await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }), within(10_000))).Contents ?? []).map((o) => o.Key);
    expect(await keys("list/iad/")).toEqual(["list/iad/1.xb", "list/iad/2.xb"]);

    await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "list/iad/1.xb" }), within(10_000));
    expect(await keys("list/iad/")).toEqual(["list/iad/2.xb"]);
    const missing = await rejectionOf(client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "list/iad/1.xb" }), within(10_000)));
    expect(missing.name).toBe("NotFound");
    expect(missing.$metadata?.httpStatusCode).toBe(404);
  });

  it("refuses a client with a wrong secret", async () => {
    const intruder = s3Client(store, { credentials: { accessKeyId: store.accessKeyId, secretAccessKey: `${store.secretAccessKey}x` } });
    try {
      const err = await rejectionOf(intruder.send(new ListObjectsV2Command({ Bucket: BUCKET }), within(10_000)));
      expect(err.name).toBe("SignatureDoesNotMatch");
      expect(err.$metadata?.httpStatusCode).toBe(403);
    } finally {
      intruder.destroy();
    }
  });

  it("a paused store times requests out, and answers again once resumed", async () => {
    await store.pause();
    try {
      const started = Date.now();
      const err = await rejectionOf(client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "list/iad/2.xb" }), within(1_000)));
      expect(err.name).toMatch(/^(AbortError|TimeoutError)$/);
      // The abort, not some later failure, ended the request.
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      store.resume();
    }
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "list/iad/2.xb" }), within(10_000));
    expect(head.ContentLength).toBe("list/iad/2.xb".length);
  });
});

/**
 * The backups' object store (operator/backup/object-store.ts) when the store stalls in the middle
 * of an upload, as a store cut off or overloaded does: each request's socket goes idle, the SDK
 * retries it, and the upload either goes on once the store answers or fails within its attempts.
 */
describe("the backups' object store through a store that stalls mid-upload (real MinIO)", () => {
  let store: S3Store;
  let client: S3Client;
  const objects = (limits: { idleMs: number; attempts: number }) =>
    new S3ObjectStore({ bucket: BUCKET, region: store.region, endpoint: store.endpoint, credentials: { accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey }, limits: { connectMs: 1_000, ...limits } });
  /** 40 MiB whose first 20 MiB go out at once; then the store stalls for `stallMs` before the rest. */
  const stallingUpload = (stallMs: number) => {
    const source = randomStream(40 * MiB);
    let sent = 0;
    let stalled = false;
    const body = source.body.pipe(
      new Transform({
        transform(chunk: Buffer, _encoding, done) {
          sent += chunk.length;
          if (!stalled && sent >= 20 * MiB) {
            stalled = true;
            void store.pause().then(() => setTimeout(() => store.resume(), stallMs).unref());
          }
          done(null, chunk);
        },
      }),
    );
    return { body, sha256: source.sha256 };
  };

  beforeAll(async () => {
    store = await startS3Store();
    client = s3Client(store);
    await createBucket(store, BUCKET);
  });

  afterAll(async () => {
    store?.resume();
    client?.destroy();
    await store?.stop();
  });

  it("a stall shorter than its retries: the parts are sent again and the object is whole", async () => {
    const upload = stallingUpload(2_500);
    const started = Date.now();
    await objects({ idleMs: 1_000, attempts: 6 }).put("stall/short.xb", upload.body, AbortSignal.timeout(60_000));
    expect(Date.now() - started).toBeGreaterThan(2_000);
    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: "stall/short.xb" }), within(30_000));
    const back = await sha256Of(got.Body as Readable);
    expect(back.bytes).toBe(40 * MiB);
    expect(back.sha256).toBe(upload.sha256());
  });

  it("a stall longer than its retries: the upload fails within attempts x idle time, and no object appears", async () => {
    const upload = stallingUpload(20_000);
    const started = Date.now();
    let failure: unknown;
    try {
      await objects({ idleMs: 1_000, attempts: 2 }).put("stall/long.xb", upload.body, AbortSignal.timeout(60_000));
    } catch (err) {
      failure = err;
    }
    const took = Date.now() - started;
    store.resume();
    expect(failure, "the upload should have failed").toBeDefined();
    expect(took).toBeLessThan(15_000);
    const head = await rejectionOf(client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "stall/long.xb" }), within(10_000)));
    expect(head.$metadata?.httpStatusCode).toBe(404);
  });
});

/** An AbortController that fires after ms: lib-storage's Upload takes a controller, not a signal. */
function abortAfter(ms: number): AbortController {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), ms).unref();
  return controller;
}
