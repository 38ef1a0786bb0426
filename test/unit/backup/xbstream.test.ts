import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { XbstreamError, XbstreamScanner } from "../../../shared/backup/xbstream.js";
import { feedSliced } from "./slices.js";

/** One chunk in mbstream's format (payload when `payload` is given, else the file's end). */
function chunk(path: string, payload?: Buffer, type = payload ? "P" : "E"): Buffer {
  const name = Buffer.from(path);
  const head = Buffer.alloc(14);
  head.write("XBSTCK01", 0, "latin1");
  head[9] = type.charCodeAt(0);
  head.writeUInt32LE(name.length, 10);
  if (!payload) return Buffer.concat([head, name]);
  const meta = Buffer.alloc(20);
  meta.writeBigUInt64LE(BigInt(payload.length), 0);
  return Buffer.concat([head, name, meta, payload]);
}

const info = "mysql-bin.000003\t2796\t0-2-14\n";
const stream = Buffer.concat([
  chunk("ibdata1", Buffer.alloc(5000, 1)),
  chunk("xtrabackup_binlog_info", Buffer.from(info)),
  chunk("ibdata1", Buffer.alloc(300, 2)),
  chunk("xtrabackup_binlog_info"),
  chunk("ibdata1"),
  chunk("xtrabackup_info", Buffer.from("tool_name = mariabackup\n")),
  chunk("xtrabackup_info"),
]);

function scan(bytes: Buffer, cuts: number[] = []): ReturnType<XbstreamScanner["end"]> {
  const scanner = new XbstreamScanner(["xtrabackup_binlog_info"]);
  feedSliced(bytes, cuts, (slice) => scanner.push(slice));
  return scanner.end();
}

describe("XbstreamScanner", () => {
  it("lists the files in order of appearance and captures the named ones", () => {
    const summary = scan(stream);
    expect(summary.files).toEqual(["ibdata1", "xtrabackup_binlog_info", "xtrabackup_info"]);
    expect(summary.captured.get("xtrabackup_binlog_info")).toBe(info);
    expect(summary.captured.has("ibdata1")).toBe(false);
  });

  it("reads the same whatever the slicing of the bytes", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: stream.length }), { maxLength: 30 }), (cuts) => {
        expect(scan(stream, cuts).captured.get("xtrabackup_binlog_info")).toBe(info);
      }),
      { numRuns: 200 },
    );
  });

  // A cut between chunks with every file so far ended looks whole to the format; what mariadb-backup
  // writes last (xtrabackup_info) is what tells it apart, and the backup runner checks for it.
  it("refuses a stream cut off anywhere but at the end, or shows it lacks the last file", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: stream.length - 1 }), (length) => {
        let summary: ReturnType<typeof scan>;
        try {
          summary = scan(stream.subarray(0, length));
        } catch (err) {
          expect(err).toBeInstanceOf(XbstreamError);
          return;
        }
        expect(summary.files).not.toContain("xtrabackup_info");
      }),
      { numRuns: 300 },
    );
  });

  it("accepts a cut on a clean chunk boundary without the files that come after it", () => {
    const boundary = stream.indexOf(chunk("xtrabackup_info", Buffer.from("tool_name = mariabackup\n")));
    expect(scan(stream.subarray(0, boundary)).files).toEqual(["ibdata1", "xtrabackup_binlog_info"]);
    expect(() => scan(stream.subarray(0, boundary - 1))).toThrow(XbstreamError);
  });

  it("refuses bytes that are no xbstream, a damaged path length and an unknown chunk type", () => {
    expect(() => scan(Buffer.from("PK\u0003\u0004 a zip file, not a backup"))).toThrow(/not an xbstream/);
    const long = Buffer.from(chunk("x", Buffer.alloc(1)));
    long.writeUInt32LE(1 << 30, 10);
    expect(() => scan(long)).toThrow(/path of 1073741824 bytes/);
    expect(() => scan(chunk("x", Buffer.alloc(1), "S"))).toThrow(/unknown type 0x53/);
  });

  it("keeps at most the capture limit of a captured file", () => {
    const scanner = new XbstreamScanner(["big"], 10);
    scanner.push(Buffer.concat([chunk("big", Buffer.alloc(8, 0x61)), chunk("big", Buffer.alloc(8, 0x62)), chunk("big")]));
    expect(scanner.end().captured.get("big")).toBe("aaaaaaaabb");
  });
});
