import { describe, expect, it } from "vitest";
import { ageOf, colors, formatAge, formatBytes, formatLag, formatTime, renderFields, renderTable, stripAnsi, useColor, visibleWidth } from "../../../cli/format.js";

const S = 1_000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

describe("formatAge (kubectl's HumanDuration)", () => {
  it.each<[number, string]>([
    [0, "0s"],
    [999, "0s"],
    [5 * S, "5s"],
    [59 * S, "59s"],
    [90 * S, "90s"],
    [119 * S, "119s"],
    [2 * M, "2m"],
    [7 * M + 30 * S, "7m30s"],
    [9 * M + 59 * S, "9m59s"],
    [12 * M, "12m"],
    [12 * M + 40 * S, "12m"],
    [179 * M, "179m"],
    [3 * H, "3h"],
    [3 * H + 45 * M, "3h45m"],
    [7 * H + 59 * M, "7h59m"],
    [8 * H, "8h"],
    [47 * H, "47h"],
    [2 * D, "2d"],
    [2 * D + 6 * H, "2d6h"],
    [7 * D + 23 * H, "7d23h"],
    [8 * D, "8d"],
    [400 * D, "400d"],
    [2 * 365 * D + 10 * D, "2y10d"],
    [3 * 365 * D, "3y"],
    [9 * 365 * D, "9y"],
  ])("%d ms -> %s", (ms, text) => {
    expect(formatAge(ms)).toBe(text);
  });

  it("treats slight clock skew as 0s and the clearly future as <invalid>, like kubectl", () => {
    expect(formatAge(-500)).toBe("0s");
    expect(formatAge(-1_999)).toBe("0s");
    expect(formatAge(-2_000)).toBe("<invalid>");
    expect(formatAge(-5 * S)).toBe("<invalid>");
    expect(formatAge(Number.NaN)).toBe("<invalid>");
  });

  it("ageOf reads RFC 3339 timestamps and prints - when there is none", () => {
    const now = Date.parse("2026-01-01T12:00:00Z");
    expect(ageOf("2026-01-01T11:56:15Z", now)).toBe("3m45s");
    expect(ageOf("2025-12-30T05:59:59.5Z", now)).toBe("2d6h");
    expect(ageOf(undefined, now)).toBe("-");
    expect(ageOf("", now)).toBe("-");
    expect(ageOf("not a time", now)).toBe("-");
  });
});

describe("formatLag", () => {
  it.each<[number | null | undefined, string]>([
    [null, "-"],
    [undefined, "-"],
    [Number.NaN, "-"],
    [-1, "?"],
    [0, "0s"],
    [12, "12s"],
    [60, "1m"],
    [303, "5m3s"],
    [3_725, "1h2m5s"],
    [12.7, "12s"],
  ])("%s -> %s", (seconds, text) => {
    expect(formatLag(seconds)).toBe(text);
  });
});

describe("formatBytes", () => {
  it("counts in binary units, whole bytes below a KiB and one decimal above, never below zero", () => {
    const seen = [0, 1023, 1024, 47_395_635, 1_395_864_371, 5 * 1024 ** 5, -1].map(formatBytes);
    expect(seen).toEqual(["0 B", "1023 B", "1.0 KiB", "45.2 MiB", "1.3 GiB", "5120.0 TiB", "0 B"]);
  });
});

describe("formatTime", () => {
  it("prints UTC at second precision", () => {
    expect(formatTime("2026-11-22T02:46:26.535123Z")).toBe("2026-11-22T02:46:26Z");
    expect(formatTime("2026-11-22T03:46:26+01:00")).toBe("2026-11-22T02:46:26Z");
    expect(formatTime(undefined)).toBe("-");
    expect(formatTime("garbage")).toBe("garbage");
  });
});

describe("renderTable", () => {
  it("aligns columns like kubectl: upper-case headers, two spaces, no trailing blanks", () => {
    const text = renderTable(
      ["name", "active", "ready", "sites", "age"],
      [
        ["orders", "iad", "True", "1W/2RO/0X", "5m"],
        ["billing-long-name", "", "False", "0W/1RO/1X", "3h45m"],
      ],
    );
    expect(text).toBe(
      [
        "NAME               ACTIVE  READY  SITES      AGE",
        "orders             iad     True   1W/2RO/0X  5m",
        "billing-long-name  -       False  0W/1RO/1X  3h45m",
        "",
      ].join("\n"),
    );
  });

  it("prints only the header for no rows, and indents every line when asked", () => {
    expect(renderTable(["a", "bb"], [])).toBe("A  BB\n");
    expect(renderTable(["type", "status"], [["Ready", "True"]], { indent: "  " })).toBe("  TYPE   STATUS\n  Ready  True\n");
  });

  it("measures coloured cells by what the terminal shows", () => {
    const c = colors(true);
    const text = renderTable(["state", "lag"], [[c.green("writable"), "-"], ["read-only", "0s"]]);
    expect(text).toContain("\u001b[");
    expect(stripAnsi(text)).toBe("STATE      LAG\nwritable   -\nread-only  0s\n");
  });

  it("keeps long messages in the last column unpadded", () => {
    const text = renderTable(["type", "message"], [["Ready", "a long message with spaces"], ["Degraded", "x"]]);
    expect(text.split("\n").every((l) => l === l.trimEnd())).toBe(true);
    expect(text).toContain("Degraded  x\n");
  });
});

describe("renderFields", () => {
  it("aligns values after the longest label", () => {
    expect(renderFields([["Group", "ns/orders"], ["Active site", "iad"], ["Cooldown", "none"]])).toBe(
      "Group:        ns/orders\nActive site:  iad\nCooldown:     none\n",
    );
  });
});

describe("colour decision", () => {
  it("colours only a terminal without NO_COLOR", () => {
    expect(useColor({ isTTY: true, env: {} })).toBe(true);
    expect(useColor({ isTTY: false, env: {} })).toBe(false);
    expect(useColor({ isTTY: true, env: { NO_COLOR: "1" } })).toBe(false);
    // no-color.org: an empty NO_COLOR does not count.
    expect(useColor({ isTTY: true, env: { NO_COLOR: "" } })).toBe(true);
  });

  it("a disabled palette adds no escape sequences", () => {
    const c = colors(false);
    expect(c.red.bold("x")).toBe("x");
    expect(visibleWidth(colors(true).red("abc"))).toBe(3);
  });
});
