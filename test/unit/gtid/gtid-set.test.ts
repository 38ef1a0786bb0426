import { describe, expect, it } from "vitest";
import { GtidSet, GtidSetParseError, MAX_SEQUENCE_NUMBER } from "../../../shared/gtid/gtid-set.js";

const p = (text: string): GtidSet => GtidSet.parse(text);
const norm = (text: string): string => p(text).toString();

// Names as in mysql-server unittest/gunit/libs/gtids/gtid_set-t.cc.
const UUID0 = "00000000-0000-0000-0000-000000000000";
const UUID1 = "00000000-0000-0000-0000-000000000001";
const UUID2 = "63d02e6c-9555-4d16-a8c3-e9d7590103b0";
const UUID3 = "ffffffff-ffff-ffff-ffff-ffffffffffff";
const TAG32 = "aaaabbbbccccddddeeeeffffgggghhhh";
const TAG32a = "this_is_a_32_character_long_tag_";
const TAG32b = "yet_another_tag_with_that_length";
const TAG10 = "a123456789";
const MAX = "9223372036854775806"; // 2^63-2, the largest sequence number
const MAX_EXCLUSIVE = "9223372036854775807"; // 2^63-1

// The MySQL manual's own UUID, and the uppercase spelling its examples use.
const M = "3E11FA47-71CA-11E1-9E33-C80AA9429562";
const m = M.toLowerCase();
// As in mysql-test include/gtid_utils.inc and gunit gtids_example-t.cc.
const A = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";
const B = "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb";
const C = "cccccccc-cccc-cccc-cccc-cccccccccccc";

describe("MySQL 8.4 manual, 14.18.2 GTID functions", () => {
  it.each([
    [`${M}:23`, `${M}:21-57`, true],
    [`${M}:23-25`, `${M}:21-57`, true],
    [`${M}:20-25`, `${M}:21-57`, false],
  ])("GTID_SUBSET(%s, %s) = %s", (a, b, expected) => {
    expect(p(a).isSubsetOf(p(b))).toBe(expected);
  });

  it.each([
    [`${M}:21-57`, `${M}:21`, `${m}:22-57`],
    [`${M}:21-57`, `${M}:20-25`, `${m}:26-57`],
    [`${M}:21-57`, `${M}:23-24`, `${m}:21-22:25-57`],
  ])("GTID_SUBTRACT(%s, %s) = %s", (a, b, expected) => {
    expect(p(a).subtract(p(b)).toString()).toBe(expected);
  });
});

describe("mysql-test binlog_gtid_utils.result", () => {
  it("accepts 2^63-2 and refuses 2^63-1 as an interval end", () => {
    const full = p(`${A}:1-${MAX}`);
    expect(full.isSubsetOf(GtidSet.empty())).toBe(false);
    expect(GtidSet.empty().isSubsetOf(full)).toBe(true);
    expect(full.subtract(GtidSet.empty()).toString()).toBe(`${A}:1-${MAX}`);
    expect(GtidSet.empty().subtract(full).toString()).toBe("");
    expect(() => p(`${A}:1-${MAX_EXCLUSIVE}`)).toThrow(GtidSetParseError);
  });

  it.each([`${A}:0-1`, `${A}:0`])("refuses %s", (text) => {
    expect(() => p(text)).toThrow(GtidSetParseError);
  });

  // The helpers in gtid_utils.inc are built from GTID_SUBSET / GTID_SUBTRACT; same results here.
  it("GTID_IS_EQUAL", () => {
    const equal = (x: string, y: string) => p(x).equals(p(y));
    expect(equal(`${A}:1,${B}:3:2:1`, `${B}:1-3,${A}:1`)).toBe(true);
    expect(equal(`${A}:1,${B}:3:2:1`, `${B}:1:3,${A}:1`)).toBe(false);
  });

  it("GTID_IS_DISJOINT", () => {
    const disjoint = (x: string, y: string) => p(x).intersect(p(y)).isEmpty();
    expect(disjoint(`${A}:2`, `${B}:2,${A}:1:3`)).toBe(true);
    expect(disjoint(`${A}:2`, `${B}:2,${A}:1-3`)).toBe(false);
  });

  it.each([
    [`${A}:1-3`, `${A}:5-7`, ""],
    [`${A}:1-3:5-7`, `${A}:3-5`, `${A}:3:5`],
    [`${A}:1-3`, `${A}:1:2:3`, `${A}:1-3`],
    [`${B}:1-3`, `${A}:1-3`, ""],
  ])("GTID_INTERSECTION(%s, %s) = %j", (x, y, expected) => {
    expect(p(x).intersect(p(y)).toString()).toBe(expected);
  });

  it.each([
    [`${A}:1:3`, `${A}:1:3`, `${A}:1:3`],
    [`${A}:1-3`, `${A}:1:3`, `${A}:1-3`],
    [`${A}:1:3`, `${A}:2:4`, `${A}:1-4`],
  ])("GTID_UNION(%s, %s) = %s", (x, y, expected) => {
    expect(p(x).union(p(y)).toString()).toBe(expected);
  });

  it.each([
    [`${A}:1-3`, `${A}:3-5`, `${A}:1-2:4-5`],
    [`${A}:1-3`, `${A}:4-5`, `${A}:1-5`],
    [`${A}:1-3`, `${B}:1-3`, `${A}:1-3,\n${B}:1-3`],
  ])("GTID_SYMMETRIC_DIFFERENCE(%s, %s)", (x, y, expected) => {
    const [sx, sy] = [p(x), p(y)];
    expect(sx.subtract(sy).union(sy.subtract(sx)).toString()).toBe(expected);
  });

  it.each([
    ["", 0n],
    [`${A}:1`, 1n],
    [`${A}:1-3`, 3n],
    [`${A}:1-3:4-5`, 5n],
    [`${A}:1-3:5-5`, 4n],
    [`${A}:1-3:5-4`, 3n],
    [`${A}:1-3:5-4,${B}:1:3,`, 5n],
  ])("GTID_COUNT(%j) = %s", (text, expected) => {
    expect(p(text).count()).toBe(expected);
  });
});

