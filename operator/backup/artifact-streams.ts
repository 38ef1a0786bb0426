/**
 * The stages a backup passes through on its way to the store and back, as Node transforms around
 * the pure formats in shared/backup/: the xbstream scan, the AES-256-GCM frames, and the byte
 * count and SHA-256 the manifest records.
 */
import { createHash } from "node:crypto";
import { PassThrough, Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { BackupPosition } from "../../shared/backup/manifest.js";
import { FrameOpener, FrameSealer, type SealKeys } from "../../shared/backup/sealing.js";
import { errorText } from "../../shared/errors.js";
import type { ObjectStore } from "./object-store.js";

/** A copy on its way to the store: its bytes (a source and the stages that read it), and once they ended whole, the position they hold. */
export interface CopyStream {
  readonly streams: readonly NodeJS.ReadableStream[];
  readonly position: () => BackupPosition;
  /** Ends the copy's process and removes what it left on disk; safe to call twice. */
  readonly stop: () => Promise<void>;
}

/** A transform built from a function of each chunk (and one of the end), errors failing the stream. */
function transform(each: (chunk: Buffer) => Buffer[], end: () => Buffer[] = () => []): Transform {
  const push = (t: Transform, parts: Buffer[]): void => {
    for (const p of parts) t.push(p);
  };
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      try {
        push(this, each(chunk));
        done();
      } catch (err) {
        done(err as Error);
      }
    },
    flush(done: TransformCallback) {
      try {
        push(this, end());
        done();
      } catch (err) {
        done(err as Error);
      }
    },
  });
}

export function sealing(keys: SealKeys): Transform {
  const sealer = new FrameSealer(keys);
  return transform(
    (chunk) => sealer.push(chunk),
    () => sealer.end(),
  );
}

/**
 * Opens sealed frames with the keys `keysFor` derives from the artifact's salt (or refuses it);
 * the stream fails at the first damaged frame, or at its end when cut off.
 */
export function opening(keysFor: (salt: Buffer) => SealKeys): Transform {
  const opener = new FrameOpener(keysFor);
  return transform(
    (chunk) => opener.push(chunk),
    () => {
      opener.end();
      return [];
    },
  );
}

/**
 * Passes the bytes on while a reader of their format (an xbstream, a binary log) reads them;
 * `summary()` once the stream ended whole. The reader's error fails the stream.
 */
export function scanningAs<S>(reader: { push(bytes: Buffer): void; end(): S }, what: string): { stream: Transform; summary: () => S } {
  let summary: { value: S } | undefined;
  const stream = transform(
    (chunk) => {
      reader.push(chunk);
      return [chunk];
    },
    () => {
      summary = { value: reader.end() };
      return [];
    },
  );
  return {
    stream,
    summary: () => {
      if (!summary) throw new Error(`the ${what} stream did not end`);
      return summary.value;
    },
  };
}

/** Passes the bytes on while counting and hashing them. */
export function measuring(): { stream: Transform; result: () => { bytes: number; sha256: string } } {
  const hash = createHash("sha256");
  let bytes = 0;
  let sha256: string | undefined;
  const stream = transform(
    (chunk) => {
      hash.update(chunk);
      bytes += chunk.length;
      return [chunk];
    },
    () => {
      sha256 = hash.digest("hex");
      return [];
    },
  );
  return {
    stream,
    result: () => {
      if (sha256 === undefined) throw new Error("the measured stream did not end");
      return { bytes, sha256 };
    },
  };
}

/**
 * Streams a source through its stages into `key` of the store. Whichever side fails first is the
 * cause, named `sourceFailed` or after the store; the other side then fails because of it. A
 * store that gives up stops reading, so the stream is cut at once rather than left to stall.
 */
export async function streamToStore(streams: readonly NodeJS.ReadableStream[], store: ObjectStore, key: string, signal: AbortSignal, sourceFailed: string): Promise<void> {
  const body = new PassThrough();
  let cause: Error | undefined;
  const fail = (err: unknown, why: string): never => {
    cause ??= new Error(`${why}: ${errorText(err)}`);
    throw cause;
  };
  await Promise.allSettled([
    pipeline([...streams, body], { signal }).catch((err: unknown) => fail(err, sourceFailed)),
    store.put(key, body, signal).catch((err: unknown) => {
      body.destroy(err instanceof Error ? err : new Error(String(err)));
      return fail(err, `the store ${store.location} did not take ${key}`);
    }),
  ]);
  if (cause) throw cause;
}
