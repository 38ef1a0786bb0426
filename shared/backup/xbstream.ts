/**
 * Reads an xbstream (mariadb-backup's `--stream=xbstream`, `mbstream`'s format) as it passes by,
 * without keeping it: a backup is streamed to the store, and what the backup runner must learn
 * from it (the copy's binary log position, whether the stream ended whole) is in a few small
 * files inside it.
 *
 * A stream is a sequence of chunks: the magic `XBSTCK01`, one byte of flags, one byte of type
 * (`P` payload, `E` end of a file), the path's length (uint32 LE) and the path; a payload chunk
 * then has its length and offset (uint64 LE each), a CRC-32 (uint32 LE) and the payload.
 */
const MAGIC = Buffer.from("XBSTCK01", "latin1");
/** magic, flags, type, path length. */
const PREFIX_BYTES = MAGIC.length + 1 + 1 + 4;
/** length, offset, checksum. */
const PAYLOAD_HEADER_BYTES = 8 + 8 + 4;
/** A path longer than this is no mariadb-backup path: the stream is corrupt. */
const MAX_PATH_BYTES = 4096;

export class XbstreamError extends Error {}

type State =
  | { at: "prefix" }
  | { at: "path"; type: number; pathBytes: number }
  | { at: "payload-header"; path: string }
  | { at: "payload"; path: string; left: number };

export interface XbstreamSummary {
  /** Every file the stream carried, in order of first appearance. */
  readonly files: readonly string[];
  /** The captured files' contents, as UTF-8. */
  readonly captured: ReadonlyMap<string, string>;
}

/**
 * Feed it the stream's bytes in any slicing with `push`; `end` says whether the stream ended on a
 * chunk boundary with every file ended, and returns what it saw. Throws XbstreamError on bytes
 * that are no xbstream, so a stream that is not a backup fails at its first chunk.
 */
export class XbstreamScanner {
  private state: State = { at: "prefix" };
  /** The bytes of a header not yet complete. */
  private pending: Buffer = Buffer.alloc(0);
  private readonly files: string[] = [];
  private readonly seen = new Set<string>();
  private readonly open = new Set<string>();
  private readonly captured = new Map<string, Buffer[]>();
  private offset = 0;

  /** `capture`: paths whose payloads (up to `captureLimit` bytes each) are kept. */
  constructor(
    private readonly capture: readonly string[],
    private readonly captureLimit = 64 * 1024,
  ) {}

  push(bytes: Uint8Array): void {
    let data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    while (data.length > 0) {
      if (this.state.at === "payload") {
        const take = Math.min(this.state.left, data.length);
        this.keep(this.state.path, data.subarray(0, take));
        this.state = this.state.left === take ? { at: "prefix" } : { ...this.state, left: this.state.left - take };
        data = data.subarray(take);
        this.offset += take;
        continue;
      }
      const need = this.headerBytes() - this.pending.length;
      const take = Math.min(need, data.length);
      this.pending = Buffer.concat([this.pending, data.subarray(0, take)]);
      data = data.subarray(take);
      this.offset += take;
      if (take === need) this.header();
    }
  }

  /** The stream ended here: throws XbstreamError unless it ended whole. */
  end(): XbstreamSummary {
    if (this.state.at !== "prefix" || this.pending.length > 0) throw new XbstreamError(`the stream ends inside a chunk at byte ${this.offset}: it was cut off`);
    if (this.open.size > 0) throw new XbstreamError(`the stream ends with ${this.open.size} file(s) not ended (first: ${[...this.open][0]}): it was cut off`);
    const captured = new Map([...this.captured].map(([path, parts]) => [path, Buffer.concat(parts).toString("utf8")]));
    return { files: [...this.files], captured };
  }

  private headerBytes(): number {
    switch (this.state.at) {
      case "prefix":
        return PREFIX_BYTES;
      case "path":
        return this.state.pathBytes;
      case "payload-header":
        return PAYLOAD_HEADER_BYTES;
      default:
        return 0;
    }
  }

  private header(): void {
    const head = this.pending;
    this.pending = Buffer.alloc(0);
    const state = this.state;
    if (state.at === "prefix") {
      if (!head.subarray(0, MAGIC.length).equals(MAGIC)) throw new XbstreamError(`no xbstream chunk at byte ${this.offset - head.length}: the artifact is not an xbstream or is corrupt`);
      const type = head[MAGIC.length + 1] as number;
      const pathBytes = head.readUInt32LE(MAGIC.length + 2);
      if (pathBytes === 0 || pathBytes > MAX_PATH_BYTES) throw new XbstreamError(`a chunk at byte ${this.offset - head.length} names a path of ${pathBytes} bytes: the stream is corrupt`);
      this.state = { at: "path", type, pathBytes };
      return;
    }
    if (state.at === "path") {
      const path = head.toString("utf8");
      if (state.type === 0x45 /* E */) {
        this.open.delete(path);
        this.state = { at: "prefix" };
        return;
      }
      if (state.type !== 0x50 /* P */) throw new XbstreamError(`a chunk of ${path} has the unknown type 0x${state.type.toString(16)}: the stream is corrupt or of a newer format`);
      if (!this.seen.has(path)) {
        this.seen.add(path);
        this.files.push(path);
      }
      this.open.add(path);
      this.state = { at: "payload-header", path };
      return;
    }
    if (state.at === "payload-header") {
      const length = head.readBigUInt64LE(0);
      if (length > BigInt(Number.MAX_SAFE_INTEGER)) throw new XbstreamError(`a chunk of ${state.path} claims ${length} bytes: the stream is corrupt`);
      this.state = length === 0n ? { at: "prefix" } : { at: "payload", path: state.path, left: Number(length) };
    }
  }

  private keep(path: string, bytes: Buffer): void {
    if (!this.capture.includes(path)) return;
    const parts = this.captured.get(path) ?? [];
    const have = parts.reduce((n, p) => n + p.length, 0);
    if (have >= this.captureLimit) return;
    parts.push(Buffer.from(bytes.subarray(0, this.captureLimit - have)));
    this.captured.set(path, parts);
  }
}