// unittest/gunit/libs/gtids/gtid_set-t.cc, TEST(LibsGtidsGtidSet, Parsing): [input, canonical text].
// Each case there is checked against the server's Gtid_set, the one GTID_SUBTRACT uses.
const same = (text: string): [string, string] => [text, text];
const normalisationVectors: Array<[string, string]> = [
  // empty: whitespace and separators; UUIDs or tags without intervals; reversed intervals
  same(""),
  [" ", ""],
  ["\r,, ,\t", ""],
  [UUID0, ""],
  [`${UUID0} `, ""],
  [` ${UUID0} , ${UUID1},,${UUID0}`, ""],
  [` ${UUID0} : ${TAG10}`, ""],
  [` ${UUID0} : ${TAG10}:${TAG10} : ${TAG32}`, ""],
  [` ${UUID0},${UUID0} : ${TAG10}:${TAG10} : ${TAG32}`, ""],
  [` ${UUID0} : ${TAG10}:${TAG10} : ${TAG32},${UUID0}`, ""],
  [`${UUID0}:2-1`, ""],
  [` ${UUID0} : 99 - 1 `, ""],
  [`${UUID0}:2-1,${UUID1}:${TAG10}:99-7`, ""],
  [`${UUID0}:${TAG10}:2-1`, ""],
  [` ${UUID0} : 99 - 1 : ${TAG10}:${TAG10}`, ""],
  // one GTID
  same(`${UUID0}:1`),
  same(`${UUID1}:999`),
  same(`${UUID2}:${MAX}`),
  [`${UUID0}:1-1`, `${UUID0}:1`],
  [`${UUID1}:999-999`, `${UUID1}:999`],
  [`${UUID2}:${MAX}-${MAX}`, `${UUID2}:${MAX}`],
  [`${UUID0}:1-1:1`, `${UUID0}:1`],
  [`${UUID1}:999-999:999`, `${UUID1}:999`],
  [`${UUID2}:${MAX}-${MAX}:${MAX}`, `${UUID2}:${MAX}`],
  same(`${UUID3}:foo:1`),
  same(`${UUID0}:${TAG10}:42`),
  same(`${UUID0}:${TAG32}:42`),
  [`${UUID3}:foo:1-1:1`, `${UUID3}:foo:1`],
  [`${UUID0}:${TAG10}:42-42:42`, `${UUID0}:${TAG10}:42`],
  [`${UUID0}:${TAG32}:42-42:42`, `${UUID0}:${TAG32}:42`],
  [` ${UUID1}:1`, `${UUID1}:1`],
  [`${UUID3} : 1 `, `${UUID3}:1`],
  [` ${UUID0} : 1 `, `${UUID0}:1`],
  [`\f\f\n${UUID3}\t \t:\n1\r`, `${UUID3}:1`],
  // one UUID, several GTIDs
  same(`${UUID0}:1-2`),
  same(`${UUID1}:999-1000`),
  same(`${UUID2}:1-${MAX}`),
  same(`${UUID0}:1-2:9-100`),
  same(`${UUID1}:999-1000:2000-3000:4000`),
  same(`${UUID2}:1-2:4-${MAX}`),
  [`${UUID0}:1-100:50-200:150-300`, `${UUID0}:1-300`],
  [`${UUID1}:9:7:5:3:1`, `${UUID1}:1:3:5:7:9`],
  [`${UUID1}:80-100:50-59:60-79`, `${UUID1}:50-100`],
  [`${UUID2}:100-200:1-${MAX}`, `${UUID2}:1-${MAX}`],
  same(`${UUID0}:foo:1-2`),
  same(`${UUID1}:bar:999-1000`),
  same(`${UUID2}:baz:1-${MAX}`),
  same(`${UUID0}:foo:1-2:9-100`),
  same(`${UUID1}:bar:999-1000:2000-3000:4000`),
  same(`${UUID2}:baz:1-2:4-${MAX}`),
  [`${UUID0}:foo:1-100:50-200:150-300`, `${UUID0}:foo:1-300`],
  [`${UUID1}:foo:9:7:5:3:1`, `${UUID1}:foo:1:3:5:7:9`],
  [`${UUID1}:foo:80-100:50-59:60-79`, `${UUID1}:foo:50-100`],
  [`${UUID2}:foo:100-200:1-${MAX}`, `${UUID2}:foo:1-${MAX}`],
  same(`${UUID0}:a:1-2:999-1000:foo:1-2:100-2000`),
  [`${UUID1}:a:1-2:999-1000:foo:1-100:bar:1-2000`, `${UUID1}:a:1-2:999-1000:bar:1-2000:foo:1-100`],
  [
    `${UUID1}:a:1-2:999-1000:foo:20-100:bar:1-2000:foo:101-200:foo:1-25`,
    `${UUID1}:a:1-2:999-1000:bar:1-2000:foo:1-200`,
  ],
  same(`${UUID0}:1-2:999-1000:foo:1-2:100-2000`),
  [`${UUID1}:1-2:999-1000:foo:1-100:bar:1-2000`, `${UUID1}:1-2:999-1000:bar:1-2000:foo:1-100`],
  [
    `${UUID1}:1-2:999-1000:foo:20-100:bar:1-2000:foo:101-200:foo:1-25`,
    `${UUID1}:1-2:999-1000:bar:1-2000:foo:1-200`,
  ],
  // several UUIDs
  same(`${UUID0}:1-2:9-100,\n${UUID1}:1`),
  same(`${UUID1}:999-1000:2000-3000:4000,\n${UUID2}:1-100:200-5000`),
  [`${UUID0}:1-100:50-200,\n${UUID0}:150-300,\n`, `${UUID0}:1-300`],
  [`${UUID1}:9:7:5:3:1,\n${UUID1}:2:4:6:8,\n`, `${UUID1}:1-9`],
  [`${UUID1}:80-100,\n${UUID3}:20-70,\n${UUID1}:50-59:60-79`, `${UUID1}:50-100,\n${UUID3}:20-70`],
  same(`${UUID0}:a:1-2:999-1000:foo:1-2:100-2000,\n${UUID1}:a:2-3:1000-1001:bar:4-9`),
  [
    `${UUID1}:a:1-2:999-1000:baz:foo:1-100:bar:1-2000,\n${UUID2}:a:1-2:999-1000:foo:1-100:baz:bar:1-2000`,
    `${UUID1}:a:1-2:999-1000:bar:1-2000:foo:1-100,\n${UUID2}:a:1-2:999-1000:bar:1-2000:foo:1-100`,
  ],
  [
    `${UUID1}:a:1-2:999-1000:foo:20-100:bar:1-2000,\n${UUID2}:a:1-2:999-1000:foo:1-100:baz:bar:1-2000,\n` +
      `${UUID1}:baz:foo:101-200:foo:1-25`,
    `${UUID1}:a:1-2:999-1000:bar:1-2000:foo:1-200,\n${UUID2}:a:1-2:999-1000:bar:1-2000:foo:1-100`,
  ],
  same(`${UUID0}:1-2:999-1000:foo:1-2:100-2000,\n${UUID1}:2-3:1000-1001:bar:4-9`),
  [
    `${UUID1}:1-2:999-1000:baz:foo:1-100:bar:1-2000,\n${UUID2}:1-2:999-1000:foo:1-100:baz:bar:1-2000`,
    `${UUID1}:1-2:999-1000:bar:1-2000:foo:1-100,\n${UUID2}:1-2:999-1000:bar:1-2000:foo:1-100`,
  ],
  [
    `${UUID1}:1-2:999-1000:foo:20-100:bar:1-2000,\n${UUID2}:1-2:999-1000:foo:1-100:baz:bar:1-2000,\n` +
      `${UUID1}:baz:foo:101-200:foo:1-25`,
    `${UUID1}:1-2:999-1000:bar:1-2000:foo:1-200,\n${UUID2}:1-2:999-1000:bar:1-2000:foo:1-100`,
  ],
  same(
    `${UUID0}:${TAG32}:1:3:5:${TAG32a}:2:4:6:${TAG32b}:58,\n` +
      `${UUID1}:${TAG32}:1-10:${TAG32a}:2-19:${TAG32b}:99-999,\n` +
      `${UUID2}:${TAG32}:4711-9876:${TAG32a}:42:${TAG32b}:16,\n` +
      `${UUID3}:${TAG32}:78-87:${TAG32a}:1000-1001:${TAG32b}:13:15`,
  ),
];

