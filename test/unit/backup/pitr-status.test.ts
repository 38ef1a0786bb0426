import { describe, expect, it } from "vitest";
import type { ArchiverStatus } from "../../../shared/agent/archiver-status.js";
import { pitrStatus } from "../../../shared/backup/pitr-status.js";

const answer = (site: string, over: Partial<ArchiverStatus> = {}): ArchiverStatus => ({
  enabled: true,
  site,
  location: `s3://b/prod/ns/orders/binlogs/${site}/`,
  primary: false,
  lastScanAt: "2026-12-05T10:00:00.000Z",
  filesArchived: 0,
  bytesArchived: 0,
  uploadFailures: 0,
  backlogFiles: 0,
  ...over,
});

describe("status.pitr", () => {
  it("is absent while no agent reports an archive", () => {
    expect(pitrStatus(new Map(), "0-0-5")).toBeUndefined();
  });

  it("lists each archiving site by name, with the newest transaction of all and the floor; scan times left out", () => {
    const answers = new Map([
      ["pdx", answer("pdx", { primary: true, filesArchived: 2, bytesArchived: 300, lastArchivedFile: "mysql-bin.000004", lastArchivedAt: "2026-12-05T10:00:01.000Z", newestTransactionTime: 1_796_464_800, backlogFiles: 1, filesPruned: 3 })],
      ["iad", answer("iad", { filesArchived: 1, bytesArchived: 100, newestTransactionTime: 1_796_464_000, lastError: "the store refused" })],
    ]);
    expect(pitrStatus(answers, "0-0-42")).toEqual({
      floor: "0-0-42",
      newestTransactionTime: "2026-12-05T10:00:00.000Z",
      sites: [
        { name: "iad", primary: false, filesArchived: 1, bytesArchived: 100, newestTransactionTime: "2026-12-05T09:46:40.000Z", backlogFiles: 0, error: "the store refused" },
        { name: "pdx", primary: true, filesArchived: 2, bytesArchived: 300, lastArchivedFile: "mysql-bin.000004", lastArchivedTime: "2026-12-05T10:00:01.000Z", newestTransactionTime: "2026-12-05T10:00:00.000Z", backlogFiles: 1, filesPruned: 3 },
      ],
    });
    const later = new Map([...answers].map(([site, a]) => [site, { ...a, lastScanAt: "2026-12-05T11:00:00.000Z" }]));
    expect(pitrStatus(later, "0-0-42")).toEqual(pitrStatus(answers, "0-0-42"));
    expect(pitrStatus(new Map([["iad", answer("iad")]]), undefined)).toEqual({ sites: [{ name: "iad", primary: false, filesArchived: 0, bytesArchived: 0, backlogFiles: 0 }] });
  });
});
