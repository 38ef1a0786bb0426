/**
 * Contract tests of how the archive reads a MySQL server's binary log (shared/backup/binlog.ts):
 * no MySQL server runs here, so the files are built event by event (test/support/mysql-binlog.ts).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BINLOG_MAGIC, BinlogError, BinlogScanner } from "../../../shared/backup/binlog.js";
import { A, B, event, formatDescription, gtidEvent, mysqlBinlog as file, previousGtids, rotate, T0 } from "../../support/mysql-binlog.js";
import { feedSliced } from "./slices.js";

function scan(bytes: Buffer, cuts: number[] = []): ReturnType<BinlogScanner["end"]> {
  const scanner = new BinlogScanner("mysql");
  feedSliced(bytes, cuts, (slice) => scanner.push(slice));
  return scanner.end();
}

describe("BinlogScanner: a MySQL server's binary log (contract)", () => {
  it("reads the starting set from Previous_gtids and the file's transactions as a set, first and last with their times", () => {
    const bytes = file(
      [
        [B, [[1, 5]]],
        [A, [[1, 100], [102, 110]]],
      ],
      [
        [A, 111, T0 + 1],
        [A, 112, T0 + 2],
        [B, 6, T0 + 3],
        [A, 113, T0 + 4],
      ],
    );
    expect(scan(bytes)).toEqual({
      startState: `${A}:1-100:102-110,\n${B}:1-5`,
      gtids: `${A}:111-113,\n${B}:6`,
      transactions: 4,
      firstGtid: `${A}:111`,
      firstTime: T0 + 1,
      lastGtid: `${A}:113`,
      lastTime: T0 + 4,
    });
  });

  it("reads a first file (nothing before it) and a file without transactions", () => {
    expect(scan(file([], [[A, 1, T0]]))).toMatchObject({ startState: "", gtids: `${A}:1`, transactions: 1 });
    const empty = scan(file([[A, [[1, 7]]]], []));
    expect(empty).toEqual({ startState: `${A}:1-7`, transactions: 0 });
  });

  it("tells the file's start once Previous_gtids is read, and its first transaction after it", () => {
    const bytes = file([[A, [[1, 7]]]], [[A, 8, T0]]);
    const scanner = new BinlogScanner("mysql");
    scanner.push(bytes.subarray(0, 4 + 19 + 99));
    expect(scanner.head()).toBeUndefined();
    scanner.push(bytes.subarray(4 + 19 + 99));
    expect(scanner.head()).toEqual({ startState: `${A}:1-7`, firstGtid: `${A}:8` });
  });

  it("reads the same whatever the slicing", () => {
    const bytes = file([[A, [[1, 3]]]], [[A, 4, T0], [B, 1, T0 + 1], [A, 6, T0 + 2]]);
    const whole = scan(bytes);
    expect(whole.gtids).toBe(`${A}:4:6,\n${B}:1`);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: bytes.length }), { maxLength: 30 }), (cuts) => {
          expect(scan(bytes, cuts)).toEqual(whole);
        }),
      { numRuns: 150 },
    );
  });

  it("refuses what it cannot place: no Previous_gtids (a MariaDB file), an anonymous transaction, tagged GTIDs, a damaged count, a cut-off file", () => {
    const mariadbLike = Buffer.concat([BINLOG_MAGIC, formatDescription(), event(163, Buffer.alloc(4)), event(162, Buffer.alloc(13)), rotate()]);
    expect(() => scan(mariadbLike)).toThrow(new BinlogError("the file has no Previous_gtids event: it is not a MySQL server's binary log"));
    const noPrevious = Buffer.concat([BINLOG_MAGIC, formatDescription(), gtidEvent(A, 1)]);
    expect(() => scan(noPrevious)).toThrow(/a GTID event before the file's Previous_gtids event/);
    const anonymous = Buffer.concat([BINLOG_MAGIC, formatDescription(), previousGtids([]), gtidEvent(A, 0, T0, 34)]);
    expect(() => scan(anonymous)).toThrow(/without a GTID .*gtid_mode=ON/);
    const tagged = Buffer.concat([BINLOG_MAGIC, formatDescription(), previousGtids([]), event(42, Buffer.alloc(40))]);
    expect(() => scan(tagged)).toThrow(/tagged GTID/);
    expect(() => scan(Buffer.concat([BINLOG_MAGIC, formatDescription(), previousGtids([[A, [[1, 2]]]], 1)]))).toThrow(/tagged GTID format/);
    const short = previousGtids([[A, [[1, 2], [4, 5]]]]);
    const claimsMore = Buffer.from(short);
    claimsMore.writeBigUInt64LE(3n, 19 + 8 + 16);
    expect(() => scan(Buffer.concat([BINLOG_MAGIC, formatDescription(), claimsMore]))).toThrow(/shorter than its counts/);
    const whole = file([[A, [[1, 3]]]], [[A, 4, T0]]);
    expect(() => scan(whole.subarray(0, whole.length - 10))).toThrow(/ends inside an event/);
  });
});
