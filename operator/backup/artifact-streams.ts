/**
 * The stages a backup passes through on its way to the store and back, as Node transforms around
 * the pure formats in shared/backup/: the xbstream scan, the AES-256-GCM frames, and the byte
 * count and SHA-256 the manifest records.
 */
import { createHash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { FrameOpener, FrameSealer, type SealKeys } from "../../shared/backup/sealing.js";
import { XbstreamScanner, type XbstreamSummary } from "../../shared/backup/xbstream.js";

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

/** Passes the bytes on while scanning them as an xbstream; `summary()` once the stream ended. */
export function scanning(capture: readonly string[]): { stream: Transform; summary: () => XbstreamSummary } {
  const scanner = new XbstreamScanner(capture);
  let summary: XbstreamSummary | undefined;
  const stream = transform(
    (chunk) => {
      scanner.push(chunk);
      return [chunk];
    },
    () => {
      summary = scanner.end();
      return [];
    },
  );
  return {
    stream,
    summary: () => {
      if (!summary) throw new Error("the backup stream did not end");
      return summary;
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
