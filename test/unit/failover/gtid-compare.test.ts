import { describe, expect, it } from "vitest";
import { FlavorMismatchError, contains, missing, withoutOrigin, type ServerPosition } from "../../../shared/failover/gtid-compare.js";
import { GtidSetParseError } from "../../../shared/gtid/gtid-set.js";
import { MariadbGtidParseError } from "../../../shared/gtid/mariadb-position.js";

const A = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
const B = "8a94f357-aab4-11df-86ab-c80aa9429562";

const my = (gtidExecuted: string): ServerPosition => ({ flavor: "mysql", gtidExecuted });
const maria = (gtidExecuted: string, gtidBinlogState?: string): ServerPosition => ({
  flavor: "mariadb",
  gtidExecuted,
  ...(gtidBinlogState !== undefined ? { gtidBinlogState } : {}),
});

describe("MySQL", () => {
  it("contains: a superset holds the subset, not the other way round", () => {
    expect(contains(my(`${A}:1-10`), my(`${A}:1-5`))).toBe(true);
    expect(contains(my(`${A}:1-5`), my(`${A}:1-10`))).toBe(false);
    expect(contains(my(`${A}:1-10`), my(`${A}:1-10`))).toBe(true);
  });

  it("contains: everything holds the empty set; the empty set holds only itself", () => {
    expect(contains(my(`${A}:1-10`), my(""))).toBe(true);
    expect(contains(my(""), my(""))).toBe(true);
    expect(contains(my(""), my(`${A}:1`))).toBe(false);
  });

  it("contains: an errant transaction from another server breaks containment", () => {
    expect(contains(my(`${A}:1-100`), my(`${A}:1-50,${B}:1`))).toBe(false);
  });

  it("contains: gaps count, and text is compared as sets, not strings", () => {
    expect(contains(my(`${A}:1-3:5-10`), my(`${A}:1-4`))).toBe(false);
    expect(contains(my(`${B}:1-2,\n${A}:1-10`), my(`${A}:2-3,${B}:2`))).toBe(true);
  });

  it("contains: tags are part of the identity", () => {
    expect(contains(my(`${A}:1-10`), my(`${A}:tx:1`))).toBe(false);
    expect(contains(my(`${A}:1-10:tx:1-2`), my(`${A}:tx:1`))).toBe(true);
  });

  it("missing: b − a in canonical text with the exact count", () => {
    expect(missing(my(`${A}:1-5`), my(`${A}:1-10,${B}:1-3`))).toEqual({ text: `${A}:6-10,\n${B}:1-3`, count: 8 });
    expect(missing(my(`${A}:1-10`), my(`${A}:1-5`))).toEqual({ text: "", count: 0 });
  });

  it("missing: counts are exact for large sets", () => {
    expect(missing(my(""), my(`${A}:1-1000000000000`))).toEqual({ text: `${A}:1-1000000000000`, count: 1_000_000_000_000 });
  });

  it("missing: a count beyond 2^53 is unknown rather than rounded", () => {
    expect(missing(my(""), my(`${A}:1-9223372036854775806`)).count).toBeUndefined();
  });

  it("contains(a, b) is exactly missing(a, b) being empty", () => {
    const sets = ["", `${A}:1-5`, `${A}:1-10`, `${A}:1-5,${B}:1`, `${B}:1-3`, `${A}:3-7`];
    for (const a of sets) for (const b of sets) expect(contains(my(a), my(b))).toBe(missing(my(a), my(b)).text === "");
  });

  it("malformed text throws the parser's error", () => {
    expect(() => contains(my("not-a-gtid"), my(""))).toThrow(GtidSetParseError);
  });
});

describe("MariaDB (positions)", () => {
  it("contains when every domain is equal or ahead", () => {
    expect(contains(maria("0-1-15"), maria("0-1-10"))).toBe(true);
    expect(contains(maria("0-1-10"), maria("0-1-10"))).toBe(true);
    expect(contains(maria("0-1-10,1-1-5"), maria("0-1-10"))).toBe(true);
  });

  it("a failover continues the same sequence under a new server_id: still containment", () => {
    expect(contains(maria("0-2-15"), maria("0-1-10"))).toBe(true);
  });

  it("not contained when behind in some domain or lacking a domain", () => {
    expect(contains(maria("0-1-10"), maria("0-1-15"))).toBe(false);
    expect(contains(maria("0-1-10"), maria("0-1-10,1-3-1"))).toBe(false);
    expect(missing(maria("0-1-10"), maria("0-1-15,1-3-2"))).toEqual({ text: "0-1-15,1-3-2", count: undefined });
  });

  it("the same seq under two server_ids is divergence, both ways", () => {
    expect(contains(maria("0-1-10"), maria("0-2-10"))).toBe(false);
    expect(contains(maria("0-2-10"), maria("0-1-10"))).toBe(false);
    expect(missing(maria("0-1-10"), maria("0-2-10")).text).toBe("0-2-10");
  });

  it("nothing missing: empty text and count 0", () => {
    expect(missing(maria("0-1-15"), maria("0-1-12"))).toEqual({ text: "", count: 0 });
    expect(missing(maria(""), maria(""))).toEqual({ text: "", count: 0 });
  });

  it("documented limit: positions alone miss an errant write hidden by a higher seq", () => {
    // b applied 0-1-10, then wrote 0-2-11 itself; a went on to 0-1-15. a lacks 0-2-11.
    expect(contains(maria("0-1-15"), maria("0-2-11"))).toBe(true);
  });
});

