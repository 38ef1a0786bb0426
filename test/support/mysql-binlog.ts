/**
 * MySQL binary logs built event by event as MySQL 8.0 to 8.4 writes them (no MySQL server runs
 * here): the magic, a format description, Previous_gtids, then per transaction a GTID event and
 * its other events, a rotate at the end, each with a checksum trailer (its value is not read).
 * The layouts are those shared/backup/binlog.ts reads.
 */
import { BINLOG_MAGIC } from "../../shared/backup/binlog.js";

export const A = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
export const B = "8a94f357-aab4-11df-86ab-c80aa9429562";
export const T0 = 1_796_000_000;

const uuidBytes = (uuid: string): Buffer => Buffer.from(uuid.replaceAll("-", ""), "hex");
const u64 = (n: bigint | number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};

/** One event: the 19-byte header, the body, and a 4-byte checksum (its value is not read). */
export function event(type: number, body: Buffer, time = T0): Buffer {
  const header = Buffer.alloc(19);
  header.writeUInt32LE(time, 0);
  header[4] = type;
  header.writeUInt32LE(7, 5);
  header.writeUInt32LE(19 + body.length + 4, 9);
  return Buffer.concat([header, body, Buffer.alloc(4, 0xab)]);
}

export const formatDescription = (): Buffer => event(15, Buffer.alloc(95, 1));
/** Previous_gtids: the plain format's count, then per UUID its intervals, each end exclusive. */
export function previousGtids(sets: [string, [number, number][]][], formatByte = 0): Buffer {
  const parts = [u64((BigInt(formatByte) << 56n) | BigInt(sets.length))];
  for (const [uuid, intervals] of sets) {
    parts.push(uuidBytes(uuid), u64(intervals.length));
    for (const [start, end] of intervals) parts.push(u64(start), u64(end + 1));
  }
  return event(35, Buffer.concat(parts));
}
/** A GTID event as 8.0+ writes it: flags, UUID, number, then the logical clock and timestamps (not read). */
export const gtidEvent = (uuid: string, gno: number, time = T0, type = 33): Buffer => event(type, Buffer.concat([Buffer.from([1]), uuidBytes(uuid), u64(gno), Buffer.from([2]), u64(0), u64(1), Buffer.alloc(14, 9)]), time);
/** The rest of a row transaction: query BEGIN, table map, write rows, XID. */
const transactionBody = (): Buffer => Buffer.concat([event(2, Buffer.alloc(40, 3)), event(19, Buffer.alloc(30, 4)), event(30, Buffer.alloc(60, 5)), event(16, u64(42))]);
export const rotate = (): Buffer => event(4, Buffer.concat([u64(4), Buffer.from("binlog.000008")]));

export function mysqlBinlog(previous: [string, [number, number][]][], transactions: [string, number, number][]): Buffer {
  return Buffer.concat([BINLOG_MAGIC, formatDescription(), previousGtids(previous), ...transactions.flatMap(([uuid, gno, time]) => [gtidEvent(uuid, gno, time), transactionBody()]), rotate()]);
}
