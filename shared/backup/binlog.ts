/**
 * Reads a MariaDB binary log as it streams past (to the store), learning what the archive's
 * manifest records of it: the GTID state at its start, the transactions it holds (first and last
 * GTID and time) and whether it ends whole. Only the 19-byte event headers, and the bodies of the
 * two GTID events, are looked at; everything else is skipped by length.
 *
 * Format: the magic `\xfebin`, then events, each a header (timestamp u32, type u8, server_id u32,
 * event length u32, next position u32, flags u16, all little-endian) and a body of
 * `length - 19` bytes. GTID_EVENT (162): seq_no u64, domain u32. GTID_LIST_EVENT (163): a count
 * (low 28 bits of a u32), then domain u32, server_id u32, seq_no u64 per entry.
 */
export const BINLOG_MAGIC = Buffer.from([0xfe, 0x62, 0x69, 0x6e]);
const HEADER_BYTES = 19;
const GTID_EVENT = 162;
const GTID_LIST_EVENT = 163;
const START_ENCRYPTION_EVENT = 164;
/** Larger than any event the server writes (max_allowed_packet is at most 1 GiB). */
const MAX_EVENT_BYTES = 1024 * 1024 * 1024 + 4096;

export class BinlogError extends Error {}

export interface BinlogSummary {
  /** The binary log state when the file began (GTID_LIST_EVENT), e.g. `0-1-5`; empty for the first file. */
  readonly startState: string;
  /** The file's transactions, first and last; undefined when it holds none. */
  readonly firstGtid?: string;
  readonly lastGtid?: string;
  /** Unix seconds of the first and last transaction's GTID event. */
  readonly firstTime?: number;
  readonly lastTime?: number;
  readonly transactions: number;
}

/** How a binary log begins: its starting state and, when read that far, its first transaction. */
export interface BinlogHead {
  readonly startState: string;
  readonly firstGtid?: string;
}

export class BinlogScanner {
  private pending: Buffer = Buffer.alloc(0);
  private magicSeen = false;
  /** Bytes of the current event's body still to skip, once its header was read. */
  private skip = 0;
  /** The body of a GTID or GTID list event is kept whole: it is small. */
  private keep: { type: number; header: Buffer; parts: Buffer[] } | undefined;
  private offset = 0;
  private startState = "";
  private startSeen = false;
  private first: { gtid: string; time: number } | undefined;
  private last: { gtid: string; time: number } | undefined;
  private transactions = 0;

  push(bytes: Buffer): void {
    let data = bytes;
    while (data.length > 0) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, data.length);
        if (this.keep) this.keep.parts.push(data.subarray(0, n));
        this.skip -= n;
        this.offset += n;
        data = data.subarray(n);
        if (this.skip === 0 && this.keep) this.finishKept();
        continue;
      }
      const need = (this.magicSeen ? HEADER_BYTES : BINLOG_MAGIC.length) - this.pending.length;
      const n = Math.min(need, data.length);
      this.pending = Buffer.concat([this.pending, data.subarray(0, n)]);
      this.offset += n;
      data = data.subarray(n);
      if (n === need) this.header();
    }
  }

  /** What the bytes pushed so far show of the file's start; undefined before its GTID list event. */
  head(): BinlogHead | undefined {
    return this.startSeen ? { startState: this.startState, ...(this.first ? { firstGtid: this.first.gtid } : {}) } : undefined;
  }

  /** The file ended here: throws unless it ended between events. */
  end(): BinlogSummary {
    if (!this.magicSeen) throw new BinlogError("the file is shorter than a binary log's magic: it is empty or not a binary log");
    if (this.pending.length > 0 || this.skip > 0) throw new BinlogError(`the binary log ends inside an event at byte ${this.offset}: it was cut off, or is still being written`);
    return {
      startState: this.startState,
      transactions: this.transactions,
      ...(this.first ? { firstGtid: this.first.gtid, firstTime: this.first.time } : {}),
      ...(this.last ? { lastGtid: this.last.gtid, lastTime: this.last.time } : {}),
    };
  }

  private header(): void {
    const head = this.pending;
    this.pending = Buffer.alloc(0);
    if (!this.magicSeen) {
      if (!head.equals(BINLOG_MAGIC)) throw new BinlogError("the file does not start with a binary log's magic (\\xfebin)");
      this.magicSeen = true;
      return;
    }
    const type = head[4] as number;
    const length = head.readUInt32LE(9);
    if (length < HEADER_BYTES || length > MAX_EVENT_BYTES) throw new BinlogError(`an event at byte ${this.offset - HEADER_BYTES} claims ${length} bytes: the binary log is damaged`);
    if (type === START_ENCRYPTION_EVENT) throw new BinlogError("the binary log is encrypted by the server (encrypt_binlog): the archive cannot read its transactions");
    this.skip = length - HEADER_BYTES;
    this.keep = type === GTID_EVENT || type === GTID_LIST_EVENT ? { type, header: head, parts: [] } : undefined;
    if (this.skip === 0 && this.keep) this.finishKept();
  }

  private finishKept(): void {
    const kept = this.keep as NonNullable<BinlogScanner["keep"]>;
    this.keep = undefined;
    const body = Buffer.concat(kept.parts);
    const serverId = kept.header.readUInt32LE(5);
    const time = kept.header.readUInt32LE(0);
    if (kept.type === GTID_EVENT) {
      if (body.length < 12) throw new BinlogError("a GTID event is too short: the binary log is damaged");
      const gtid = `${body.readUInt32LE(8)}-${serverId}-${body.readBigUInt64LE(0)}`;
      this.first ??= { gtid, time };
      this.last = { gtid, time };
      this.transactions += 1;
      return;
    }
    if (body.length < 4) throw new BinlogError("a GTID list event is too short: the binary log is damaged");
    const count = body.readUInt32LE(0) & 0x0fffffff;
    if (body.length < 4 + count * 16) throw new BinlogError("a GTID list event is shorter than its count: the binary log is damaged");
    const entries: string[] = [];
    for (let i = 0; i < count; i++) {
      const at = 4 + i * 16;
      entries.push(`${body.readUInt32LE(at)}-${body.readUInt32LE(at + 4)}-${body.readBigUInt64LE(at + 8)}`);
    }
    // Only the list at the file's start is its starting state; others do not occur in practice.
    if (!this.startSeen && this.transactions === 0) this.startState = entries.join(",");
    this.startSeen = true;
  }
}
