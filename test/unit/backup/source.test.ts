import { describe, expect, it } from "vitest";
import { chooseBackupSource, type BackupSourceSite } from "../../../shared/backup/source.js";

const site = (name: string, over: Partial<BackupSourceSite> = {}): BackupSourceSite => ({ name, role: "primary-candidate", state: "read-only", polledOk: true, secondsBehindSource: 0, agent: true, ...over });
const primary = site("iad", { state: "writable", secondsBehindSource: null });

describe("backup source", () => {
  it("prefers the least-lagging replica within the limit, then the primary", () => {
    expect(chooseBackupSource([primary, site("pdx", { secondsBehindSource: 5 }), site("sfo", { secondsBehindSource: 2, role: "dr-only" })], 300)).toEqual({ site: "sfo", reason: "replica-preferred" });
    expect(chooseBackupSource([primary, site("pdx", { secondsBehindSource: 500 })], 300)).toEqual({ site: "iad", reason: "primary-fallback" });
    expect(chooseBackupSource([primary, site("pdx", { secondsBehindSource: null })], 300)).toEqual({ site: "iad", reason: "primary-fallback" });
  });

  it("takes a free replica past a busy one, and waits for a busy replica or primary rather than load another", () => {
    const waiting = "pdx's agent streams backup b1 now (one at a time): this one starts when it ends";
    expect(chooseBackupSource([primary, site("pdx", { streaming: "b1" }), site("sfo", { secondsBehindSource: 9 })], 300)).toEqual({ site: "sfo", reason: "replica-preferred" });
    expect(chooseBackupSource([primary, site("pdx", { streaming: "b1" })], 300)).toEqual({ refused: waiting });
    expect(chooseBackupSource([primary, site("pdx", { streaming: "b1" })], 300, "pdx")).toEqual({ refused: waiting });
    expect(chooseBackupSource([{ ...primary, streaming: "b2" }], 300)).toEqual({ refused: "iad's agent streams backup b2 now (one at a time): this one starts when it ends" });
  });

  it("never takes a reader, a site without an agent or an unreachable one", () => {
    const sites = [primary, site("rdr", { role: "read-only" }), site("ext", { agent: false }), site("gone", { polledOk: false, state: "unreachable" })];
    expect(chooseBackupSource(sites, 300)).toEqual({ site: "iad", reason: "primary-fallback" });
    expect(chooseBackupSource(sites.slice(1), 300)).toEqual({ refused: expect.stringMatching(/no site can serve/) });
  });

  it("honours an override while it can serve", () => {
    const sites = [primary, site("pdx"), site("ext", { agent: false }), site("gone", { polledOk: false, state: "unreachable" })];
    expect(chooseBackupSource(sites, 300, "iad")).toEqual({ site: "iad", reason: "override" });
    expect(chooseBackupSource(sites, 300, "ext")).toEqual({ refused: "sourceSiteOverride names ext, which cannot serve now (it runs no agent): wait, or name another site" });
    expect(chooseBackupSource(sites, 300, "gone")).toEqual({ refused: "sourceSiteOverride names gone, which cannot serve now (not reachable): wait, or name another site" });
  });

  it("takes a MySQL site without an agent (the Job dumps it), one backup at a time", () => {
    const mysql = (name: string, over: Partial<BackupSourceSite> = {}) => site(name, { agent: false, flavor: "mysql", ...over });
    const sites = [mysql("iad", { state: "writable", secondsBehindSource: null }), mysql("pdx", { secondsBehindSource: 3 })];
    expect(chooseBackupSource(sites, 300)).toEqual({ site: "pdx", reason: "replica-preferred" });
    expect(chooseBackupSource(sites, 300, "iad")).toEqual({ site: "iad", reason: "override" });
    expect(chooseBackupSource([sites[0] as BackupSourceSite, mysql("pdx", { streaming: "b1" })], 300)).toEqual({ refused: "pdx is dumped for backup b1 now (one at a time): this one starts when it ends" });
    // A MariaDB site still needs its agent, whatever runs beside it.
    expect(chooseBackupSource([site("ext", { agent: false, flavor: "mariadb", state: "writable" })], 300)).toEqual({ refused: expect.stringMatching(/no site can serve/) });
  });
});
