import { describe, expect, it } from "vitest";
import {
  MariadbGtidParseError,
  comparePositions,
  findForeignWrites,
  formatMariadbGtids,
  parseMariadbBinlogState,
  parseMariadbPosition,
} from "../../../shared/gtid/mariadb-position.js";
import type { MariadbGtid } from "../../../shared/gtid/mariadb-position.js";

const gtid = (domain: number, serverId: number, seq: bigint): MariadbGtid => ({ domain, serverId, seq });
const pos = parseMariadbPosition;
const state = parseMariadbBinlogState;

describe("parsing", () => {
  it("reads a position as the server prints it", () => {
    expect(pos("0-1-12")).toEqual([gtid(0, 1, 12n)]);
    expect(pos("1-2-5,0-1-12")).toEqual([gtid(0, 1, 12n), gtid(1, 2, 5n)]);
    expect(pos("")).toEqual([]);
    expect(pos("  \n")).toEqual([]);
  });

  it("tolerates whitespace around entries, as pasted text has", () => {
    expect(pos(" 0-1-12 ,\n 1-2-5\n")).toEqual([gtid(0, 1, 12n), gtid(1, 2, 5n)]);
  });

  it("reads a binlog state with several server_ids per domain", () => {
    expect(state("0-3-13,0-1-12")).toEqual([gtid(0, 1, 12n), gtid(0, 3, 13n)]);
  });

  it("accepts the full ranges: 32-bit domain and server_id, 64-bit seq", () => {
    expect(pos("4294967295-4294967295-18446744073709551615")).toEqual([
      gtid(4294967295, 4294967295, 18446744073709551615n),
    ]);
    expect(pos("0-0-0")).toEqual([gtid(0, 0, 0n)]);
  });

  it.each([
    ["4294967296-1-1", 0, "4294967296-1-1", /domain 4294967296 is larger than 4294967295/],
    ["0-4294967296-1", 0, "0-4294967296-1", /server_id 4294967296 is larger than 4294967295/],
    ["0-1-18446744073709551616", 0, "0-1-18446744073709551616", /seq 18446744073709551616 is larger/],
    ["0-1-2,,0-2-3", 6, "", /empty entry at offset 6/],
    ["0-1-2,", 6, "", /empty entry/],
    ["0-1-2, 0-1", 7, "0-1", /expected domain-server_id-seq, e.g. 0-1-42 at offset 7 \(entry "0-1"\)/],
    ["0-1-x", 0, "0-1-x", /expected domain-server_id-seq/],
    ["-1-1-1", 0, "-1-1-1", /expected domain-server_id-seq/],
    ["0 -1-1", 0, "0 -1-1", /expected domain-server_id-seq/],
    ["0:1:1", 0, "0:1:1", /expected domain-server_id-seq/],
    ["3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5", 0, "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5", /expected/],
  ])("refuses %j, naming the entry", (text, offset, token, message) => {
    let error: unknown;
    try {
      pos(text);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(MariadbGtidParseError);
    expect(error).toMatchObject({ input: text, offset, token });
    expect((error as Error).message).toMatch(message);
  });

  it("refuses two GTIDs of one domain in a position", () => {
    expect(() => pos("0-1-12,0-3-13")).toThrow(/domain 0 appears twice \(also "0-1-12"\).*offset 7 \(entry "0-3-13"\)/);
  });

  it("refuses two GTIDs of one (domain, server_id) in a binlog state", () => {
    expect(() => state("0-1-12,0-1-13")).toThrow(/domain 0, server_id 1 appears twice/);
  });

  it("formats canonically, sorted by domain then server_id", () => {
    expect(formatMariadbGtids([gtid(1, 2, 5n), gtid(0, 3, 13n), gtid(0, 1, 12n)])).toBe("0-1-12,0-3-13,1-2-5");
    expect(formatMariadbGtids([])).toBe("");
    expect(formatMariadbGtids(state(" 1-2-5 , 0-1-18446744073709551615"))).toBe("0-1-18446744073709551615,1-2-5");
  });
});

describe("comparePositions", () => {
  it("is equal for identical positions", () => {
    const r = comparePositions(pos("0-1-12,1-2-5"), pos("1-2-5,0-1-12"));
    expect(r.overall).toBe("equal");
    expect(r.domains.map((d) => d.relation)).toEqual(["equal", "equal"]);
  });

  it("reports behind and ahead per domain, a relative to b", () => {
    expect(comparePositions(pos("0-1-10"), pos("0-1-12")).overall).toBe("behind");
    expect(comparePositions(pos("0-1-12"), pos("0-1-10")).overall).toBe("ahead");
    const r = comparePositions(pos("0-1-10,1-2-5"), pos("0-1-12,1-2-5"));
    expect(r.overall).toBe("behind");
    expect(r.domains).toEqual([
      { domain: 0, a: gtid(0, 1, 10n), b: gtid(0, 1, 12n), relation: "behind" },
      { domain: 1, a: gtid(1, 2, 5n), b: gtid(1, 2, 5n), relation: "equal" },
    ]);
  });

  it("orders by seq alone across server_ids: a failover continues the same sequence", () => {
    expect(comparePositions(pos("0-1-12"), pos("0-2-14")).overall).toBe("behind");
  });

  it("counts a domain missing on one side as seq 0", () => {
    const r = comparePositions(pos("0-1-12"), pos("0-1-12,1-2-5"));
    expect(r.overall).toBe("behind");
    expect(r.domains[1]).toEqual({ domain: 1, a: undefined, b: gtid(1, 2, 5n), relation: "behind" });
    expect(comparePositions(pos("0-1-12,1-2-5"), pos("0-1-12")).overall).toBe("ahead");
    expect(comparePositions(pos(""), pos("")).overall).toBe("equal");
    expect(comparePositions(pos(""), pos("")).domains).toEqual([]);
  });

  it("is diverged when some domains are behind and others ahead", () => {
    const r = comparePositions(pos("0-1-12,1-2-3"), pos("0-1-10,1-2-5"));
    expect(r.overall).toBe("diverged");
    expect(r.domains.map((d) => d.relation)).toEqual(["ahead", "behind"]);
  });

  it("is diverged when one seq carries different server_ids: two transactions, one number", () => {
    const r = comparePositions(pos("0-3-13"), pos("0-1-13"));
    expect(r.overall).toBe("diverged");
    expect(r.domains[0]!.relation).toBe("diverged");
  });

  it("takes positions, not binlog states", () => {
    expect(() => comparePositions(state("0-1-12,0-3-13"), pos("0-1-12"))).toThrow(RangeError);
  });
});

describe("findForeignWrites", () => {
  it("finds nothing in a replica that only applied the reference's transactions", () => {
    expect(findForeignWrites(state("0-1-12"), state("0-1-14"))).toEqual([]);
    expect(findForeignWrites(state("0-1-10,0-2-14"), state("0-1-10,0-2-20"))).toEqual([]);
    expect(findForeignWrites(state(""), state("0-1-10"))).toEqual([]);
  });

  // The errant write seen on MariaDB 10.11 (platform notes C): a replica with server_id 3 wrote
  // 0-3-13 while its primary was at 0-1-12.
  it("flags a server_id the reference never saw in the domain", () => {
    expect(findForeignWrites(state("0-1-12,0-3-13"), state("0-1-12"))).toEqual([
      { gtid: gtid(0, 3, 13n), reasons: ["unknown-server", "beyond-domain"] },
    ]);
    // The primary has since moved past seq 13: the unknown server_id still gives it away.
    expect(findForeignWrites(state("0-1-12,0-3-13"), state("0-1-20"))).toEqual([
      { gtid: gtid(0, 3, 13n), reasons: ["unknown-server"] },
    ]);
  });

  it("flags a seq above the reference's high-water mark in the domain", () => {
    expect(findForeignWrites(state("0-1-15"), state("0-1-12"))).toEqual([
      { gtid: gtid(0, 1, 15n), reasons: ["beyond-domain"] },
    ]);
  });

  it("flags a known server_id whose seq went past what the reference has from it", () => {
    // Server 1 was primary up to 20 but only 1..10 reached the new primary (server 2), which
    // then wrote 11..30. Server 1's 0-1-20 is below the domain's mark, yet foreign.
    expect(findForeignWrites(state("0-1-20"), state("0-1-10,0-2-30"))).toEqual([
      { gtid: gtid(0, 1, 20n), reasons: ["beyond-server"] },
    ]);
  });

  it("judges each domain on its own", () => {
    expect(findForeignWrites(state("0-1-5,1-1-50"), state("0-1-100,1-1-50"))).toEqual([]);
    expect(findForeignWrites(state("0-1-5,7-1-1"), state("0-1-100"))).toEqual([
      { gtid: gtid(7, 1, 1n), reasons: ["unknown-server", "beyond-domain"] },
    ]);
  });

  it("cannot see an errant write at or below the reference's seq for the same server_id", () => {
    // Documented limit: a server restored from an old backup (at 0-2-10) writes 0-2-11 while the
    // reference already holds 0-2-25. Nothing distinguishes it from the reference's own 0-2-11.
    expect(findForeignWrites(state("0-2-11"), state("0-2-25"))).toEqual([]);
  });

  it("reports in canonical order", () => {
    const found = findForeignWrites(state("1-9-1,0-9-2,0-4-3"), state(""));
    expect(found.map((f) => f.gtid)).toEqual([gtid(0, 4, 3n), gtid(0, 9, 2n), gtid(1, 9, 1n)]);
  });
});
