import { describe, expect, it } from "vitest";
import type { MysqlFailoverGroup } from "../../../shared/api/index.js";
import { ANNOTATIONS } from "../../../shared/names.js";
import { Chalk } from "chalk";
import { cooldownRemainingMs, effectiveLastFailover, renderGroupDetail } from "../../../cli/commands/status.js";

const NOW = Date.parse("2026-11-22T03:00:00Z");

function group(status: MysqlFailoverGroup["status"], annotations?: Record<string, string>): MysqlFailoverGroup {
  return {
    apiVersion: "shipstream.io/v1alpha1",
    kind: "MysqlFailoverGroup",
    metadata: { name: "orders", namespace: "shop", ...(annotations ? { annotations } : {}) },
    spec: { secretName: "dsn", failoverCooldown: "5m", sites: [] },
    ...(status ? { status } : {}),
  };
}

describe("the last failover and the cooldown, as the operator counts them", () => {
  it("takes the newer of the status and the annotation; the status wins a tie within the second", () => {
    const annotated = { [ANNOTATIONS.lastFailover]: "2026-11-22T02:58:00Z", [ANNOTATIONS.lastFailoverTarget]: "iad" };
    expect(effectiveLastFailover(group({ lastFailover: "2026-11-22T02:50:00Z", lastFailoverTarget: "pdx" }, annotated))).toEqual({ at: "2026-11-22T02:58:00Z", target: "iad" });
    expect(effectiveLastFailover(group({ lastFailover: "2026-11-22T02:58:00.400Z", lastFailoverTarget: "pdx" }, annotated))).toEqual({ at: "2026-11-22T02:58:00.400Z", target: "pdx" });
    expect(effectiveLastFailover(group(undefined, annotated))).toEqual({ at: "2026-11-22T02:58:00Z", target: "iad" });
    expect(effectiveLastFailover(group({}))).toBeUndefined();
  });

  it("shows a time recorded without its target, and counts the cooldown from it", () => {
    const g = group({ lastFailover: "2026-11-22T02:58:00Z" });
    expect(effectiveLastFailover(g)).toEqual({ at: "2026-11-22T02:58:00Z" });
    expect(cooldownRemainingMs(g, NOW)).toBe(3 * 60_000);
    expect(cooldownRemainingMs(g, NOW + 10 * 60_000)).toBe(0);
  });

  it("an unreadable annotation never wins over a readable status time", () => {
    const g = group({ lastFailover: "2026-11-22T02:58:00Z", lastFailoverTarget: "pdx" }, { [ANNOTATIONS.lastFailover]: "soon", [ANNOTATIONS.lastFailoverTarget]: "iad" });
    expect(effectiveLastFailover(g)).toEqual({ at: "2026-11-22T02:58:00Z", target: "pdx" });
  });
});

describe("the sites of a group with managed sites", () => {
  it("show each pod beside the server's state; external sites have none", () => {
    const g: MysqlFailoverGroup = {
      ...group({
        activeSite: "iad",
        sites: [
          { name: "iad", state: "writable", pod: { name: "mysql-orders-iad-0", phase: "Running", ready: true, restarts: 0 } },
          { name: "pdx", state: "unreachable", pod: { name: "mysql-orders-pdx-0", phase: "Running", ready: false, restarts: 3 } },
          { name: "sfo", state: "unknown", pod: { name: "mysql-orders-sfo-0", phase: "Pending", ready: false, restarts: 0 } },
          { name: "ext", state: "read-only" },
        ],
      }),
    };
    g.spec.sites = [
      { name: "iad", storage: { size: "1Gi" } },
      { name: "pdx", storage: { size: "1Gi" } },
      { name: "sfo", storage: { size: "1Gi" } },
      { name: "ext", role: "read-only", endpoint: { host: "ext.db" } },
    ];
    const text = renderGroupDetail(g, { now: NOW, c: new Chalk({ level: 0 }), wide: false });
    const sites = text.slice(text.indexOf("Sites:")).split("\n").slice(1, 6).map((l) => l.trim().split(/\s{2,}/).slice(0, 4));
    expect(sites).toEqual([
      ["NAME", "ROLE", "STATE", "POD"],
      ["iad", "primary-candidate", "writable", "Ready"],
      ["pdx", "primary-candidate", "unreachable", "Running, not Ready (3 restarts)"],
      ["sfo", "primary-candidate", "unknown", "Pending"],
      ["ext", "read-only", "read-only", "-"],
    ]);
  });
});

describe("renderGroupDetail: the initial restore", () => {
  it("shows where spec.initFromBackup stands: the site, the artifact, the times and the position reached", () => {
    const g = group({
      restore: {
        phase: "Succeeded",
        site: "iad",
        backup: "shop/orders/b1",
        message: "site iad runs on the restored copy at 0-1-42",
        startTime: "2026-11-22T02:50:00Z",
        stagedTime: "2026-11-22T02:55:00Z",
        completionTime: "2026-11-22T02:56:00Z",
        backupGtid: "0-1-40",
        gtid: "0-1-42",
        replayedToTime: "2026-11-22T02:40:00Z",
      },
    });
    const text = renderGroupDetail(g, { now: NOW, c: new Chalk({ level: 0 }), wide: false });
    const block = (text.slice(text.indexOf("Initial restore (initFromBackup):")).split("\n\n")[0] ?? "").trimEnd();
    expect(block.split("\n").map((l) => l.trim().split(/:\s+/)[0])).toEqual(["Initial restore (initFromBackup):", "Phase", "Site", "Backup", "Message", "Started", "Staged", "Completed", "Position", "Replayed to"]);
    expect(block).toContain("0-1-42 (the backup's 0-1-40, then replayed)");
  });

  it("points at the Job's log when the Job failed", () => {
    const text = renderGroupDetail(group({ restore: { phase: "Failed", site: "iad", jobName: "mysql-orders-restore", message: "damaged" } }), { now: NOW, c: new Chalk({ level: 0 }), wide: false });
    expect(text).toContain("kubectl logs job/mysql-orders-restore -n shop");
  });
});

