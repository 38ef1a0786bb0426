import { describe, expect, it } from "vitest";
import { ANNOTATIONS } from "../../../shared/names.js";
import { annotatedIntent, annotatedRecord, annotatedTime, annotationTime, formatIntent, newerRecord, recordRepair, statusRecord, statusTime } from "../../../shared/failover/record.js";

describe("the two copies of the failover record", () => {
  const status = { at: "2026-11-22T05:00:00.123Z", target: "pdx" };
  const sameSecond = { at: "2026-11-22T05:00:00Z", target: "pdx" };
  const later = { at: "2026-11-22T05:00:01Z", target: "iad" };

  it("the annotation wins only when newer at seconds precision; an unreadable time never wins", () => {
    expect(newerRecord(status, sameSecond)).toBe(status);
    expect(newerRecord(status, later)).toBe(later);
    expect(newerRecord(undefined, later)).toBe(later);
    expect(newerRecord(status, { at: "yesterday", target: "iad" })).toBe(status);
    expect(newerRecord({ at: "yesterday", target: "iad" }, sameSecond)).toBe(sameSecond);
  });

  it("the operator reads only complete copies; a reader also gets a time without its target", () => {
    const at = "2026-11-22T05:00:00Z";
    const timeOnly = { [ANNOTATIONS.lastFailover]: at };
    expect(annotatedRecord(timeOnly)).toBeUndefined();
    expect(statusRecord({ lastFailover: at })).toBeUndefined();
    expect(annotatedTime(timeOnly)).toEqual({ at });
    expect(statusTime({ lastFailover: at, lastFailoverTarget: "" })).toEqual({ at });
    const both = { [ANNOTATIONS.lastFailover]: at, [ANNOTATIONS.lastFailoverTarget]: "pdx" };
    expect(annotatedRecord(both)).toEqual({ at, target: "pdx" });
    expect(annotatedTime(both)).toEqual({ at, target: "pdx" });
    expect(statusRecord({ lastFailover: at, lastFailoverTarget: "pdx" })).toEqual({ at, target: "pdx" });
    expect(annotatedTime({ [ANNOTATIONS.lastFailoverTarget]: "pdx" })).toBeUndefined();
    expect(statusTime(undefined)).toBeUndefined();
  });

  it("repairs the copy that is missing or older, and nothing when they agree", () => {
    expect(recordRepair(status, sameSecond)).toEqual({});
    expect(recordRepair(status, later)).toEqual({ status: later });
    expect(recordRepair(status, undefined)).toEqual({ annotations: status });
    expect(recordRepair(undefined, later)).toEqual({ status: later });
    expect(recordRepair({ at: "2026-11-22T05:00:00.500Z", target: "iad" }, sameSecond)).toEqual({ annotations: { at: "2026-11-22T05:00:00.500Z", target: "iad" } });
    expect(recordRepair(undefined, undefined)).toEqual({});
  });

  it("the intent annotation is <target>@<time>, and anything else reads as absent", () => {
    expect(formatIntent({ target: "pdx", at: "2026-11-22T05:00:00.123Z" })).toBe("pdx@2026-11-22T05:00:00Z");
    const key = "bloodraven.shipstream.io/failover-intent";
    expect(annotatedIntent({ [key]: "pdx@2026-11-22T05:00:00Z" })).toEqual({ target: "pdx", at: "2026-11-22T05:00:00Z" });
    for (const bad of ["pdx", "@2026-11-22T05:00:00Z", "pdx@soon"]) expect(annotatedIntent({ [key]: bad })).toBeUndefined();
    expect(annotationTime("2026-11-22T05:00:00.999Z")).toBe("2026-11-22T05:00:00Z");
  });
});
