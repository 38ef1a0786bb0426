import { describe, expect, it } from "vitest";
import { parseArchiverStatus } from "../../../shared/agent/archiver-status.js";

const status = { enabled: true, site: "iad", location: "s3://b/p/", primary: true, filesArchived: 3, bytesArchived: 900, uploadFailures: 1, backlogFiles: 0, lastArchivedAt: "2026-12-04T00:00:00.000Z" };

describe("parseArchiverStatus", () => {
  it("reads an archiving agent's status, and null from one that archives nothing", () => {
    expect(parseArchiverStatus(status)).toEqual({ ok: true, value: status });
    expect(parseArchiverStatus({ enabled: false })).toEqual({ ok: true, value: null });
  });

  it("refuses an answer it cannot trust, naming what is wrong", () => {
    expect(parseArchiverStatus("ok")).toEqual({ ok: false, error: "the answer is not a JSON object" });
    expect(parseArchiverStatus({ ...status, backlogFiles: -1 })).toEqual({ ok: false, error: expect.stringContaining("backlogFiles") });
    expect(parseArchiverStatus({ ...status, primary: undefined })).toEqual({ ok: false, error: expect.stringContaining("primary") });
    expect(parseArchiverStatus({ ...status, lastArchivedAt: "yesterday" })).toEqual({ ok: false, error: "lastArchivedAt is not a time" });
  });
});
