import { describe, expect, it } from "vitest";
import type { MysqlFailoverGroup } from "../../../shared/api/index.js";
import { parseRecloneSite, validateRecloneRequest } from "../../../shared/annotations.js";
import { ANNOTATIONS } from "../../../shared/names.js";
import { colors } from "../../../cli/format.js";
import { autoPrefix, checkReclone, recloneContext, renderRecloneSummary } from "../../../cli/commands/reclone.js";

const DIVERGENT = "3e11fa47-71ca-11e1-9e33-c80aa9429562:11-15";

function group(annotations: Record<string, string> = {}, divergentGtid = DIVERGENT): MysqlFailoverGroup {
  return {
    apiVersion: "shipstream.io/v1alpha1",
    kind: "MysqlFailoverGroup",
    metadata: { name: "orders", namespace: "shop", annotations },
    spec: {
      secretName: "dsn",
      sites: [
        { name: "iad", endpoint: { host: "10.0.0.1" } },
        { name: "pdx", endpoint: { host: "10.0.0.2" } },
        { name: "sfo", role: "read-only", endpoint: { host: "10.0.0.3" } },
      ],
    },
    status: {
      activeSite: "pdx",
      sites: [
        { name: "iad", state: "read-only", recoveryState: "RecoveryBlocked", divergentGtid, divergentTransactionCount: 5 },
        { name: "pdx", state: "writable" },
        { name: "sfo", state: "read-only" },
      ],
    },
  };
}

describe("autoPrefix", () => {
  it("quotes the first 12 characters, stops at characters the grammar cannot carry, quotes short sets whole", () => {
    expect(autoPrefix(DIVERGENT)).toBe("3e11fa47-71c");
    expect(autoPrefix("3e11fa47-71ca")).toBe("3e11fa47-71c");
    expect(autoPrefix("3e11fa47")).toBe("3e11fa47");
    // MySQL puts a newline after each comma of a long set.
    expect(autoPrefix("0-1-14,\n0-2-15")).toBeUndefined();
    expect(autoPrefix("0-1-1400,\n0-2-15")).toBe("0-1-1400,");
    // A MariaDB domain-server-sequence GTID is shorter than eight characters: quoted whole.
    expect(autoPrefix("0-1-14")).toBe("0-1-14");
    expect(autoPrefix(" 3e11fa47-71ca")).toBeUndefined();
    // Whatever it returns, the shared grammar and policy accept it.
    for (const gtid of [DIVERGENT, "0-1-1400,\n0-2-15", "ab:cd_ef-12345", "0-1-14"]) {
      const prefix = autoPrefix(gtid)!;
      expect(parseRecloneSite(`iad:${prefix}`)).toEqual({ ok: true, value: { site: "iad", kind: "prefix", prefix } });
      expect(validateRecloneRequest({ site: "iad", kind: "prefix", prefix }, { group: "g", activeSite: "", sites: [{ name: "iad", divergentGtid: gtid }] })).toEqual({ accept: true });
    }
  });
});

