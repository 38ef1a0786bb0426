import { CommanderError } from "commander";
import { afterEach, describe, expect, it, vi } from "vitest";
import { describeVerification, parseVerifyFlags, planVerification, type VerifyBackupFlags } from "../../../cli/commands/verify-backup.js";
import { followPhases, type RequestedObject } from "../../../cli/follow.js";
import type { KubeContext } from "../../../cli/kube-context.js";
import { normalizeArgs } from "../../../cli/kube-flags.js";
import { buildProgram } from "../../../cli/program.js";
import type { MysqlBackup, MysqlBackupVerification, MysqlFailoverGroup } from "../../../shared/api/index.js";
import { MYSQL_BACKUP_VERIFICATION } from "../../../shared/names.js";

const NOW = Date.parse("2026-12-04T10:00:07Z");
const PROFILES = [
  { name: "nightly", storage: { pvc: { claimName: "backups" } } },
  { name: "s3", storage: { pvc: { claimName: "other" } } },
];
const group = (backup?: MysqlFailoverGroup["spec"]["backup"]): MysqlFailoverGroup => ({
  apiVersion: "shipstream.io/v1alpha1",
  kind: "MysqlFailoverGroup",
  metadata: { name: "orders", namespace: "shop" },
  spec: { sites: [{ name: "iad", endpoint: { host: "iad.db", port: 3306 } }], ...(backup ? { backup } : {}) },
});
const withProfiles = group({ profiles: PROFILES });
const withArchive = group({ profiles: PROFILES, pitr: { enabled: true, profileName: "nightly" } });
const backup = (spec: Partial<MysqlBackup["spec"]> = {}, status: MysqlBackup["status"] = { phase: "Succeeded" }): MysqlBackup => ({
  apiVersion: "shipstream.io/v1alpha1",
  kind: "MysqlBackup",
  metadata: { name: "b1", namespace: "shop" },
  spec: { failoverGroupRef: { name: "orders" }, profileName: "nightly", ...spec },
  status,
});

/** The plan for these flags against the group, or the refusal: what the command creates or says (exit 2). */
function plan(g: MysqlFailoverGroup, flags: Omit<VerifyBackupFlags, "profile"> & { profile?: string }, pinned: MysqlBackup | null = null) {
  const parsed = parseVerifyFlags({ profile: "nightly", ...flags }, NOW);
  if (!parsed.ok) return parsed;
  return planVerification(g, "shop", parsed.value, pinned, NOW);
}
const refused = (...args: Parameters<typeof plan>): string => {
  const p = plan(...args);
  return p.ok ? "" : p.error;
};
const specOf = (...args: Parameters<typeof plan>) => {
  const p = plan(...args);
  if (!p.ok) throw new Error(p.error);
  return p.value.spec;
};

