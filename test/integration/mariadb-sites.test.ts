import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MariaDbSites } from "../../scripts/env/mariadb-sites.js";

describe("MariaDB test sites (real mariadbd)", () => {
  let sites: MariaDbSites;

  beforeAll(async () => {
    sites = await MariaDbSites.start({ names: ["iad", "pdx", "sfo"], primary: "iad" });
  });

  afterAll(async () => {
    await sites?.teardown();
  });

  it("replicates a write from the primary to both replicas with GTIDs", async () => {
    const iad = sites.site("iad");
    const pos = await iad.injectWrite("first");
    expect(pos).toMatch(/^0-1-\d+$/);
    for (const name of ["pdx", "sfo"]) {
      const replica = sites.site(name);
      expect(await replica.waitForGtid(pos, 10)).toBe(true);
      expect(await replica.gtidBinlogPos()).toBe(pos);
      const status = await replica.replicaStatus();
      expect(status).toMatchObject({ ioRunning: "Yes", sqlRunning: "Yes", masterPort: iad.port });
      const rows = await replica.query<{ note: string }[]>("SELECT note FROM bloodraven_test.writes");
      expect(rows.map((r) => r.note)).toEqual(["first"]);
    }
  });

  it("gives each server its own server_id, strict GTID mode and a binlog", async () => {
    const ids = await Promise.all(sites.sites.map((s) => s.variable("server_id")));
    expect(new Set(ids).size).toBe(3);
    for (const s of sites.sites) {
      expect(await s.variable("gtid_strict_mode")).toBe("1");
      expect(await s.variable("log_bin")).toBe("1");
      expect(await s.variable("log_slave_updates")).toBe("1");
    }
  });

  it("read_only fences the application account but not the admin (errant write)", async () => {
    const pdx = sites.site("pdx");
    expect(await pdx.isReadOnly()).toBe(true);
    await expect(pdx.injectWrite("app on replica", "app")).rejects.toThrow(/read-only/i);
    const before = await pdx.gtidBinlogPos();
    const after = await pdx.injectWrite("errant", "admin");
    expect(after).not.toBe(before);
    expect(after).toContain("0-2-");
  });

  it("applies MASTER_DELAY and removes it again", async () => {
    const sfo = sites.site("sfo");
    await sfo.setReplicationDelay(30);
    expect((await sfo.replicaStatus())?.sqlDelay).toBe(30);
    const pos = await sites.site("iad").injectWrite("delayed");
    expect(await sfo.waitForGtid(pos, 1)).toBe(false);
    await sfo.setReplicationDelay(0);
    expect((await sfo.replicaStatus())?.sqlDelay).toBe(0);
  });

  it("survives SIGSTOP/SIGCONT, kill -9 and restart with the same datadir", async () => {
    const iad = sites.site("iad");
    const sfo = sites.site("sfo");
    await sfo.pause();
    await expect(sfo.connect("admin", 500)).rejects.toThrow();
    sfo.resume();
    expect(await sfo.isReadOnly()).toBe(true);

    const pos = await iad.injectWrite("before crash");
    await iad.kill9();
    expect(iad.running).toBe(false);
    await expect(iad.connect("admin", 500)).rejects.toThrow();
    const started = Date.now();
    await iad.restart({ readOnly: true });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await iad.isReadOnly()).toBe(true);
    expect(await iad.gtidBinlogPos()).toBe(pos);
  });
});