describe("normalisation vectors from mysql-server gtid_set-t.cc", () => {
  it.each(normalisationVectors)("%j -> %j", (input, expected) => {
    expect(norm(input)).toBe(expected);
  });

  it("formats its own output back to itself", () => {
    for (const [, expected] of normalisationVectors) expect(norm(expected)).toBe(expected);
  });
});

describe("parse errors", () => {
  // gtid_set-t.cc TEST(LibsGtidsGtidSet, ParseErrors), plus gtids_example-t.cc; where MySQL's
  // message has a position ("after N characters") it is the offset asserted here.
  it.each([
    [".", 0, "."],
    ["/", 0, "/"],
    [`${UUID0}!`, 36, "!"],
    [`%${UUID1}`, 0, `%${UUID1}`],
    ["1-2", 0, "1-2"],
    ["tag:1", 0, "tag"],
    [":1", 0, ""],
    ["-1", 0, "-1"],
    [`${UUID0}:0`, 37, "0"],
    [`${UUID0}:0-1`, 37, "0"],
    [`${UUID0}:-1`, 37, "-"],
    [`${UUID0}:tag:0`, 41, "0"],
    [`${UUID0}:tag:-1`, 41, "-"],
    [`${UUID0}:${MAX_EXCLUSIVE}`, 37, MAX_EXCLUSIVE],
    [`${UUID0}:${MAX_EXCLUSIVE}-1`, 37, MAX_EXCLUSIVE],
    [`${UUID0}:1-${MAX_EXCLUSIVE}`, 39, MAX_EXCLUSIVE],
    [`${UUID0}:`, 37, ""],
    [`${UUID0}::`, 37, ""],
    [`${UUID0}:,${UUID1}`, 37, ""],
    [`${UUID0}:${UUID3}`, 45, "-"],
    [`${UUID0},:${UUID1}`, 37, ""],
    [`${UUID0}::1-2`, 37, ""],
    [`${UUID0}:1-2:`, 41, ""],
    [`${UUID0}:1-2::3-4`, 41, ""],
    [`${UUID0}:${TAG10}::1-2`, 48, ""],
    [`${UUID0}:${TAG10}:1-2:`, 52, ""],
    [`${UUID0}:${TAG10}:1-2::3-4`, 52, ""],
    [`${A}:1-100,?garbage?`, 43, "?garbage?"],
  ])("%j fails at offset %i on %j", (input, offset, token) => {
    let error: unknown;
    try {
      p(input);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(GtidSetParseError);
    expect(error).toMatchObject({ input, offset, token });
  });

  it("names the problem, the token and where it is", () => {
    expect(() => p(`${M}:0-5`)).toThrow(
      `malformed GTID set: sequence number 0 is not allowed at offset 37 in "…-11E1-9E33-C80AA9429562:0-5" (sequence numbers start at 1)`,
    );
    expect(() => p(`${M}:1-${MAX_EXCLUSIVE}`)).toThrow(/sequence number 9223372036854775807 is too large at offset 39/);
    expect(() => p(`${M}:1-`)).toThrow(/missing sequence number after "-" at offset 39/);
    expect(() => p(`${M}:`)).toThrow(/missing sequence number after ":" at offset 37/);
    expect(() => p(`${M}::1-2`)).toThrow(/missing sequence number after ":" at offset 37/);
    expect(() => p(`${M}:1 x`)).toThrow(/unexpected "x": expected ",", ":" or the end at offset 39/);
    expect(() => p(`${M}:tag!:1`)).toThrow(/unexpected "!": expected ":" or "," after tag "tag" at offset 40/);
    expect(() => p("3e11fa47-71ca-11e1-9e33-c80aa942956:1")).toThrow(/"3e11fa47-71ca-11e1-9e33-c80aa942956" is not a UUID at offset 0/);
    expect(() => p(`${M}:1,\n`.repeat(3) + "nope")).toThrow(/"nope" is not a UUID at offset 120/);
  });

  it("refuses a tag longer than 32 characters, or starting with a digit", () => {
    expect(norm(`${A}:${TAG32}:1`)).toBe(`${A}:${TAG32}:1`);
    expect(() => p(`${A}:${TAG32}x:1`)).toThrow(/tag "aaaabbbbccccddddeeeeffffgggghhhhx" is longer than 32 characters/);
    expect(() => p(`${A}:1tag:1`)).toThrow(/unexpected "t"/);
    expect(() => p(`${A}:ta-g:1`)).toThrow(/after tag "ta"/);
  });

  it("accepts only the dashed UUID form, as GTID_SUBTRACT does", () => {
    const undashed = "3e11fa4771ca11e19e33c80aa9429562";
    expect(() => p(`${undashed}:1`)).toThrow(/GTID sets take only the dashed form/);
    expect(() => p(`{${m}}:1`)).toThrow(/GTID sets take only the dashed form/);
    expect(() => p(`${m}0:1`)).toThrow(/unexpected "0"/);
  });

  it("refuses numbers the server would read as octal or hex", () => {
    expect(() => p(`${A}:010`)).toThrow(/sequence number "010" is not plain decimal at offset 37/);
    expect(() => p(`${A}:0x10`)).toThrow(/sequence number "0x10" is not plain decimal/);
    expect(() => p(`${A}:1-02`)).toThrow(/"02" is not plain decimal at offset 39/);
    expect(() => p(`${A}:0-1`)).toThrow(/sequence number 0 is not allowed/);
    expect(() => p(`${A}:+1`)).toThrow(/unexpected "\+"/);
  });

  it("is a GtidSetParseError, which is an Error", () => {
    expect(() => p("x")).toThrow(Error);
    try {
      p("x");
    } catch (err) {
      expect(err).toBeInstanceOf(GtidSetParseError);
      expect((err as Error).name).toBe("GtidSetParseError");
    }
  });
});

describe("sequence number limits", () => {
  it("keeps numbers above 2^53 exact", () => {
    expect(MAX_SEQUENCE_NUMBER).toBe(2n ** 63n - 2n);
    expect(norm(`${A}:9007199254740991-9007199254740993`)).toBe(`${A}:9007199254740991-9007199254740993`);
    expect(p(`${A}:9007199254740993`).isSubsetOf(p(`${A}:9007199254740992`))).toBe(false);
    expect(norm(`${A}:9007199254740992,${A}:9007199254740993`)).toBe(`${A}:9007199254740992-9007199254740993`);
    expect(norm(`${A}:9007199254740991,${A}:9007199254740992`)).toBe(`${A}:9007199254740991-9007199254740992`);
    expect(norm(`${A}:${MAX}:${MAX}`)).toBe(`${A}:${MAX}`);
    expect(p(`${A}:1-${MAX}`).subtract(p(`${A}:2-${MAX}`)).toString()).toBe(`${A}:1`);
    expect(p(`${A}:1-${MAX}`).subtract(p(`${A}:1-9223372036854775805`)).toString()).toBe(`${A}:${MAX}`);
  });

  it("counts exactly beyond 2^53", () => {
    expect(p(`${A}:1-${MAX}`).count()).toBe(2n ** 63n - 2n);
    expect(p(`${A}:1-${MAX},${B}:1-${MAX},${C}:tag:1-${MAX}`).count()).toBe(3n * (2n ** 63n - 2n));
    expect(p(`${A}:1-9007199254740991,${B}:1-9007199254740991`).count()).toBe(2n * 9007199254740991n);
  });

  it("treats an end of 0 as a reversed, empty interval, as MySQL's parsers do", () => {
    expect(norm(`${A}:5-0`)).toBe("");
    expect(norm(`${A}:1-0:3`)).toBe(`${A}:3`);
  });
});

describe("tags", () => {
  it("are part of the source identity", () => {
    expect(p(`${A}:tag:1`).isSubsetOf(p(`${A}:1-10`))).toBe(false);
    expect(p(`${A}:1`).isSubsetOf(p(`${A}:tag:1-10`))).toBe(false);
    expect(p(`${A}:tag:1`).isSubsetOf(p(`${A}:1-10:tag:1`))).toBe(true);
    expect(p(`${A}:1-5:tag:1-5`).subtract(p(`${A}:1-5`)).toString()).toBe(`${A}:tag:1-5`);
  });

  it("apply to every interval after them, up to the next tag or UUID", () => {
    expect(norm(`${A}:1:t:2:3-4:u:5,${A}:6`)).toBe(`${A}:1:6:t:2-4:u:5`);
  });

  it("are lowercased and sorted after the untagged intervals", () => {
    expect(norm(`${A}:TAG_B:7:Tag_A:1-3,${A}:1-5`)).toBe(`${A}:1-5:tag_a:1-3:tag_b:7`);
    expect(norm(`${A}:_x:1:a9:2:a:3`)).toBe(`${A}:_x:1:a:3:a9:2`);
  });

  it("follow gtids_example-t.cc", () => {
    const ex = (text: string) => p(text.replaceAll("A", A).replaceAll("B", B));
    const s1 = ex("A:1-100,B:1-200:tag:1-300");
    expect(s1.toString()).toBe(`${A}:1-100,\n${B}:1-200:tag:1-300`);
    expect(s1.count()).toBe(600n);
    expect(s1.subtract(ex("A:1-100")).count()).toBe(500n);

    const [g1, g2, g3] = [ex("A:1-100"), ex("A:1-100,B:1-200"), ex("B:1-200:tag:1-300")];
    expect(g1.isSubsetOf(g2)).toBe(true);
    expect(g2.isSubsetOf(g3)).toBe(false);
    expect(GtidSet.empty().isSubsetOf(g1)).toBe(true);
    expect(g1.isSubsetOf(g1)).toBe(true);
    expect(g1.intersect(g2).isEmpty()).toBe(false);
    expect(g1.intersect(g3).isEmpty()).toBe(true);

    expect(ex("A:1-100").union(ex("B:1-200")).equals(ex("A:1-100,B:1-200"))).toBe(true);
    expect(ex("A:1-100,B:1-200").intersect(ex("B:1-200:tag:1-300")).equals(ex("B:1-200"))).toBe(true);
    expect(ex("A:1-100,B:1-200").subtract(ex("B:1-200")).equals(ex("A:1-100"))).toBe(true);
    expect(ex("A:1-100,B:1-150").intersect(ex("B:50-200:tag:1-300")).equals(ex("B:50-150"))).toBe(true);
    expect(ex("A:1-100,B:1-150").subtract(ex("B:50-200:tag:1-300")).equals(ex("A:1-100,B:1-49"))).toBe(true);
    expect(ex("A:1-100").subtract(ex("A:50")).toString()).toBe(`${A}:1-49:51-100`);
  });
});

describe("a real-world pair of @@gtid_executed values (thenoyes.com, 'GTID_INTERSECT')", () => {
  const replica = `33738f8c-c1a5-11e7-8fc3-0a002700000f:1-681577,
421d139e-04b9-11e7-b702-0050569935dc:1-13764443,
52b9a949-d79d-11e3-80dd-0050568d193e:1-1207378:1207380-1261803:1261805-1267098:1267100-1267416:1267418-1589733`;
  const primary = `33738f8c-c1a5-11e7-8fc3-0a002700000f:1-730294,
421d139e-04b9-11e7-b702-0050569935dc:1-13764443,
52b9a949-d79d-11e3-80dd-0050568d193e:1-1207378:1207380-1261803:1261805-1589733`;
  const purged = `33738f8c-c1a5-11e7-8fc3-0a002700000f:1-681582,
421d139e-04b9-11e7-b702-0050569935dc:1-13077260,
52b9a949-d79d-11e3-80dd-0050568d193e:1-1207378:1207380-1261803:1261805-1589733`;

  it("GTID_SUBTRACT(primary, replica), as the server printed it", () => {
    const needs = p(primary).subtract(p(replica));
    expect(needs.toString()).toBe(
      "33738f8c-c1a5-11e7-8fc3-0a002700000f:681578-730294,\n52b9a949-d79d-11e3-80dd-0050568d193e:1267099:1267417",
    );
    expect(p(purged).intersect(needs).toString()).toBe(
      "33738f8c-c1a5-11e7-8fc3-0a002700000f:681578-681582,\n52b9a949-d79d-11e3-80dd-0050568d193e:1267099:1267417",
    );
    expect(p(replica).isSubsetOf(p(primary))).toBe(true);
    expect(p(replica).toString()).toBe(replica);
  });
});

describe("GtidSet API", () => {
  it("empty() is the parse of the empty string", () => {
    expect(GtidSet.empty().toString()).toBe("");
    expect(GtidSet.empty().isEmpty()).toBe(true);
    expect(GtidSet.empty().count()).toBe(0n);
    expect(p(" , ").equals(GtidSet.empty())).toBe(true);
    expect(p(`${A}:2-1`).isEmpty()).toBe(true);
  });

  it("merges adjacent and overlapping intervals", () => {
    expect(norm(`${A}:1-3,${A}:4-6`)).toBe(`${A}:1-6`);
    expect(norm(`${A}:1:3,${A}:2:4`)).toBe(`${A}:1-4`);
    expect(norm(`${A}:10-20:1-9:21`)).toBe(`${A}:1-21`);
  });

  it("lowercases and sorts UUIDs, joining entries with a comma and a newline", () => {
    expect(norm(`${C.toUpperCase()}:1,${A}:1,${B}:1`)).toBe(`${A}:1,\n${B}:1,\n${C}:1`);
  });

  it("is immutable: operations return new sets and leave their inputs alone", () => {
    const a = p(`${A}:1-10`);
    const b = p(`${A}:5-15`);
    a.union(b);
    a.subtract(b);
    a.intersect(b);
    expect(a.toString()).toBe(`${A}:1-10`);
    expect(b.toString()).toBe(`${A}:5-15`);
    expect(Object.isFrozen(a)).toBe(true);
  });

  it("equals compares content, not text", () => {
    expect(p(`${A}:3:1-2`).equals(p(`${A}:1-3`))).toBe(true);
    expect(p(`${A}:1-3`).equals(p(`${A}:1-4`))).toBe(false);
    expect(p(`${A}:1-3`).equals(p(`${B}:1-3`))).toBe(false);
    expect(p(`${A}:1-3`).equals(p(`${A}:x:1-3`))).toBe(false);
  });

  it("lists sources, with or without tags", () => {
    expect(p(`${B}:t:1,${A}:1,${A}:u:2`).sources()).toEqual([A, B]);
    expect(GtidSet.empty().sources()).toEqual([]);
    expect(p(`${A}:x`).sources()).toEqual([]);
  });

  it("sharesSourceWith ignores tags and empty mentions", () => {
    expect(p(`${A}:1`).sharesSourceWith(p(`${B}:1,${A}:99`))).toBe(true);
    expect(p(`${A}:1`).sharesSourceWith(p(`${A}:tag:5`))).toBe(true);
    expect(p(`${A}:1`).sharesSourceWith(p(`${B}:1,${A}:2-1`))).toBe(false);
    expect(GtidSet.empty().sharesSourceWith(p(`${A}:1`))).toBe(false);
  });

  it("serialises to JSON as its text", () => {
    expect(JSON.stringify({ executed: p(`${B}:1,${A}:1`) })).toBe(JSON.stringify({ executed: `${A}:1,\n${B}:1` }));
  });
});