describe("renderGroupDetail: a restore in place", () => {
  it("shows what the restore discarded, when the primary was writable again and which sites are still recloned", () => {
    const g = group({
      restoreInPlace: {
        phase: "Running",
        confirm: "2026-11-22T02:49:30Z",
        site: "iad",
        backup: "shop/orders/b1",
        message: "iad is writable on the copy; recloning pdx from it",
        startTime: "2026-11-22T02:50:00Z",
        fencedTime: "2026-11-22T02:50:01Z",
        discardedFrom: "0-1-90",
        stagedTime: "2026-11-22T02:55:00Z",
        resumedTime: "2026-11-22T02:55:30Z",
        backupGtid: "0-1-40",
        gtid: "0-1-40",
        recloning: ["pdx"],
      },
    });
    const text = renderGroupDetail(g, { now: NOW, c: new Chalk({ level: 0 }), wide: false });
    const block = (text.slice(text.indexOf("Restore in place (restoreInPlace):")).split("\n\n")[0] ?? "").trimEnd();
    expect(block.split("\n").map((l) => l.trim().split(/:\s+/)[0])).toEqual([
      "Restore in place (restoreInPlace):",
      "Phase",
      "Site",
      "Backup",
      "Message",
      "Started",
      "Confirmed",
      "Fenced",
      "Discarded from",
      "Staged",
      "Position",
      "Writable again",
      "Recloning",
    ]);
    expect(block).toMatch(/Discarded from:\s+0-1-90/);
    expect(block).toMatch(/Recloning:\s+pdx/);
    expect(text).not.toContain("Initial restore");
  });
});

describe("renderGroupDetail: the session cache", () => {
  it("shows the cache master, the last promotion and a row per cache server", () => {
    const g = group({
      dragonfly: {
        phase: "Degraded",
        activeSite: "iad",
        message: "iad is the master; pdx unreachable",
        lastPromotionTime: "2026-11-22T02:58:00Z",
        lastPromotionTarget: "iad",
        lastPromotionMethod: "replicaof-no-one",
        sites: [
          { name: "iad", role: "master", reachable: true, ready: true, keys: 120 },
          { name: "pdx", role: "unreachable", reachable: false, ready: false, error: "connect ECONNREFUSED 10.0.0.2:6379" },
          { name: "dr", role: "replica", reachable: true, ready: false, linkStatus: "up", syncInProgress: true, lastIOSecondsAgo: 0, keys: 3 },
        ],
      },
    });
    const text = renderGroupDetail(g, { now: NOW, c: new Chalk({ level: 0 }), wide: false });
    const block = (text.slice(text.indexOf("Session cache (Dragonfly):")).split("\n\n")[0] ?? "").trimEnd().split("\n");
    expect(block.slice(0, 5).map((l) => l.trim())).toEqual([
      "Session cache (Dragonfly):",
      "Phase:           Degraded",
      "Master:          iad",
      "Message:         iad is the master; pdx unreachable",
      "Last promotion:  2026-11-22T02:58:00Z (2m ago), iad by replicaof-no-one",
    ]);
    const rows = block.slice(5).map((l) => l.trim().split(/\s{2,}/));
    expect(rows).toEqual([
      ["NAME", "ROLE", "READY", "LINK", "LAST-IO", "KEYS", "ERROR"],
      ["iad", "master", "true", "-", "-", "120", "-"],
      ["pdx", "unreachable", "false", "-", "-", "-", "connect ECONNREFUSED 10.0.0.2:6379"],
      ["dr", "replica", "false", "up (full copy)", "0s", "3", "-"],
    ]);
  });
});

describe("renderGroupDetail: the PITR archive", () => {
  it("shows how far the archive reaches, the floor, and a row per archiving site", () => {
    const g = group({
      pitr: {
        floor: "0-0-42",
        newestTransactionTime: "2026-11-22T02:59:00Z",
        sites: [
          { name: "iad", primary: false, filesArchived: 0, bytesArchived: 0, backlogFiles: 0, filesPruned: 3 },
          { name: "pdx", primary: true, filesArchived: 2, bytesArchived: 2048, lastArchivedFile: "mysql-bin.000007", lastArchivedTime: "2026-11-22T02:59:30Z", backlogFiles: 1, error: "the store refused the credentials" },
        ],
      },
    });
    const text = renderGroupDetail(g, { now: NOW, c: new Chalk({ level: 0 }), wide: false });
    const block = (text.slice(text.indexOf("PITR archive:")).split("\n\n")[0] ?? "").trimEnd().split("\n");
    expect(block.slice(0, 3).map((l) => l.trim())).toEqual(["PITR archive:", "Reaches:    2026-11-22T02:59:00Z (60s ago)", "Pruned to:  0-0-42 (what every retained backup holds)"]);
    expect(block.slice(3).map((l) => l.trim().split(/\s{2,}/))).toEqual([
      ["SITE", "PRIMARY", "FILES", "SIZE", "LAST-ARCHIVED", "BACKLOG", "PRUNED", "ERROR"],
      ["iad", "false", "0", "0 B", "-", "0", "3", "-"],
      ["pdx", "true", "2", "2.0 KiB", "mysql-bin.000007 (30s ago)", "1", "0", "the store refused the credentials"],
    ]);
  });
});
