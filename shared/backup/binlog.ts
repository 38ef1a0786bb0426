/**
 * Reads a binary log as it streams past (to the store), learning what the archive's manifest
 * records of it: the GTID state at its start, the transactions it holds (first and last GTID and
 * time; for MySQL the set of them) and whether it ends whole. Only the 19-byte event headers, and
 * the bodies of the GTID events, are looked at; everything else is skipped by length.
 *
 * Format (both flavors): the magic `\xfebin`, then events, each a header (timestamp u32, type u8,
 * server_id u32, event length u32, next position u32, flags u16, all little-endian) and a body of
 * `length - 19` bytes (with a checksum at its end when the server writes them).
 *
 * MariaDB: GTID_EVENT (162): seq_no u64, domain u32. GTID_LIST_EVENT (163): a count (low 28 bits
 * of a u32), then domain u32, server_id u32, seq_no u64 per entry.
 *
 * MySQL: PREVIOUS_GTIDS_LOG_EVENT (35), after the format description at every file's start: the
 * GTID set before the file, encoded as a u64 whose top byte is the format (0: plain UUIDs) and the
 * rest the number of UUIDs, then per UUID its 16 bytes, a u64 count of intervals and each interval
 * as start u64 and end u64 (exclusive). GTID_LOG_EVENT (33): flags u8, the UUID's 16 bytes, the
 * sequence number u64. ANONYMOUS_GTID_LOG_EVENT (34, a transaction without a GTID) and
 * GTID_TAGGED_LOG_EVENT (42, MySQL 8.3+ tagged GTIDs) are refused: the archive cannot place them.
 */
import { errorText } from "../errors.js";
import { GtidSet } from "../gtid/gtid-set.js";
import type { FlavorName } from "../topology/site-observation.js";

export const BINLOG_MAGIC = Buffer.from([0xfe, 0x62, 0x69, 0x6e]);
const HEADER_BYTES = 19;
const GTID_EVENT = 162;
const GTID_LIST_EVENT = 163;
const START_ENCRYPTION_EVENT = 164;
const MYSQL_GTID_EVENT = 33;
const MYSQL_ANONYMOUS_GTID_EVENT = 34;
const MYSQL_PREVIOUS_GTIDS_EVENT = 35;
const MYSQL_TAGGED_GTID_EVENT = 42;
/** The event types whose bodies each flavor reads. */
const KEPT: Record<FlavorName, ReadonlySet<number>> = {
  mariadb: new Set([GTID_EVENT, GTID_LIST_EVENT]),
  mysql: new Set([MYSQL_GTID_EVENT, MYSQL_ANONYMOUS_GTID_EVENT, MYSQL_PREVIOUS_GTIDS_EVENT, MYSQL_TAGGED_GTID_EVENT]),
};
/** Larger than any event the server writes (max_allowed_packet is at most 1 GiB). */
const MAX_EVENT_BYTES = 1024 * 1024 * 1024 + 4096;

export class BinlogError extends Error {}

