import { describe, expect, it } from "vitest";
import { formatRecord, groupRecord } from "../../../cli/commands/logs.js";

const line = (fields: Record<string, unknown>) => JSON.stringify({ time: "2026-12-05T04:18:24.470Z", level: "INFO", identity: "bloodraven-abc", ...fields });

describe("logs: the operator's lines about one group", () => {
  it("keeps the JSON lines of the group's namespace and name, and no other", () => {
    expect(groupRecord(line({ msg: "restore started", namespace: "shop", group: "orders" }), "shop", "orders")).toMatchObject({ msg: "restore started" });
    expect(groupRecord(line({ msg: "x", namespace: "staging", group: "orders" }), "shop", "orders")).toBeUndefined();
    expect(groupRecord(line({ msg: "x", namespace: "shop", group: "payments" }), "shop", "orders")).toBeUndefined();
    expect(groupRecord(line({ msg: "leader elected" }), "shop", "orders")).toBeUndefined();
    for (const other of ["", "panic: not JSON", "{broken", "[1,2]", "null"]) expect(groupRecord(other, "shop", "orders")).toBeUndefined();
  });

  it("prints time, level and message first, then the line's own fields as key=value, quoting what needs it", () => {
    const record = groupRecord(line({ msg: "restore failed", namespace: "shop", group: "orders", site: "iad", error: "the artifact is damaged", attempt: 2, sites: ["iad", "pdx"] }), "shop", "orders");
    expect(formatRecord(record ?? {})).toBe(String.raw`2026-12-05T04:18:24.470Z INFO  restore failed site=iad error="the artifact is damaged" attempt=2 sites=["iad","pdx"]`);
  });
});
