import { describe, expect, it } from "vitest";
import type { ArchivedBinlog, ArchiveManifest } from "../../../shared/backup/binlog-archive.js";
import { archiveFloor, planReplay, prunableFiles } from "../../../shared/backup/replay-plan.js";

const A = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
const B = "8a94f357-aab4-11df-86ab-c80aa9429562";

/** File n of a site holding seq first..last (server `server`), written at times first..last. */
const file = (n: number, start: string, first: number, last: number, server = 1): ArchivedBinlog => ({
  file: `mysql-bin.${String(n).padStart(6, "0")}`,
  object: `mysql-bin.${String(n).padStart(6, "0")}`,
  bytes: 100,
  sha256: "0".repeat(64),
  archivedAt: "2026-12-04T00:00:00Z",
  startState: start,
  transactions: last - first + 1,
  firstGtid: `0-${server}-${first}`,
  lastGtid: `0-${server}-${last}`,
  firstTime: 1000 + first,
  lastTime: 1000 + last,
});
const archive = (site: string, files: ArchivedBinlog[]): ArchiveManifest => ({ format: 1, namespace: "shop", group: "orders", site, files });
const names = (choice: ReturnType<typeof planReplay>): string[] => ("plan" in choice ? choice.plan.files.map((f) => f.file) : [choice.refused]);