export interface BinlogSummary {
  /**
   * The binary log state when the file began: MariaDB's GTID_LIST_EVENT, e.g. `0-1-5`, empty for
   * the first file; MySQL's Previous_gtids, a GTID set.
   */
  readonly startState: string;
  /** MySQL: the file's own transactions, a GTID set; absent when it holds none, and for MariaDB. */
  readonly gtids?: string;
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

/** A MySQL server UUID from its 16 bytes. */
function uuidText(bytes: Buffer): string {
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Sequence numbers in runs per UUID, as a MySQL server assigns them (mostly consecutive). */
class GtidRuns {
  private readonly runs = new Map<string, [bigint, bigint][]>();

  add(uuid: string, gno: bigint): void {
    const runs = this.runs.get(uuid) ?? [];
    const last = runs.at(-1);
    if (last && gno === last[1] + 1n) last[1] = gno;
    else runs.push([gno, gno]);
    this.runs.set(uuid, runs);
  }

  /** The canonical set text; "" when empty. */
  text(): string {
    const parts = [...this.runs].map(([uuid, runs]) => `${uuid}:${runs.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(":")}`);
    return GtidSet.parse(parts.join(",")).toString();
  }
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
  private readonly mysqlGtids = new GtidRuns();

  constructor(private readonly flavor: FlavorName = "mariadb") {}

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
    if (this.flavor === "mysql" && !this.startSeen) throw new BinlogError("the file has no Previous_gtids event: it is not a MySQL server's binary log");
    const gtids = this.flavor === "mysql" && this.transactions > 0 ? this.mysqlGtids.text() : undefined;
    return {
      startState: this.startState,
      ...(gtids !== undefined ? { gtids } : {}),
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
    this.keep = KEPT[this.flavor].has(type) ? { type, header: head, parts: [] } : undefined;
    if (this.skip === 0 && this.keep) this.finishKept();
  }

  private finishKept(): void {
    const kept = this.keep as NonNullable<BinlogScanner["keep"]>;
    this.keep = undefined;
    const body = Buffer.concat(kept.parts);
    const serverId = kept.header.readUInt32LE(5);
    const time = kept.header.readUInt32LE(0);
    if (this.flavor === "mysql") {
      this.mysqlEvent(kept.type, body, time);
      return;
    }
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

  private mysqlEvent(type: number, body: Buffer, time: number): void {
    if (type === MYSQL_ANONYMOUS_GTID_EVENT) throw new BinlogError("a transaction without a GTID (an anonymous GTID event): the archive needs gtid_mode=ON on the server");
    if (type === MYSQL_TAGGED_GTID_EVENT) throw new BinlogError("a transaction with a tagged GTID: the archive does not read tagged GTIDs (MySQL 8.3+)");
    if (type === MYSQL_PREVIOUS_GTIDS_EVENT) {
      // Only the event at the file's start is its starting state.
      if (!this.startSeen && this.transactions === 0) this.startState = previousGtids(body);
      this.startSeen = true;
      return;
    }
    if (!this.startSeen) throw new BinlogError("a GTID event before the file's Previous_gtids event: it is not a MySQL server's binary log");
    if (body.length < 25) throw new BinlogError("a GTID event is too short: the binary log is damaged");
    const uuid = uuidText(body.subarray(1, 17));
    const gno = body.readBigUInt64LE(17);
    const gtid = `${uuid}:${gno}`;
    this.mysqlGtids.add(uuid, gno);
    this.first ??= { gtid, time };
    this.last = { gtid, time };
    this.transactions += 1;
  }
}

/** The GTID set a Previous_gtids event's body encodes (its trailing checksum, if any, is not read). */
function previousGtids(body: Buffer): string {
  const damaged = (): never => {
    throw new BinlogError("a Previous_gtids event is shorter than its counts: the binary log is damaged");
  };
  if (body.length < 8) damaged();
  const head = body.readBigUInt64LE(0);
  if (head >> 56n !== 0n) throw new BinlogError("a Previous_gtids event in the tagged GTID format: the archive does not read tagged GTIDs (MySQL 8.3+)");
  const parts: string[] = [];
  let at = 8;
  for (let i = 0n; i < head; i++) {
    if (body.length < at + 24) damaged();
    const uuid = uuidText(body.subarray(at, at + 16));
    const count = body.readBigUInt64LE(at + 16);
    at += 24;
    if (BigInt(body.length - at) < count * 16n) damaged();
    const ranges: string[] = [];
    for (let j = 0n; j < count; j++) {
      const start = body.readBigUInt64LE(at);
      const end = body.readBigUInt64LE(at + 8) - 1n;
      at += 16;
      ranges.push(start === end ? `${start}` : `${start}-${end}`);
    }
    if (ranges.length > 0) parts.push(`${uuid}:${ranges.join(":")}`);
  }
  try {
    return GtidSet.parse(parts.join(",")).toString();
  } catch (err) {
    throw new BinlogError(`a Previous_gtids event holds no valid GTID set (${errorText(err)}): the binary log is damaged`);
  }
}
