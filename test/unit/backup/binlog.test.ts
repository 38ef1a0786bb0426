import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BinlogError, BinlogScanner } from "../../../shared/backup/binlog.js";
import { feedSliced } from "./slices.js";

const fixture = (name: string): Buffer => readFileSync(new URL(`../../fixtures/binlog/${name}`, import.meta.url));
const first = fixture("mysql-bin.000001");
const second = fixture("mysql-bin.000002");

function scan(bytes: Buffer, cuts: number[] = []): ReturnType<BinlogScanner["end"]> {
  const scanner = new BinlogScanner();
  feedSliced(bytes, cuts, (slice) => scanner.push(slice));
  return scanner.end();
}

describe("BinlogScanner (binary logs of a real MariaDB server)", () => {
  it("reads the transactions of the first file, which starts from nothing", () => {
    expect(scan(first)).toMatchObject({ startState: "", transactions: 7, firstGtid: "0-1-1", lastGtid: "0-1-7" });
  });

  it("reads the starting state of a later file from its GTID list", () => {
    const summary = scan(second);
    expect(summary).toMatchObject({ startState: "0-1-7", transactions: 1, firstGtid: "0-1-8", lastGtid: "0-1-8" });
    expect(summary.firstTime).toBeGreaterThan(1_700_000_000);
    expect(summary.lastTime).toBeGreaterThanOrEqual(summary.firstTime as number);
  });

  it("tells a file's start from its first bytes: nothing before the GTID list, then the state, then the first transaction", () => {
    const headOf = (n: number) => {
      const scanner = new BinlogScanner();
      scanner.push(second.subarray(0, n));
      return scanner.head();
    };
    expect(headOf(4)).toBeUndefined();
    const sizes = Array.from({ length: second.length }, (_, i) => i + 1);
    const listAt = sizes.find((n) => headOf(n) !== undefined) as number;
    expect(headOf(listAt)).toEqual({ startState: "0-1-7" });
    expect(headOf(second.length)).toEqual({ startState: "0-1-7", firstGtid: "0-1-8" });
    const scanner = new BinlogScanner();
    scanner.push(first);
    expect(scanner.head()).toEqual({ startState: "", firstGtid: "0-1-1" });
  });

  it("reads the same whatever the slicing", () => {
    const whole = scan(first);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: first.length }), { maxLength: 40 }), (cuts) => {
        expect(scan(first, cuts)).toEqual(whole);
      }),
      { numRuns: 200 },
    );
  });

  it("refuses a file cut off inside an event, one that is no binary log, and a damaged length", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: second.length - 1 }), (length) => {
        // Cut between two events, the file is shorter but whole; anywhere else it is refused.
        try {
          scan(second.subarray(0, length));
        } catch (err) {
          expect(err).toBeInstanceOf(BinlogError);
        }
      }),
      { numRuns: 200 },
    );
    expect(() => scan(second.subarray(0, second.length - 3))).toThrow(/cut off/);
    expect(() => scan(Buffer.from("not a binlog"))).toThrow(/magic/);
    const damaged = Buffer.from(second);
    damaged.writeUInt32LE(3, 4 + 9);
    expect(() => scan(damaged)).toThrow(/claims 3 bytes/);
  });
});