describe("planReplay", () => {
  const iad = archive("iad", [file(1, "", 1, 10), file(2, "0-1-10", 11, 20), file(3, "0-1-20", 21, 30)]);

  it("starts in the file that holds the first transaction after the backup and runs to the end", () => {
    expect(names(planReplay([iad], "0-1-15"))).toEqual(["mysql-bin.000002", "mysql-bin.000003"]);
    expect(planReplay([iad], "0-1-15")).toMatchObject({ plan: { site: "iad", reachesGtid: "0-1-30", short: false } });
    expect(names(planReplay([iad], "0-1-10"))).toEqual(["mysql-bin.000002", "mysql-bin.000003"]);
  });

  it("stops at the first file that reaches the target time, and says when the archive falls short of it", () => {
    expect(names(planReplay([iad], "0-1-5", 1012))).toEqual(["mysql-bin.000001", "mysql-bin.000002"]);
    expect(planReplay([iad], "0-1-5", 2000)).toMatchObject({ plan: { short: true, reachesTime: 1030 } });
  });

  it("refuses a chain with a file missing before the backup position is passed, and stops at a later gap", () => {
    const late = archive("iad", [file(2, "0-1-10", 11, 20), file(3, "0-1-20", 21, 30)]);
    expect(planReplay([late], "0-1-5")).toEqual({ refused: expect.stringMatching(/starts after the backup's position .*mysql-bin.000002.*0-1-10/) });
    const gap = archive("iad", [file(1, "", 1, 10), file(3, "0-1-20", 21, 30)]);
    expect(planReplay([gap], "0-1-5")).toMatchObject({ plan: { reachesGtid: "0-1-10", short: false } });
    expect(names(planReplay([gap], "0-1-5"))).toEqual(["mysql-bin.000001"]);
  });

  it("after a failover takes the new primary's chain, which holds the old primary's transactions too", () => {
    // pdx replicated 1..20 from iad (log_slave_updates), then became primary and wrote 21..40 as server 2.
    const pdx = archive("pdx", [file(1, "", 1, 20), file(2, "0-1-20", 21, 40, 2)]);
    const old = archive("iad", [file(1, "", 1, 10), file(2, "0-1-10", 11, 20)]);
    expect(planReplay([old, pdx], "0-1-5")).toMatchObject({ plan: { site: "pdx", reachesGtid: "0-2-40" } });
  });

  it("follows one generation of a site's archive: a site recloned and then primary again numbers its files from 1 anew", () => {
    // iad wrote 1..20 (generation 0), pdx took over, iad was recloned at 0-2-40 and is primary again (generation 1).
    const regen = (f: ArchivedBinlog): ArchivedBinlog => ({ ...f, generation: 1, object: `${f.object}.g1` });
    const iadTwice = archive("iad", [file(1, "", 1, 10), file(2, "0-1-10", 11, 20), regen(file(1, "0-2-40", 41, 50)), regen(file(2, "0-1-50", 51, 60))]);
    const pdx = archive("pdx", [file(1, "", 1, 20), file(2, "0-1-20", 21, 40, 2)]);
    expect(planReplay([iadTwice, pdx], "0-2-45")).toMatchObject({ plan: { site: "iad", reachesGtid: "0-1-60", files: [expect.objectContaining({ object: "mysql-bin.000001.g1" }), expect.objectContaining({ object: "mysql-bin.000002.g1" })] } });
    // A backup before the reclone replays pdx's chain: iad's new generation starts after it.
    expect(planReplay([iadTwice, pdx], "0-1-15")).toMatchObject({ plan: { site: "pdx", reachesGtid: "0-2-40" } });
    // Pruning looks at each generation on its own.
    expect(prunableFiles(iadTwice, "0-1-55").map((f) => f.object)).toEqual(["mysql-bin.000001", "mysql-bin.000002", "mysql-bin.000001.g1"]);
  });

  it("replays nothing when nothing was written after the backup, and refuses without any archive", () => {
    expect(names(planReplay([iad], "0-1-30"))).toEqual([]);
    expect(planReplay([], "0-1-30")).toEqual({ refused: expect.stringMatching(/no site has a binary log archive/) });
  });
});

describe("archive pruning", () => {
  const iad = archive("iad", [file(3, "0-1-20", 21, 30), file(1, "", 1, 10), file(2, "0-1-10", 11, 20)]);
  const pruned = (floor: string): string[] => prunableFiles(iad, floor).map((f) => f.file);

  it("takes the oldest files that hold nothing after the floor, in order, and stops at the first that does", () => {
    expect(pruned("0-1-5")).toEqual([]);
    expect(pruned("0-1-10")).toEqual(["mysql-bin.000001"]);
    expect(pruned("0-1-25")).toEqual(["mysql-bin.000001", "mysql-bin.000002"]);
    expect(pruned("0-1-30")).toEqual(["mysql-bin.000001", "mysql-bin.000002", "mysql-bin.000003"]);
    // Another domain covers nothing of domain 0.
    expect(pruned("1-1-99")).toEqual([]);
    // A file without transactions goes with its neighbours.
    const empty = { ...file(2, "0-1-10", 11, 20), transactions: 0, firstGtid: undefined, lastGtid: undefined };
    expect(prunableFiles(archive("iad", [file(1, "", 1, 10), empty, file(3, "0-1-10", 11, 20)]), "0-1-10").map((f) => f.file)).toEqual(["mysql-bin.000001", "mysql-bin.000002"]);
  });

  it("never takes a file that a backup at or after the floor replays from", () => {
    for (const floor of [10, 15, 20, 25]) {
      const rest = archive("iad", iad.files.filter((f) => !pruned(`0-1-${floor}`).includes(f.file)));
      for (let backup = floor; backup < 30; backup += 1) {
        expect(names(planReplay([rest], `0-1-${backup}`)), `floor ${floor}, backup ${backup}`).toEqual(names(planReplay([iad], `0-1-${backup}`)));
      }
    }
  });

  it("puts the floor at what every backup holds: per domain the lowest, a domain some backup lacks left out", () => {
    expect(archiveFloor(["0-1-10,1-2-5", "0-2-7,1-1-9"])).toBe("0-0-7,1-0-5");
    expect(archiveFloor(["0-1-10,1-2-5", "0-2-7"])).toBe("0-0-7");
    expect(archiveFloor(["1-1-3", "0-1-2"])).toBeUndefined();
    expect(archiveFloor([])).toBeUndefined();
    // MySQL backups: what their GTID sets share; with a MariaDB position beside them, nothing.
    expect(archiveFloor([`${A}:1-50,${B}:1-9`, `${A}:1-40:45-60`])).toBe(`${A}:1-40:45-50`);
    expect(archiveFloor([`${A}:1-5`, "0-1-5"])).toBeUndefined();
    expect(archiveFloor([`${A}:1-5`, `${B}:1-5`])).toBeUndefined();
  });
});

/** MySQL: file n of a site, starting at `start` (its Previous_gtids), holding A's transactions first..last. */
const mysqlFile = (n: number, start: string, first: number, last: number, uuid = A): ArchivedBinlog => ({
  ...file(n, start, first, last),
  firstGtid: `${uuid}:${first}`,
  lastGtid: `${uuid}:${last}`,
  gtids: `${uuid}:${first}-${last}`,
});
const mysqlArchive = (site: string, files: ArchivedBinlog[]): ArchiveManifest => ({ ...archive(site, files), flavor: "mysql" });

describe("planReplay and pruning of a MySQL server's archive", () => {
  const iad = mysqlArchive("iad", [mysqlFile(1, "", 1, 10), mysqlFile(2, `${A}:1-10`, 11, 20), mysqlFile(3, `${A}:1-20`, 21, 30)]);

  it("starts in the first file holding a transaction the backup lacks, once the backup holds everything before it", () => {
    expect(planReplay([iad], `${A}:1-15`)).toMatchObject({ plan: { site: "iad", flavor: "mysql", reachesGtid: `${A}:30`, short: false } });
    expect(names(planReplay([iad], `${A}:1-15`))).toEqual(["mysql-bin.000002", "mysql-bin.000003"]);
    expect(names(planReplay([iad], `${A}:1-10`))).toEqual(["mysql-bin.000002", "mysql-bin.000003"]);
    // Another source's transactions in the backup change nothing; a hole in the backup is filled from where it starts.
    expect(names(planReplay([iad], `${A}:1-20,${B}:1-3`))).toEqual(["mysql-bin.000003"]);
    expect(names(planReplay([iad], `${A}:1-5:12-20`))).toEqual(["mysql-bin.000001", "mysql-bin.000002", "mysql-bin.000003"]);
    // An archive that starts after the backup misses what lies between.
    const late = mysqlArchive("iad", iad.files.slice(1));
    expect(planReplay([late], `${A}:1-5`)).toEqual({ refused: `no site's archive covers the time after the backup: iad's archive starts after the backup's position (its first needed file, mysql-bin.000002, starts at ${A}:1-10): the files in between were never archived` });
    expect(planReplay([iad], `${A}:1-30`)).toMatchObject({ plan: { files: [] } });
    // To a time: the chain stops in the file that reaches it.
    expect(names(planReplay([iad], `${A}:1-5`, 1015))).toEqual(["mysql-bin.000001", "mysql-bin.000002"]);
  });

  it("refuses a backup position of the other flavor, saying so", () => {
    expect(planReplay([iad], "0-1-15")).toEqual({ refused: `no site's archive covers the time after the backup: iad's archive holds a mysql server's binary logs, and the backup's position "0-1-15" is not a mysql one` });
  });

  it("chooses the chain that reaches furthest: after a failover, the new primary's, which holds the old one's transactions too", () => {
    const pdx = mysqlArchive("pdx", [mysqlFile(4, `${A}:1-30`, 1, 15, B)].map((f) => ({ ...f, startState: `${A}:1-30` })));
    expect(planReplay([iad, pdx], `${A}:1-25`)).toMatchObject({ plan: { site: "iad" } });
    expect(planReplay([iad, pdx], `${A}:1-30`)).toMatchObject({ plan: { site: "pdx", reachesGtid: `${B}:15` } });
  });

  it("prunes the files every backup holds, and nothing by a floor of the other flavor", () => {
    expect(prunableFiles(iad, `${A}:1-20`).map((f) => f.file)).toEqual(["mysql-bin.000001", "mysql-bin.000002"]);
    expect(prunableFiles(iad, `${A}:1-15`).map((f) => f.file)).toEqual(["mysql-bin.000001"]);
    expect(prunableFiles(iad, "0-1-30")).toEqual([]);
    for (let backup = 15; backup < 30; backup += 1) {
      const rest = mysqlArchive("iad", iad.files.filter((f) => !prunableFiles(iad, `${A}:1-15`).includes(f)));
      expect(names(planReplay([rest], `${A}:1-${backup}`)), `backup ${backup}`).toEqual(names(planReplay([iad], `${A}:1-${backup}`)));
    }
  });
});