describe("withoutOrigin: a server's own writes are never missing from it", () => {
  it("MariaDB: drops the GTIDs under the origin's server_id", () => {
    expect(withoutOrigin({ text: "0-1-2135", count: 2 }, "mariadb", { serverId: 1 })).toEqual({ text: "", count: 0 });
    expect(withoutOrigin({ text: "0-2-11", count: 1 }, "mariadb", { serverId: 1 })).toEqual({ text: "0-2-11", count: 1 });
    expect(withoutOrigin({ text: "0-1-20,0-2-11", count: undefined }, "mariadb", { serverId: 1 })).toEqual({ text: "0-2-11", count: undefined });
  });

  it("MySQL: subtracts the origin's UUID, counting what is left", () => {
    const m = missing(my(`${A}:1-5`), my(`${A}:1-9,${B}:1-2`));
    expect(withoutOrigin(m, "mysql", { serverId: 1, serverUuid: A })).toEqual({ text: `${B}:1-2`, count: 2 });
    expect(withoutOrigin(m, "mysql", { serverId: 1 })).toBe(m);
  });
});

describe("MariaDB (binlog states)", () => {
  it("binlog states catch the errant write positions miss", () => {
    const a = maria("0-1-15", "0-1-15");
    const b = maria("0-2-11", "0-1-10,0-2-11");
    expect(contains(a, b)).toBe(false);
    expect(missing(a, b)).toEqual({ text: "0-2-11", count: undefined });
  });

  it("an old primary that kept writing: counted exactly from the new primary's promotion position", () => {
    // pdx was promoted at 0-1-100 and wrote on as server 2; iad wrote 0-1-101..0-1-120 that pdx never received.
    const pdx = maria("0-2-150", "0-1-100,0-2-150");
    const iad = maria("0-1-120", "0-1-120");
    expect(missing(pdx, iad)).toEqual({ text: "0-1-120", count: undefined });
    expect(missing(pdx, iad, "0-1-100")).toEqual({ text: "0-1-120", count: 20 });
    // A reader that received part of them: 10.
    expect(missing(pdx, maria("0-1-110", "0-1-110"), "0-1-100")).toEqual({ text: "0-1-110", count: 10 });
    // A site that wrote on from the promotion position under its own server_id: 20 as well.
    expect(missing(pdx, maria("0-3-120", "0-1-100,0-3-120"), "0-1-100")).toEqual({ text: "0-3-120", count: 20 });
    // One that forked before the promotion position: the base does not anchor it, so unknown rather than wrong.
    expect(missing(pdx, maria("0-3-120", "0-1-90,0-3-120"), "0-1-100")).toEqual({ text: "0-3-120", count: undefined });
  });

  it("a replica that only applied the reference's transactions is contained", () => {
    expect(contains(maria("0-2-20", "0-1-10,0-2-20"), maria("0-2-14", "0-1-10,0-2-14"))).toBe(true);
  });

  it("an old primary that kept writing after the failover: beyond-server", () => {
    // The new primary (server 2) continued the domain from 0-1-10; the old one wrote 0-1-11..12.
    const active = maria("0-2-30", "0-1-10,0-2-30");
    const old = maria("0-1-12", "0-1-12");
    expect(contains(active, old)).toBe(false);
    expect(missing(active, old)).toEqual({ text: "0-1-12", count: undefined });
  });

  it("binlog states are only used when both sides have one", () => {
    expect(contains(maria("0-1-15", "0-1-15"), maria("0-2-11"))).toBe(true);
    expect(contains(maria("0-1-15"), maria("0-2-11", "0-1-10,0-2-11"))).toBe(true);
  });

  it("malformed text throws the parser's error", () => {
    expect(() => contains(maria("0-1"), maria(""))).toThrow(MariadbGtidParseError);
    expect(() => contains(maria("0-1-1", "x"), maria("", ""))).toThrow(MariadbGtidParseError);
  });
});

describe("mixing flavors", () => {
  it("throws for both functions", () => {
    expect(() => contains(my(`${A}:1`), maria("0-1-1"))).toThrow(FlavorMismatchError);
    expect(() => missing(maria("0-1-1"), my(`${A}:1`))).toThrow(/mariadb server with a mysql server/);
  });
});

describe("MariaDB missing transactions: exact count along one history", () => {
  const maria = (gtidExecuted: string, gtidBinlogState: string) => ({ flavor: "mariadb" as const, gtidExecuted, gtidBinlogState });

  it("counts the transactions an old primary wrote past the new primary's position", () => {
    const newPrimary = maria("0-1-10", "0-1-10");
    const oldPrimary = maria("0-1-12", "0-1-12");
    expect(missing(newPrimary, oldPrimary)).toEqual({ text: "0-1-12", count: 2 });
  });

  it("counts per domain and adds up", () => {
    expect(missing(maria("0-1-10,1-1-3", "0-1-10,1-1-3"), maria("0-1-12,1-1-7", "0-1-12,1-1-7")).count).toBe(6);
  });

  it("leaves the count unknown when the histories split inside a domain", () => {
    // The new primary wrote 0-2-11 itself; the old one wrote 0-1-11 and 0-1-12.
    const newPrimary = maria("0-2-11", "0-1-10,0-2-11");
    const oldPrimary = maria("0-1-12", "0-1-12");
    const m = missing(newPrimary, oldPrimary);
    expect(m.text).not.toBe("");
    expect(m.count).toBeUndefined();
  });
});
