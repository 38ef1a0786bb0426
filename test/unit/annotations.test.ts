import { describe, expect, it } from "vitest";
import {
  formatPlannedFailover,
  formatRecloneSite,
  isValidGroupName,
  isValidSiteName,
  parsePlannedFailover,
  parseRecloneSite,
  RECLONE_REJECT_CODES,
  validateRecloneRequest,
} from "../../shared/annotations.js";
import type {
  PlannedFailoverRequest,
  RecloneContext,
  RecloneRejectCode,
  RecloneSiteRequest,
} from "../../shared/annotations.js";

describe("parsePlannedFailover", () => {
  it.each<[string, PlannedFailoverRequest]>([
    ["pdx", { site: "pdx" }],
    ["pdx:maxLagWait=30s", { site: "pdx", maxLagWaitMs: 30_000 }],
    ["pdx:maxLagWait=500ms", { site: "pdx", maxLagWaitMs: 500 }],
    ["pdx:maxLagWait=1h30m", { site: "pdx", maxLagWaitMs: 5_400_000 }],
    ["  pdx  ", { site: "pdx" }],
    ["\tpdx:maxLagWait=5s\n", { site: "pdx", maxLagWaitMs: 5_000 }],
    ["pdx:", { site: "pdx" }],
    ["pdx::", { site: "pdx" }],
    ["pdx::maxLagWait=5s", { site: "pdx", maxLagWaitMs: 5_000 }],
    ["pdx:maxLagWait=5s:", { site: "pdx", maxLagWaitMs: 5_000 }],
    ["pdx: :maxLagWait=5s", { site: "pdx", maxLagWaitMs: 5_000 }],
    [" pdx : maxLagWait = 5s ", { site: "pdx", maxLagWaitMs: 5_000 }],
    ["us-east-1", { site: "us-east-1" }],
    ["0", { site: "0" }],
    ["a".repeat(63), { site: "a".repeat(63) }],
    ["pdx:acceptErrant=true", { site: "pdx", acceptErrant: true }],
    ["pdx:maxLagWait=5s:acceptErrant=true", { site: "pdx", maxLagWaitMs: 5_000, acceptErrant: true }],
    ["pdx:acceptErrant=true:maxLagWait=5s", { site: "pdx", maxLagWaitMs: 5_000, acceptErrant: true }],
  ])("accepts %j", (input, expected) => {
    expect(parsePlannedFailover(input)).toEqual({ ok: true, value: expected });
  });

  it.each<[string, string]>([
    ["", "empty value; expected <site>, optionally followed by :maxLagWait=<duration> and :acceptErrant=true"],
    ["   ", "empty value"],
    [":maxLagWait=5s", "empty site name"],
    [" : ", "empty site name"],
    ["PDX", 'site name "PDX" is not a DNS label'],
    ["-pdx", 'site name "-pdx" is not a DNS label'],
    ["pdx-", 'site name "pdx-" is not a DNS label'],
    ["p_dx", 'site name "p_dx" is not a DNS label'],
    ["p.dx", 'site name "p.dx" is not a DNS label'],
    ["p dx", 'site name "p dx" is not a DNS label'],
    ["a".repeat(64), "is longer than 63 characters"],
    ["pdx:maxlagwait=5s", 'unknown key "maxlagwait"; the allowed keys are maxLagWait, acceptErrant'],
    ["pdx:drainTimeout=5s", 'unknown key "drainTimeout"; the allowed keys are maxLagWait, acceptErrant'],
    ["pdx:acceptErrant=false", 'acceptErrant accepts only "true"'],
    ["pdx:acceptErrant=yes", 'acceptErrant accepts only "true"'],
    ["pdx:acceptErrant=", "empty value for acceptErrant"],
    ["pdx:acceptErrant=true:acceptErrant=true", "acceptErrant is given more than once"],
    ["pdx:=5s", 'unknown key ""'],
    ["pdx:maxLagWait", 'option "maxLagWait" is missing "="'],
    ["pdx:iad", 'option "iad" is missing "="'],
    ["pdx:maxLagWait=", "empty value for maxLagWait"],
    ["pdx:maxLagWait= ", "empty value for maxLagWait"],
    ["pdx:maxLagWait=5s:maxLagWait=5s", "maxLagWait is given more than once"],
    ["pdx:maxLagWait=5s:maxLagWait=10s", "maxLagWait is given more than once"],
    ["pdx:maxLagWait=0s", 'maxLagWait: invalid duration "0s": must be greater than zero'],
    ["pdx:maxLagWait=5", 'maxLagWait: invalid duration "5": a number needs a unit'],
    ["pdx:maxLagWait=-5s", 'maxLagWait: invalid duration "-5s": unexpected "-5s"'],
    ["pdx:maxLagWait=1.5s", 'invalid duration "1.5s"'],
    ["pdx:maxLagWait=5x", 'invalid duration "5x"'],
    ["pdx:maxLagWait=5 s", 'invalid duration "5 s"'],
    ["pdx:maxLagWait=1000000h", 'invalid duration "1000000h": too large'],
    // `=` inside the value is part of the duration text, not a second key.
    ["pdx:maxLagWait=5s=6s", 'invalid duration "5s=6s"'],
  ])("rejects %j with %j", (input, fragment) => {
    const result = parsePlannedFailover(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toContain(fragment);
  });

  it("truncates very long user text in errors", () => {
    const result = parsePlannedFailover(`pdx:${"k".repeat(10_000)}=5s`);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.length).toBeLessThan(200);
      expect(result.error).toContain("…");
    }
  });
});