describe("checkReclone", () => {
  it("recloneContext merges spec sites with the reported divergent sets", () => {
    expect(recloneContext(group())).toEqual({ group: "orders", activeSite: "pdx", sites: [{ name: "iad", divergentGtid: DIVERGENT }, { name: "pdx" }, { name: "sfo" }] });
  });

  it("fills the prefix from divergentGtid; --gtid-prefix is used as given; --cold confirms the group", () => {
    expect(checkReclone(group(), "iad", {})).toMatchObject({ verdict: "post", plan: { value: "iad:3e11fa47-71c", divergentCount: 5, activeSite: "pdx", role: "primary-candidate" } });
    expect(checkReclone(group(), "iad", { gtidPrefix: "3e11fa47-71ca-11e1" })).toMatchObject({ verdict: "post", plan: { value: "iad:3e11fa47-71ca-11e1" } });
    expect(checkReclone(group(), "sfo", { cold: true })).toMatchObject({ verdict: "post", plan: { value: "sfo:confirm=orders", request: { kind: "confirm", group: "orders" } } });
  });

  it("rejects with the shared policy's reasons, plus what to do with the plugin", () => {
    const reason = (site: string, flags: Parameters<typeof checkReclone>[2], g = group()) => {
      const check = checkReclone(g, site, flags);
      return check.verdict === "reject" ? check.message : `not rejected: ${check.verdict}`;
    };
    expect(reason("lax", {})).toBe('site "lax" is not in spec.sites of orders; known sites: iad, pdx, sfo');
    expect(reason("pdx", { cold: true })).toBe("refusing to reclone pdx: it is the active primary of orders; fail over to another primary-candidate first");
    expect(reason("sfo", {})).toBe(
      "sfo has no divergentGtid in status, so this would be a cold reclone that replaces all its data (for a lost volume or an empty data directory); if that is what you want, rerun with --cold",
    );
    expect(reason("sfo", { gtidPrefix: "3e11fa47" })).toMatch(/^sfo has no divergentGtid, so this is a cold reclone .*; with the plugin: kubectl bloodraven reclone orders sfo -n shop --cold$/);
    expect(reason("iad", { cold: true })).toMatch(/^iad has divergent transactions .*; with the plugin, drop --cold and let it quote the divergent set: kubectl bloodraven reclone orders iad -n shop$/);
    expect(reason("iad", { gtidPrefix: "3E11FA47" })).toMatch(/^GTID prefix "3E11FA47" does not match the start of iad's divergentGtid \(letter case differs; the match is exact\)/);
    expect(reason("iad", { gtidPrefix: "3e11" })).toBe('--gtid-prefix: GTID prefix "3e11" is 4 characters; give at least 8 characters of status.sites[].divergentGtid (all of it when it is shorter)');
    expect(reason("iad", { gtidPrefix: "confirm=orders" })).toBe("--gtid-prefix takes the start of iad's divergentGtid; for a cold reclone use --cold");
    expect(reason("iad", { gtidPrefix: "3e11 fa47-71" })).toMatch(/^--gtid-prefix: GTID prefix "3e11 fa47-71" has characters that cannot occur/);
    // A MariaDB divergent set shorter than eight characters is quoted whole, and accepted.
    expect(reason("iad", {}, group({}, "0-1-14"))).toMatch(/^not rejected/);
    expect(reason("iad", { gtidPrefix: "0-1-1" }, group({}, "0-1-14"))).toMatch(/^GTID prefix "0-1-1" is shorter than 8 characters/);
    expect(reason("iad", {}, group({}, "0-1-1,\n0-2-5"))).toMatch(/^iad's divergentGtid "0-1-1,\\n0-2-5" does not start with/);
  });

  it("a pending request: the same one is nothing to do, another one is refused", () => {
    expect(checkReclone(group({ [ANNOTATIONS.recloneSite]: "iad:3e11fa47-71c" }), "iad", {})).toMatchObject({ verdict: "noop" });
    const other = checkReclone(group({ [ANNOTATIONS.recloneSite]: "sfo:confirm=orders" }), "iad", {});
    expect(other.verdict === "reject" && other.message).toBe(
      `another reclone request is already recorded on shop/orders (${ANNOTATIONS.recloneSite}=sfo:confirm=orders); the operator removes it when that clone attempt ends. To replace it: kubectl annotate mfg orders -n shop ${ANNOTATIONS.recloneSite}-`,
    );
  });
});

describe("renderRecloneSummary", () => {
  it("names the site, the data, the divergent set and its count", () => {
    const g = group();
    const check = checkReclone(g, "iad", {});
    if (check.verdict !== "post") throw new Error("expected a plan");
    expect(renderRecloneSummary(g, check.plan, colors(false))).toBe(
      [
        "Reclone of iad in shop/orders: all its data is replaced by a clone of the active primary pdx.",
        "  Site:            iad (primary-candidate; read-only, RecoveryBlocked)",
        "  Data destroyed:  everything in iad's MySQL data directory, replaced by a copy of pdx",
        `  Divergent set:   ${DIVERGENT}`,
        "  Transactions:    5 committed only on iad; lost for good unless saved first (kubectl bloodraven runbook divergent-old-primary)",
        `  Annotation:      ${ANNOTATIONS.recloneSite}=iad:3e11fa47-71c`,
        "",
      ].join("\n"),
    );
  });

  it("counts the set when the operator did not, and says so for a cold reclone", () => {
    const g = group({}, "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-3:7");
    g.status!.sites![0]!.divergentTransactionCount = undefined;
    const check = checkReclone(g, "iad", {});
    if (check.verdict !== "post") throw new Error("expected a plan");
    expect(check.plan.divergentCount).toBe(4);
    const cold = checkReclone(group(), "sfo", { cold: true });
    if (cold.verdict !== "post") throw new Error("expected a plan");
    expect(renderRecloneSummary(group(), cold.plan, colors(false))).toContain("  Divergent set:   none recorded: a cold reclone (lost volume, empty or broken data directory)\n");
  });
});
