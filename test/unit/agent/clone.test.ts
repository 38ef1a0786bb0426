import { describe, expect, it } from "vitest";
import { parseBinlogInfo, parseCloneJob, parseCloneManifest, parseCloneRequest } from "../../../shared/agent/clone.js";

describe("clone protocol parsers", () => {
  it("accepts a request with an id and the donor agent's base URL", () => {
    expect(parseCloneRequest({ id: "rc-1", donor: { site: "iad", url: "http://10.0.0.1:8080/ignored" } })).toEqual({
      ok: true,
      value: { id: "rc-1", donor: { site: "iad", url: "http://10.0.0.1:8080" } },
    });
    // MySQL's recipient connects to the donor's server itself.
    const mysql = { host: "mysql-orders-iad.shop.svc", port: 3306 };
    expect(parseCloneRequest({ id: "rc-1", donor: { site: "iad", url: "http://10.0.0.1:8080", mysql } })).toEqual({ ok: true, value: { id: "rc-1", donor: { site: "iad", url: "http://10.0.0.1:8080", mysql } } });
  });

  it.each([
    [null, "JSON object"],
    [{ donor: { site: "iad", url: "http://a" } }, "id must be"],
    [{ id: "-x", donor: { site: "iad", url: "http://a" } }, "id must be"],
    [{ id: "a".repeat(64), donor: { site: "iad", url: "http://a" } }, "id must be"],
    [{ id: "x", donor: { site: "IAD", url: "http://a" } }, "donor.site"],
    [{ id: "x", donor: { site: "iad", url: "file:///etc" } }, "donor.url"],
    [{ id: "x", donor: { site: "iad", url: "not a url" } }, "donor.url"],
    [{ id: "x", donor: { site: "iad", url: "http://a", mysql: { host: "db'; DROP", port: 3306 } } }, "donor.mysql"],
    [{ id: "x", donor: { site: "iad", url: "http://a", mysql: { host: "db", port: 70_000 } } }, "donor.mysql"],
    [{ id: "x", donor: { site: "iad", url: "http://a", mysql: "db:3306" } }, "donor.mysql"],
  ])("refuses %j (%s)", (body, message) => {
    const parsed = parseCloneRequest(body);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? "" : parsed.error).toContain(message);
  });

  it("reads the GTID position of a mariadb-backup copy, one or several domains", () => {
    expect(parseBinlogInfo("mysql-bin.000001\t2796\t0-2-14\n")).toEqual({ ok: true, value: "0-2-14" });
    expect(parseBinlogInfo("mysql-bin.000004\t385\t0-1-20,1-3-7")).toEqual({ ok: true, value: "0-1-20,1-3-7" });
  });

  it.each(["", "mysql-bin.000001\t2796", "mysql-bin.000001\t2796\t0-2-14'; DROP TABLE x"])("refuses binlog info %j: no GTID position to set", (text) => {
    const parsed = parseBinlogInfo(text);
    expect(parsed.ok).toBe(false);
  });

  it("reads a manifest and a job answer, and says what is missing", () => {
    expect(parseCloneManifest('{"id":"a","gtid":"0-1-2","donor":"iad","preparedAt":"t"}')).toEqual({ ok: true, value: { id: "a", gtid: "0-1-2", donor: "iad", preparedAt: "t" } });
    expect(parseCloneManifest("{")).toMatchObject({ ok: false });
    expect(parseCloneManifest('{"id":"a"}')).toMatchObject({ ok: false });
    expect(parseCloneJob({ job: null })).toEqual({ ok: true, value: null });
    const job = { id: "a", donor: { site: "iad", url: "http://x:1" }, phase: "Failed", startedAt: "s", finishedAt: "f", bytes: 5, error: "boom" };
    expect(parseCloneJob({ job })).toEqual({ ok: true, value: job });
    expect(parseCloneJob({ job: { ...job, phase: "Sleeping" } })).toMatchObject({ ok: false });
    expect(parseCloneJob([])).toMatchObject({ ok: false });
  });
});