describe("formatPlannedFailover", () => {
  it.each<[PlannedFailoverRequest, string]>([
    [{ site: "pdx" }, "pdx"],
    [{ site: "pdx", maxLagWaitMs: 30_000 }, "pdx:maxLagWait=30s"],
    [{ site: "pdx", maxLagWaitMs: 90_000 }, "pdx:maxLagWait=1m30s"],
    [{ site: "pdx", maxLagWaitMs: 1 }, "pdx:maxLagWait=1ms"],
  ])("%j -> %j", (request, text) => {
    expect(formatPlannedFailover(request)).toBe(text);
    expect(parsePlannedFailover(text)).toEqual({ ok: true, value: request });
  });

  it.each<[PlannedFailoverRequest, string]>([
    [{ site: "" }, "not a DNS label"],
    [{ site: "PDX" }, "not a DNS label"],
    [{ site: "pdx:x" }, "not a DNS label"],
    [{ site: "pdx", maxLagWaitMs: 0 }, "maxLagWaitMs must be"],
    [{ site: "pdx", maxLagWaitMs: -1 }, "maxLagWaitMs must be"],
    [{ site: "pdx", maxLagWaitMs: 1.5 }, "maxLagWaitMs must be"],
    [{ site: "pdx", maxLagWaitMs: Number.NaN }, "maxLagWaitMs must be"],
    [{ site: "pdx", maxLagWaitMs: 1e15 }, "maxLagWaitMs must be"],
  ])("refuses %j", (request, fragment) => {
    expect(() => formatPlannedFailover(request)).toThrow(RangeError);
    expect(() => formatPlannedFailover(request)).toThrow(fragment);
  });
});

const GTID = "a1b2c3d4-0000-0000-0000-000000000000:11-15";