describe("verify-backup command", () => {
  it("creates a manual MysqlBackupVerification named after the group, the profile and the time, with only the fields given", () => {
    expect(plan(withProfiles, {})).toEqual({
      ok: true,
      value: {
        apiVersion: "shipstream.io/v1alpha1",
        kind: "MysqlBackupVerification",
        metadata: { name: "orders-nightly-verify-20261204-100007", namespace: "shop", labels: { "shipstream.io/failover-group": "orders" } },
        spec: { failoverGroupRef: { name: "orders" }, profileName: "nightly", triggeredBy: "manual" },
      },
    });
    expect(plan(withProfiles, { name: "before-migration" })).toMatchObject({ ok: true, value: { metadata: { name: "before-migration" } } });
  });

  it("pins a Succeeded backup of the group and the profile, replays to the latest or a time, and carries the sanity check as given", () => {
    expect(specOf(withArchive, { backup: "b1", pointInTime: "latest", keepOnFailure: false }, backup())).toEqual({
      failoverGroupRef: { name: "orders" },
      profileName: "nightly",
      triggeredBy: "manual",
      backupRef: { name: "b1" },
      pointInTime: { mode: "latest" },
      keepOnFailure: false,
    });
    // An offset is written in UTC, as Kubernetes writes times.
    expect(specOf(withArchive, { pointInTime: "2026-12-04T11:30:00+02:00" }).pointInTime).toEqual({ mode: "timestamp", timestamp: "2026-12-04T09:30:00Z" });
    expect(specOf(withProfiles, { sanityQuery: " SELECT COUNT(*) FROM shop.orders " }).sanityCheck).toEqual({ query: "SELECT COUNT(*) FROM shop.orders" });
    expect(specOf(withProfiles, { sanityQuery: "SELECT COUNT(*) FROM shop.orders", minRows: "0", queryTimeout: "90s" }).sanityCheck).toEqual({ query: "SELECT COUNT(*) FROM shop.orders", minRows: 0, timeout: "1m30s" });
    expect(specOf(withProfiles, { keepOnFailure: true }).keepOnFailure).toBe(true);
  });

  it("refuses a profile the group lacks, with the operator's words, naming --profile", () => {
    expect(refused(group(), {})).toBe("--profile: the group shop/orders has no spec.backup.profiles: add a profile named nightly first (docs/backups.md)");
    expect(refused(withProfiles, { profile: "weekly" })).toBe("--profile: weekly is not a profile of the group shop/orders; its profiles: nightly, s3");
  });

  it("refuses a --backup that is missing, another group's or profile's, or not Succeeded, saying its phase", () => {
    const list = "kubectl get mysqlbackups -n shop -l shipstream.io/failover-group=orders";
    expect(refused(withProfiles, { backup: "b1" }, null)).toBe(`--backup: no MysqlBackup shop/b1; ${list} lists the group's backups`);
    expect(refused(withProfiles, { backup: "b1" }, backup({ failoverGroupRef: { name: "billing" } }))).toBe(
      `--backup: b1 is a backup of the group billing, not orders; name one that ${list} lists, or leave --backup out to verify the newest Succeeded backup of nightly`,
    );
    expect(refused(withProfiles, { backup: "b1" }, backup({ profileName: "s3" }))).toBe("--backup: b1 was taken with the profile s3, not nightly; give --profile s3, or name a backup of nightly");
    expect(refused(withProfiles, { backup: "b1" }, backup({}, { phase: "Failed", message: "the store refused" }))).toMatch(/^--backup: b1 is Failed, and only a Succeeded backup can be restored; wait for it to succeed, name another, or leave --backup out/);
    expect(refused(withProfiles, { backup: "b1" }, backup({}, { phase: "Running" }))).toMatch(/^--backup: b1 is Running, and only a Succeeded backup/);
    expect(refused(withProfiles, { backup: "b1" }, backup({}, {}))).toMatch(/^--backup: b1 is not picked up by the operator yet, and only a Succeeded backup/);
    expect(refused(withProfiles, { backup: "B_1" })).toMatch(/^--backup: "B_1" is not a Kubernetes object name/);
  });

  it("refuses a replay the group cannot give, naming spec.backup.pitr, and a time that is not RFC 3339 in whole seconds or not past", () => {
    const noArchive = "--point-in-time: the group shop/orders has no binary log archive to replay (spec.backup.pitr.enabled is not true); enable spec.backup.pitr, or leave --point-in-time out to verify the backup alone";
    expect(refused(withProfiles, { pointInTime: "latest" })).toBe(noArchive);
    expect(refused(group({ profiles: PROFILES, pitr: { enabled: false } }), { pointInTime: "2026-12-04T09:30:00Z" })).toBe(noArchive);
    for (const text of ["yesterday", "2026-12-04 09:30:00Z", "2026-12-04T09:30:00.5Z", "2026-12-04T09:30:00", "2026-02-30T09:30:00Z", "2026-12-04T24:00:00Z", "2026-12-04T09:30:00+25:00", "Latest"]) {
      expect(refused(withArchive, { pointInTime: text }), text).toBe(`--point-in-time: ${JSON.stringify(text)} is neither latest nor an RFC 3339 time in whole seconds, e.g. 2026-12-04T03:00:00Z`);
    }
    expect(refused(withArchive, { pointInTime: "2027-12-04T09:30:00Z" })).toBe("--point-in-time: 2027-12-04T09:30:00Z is in the future; give a time that has passed, or latest for everything archived");
  });

  it("refuses sanity-check flags without --sanity-query, a count that is no whole number, a duration that is none, and a bad --name", () => {
    expect(refused(withProfiles, { minRows: "1" })).toBe("--min-rows only applies with --sanity-query; add the query it is about");
    expect(refused(withProfiles, { queryTimeout: "30s" })).toBe("--query-timeout only applies with --sanity-query; add the query it is about");
    for (const n of ["-1", "1.5", "many", ""]) expect(refused(withProfiles, { sanityQuery: "SELECT 1", minRows: n }), n).toMatch(/^--min-rows: .* is not a whole number of 0 or more; give the least count that passes/);
    expect(refused(withProfiles, { sanityQuery: "SELECT 1", queryTimeout: "30" })).toBe('--query-timeout: invalid duration "30": a number needs a unit (h, m, s or ms) (examples: 500ms, 30s, 5m, 1h30m)');
    expect(refused(withProfiles, { sanityQuery: "SELECT 1", queryTimeout: "0s" })).toMatch(/^--query-timeout: invalid duration "0s": must be greater than zero/);
    expect(refused(withProfiles, { sanityQuery: "  " })).toMatch(/^--sanity-query: empty; give one SELECT of one count/);
    expect(refused(withProfiles, { sanityQuery: `SELECT ${"1".repeat(4096)}` })).toMatch(/^--sanity-query: 4103 characters, more than the 4096/);
    expect(refused(withProfiles, { name: "Before_Migration" })).toMatch(/^--name: "Before_Migration" is not a Kubernetes object name/);
  });

  it("says where the verification stands in one line per phase: what was verified, counted and replayed", () => {
    const v = (status?: MysqlBackupVerification["status"]): MysqlBackupVerification => ({
      apiVersion: "shipstream.io/v1alpha1",
      kind: "MysqlBackupVerification",
      metadata: { name: "v1" },
      spec: { failoverGroupRef: { name: "orders" }, profileName: "nightly" },
      ...(status ? { status } : {}),
    });
    expect(describeVerification(v())).toBe("Pending: created, not picked up by the operator yet");
    expect(describeVerification(v({ phase: "Pending", message: "no Succeeded backup of nightly yet" }))).toBe("Pending: no Succeeded backup of nightly yet");
    expect(describeVerification(v({ phase: "Running", backupName: "b1" }))).toBe("Running");
    expect(describeVerification(v({ phase: "Succeeded", backupName: "b1", backupGtid: "0-1-42", restoreSeconds: 65 }))).toBe("Succeeded: backup b1 restores at GTID 0-1-42 (restored in 1m5s)");
    expect(
      describeVerification(v({ phase: "Succeeded", backupName: "b1", backupGtid: "0-1-42", restoreSeconds: 65, count: 1200, queryMilliseconds: 35, replayedToGtid: "0-1-99", replayedToTime: "2026-12-04T09:29:58Z" })),
    ).toBe("Succeeded: backup b1 restores at GTID 0-1-42 (restored in 1m5s), replayed to GTID 0-1-99 (committed 2026-12-04T09:29:58Z), the sanity query counted 1200 in 35ms");
    expect(describeVerification(v({ phase: "Succeeded", backupName: "b1", count: 0 }))).toBe("Succeeded: backup b1 restores, the sanity query counted 0");
    expect(describeVerification(v({ phase: "Failed", message: "the sanity query counted 3, fewer than --min-rows 10" }))).toBe("Failed: the sanity query counted 3, fewer than --min-rows 10");
  });

  describe("its flags on the command line", () => {
    /** The options commander hands the command, after the words are normalized as main() does. */
    async function options(...words: string[]): Promise<Record<string, unknown>> {
      const args = normalizeArgs(["verify-backup", "orders", "--profile", "nightly", ...words]);
      if (!args.ok) throw new Error(args.errors.join("; "));
      const program = buildProgram();
      let seen: Record<string, unknown> = {};
      program.commands.find((c) => c.name() === "verify-backup")!.action(function (this: { opts(): Record<string, unknown> }) {
        seen = this.opts();
      });
      await program.parseAsync(args.value, { from: "user" });
      return seen;
    }

    it("--keep-on-failure is kubectl's switch: absent leaves the operator's default, =false turns it off", async () => {
      expect((await options()).keepOnFailure).toBeUndefined();
      expect((await options("--keep-on-failure")).keepOnFailure).toBe(true);
      expect((await options("--keep-on-failure=true")).keepOnFailure).toBe(true);
      expect((await options("--keep-on-failure=false")).keepOnFailure).toBe(false);
      expect(normalizeArgs(["verify-backup", "--keep-on-failure=no"])).toEqual({ ok: false, errors: ['--keep-on-failure: "no" is not true or false'] });
    });

    it("refuses a bad flag before reading anything (exit 2)", async () => {
      let stderr = "";
      const program = buildProgram().configureOutput({ writeErr: (s) => (stderr += s), writeOut: () => undefined });
      const exit = await program.parseAsync(["verify-backup", "orders", "--profile", "nightly", "--min-rows", "1"], { from: "user" }).then(
        () => undefined,
        (err: unknown) => (err instanceof CommanderError ? err.exitCode : err),
      );
      expect(exit).toBe(2);
      expect(stderr).toBe("error: --min-rows only applies with --sanity-query; add the query it is about\n");
    });
  });

  describe("--wait (followPhases, shared with backup --wait)", () => {
    afterEach(() => void vi.useRealTimers());

    /** Follows a verification whose reads return `statuses` in turn (the last one again and again), 2 s apart. */
    async function follow(statuses: MysqlBackupVerification["status"][], timeoutMs = 3_600_000) {
      vi.useFakeTimers({ now: NOW });
      let stdout = "";
      let stderr = "";
      const command = buildProgram().configureOutput({ writeOut: (t) => (stdout += t), writeErr: (t) => (stderr += t) });
      let reads = 0;
      const ctx = { namespace: "shop", server: "https://k:6443", timeoutMs: 30_000, contextName: "test" } as KubeContext;
      const spec: RequestedObject<MysqlBackupVerification> = {
        object: { apiVersion: "shipstream.io/v1alpha1", kind: "MysqlBackupVerification", metadata: { name: "v1", namespace: "shop" }, spec: { failoverGroupRef: { name: "orders" }, profileName: "nightly" } },
        noun: "verification",
        names: MYSQL_BACKUP_VERIFICATION,
        summary: "profile nightly",
        create: () => Promise.reject(new Error("not under test")),
        get: async (namespace, name) => ({ ...spec.object, metadata: { name, namespace }, status: statuses[Math.min(reads++, statuses.length - 1)] }),
        phase: (v) => v.status?.phase,
        describe: describeVerification,
        failedHint: "see kubectl bloodraven runbook failed-backup",
      };
      const ended = followPhases(command, ctx, spec, timeoutMs);
      let code: number | undefined;
      void ended.then((c) => (code = c));
      while (code === undefined) await vi.advanceTimersByTimeAsync(1_000);
      return { code, stdout, stderr, reads };
    }

    it("prints a timestamped line per change and ends 0 when it Succeeded", async () => {
      const r = await follow([{ phase: "Pending", message: "waiting" }, { phase: "Pending", message: "waiting" }, { phase: "Running" }, { phase: "Succeeded", backupName: "b1", count: 7 }]);
      expect(r).toEqual({
        code: 0,
        stdout: "2026-12-04T10:00:07Z +0s Pending: waiting\n2026-12-04T10:00:11Z +4s Running\n2026-12-04T10:00:13Z +6s Succeeded: backup b1 restores, the sanity query counted 7\n",
        stderr: "",
        reads: 4,
      });
    });

    it("ends 1 when it Failed, pointing at the runbook, and 1 at --timeout, saying it goes on", async () => {
      const failed = await follow([{ phase: "Running" }, { phase: "Failed", message: "restore failed" }]);
      expect([failed.code, failed.stderr]).toEqual([1, "error: verification shop/v1 failed; see kubectl bloodraven runbook failed-backup\n"]);
      expect(failed.stdout).toContain("+2s Failed: restore failed\n");
      const late = await follow([{ phase: "Running" }], 5_000);
      expect([late.code, late.stderr]).toEqual([1, "error: verification shop/v1 has not ended within 5s (--timeout); it goes on: kubectl get mysqlbackupverification v1 -n shop\n"]);
      expect(late.reads).toBe(4);
    });
  });
});