describe("parseRecloneSite", () => {
  it.each<[string, RecloneSiteRequest]>([
    ["iad", { site: "iad", kind: "bare" }],
    ["  iad  ", { site: "iad", kind: "bare" }],
    ["iad:a1b2c3d4", { site: "iad", kind: "prefix", prefix: "a1b2c3d4" }],
    [" iad : a1b2c3d4 ", { site: "iad", kind: "prefix", prefix: "a1b2c3d4" }],
    [`iad:${GTID}`, { site: "iad", kind: "prefix", prefix: GTID }],
    ["iad:a1b2c3d4-0000-0000-0000-000000000000:tag_1:1-5,b1", {
      site: "iad",
      kind: "prefix",
      prefix: "a1b2c3d4-0000-0000-0000-000000000000:tag_1:1-5,b1",
    }],
    ["iad:A1B2C3D4", { site: "iad", kind: "prefix", prefix: "A1B2C3D4" }],
    ["iad:confirm=orders", { site: "iad", kind: "confirm", group: "orders" }],
    ["iad:confirm = orders", { site: "iad", kind: "confirm", group: "orders" }],
    ["iad:confirm=orders.prod-1", { site: "iad", kind: "confirm", group: "orders.prod-1" }],
  ])("accepts %j", (input, expected) => {
    expect(parseRecloneSite(input)).toEqual({ ok: true, value: expected });
  });

  it.each<[string, string]>([
    ["", "empty value; expected <site>, <site>:<divergent GTID prefix> or <site>:confirm=<group>"],
    [" \n ", "empty value"],
    [":a1b2c3d4", "empty site name"],
    ["IAD", 'site name "IAD" is not a DNS label'],
    ["iad-:a1b2c3d4", 'site name "iad-" is not a DNS label'],
    ["i ad", 'site name "i ad" is not a DNS label'],
    ["b".repeat(64), "is longer than 63 characters"],
    ["iad:", 'nothing after ":"'],
    ["iad:  ", 'nothing after ":"'],
    ["iad:a1b2", 'GTID prefix "a1b2" is 4 characters; give at least 8 characters'],
    ["iad:a1", "give at least 8 characters of status.sites[].divergentGtid"],
    ["iad:a1b2 c3d4", 'GTID prefix "a1b2 c3d4" has characters that cannot occur in a GTID set'],
    ["iad:a1b2c3d4/", "has characters that cannot occur in a GTID set"],
    ["iad:a1b2c3d4é", "has characters that cannot occur in a GTID set"],
    ["iad:confirm", '"confirm" needs the group name: iad:confirm=<group>'],
    ["iad:confirm=", 'empty group after "confirm="; expected iad:confirm=<group>'],
    ["iad:confirm=Orders", 'confirm="Orders" is not a valid MysqlFailoverGroup name'],
    ["iad:confirm=orders:x", 'confirm="orders:x" is not a valid MysqlFailoverGroup name'],
    ["iad:confirm=" + "a".repeat(254), "is not a valid MysqlFailoverGroup name"],
    ["iad:Confirm=orders", 'unknown key "Confirm"; the only allowed key is confirm (as iad:confirm=<group>'],
    ["iad:maxLagWait=5s", 'unknown key "maxLagWait"'],
    ["iad:=orders", 'unknown key ""'],
  ])("rejects %j with %j", (input, fragment) => {
    const result = parseRecloneSite(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toContain(fragment);
  });
});

describe("formatRecloneSite", () => {
  it.each<[RecloneSiteRequest, string]>([
    [{ site: "iad", kind: "bare" }, "iad"],
    [{ site: "iad", kind: "prefix", prefix: "a1b2c3d4" }, "iad:a1b2c3d4"],
    [{ site: "iad", kind: "prefix", prefix: GTID }, `iad:${GTID}`],
    [{ site: "iad", kind: "confirm", group: "orders" }, "iad:confirm=orders"],
  ])("%j -> %j", (request, text) => {
    expect(formatRecloneSite(request)).toBe(text);
    expect(parseRecloneSite(text)).toEqual({ ok: true, value: request });
  });

  it.each<[RecloneSiteRequest, string]>([
    [{ site: "IAD", kind: "bare" }, "not a DNS label"],
    [{ site: "iad", kind: "prefix", prefix: "a1b2" }, "give at least 8 characters"],
    [{ site: "iad", kind: "prefix", prefix: " a1b2c3d4" }, "does not survive formatting"],
    [{ site: "iad", kind: "prefix", prefix: "a1b2c3d4=x" }, "unknown key"],
    [{ site: "iad", kind: "confirm", group: "" }, "empty group"],
    [{ site: "iad", kind: "confirm", group: "Orders" }, "not a valid MysqlFailoverGroup name"],
    [{ site: "iad", kind: "other" } as unknown as RecloneSiteRequest, 'unknown reclone request kind "other"'],
  ])("refuses %j", (request, fragment) => {
    expect(() => formatRecloneSite(request)).toThrow(RangeError);
    expect(() => formatRecloneSite(request)).toThrow(fragment);
  });
});

describe("validateRecloneRequest", () => {
  const context: RecloneContext = {
    group: "orders",
    activeSite: "pdx",
    sites: [{ name: "pdx" }, { name: "iad", divergentGtid: GTID }, { name: "sfo" }, { name: "dfw", divergentGtid: "" }],
  };

  const bare = (site: string): RecloneSiteRequest => ({ site, kind: "bare" });
  const prefix = (site: string, p: string): RecloneSiteRequest => ({ site, kind: "prefix", prefix: p });
  const confirm = (site: string, group: string): RecloneSiteRequest => ({ site, kind: "confirm", group });

  it.each<[string, RecloneSiteRequest]>([
    ["divergent site with an 8-character prefix", prefix("iad", "a1b2c3d4")],
    ["divergent site with the whole GTID set", prefix("iad", GTID)],
    ["cold reclone with the right group", confirm("sfo", "orders")],
    ["empty divergentGtid counts as cold", confirm("dfw", "orders")],
    ["a bare cold site, as the operations guide writes it", bare("sfo")],
    ["a bare site whose divergentGtid is empty", bare("dfw")],
  ])("accepts %s", (_name, request) => {
    expect(validateRecloneRequest(request, context)).toEqual({ accept: true });
  });

  it.each<[string, RecloneSiteRequest, RecloneRejectCode, string[]]>([
    ["an unknown site", bare("lax"), "UnknownSite", ['site "lax" is not in spec.sites of orders', "known sites: pdx, iad, sfo, dfw"]],
    ["the active primary", confirm("pdx", "orders"), "ActivePrimary", ["refusing to reclone pdx: it is the active primary of orders"]],
    ["a bare divergent site", bare("iad"), "PrefixRequired", [
      "iad has divergent transactions",
      "iad:<first 8+ characters of divergentGtid>",
      `-o jsonpath='{.status.sites[?(@.name=="iad")].divergentGtid}'`,
    ]],
    ["confirm= on a divergent site", confirm("iad", "orders"), "PrefixRequired", ["iad:<first 8+ characters of divergentGtid>"]],
    ["a short prefix built by hand", prefix("iad", "a1b2"), "PrefixTooShort", ['GTID prefix "a1b2" is shorter than 8 characters']],
    ["a prefix of another GTID", prefix("iad", "deadbeef"), "PrefixMismatch", [
      'GTID prefix "deadbeef" does not match the start of iad\'s divergentGtid',
      "re-read status.sites[].divergentGtid",
    ]],
    ["a prefix that is not at the start", prefix("iad", "00000000"), "PrefixMismatch", ["does not match the start"]],
    ["a prefix in the wrong case", prefix("iad", "A1B2C3D4"), "PrefixMismatch", ["letter case differs"]],
    ["a prefix longer than the GTID", prefix("iad", `${GTID}0`), "PrefixMismatch", ["does not match the start"]],
    ["a prefix on a cold site", prefix("sfo", "a1b2c3d4"), "ConfirmRequired", [
      "sfo has no divergentGtid",
      "a GTID prefix only applies to a site with a divergentGtid",
      "use sfo or sfo:confirm=orders",
    ]],
    ["confirm with another group", confirm("sfo", "payments"), "ConfirmMismatch", [
      'confirm="payments" does not name this group (orders)',
      "use sfo or sfo:confirm=orders",
    ]],
  ])("rejects %s", (_name, request, code, fragments) => {
    const verdict = validateRecloneRequest(request, context);
    expect(verdict.accept).toBe(false);
    if (!verdict.accept) {
      expect(verdict.code).toBe(code);
      for (const fragment of fragments) expect(verdict.reason).toContain(fragment);
    }
  });

  it("does not echo the divergent GTID set in a rejection", () => {
    for (const request of [bare("iad"), prefix("iad", "deadbeef"), confirm("iad", "orders")]) {
      const verdict = validateRecloneRequest(request, context);
      expect(verdict.accept).toBe(false);
      if (!verdict.accept) expect(verdict.reason).not.toContain("a1b2c3d4");
    }
  });

  it("says when no sites are known", () => {
    const verdict = validateRecloneRequest(bare("iad"), { group: "orders", activeSite: "", sites: [] });
    expect(verdict).toMatchObject({ accept: false, code: "UnknownSite" });
    if (!verdict.accept) expect(verdict.reason).toContain("known sites: none");
  });

  it("does not treat an unknown active site as matching", () => {
    const verdict = validateRecloneRequest(confirm("sfo", "orders"), { ...context, activeSite: "" });
    expect(verdict).toEqual({ accept: true });
  });

  it("uses only stable codes", () => {
    expect([...RECLONE_REJECT_CODES]).toEqual([
      "UnknownSite",
      "ActivePrimary",
      "PrefixRequired",
      "PrefixTooShort",
      "PrefixMismatch",
      "ConfirmRequired",
      "ConfirmMismatch",
    ]);
  });

  it("works end to end from annotation text", () => {
    const parsed = parseRecloneSite("iad:a1b2c3d4-0000");
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(validateRecloneRequest(parsed.value, context)).toEqual({ accept: true });
  });
});

describe("name helpers", () => {
  it.each([
    ["pdx", true],
    ["a-1", true],
    ["", false],
    ["A", false],
    ["a".repeat(63), true],
    ["a".repeat(64), false],
  ])("isValidSiteName(%j) = %s", (name, ok) => {
    expect(isValidSiteName(name as string)).toBe(ok);
  });

  it.each([
    ["orders", true],
    ["orders.prod", true],
    ["orders..prod", false],
    [".orders", false],
    ["a".repeat(253), true],
    ["a".repeat(254), false],
  ])("isValidGroupName(%j) = %s", (name, ok) => {
    expect(isValidGroupName(name as string)).toBe(ok);
  });
});
