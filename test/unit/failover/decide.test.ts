import { describe, expect, it } from "vitest";
import {
  decide,
  type Action,
  type Decision,
  type DecisionInput,
  type DecisionPolicy,
  type DecisionSite,
  type DurableRecord,
} from "../../../shared/failover/decide.js";
import type { SiteRole, SiteState } from "../../../shared/names.js";

// Server UUIDs: the lineage of writes that each site originated.
const IAD = "11111111-1111-1111-1111-111111111111";
const PDX = "22222222-2222-2222-2222-222222222222";
const SFO = "33333333-3333-3333-3333-333333333333";

const NOW = "2025-06-01T12:00:00.000Z";
const minutesBefore = (m: number): string => new Date(Date.parse(NOW) - m * 60_000).toISOString();

interface SiteOpts {
  role?: SiteRole;
  /** Executed set (MySQL); null: position unknown. */
  gtid?: string | null;
  /** The replication source; a reachable read-only site defaults to iad (null: none). */
  from?: string | null;
  /** Overrides for odd cases: a poll that failed while the debounced state lags, etc. */
  polledOk?: boolean;
  readOnly?: boolean;
  /** The receiver thread; a replica (`from`) defaults to one that lost its source too. */
  receiver?: DecisionSite["receiver"] | null;
}

/** A site as one settled poll sees it: unreachable sites did not answer, others did. */
function site(name: string, state: SiteState, opts: SiteOpts = {}): DecisionSite {
  const polledOk = opts.polledOk ?? (state === "writable" || state === "read-only");
  const readOnly = opts.readOnly ?? (polledOk ? state !== "writable" : undefined);
  const gtid = opts.gtid === undefined ? `${IAD}:1-10` : opts.gtid;
  const from = opts.from === undefined ? (polledOk && readOnly === true && name !== "iad" ? "iad" : undefined) : (opts.from ?? undefined);
  const receiver = opts.receiver === undefined ? (from !== undefined && polledOk ? { link: "reconnecting" as const, heartbeatPeriodSeconds: 1 } : undefined) : (opts.receiver ?? undefined);
  return {
    name,
    role: opts.role ?? "primary-candidate",
    state,
    polledOk,
    ...(readOnly !== undefined ? { readOnly } : {}),
    ...(polledOk && gtid !== null ? { position: { flavor: "mysql" as const, gtidExecuted: gtid } } : {}),
    ...(from !== undefined ? { replicatingFrom: from } : {}),
    ...(receiver ? { receiver } : {}),
  };
}

const POLICY: DecisionPolicy = { failoverCooldownMs: 5 * 60_000, sitePriorities: [], automaticFailover: true };

function run(sites: DecisionSite[], record: Partial<DurableRecord> = {}, policy: Partial<DecisionPolicy> = {}, extra: Partial<DecisionInput> = {}): Decision {
  return decide({
    now: NOW,
    settled: true,
    sites,
    record: { recovery: {}, activeSite: "iad", ...record },
    policy: { ...POLICY, ...policy },
    ...extra,
  });
}

const promote = (site: string, oldPrimary: string): Partial<Action> => ({ kind: "promote", site, oldPrimary });
const kinds = (d: Decision): string[] => d.actions.map((a) => `${a.kind}:${"site" in a ? a.site : ""}`);

describe("healthy and debouncing", () => {
  it("healthy: one writable primary, a caught-up replica following it: nothing to do", () => {
    const d = run([site("iad", "writable"), site("pdx", "read-only", { from: "iad", gtid: `${IAD}:1-8` })]);
    expect(d).toEqual({ actions: [], primary: "iad" });
  });

  it("primary failing polls below failureThreshold (still writable when debounced): no action, no blocked report", () => {
    const d = run([site("iad", "writable", { polledOk: false }), site("pdx", "read-only", { from: "iad" })]);
    expect(d).toEqual({ actions: [] });
  });

  it("primary unreachable but answering writable again before its debounce: no failover", () => {
    const d = run([site("iad", "unreachable", { polledOk: true, readOnly: false }), site("pdx", "read-only", { from: "iad" })]);
    expect(d.actions).toEqual([]);
    expect(d.primary).toBe("iad");
  });

  it("a replica unreachable while the primary is writable (Degraded): no failover, no action", () => {
    const d = run([site("iad", "writable"), site("pdx", "unreachable"), site("r", "unreachable", { role: "read-only" })]);
    expect(d).toEqual({ actions: [], primary: "iad" });
  });

  it("total loss (every core site unreachable): nothing to promote", () => {
    const d = run([site("iad", "unreachable"), site("pdx", "unreachable"), site("dr", "unreachable", { role: "dr-only" })]);
    expect(d.actions).toEqual([]);
    expect(d.blocked?.reason).toBe("NoCandidate");
  });

  it("not settled: nothing at all, not even fencing a writable dr-only", () => {
    const d = run([site("iad", "unreachable"), site("pdx", "read-only"), site("dr", "writable", { role: "dr-only" })], {}, {}, { settled: false });
    expect(d.actions).toEqual([]);
    expect(d.blocked?.reason).toBe("NotSettled");
  });

  it("rejects an unreadable clock", () => {
    expect(() => run([site("iad", "writable")], {}, {}, { now: "yesterday" })).toThrow(RangeError);
  });
});

describe("emergency failover (upstream §5.2 rule 4, §5.3)", () => {
  it("primary unreachable: promotes the candidate that holds every reachable site's transactions", () => {
    const d = run([site("iad", "unreachable"), site("pdx", "read-only", { gtid: `${IAD}:1-8` }), site("sfo", "read-only", { gtid: `${IAD}:1-10` })]);
    expect(d.actions).toEqual([expect.objectContaining(promote("sfo", "iad"))]);
    expect(d.blocked).toBeUndefined();
    expect(d.primary).toBeUndefined();
  });

  it("equal candidates: sitePriorities first", () => {
    const sites = [site("iad", "unreachable"), site("pdx", "read-only"), site("sfo", "read-only")];
    expect(run(sites, {}, { sitePriorities: ["sfo", "pdx"] }).actions).toEqual([expect.objectContaining(promote("sfo", "iad"))]);
  });

  it("equal candidates, no priorities: declaration order", () => {
    const sites = [site("iad", "unreachable"), site("pdx", "read-only"), site("sfo", "read-only")];
    expect(run(sites).actions).toEqual([expect.objectContaining(promote("pdx", "iad"))]);
  });

  it("listed candidates come before unlisted ones, which keep declaration order", () => {
    const sites = [site("iad", "unreachable"), site("pdx", "read-only"), site("sfo", "read-only"), site("lax", "read-only")];
    expect(run(sites, {}, { sitePriorities: ["lax"] }).actions).toEqual([expect.objectContaining(promote("lax", "iad"))]);
  });

  it("a lagging candidate loses to a caught-up one, whatever the priorities", () => {
    const sites = [site("iad", "unreachable"), site("pdx", "read-only", { gtid: `${IAD}:1-10` }), site("sfo", "read-only", { gtid: `${IAD}:1-7` })];
    expect(run(sites, {}, { sitePriorities: ["sfo", "pdx"] }).actions).toEqual([expect.objectContaining(promote("pdx", "iad"))]);
  });

  it("all candidates diverged: blocked, nothing promoted", () => {
    const sites = [
      site("iad", "unreachable"),
      site("pdx", "read-only", { gtid: `${IAD}:1-10,${PDX}:1` }),
      site("sfo", "read-only", { gtid: `${IAD}:1-10,${SFO}:1-2` }),
    ];
    const d = run(sites);
    expect(d.actions).toEqual([]);
    expect(d.blocked?.reason).toBe("CandidatesDiverged");
    expect(d.blocked?.message).toContain("pdx lacks transactions of sfo");
  });

  it("a dr-only site or a reader ahead of every candidate: the candidate catches up from it before it is promoted", () => {
    const dr = run([site("iad", "unreachable"), site("pdx", "read-only", { gtid: `${IAD}:1-8` }), site("dr", "read-only", { role: "dr-only", gtid: `${IAD}:1-10` })]);
    expect(dr.actions).toEqual([expect.objectContaining({ kind: "promote", site: "pdx", oldPrimary: "iad", catchUpFrom: "dr" })]);
    const reader = run([site("iad", "unreachable"), site("pdx", "read-only", { gtid: `${IAD}:1-8` }), site("r", "read-only", { role: "read-only", gtid: `${IAD}:1-10` })]);
    expect(reader.actions).toEqual([expect.objectContaining({ kind: "promote", site: "pdx", catchUpFrom: "r" })]);
    // A reader already reported for errant transactions is not waited for.
    const errant = run([site("iad", "unreachable"), site("pdx", "read-only", { gtid: `${IAD}:1-8` }), site("r", "read-only", { role: "read-only", gtid: `${IAD}:1-8,${SFO}:1` })], {
      recovery: { r: { state: "ErrantTransactions", divergentGtid: `${SFO}:1`, divergentTransactionCount: 1 } },
    });
    expect(errant.actions).toEqual([expect.objectContaining({ kind: "promote", site: "pdx" })]);
    expect((errant.actions[0] as { catchUpFrom?: string }).catchUpFrom).toBeUndefined();
  });

  it("no site holds everything (two diverged histories): blocked", () => {
    const d = run([
      site("iad", "unreachable"),
      site("pdx", "read-only", { gtid: `${IAD}:1-8,${PDX}:1` }),
      site("dr", "read-only", { role: "dr-only", gtid: `${IAD}:1-10` }),
    ]);
    expect(d.actions).toEqual([]);
    expect(d.blocked?.reason).toBe("CandidatesDiverged");
  });

  it("dr-only is never promoted, even when it is the only reachable site", () => {
    const d = run([site("iad", "unreachable"), site("pdx", "unreachable"), site("dr", "read-only", { role: "dr-only" })]);
    expect(d.actions).toEqual([]);
    expect(d.blocked?.reason).toBe("NoCandidate");
  });

  it("a reader (role read-only) is never promoted and never counted, even far ahead", () => {
    const d = run([site("iad", "unreachable"), site("pdx", "read-only", { gtid: `${IAD}:1-5` }), site("r", "read-only", { role: "read-only", gtid: `${IAD}:1-99,${SFO}:1` })]);
    expect(d.actions).toEqual([expect.objectContaining(promote("pdx", "iad"))]);
    const alone = run([site("iad", "unreachable"), site("pdx", "unreachable"), site("r", "read-only", { role: "read-only" })]);
    expect(alone.actions).toEqual([]);
    expect(alone.blocked?.reason).toBe("NoCandidate");
  });

  it("an unreachable candidate is not a candidate, and its transactions cannot be counted", () => {
    const d = run([site("iad", "unreachable"), site("pdx", "unreachable"), site("sfo", "read-only", { gtid: `${IAD}:1-3` })]);
    expect(d.actions).toEqual([expect.objectContaining(promote("sfo", "iad"))]);
    expect((d.actions[0] as { reason: string }).reason).toContain("only reachable core site");
  });

  it("a known-divergent site (RecoveryBlocked) is not a candidate", () => {
    const d = run([site("iad", "unreachable"), site("pdx", "read-only", { gtid: `${IAD}:1-10,${PDX}:1-2` })], {
      recovery: { pdx: { state: "RecoveryBlocked", divergentGtid: `${PDX}:1-2`, divergentTransactionCount: 2 } },
    });
    expect(d.actions).toEqual([]);
    expect(d.blocked?.reason).toBe("NoCandidate");
  });

  it("a site being cloned is not a candidate and holds nothing that counts", () => {
    const d = run([site("iad", "unreachable"), site("pdx", "read-only", { gtid: `${IAD}:1-12` }), site("sfo", "read-only", { gtid: `${IAD}:1-10` })], { cloning: "pdx" });
    expect(d.actions).toEqual([expect.objectContaining(promote("sfo", "iad"))]);
    expect(run([site("iad", "unreachable"), site("pdx", "read-only")], { cloning: "pdx" }).blocked?.reason).toBe("NoCandidate");
  });

  it("no primary ever seen (fresh operator, empty record): never elect from nothing", () => {
    const d = run([site("iad", "read-only"), site("pdx", "read-only")], { activeSite: undefined });
    expect(d.actions).toEqual([]);
    expect(d.blocked).toMatchObject({ reason: "NoCandidate", message: expect.stringContaining("never elects") });
  });

  it("a recorded primary that is not a primary-candidate of the group counts as none", () => {
    const d = run([site("iad", "unreachable"), site("pdx", "read-only")], { activeSite: "gone" });
    expect(d.actions).toEqual([]);
    expect(d.blocked?.reason).toBe("NoCandidate");
  });

  it("the recorded primary is reachable and read-only: no automatic election", () => {
    const d = run([site("iad", "read-only"), site("pdx", "read-only")]);
    expect(d.actions).toEqual([]);
    expect(d.blocked?.reason).toBe("NoCandidate");
  });

  it("position unknown on another reachable core site: cannot prove containment", () => {
    const d = run([site("iad", "unreachable"), site("pdx", "read-only"), site("dr", "read-only", { role: "dr-only", gtid: null })]);
    expect(d.actions).toEqual([]);
    expect(d.blocked?.reason).toBe("PositionUnknown");
    const bad = run([site("iad", "unreachable"), site("pdx", "read-only"), site("dr", "read-only", { role: "dr-only", gtid: "garbage" })]);
    expect(bad.blocked?.reason).toBe("PositionUnknown");
    const mixed = run([site("iad", "unreachable"), site("pdx", "read-only"), { ...site("dr", "read-only", { role: "dr-only" }), position: { flavor: "mariadb", gtidExecuted: "0-1-5" } }]);
    expect(mixed.blocked?.reason).toBe("PositionUnknown");
  });

  it("a candidate without a position is skipped", () => {
    const d = run([site("iad", "unreachable"), site("pdx", "read-only", { gtid: null }), site("sfo", "read-only")]);
    expect(d.blocked?.reason).toBe("PositionUnknown");
    const solo = run([site("iad", "unreachable"), site("pdx", "read-only", { gtid: null })]);
    expect(solo.blocked?.reason).toBe("NoCandidate");
  });

  it("works the same for MariaDB positions", () => {
    const maria = (name: string, state: SiteState, pos: string, bls: string): DecisionSite => ({
      ...site(name, state),
      ...(state === "read-only" ? { position: { flavor: "mariadb" as const, gtidExecuted: pos, gtidBinlogState: bls } } : {}),
    });
    const d = run([maria("iad", "unreachable", "", ""), maria("pdx", "read-only", "0-1-10", "0-1-10"), maria("sfo", "read-only", "0-1-12", "0-1-12")]);
    expect(d.actions).toEqual([expect.objectContaining(promote("sfo", "iad"))]);
  });
});

describe("witness evidence before an emergency promotion", () => {
  const lost = { polledOk: false };
  const primaryLost = (): DecisionSite => ({ ...site("iad", "unreachable", lost), failingSince: minutesBefore(0.1) });
  const receiving = { link: "connected" as const, heartbeatPeriodSeconds: 1, receivedAfter: minutesBefore(0.05) };

  it("operator cut from the primary while a replica still receives from it: no failover, and the message says so", () => {
    const d = run([primaryLost(), site("pdx", "read-only", { receiver: { link: "reconnecting", heartbeatPeriodSeconds: 1 } }), site("r", "read-only", { role: "read-only", receiver: receiving })]);
    expect(d.actions).toEqual([]);
    expect(d.blocked?.reason).toBe("PrimaryReachableByReplicas");
    expect(d.blocked?.message).toMatch(/operator cannot reach the primary iad; replicas can \(r still receive/);
  });

  it("a replica connected but silent for less than two heartbeat periods: wait", () => {
    const d = run([primaryLost(), site("pdx", "read-only", { receiver: { link: "connected", heartbeatPeriodSeconds: 10 } })]);
    expect(d.actions).toEqual([]);
    expect(d.blocked?.reason).toBe("WitnessPending");
  });

  it("silent for longer than two heartbeat periods (a hung primary): promote", () => {
    const d = run([primaryLost(), site("pdx", "read-only", { receiver: { link: "connected", heartbeatPeriodSeconds: 1, receivedAfter: minutesBefore(1) } })]);
    expect(d.actions).toEqual([expect.objectContaining(promote("pdx", "iad"))]);
  });

  it("no reachable site replicates from the primary: nothing confirms it is gone", () => {
    const d = run([primaryLost(), site("pdx", "read-only", { from: null })]);
    expect(d.actions).toEqual([]);
    expect(d.blocked?.reason).toBe("NoWitness");
  });

  it("receivers of another source, or stopped by hand, are not witnesses", () => {
    const d = run([primaryLost(), site("pdx", "read-only", { from: "sfo", receiver: receiving }), site("sfo", "read-only", { receiver: { link: "stopped", heartbeatPeriodSeconds: 1 } })]);
    expect(d.blocked?.reason).toBe("NoWitness");
  });
});

describe("a recorded primary that came back read-only after it was lost (R4b)", () => {
  const lost = { lostSinceWritable: true };
  const back = (over: Partial<Record<string, string>> = {}): DecisionSite[] => [
    { ...site("iad", "read-only", { gtid: over.iad ?? `${IAD}:1-10`, from: null }), ...lost },
    site("pdx", "read-only", { gtid: over.pdx ?? `${IAD}:1-10`, from: null }),
    site("r", "read-only", { role: "read-only", gtid: over.r ?? `${IAD}:1-9`, from: null }),
  ];

  it("every site back read-only and the recorded primary holds everything: it is re-asserted (through a promotion)", () => {
    const d = run(back());
    expect(d.actions).toEqual([expect.objectContaining({ kind: "promote", site: "iad" })]);
    expect((d.actions[0] as { oldPrimary?: string }).oldPrimary).toBeUndefined();
  });

  it("never when it was not lost: a primary demoted by hand while reachable stays demoted", () => {
    const demoted = back().map((s) => (s.name === "iad" ? { ...s, lostSinceWritable: false } : s));
    expect(run(demoted).blocked?.reason).toBe("NoCandidate");
  });

  it("not while a site is missing, a peer holds more, the promotion position is not held, an intent is open; cooldown and maintenance hold", () => {
    const missing = [back()[0]!, site("pdx", "unreachable"), back()[2]!];
    expect(run(missing).blocked).toMatchObject({ reason: "PrimaryReturnedFenced", message: expect.stringContaining("pdx is not answering read-only yet") });
    expect(run(back({ pdx: `${IAD}:1-11` })).blocked).toMatchObject({ reason: "PrimaryReturnedFenced", message: expect.stringContaining("does not provably hold every transaction of pdx") });
    expect(run(back(), { lastFailoverTarget: "iad", lastFailover: minutesBefore(60), promotionGtidExecuted: `${IAD}:1-12` }).blocked?.reason).toBe("PrimaryReturnedFenced");
    expect(run(back(), { intent: { target: "pdx", at: minutesBefore(1) } }).blocked?.reason).toBe("PrimaryReturnedFenced");
    expect(run(back(), { lastFailover: minutesBefore(1), lastFailoverTarget: "iad" }).blocked?.reason).toBe("Cooldown");
    expect(run(back(), {}, { automaticFailover: false }).blocked?.reason).toBe("AutomaticFailoverOff");
  });
});

describe("an open promotion intent", () => {
  it("blocks another promotion while its target has not answered, and its target is never fenced as an intruder", () => {
    const intent = { target: "pdx", at: minutesBefore(0.5) };
    const d = run([site("iad", "unreachable"), site("pdx", "unreachable"), site("sfo", "read-only")], { intent });
    expect(d.actions).toEqual([]);
    expect(d.blocked?.reason).toBe("FailoverInProgress");
    // The intent's target answers writable (its record not written yet): it is the primary, not a returning old one.
    const back = run([site("iad", "unreachable"), site("pdx", "writable", { gtid: `${IAD}:1-10` }), site("sfo", "read-only", { from: "pdx" })], { intent, lastFailoverTarget: "iad", lastFailover: minutesBefore(60) });
    expect(back.actions.filter((a) => a.kind === "fence")).toEqual([]);
    expect(back.primary).toBe("pdx");
  });
});

describe("a candidate with a broken applier", () => {
  it("comes after a healthy candidate that holds as much, whatever the priorities", () => {
    const sites = [site("iad", "unreachable"), { ...site("pdx", "read-only"), applierError: true }, site("sfo", "read-only")];
    expect(run(sites, {}, { sitePriorities: ["pdx", "sfo"] }).actions).toEqual([expect.objectContaining(promote("sfo", "iad"))]);
  });

  it("is still chosen when it is the only one that holds everything (the executor then refuses unless the loss is allowed)", () => {
    const sites = [site("iad", "unreachable"), { ...site("pdx", "read-only", { gtid: `${IAD}:1-12` }), applierError: true }, site("sfo", "read-only")];
    expect(run(sites).actions).toEqual([expect.objectContaining(promote("pdx", "iad"))]);
  });
});

describe("cooldown and automatic failover off", () => {
  const down = [site("iad", "unreachable"), site("pdx", "read-only")];

  it("inside the cooldown: blocked with retryAt", () => {
    const d = run(down, { lastFailover: minutesBefore(2), lastFailoverTarget: "iad" });
    expect(d.actions).toEqual([]);
    expect(d.blocked).toMatchObject({ reason: "Cooldown", retryAt: new Date(Date.parse(NOW) + 3 * 60_000).toISOString() });
  });

  it("the cooldown ends exactly at lastFailover + cooldown", () => {
    expect(run(down, { lastFailover: minutesBefore(5), lastFailoverTarget: "iad" }).actions).toEqual([expect.objectContaining(promote("pdx", "iad"))]);
  });

  it("survives an operator restart: the persisted record from the previous failover still blocks", () => {
    // pdx was promoted 1 minute ago by the previous operator process; now pdx died too.
    const sites = [site("iad", "read-only", { gtid: `${IAD}:1-10`, from: "pdx" }), site("pdx", "unreachable")];
    const record = { lastFailover: minutesBefore(1), lastFailoverTarget: "pdx", activeSite: "pdx" };
    const d = run(sites, record);
    expect(d.actions).toEqual([]);
    expect(d.blocked?.reason).toBe("Cooldown");
    const later = run(sites, record, {}, { now: new Date(Date.parse(NOW) + 4 * 60_000).toISOString() });
    expect(later.actions).toEqual([expect.objectContaining(promote("iad", "pdx"))]);
  });

  it("an unreadable lastFailover is treated as an active cooldown with no retry time", () => {
    const d = run(down, { lastFailover: "not a time" });
    expect(d.blocked?.reason).toBe("Cooldown");
    expect(d.blocked?.retryAt).toBeUndefined();
  });

  it("automatic failover off: no promotion", () => {
    const d = run(down, {}, { automaticFailover: false });
    expect(d.actions).toEqual([]);
    expect(d.blocked?.reason).toBe("AutomaticFailoverOff");
  });

  it("automatic failover off: a writable non-promotable site is still fenced", () => {
    const d = run([...down, site("dr", "writable", { role: "dr-only" })], {}, { automaticFailover: false });
    expect(d.actions).toEqual([{ kind: "fence", site: "dr", reason: "NonPromotableWritable" }]);
    const healthy = run([site("iad", "writable"), site("r", "writable", { role: "read-only" })], {}, { automaticFailover: false });
    expect(healthy.actions).toEqual([{ kind: "fence", site: "r", reason: "NonPromotableWritable" }]);
  });
});

describe("writable non-promotable sites (upstream §5.2 rule 1)", () => {
  it("a writable dr-only or reader beside a healthy primary is fenced; the primary stays", () => {
    const d = run([site("iad", "writable"), site("dr", "writable", { role: "dr-only" }), site("r", "writable", { role: "read-only" })]);
    expect(d.actions).toEqual([
      { kind: "fence", site: "dr", reason: "NonPromotableWritable" },
      { kind: "fence", site: "r", reason: "NonPromotableWritable" },
    ]);
    expect(d.primary).toBe("iad");
  });

  it("with the primary down: fence first, promote only once the fence is confirmed", () => {
    const d = run([site("iad", "unreachable"), site("pdx", "read-only"), site("dr", "writable", { role: "dr-only" })]);
    expect(d.actions).toEqual([{ kind: "fence", site: "dr", reason: "NonPromotableWritable" }]);
    expect(d.blocked?.reason).toBe("OtherWritable");
  });

  it("a non-promotable site whose debounced state is writable but whose poll failed blocks promotion", () => {
    const d = run([site("iad", "unreachable"), site("pdx", "read-only"), site("dr", "writable", { role: "dr-only", polledOk: false })]);
    expect(d.actions).toEqual([]);
    expect(d.blocked?.reason).toBe("OtherWritable");
  });
});

describe("split brain (upstream §5.7 policy tier)", () => {
  const both = (iadGtid: string, pdxGtid: string) => [site("iad", "writable", { gtid: iadGtid }), site("pdx", "writable", { gtid: pdxGtid })];

  it("without sitePriorities: alert only, no action", () => {
    const d = run(both(`${IAD}:1-10`, `${IAD}:1-8`));
    expect(d.actions).toEqual([]);
    expect(d.blocked).toMatchObject({ reason: "OtherWritable", message: expect.stringContaining("alert-only") });
    expect(d.primary).toBeUndefined();
  });

  it("with sitePriorities: the preferred site stays, the other is fenced", () => {
    const d = run(both(`${IAD}:1-8`, `${IAD}:1-10`), {}, { sitePriorities: ["pdx", "iad"] });
    expect(d.actions).toEqual([{ kind: "fence", site: "iad", reason: "SplitBrainLoser" }]);
    expect(d.primary).toBe("pdx");
    expect(d.blocked).toBeUndefined();
  });

  it("a loser holding transactions the preferred site lacks is not fenced: alert only", () => {
    const d = run(both(`${IAD}:1-10,${IAD}:12`, `${IAD}:1-10,${PDX}:1`), {}, { sitePriorities: ["pdx"] });
    expect(d.actions).toEqual([]);
    expect(d.blocked?.message).toContain("preferred site pdx does not provably hold every transaction of iad");
  });

  it("none of the writable sites is listed: alert only", () => {
    const d = run([...both(`${IAD}:1-10`, `${IAD}:1-10`), site("sfo", "read-only")], {}, { sitePriorities: ["sfo"] });
    expect(d.actions).toEqual([]);
    expect(d.blocked?.reason).toBe("OtherWritable");
  });

  it("three writable: every loser is fenced when the winner holds all of them", () => {
    const d = run([site("iad", "writable"), site("pdx", "writable"), site("sfo", "writable", { gtid: `${IAD}:1-12` })], {}, { sitePriorities: ["sfo"] });
    expect(kinds(d)).toEqual(["fence:iad", "fence:pdx"]);
  });
});

describe("returning old primary and recovery (upstream §5.7 history tier, §5.8)", () => {
  // iad was the primary; pdx was promoted 10 minutes ago (past the cooldown).
  const history = { lastFailover: minutesBefore(10), lastFailoverTarget: "pdx", activeSite: "pdx" };

  it("the old primary comes back writable: fenced before anything else", () => {
    const d = run([site("iad", "writable", { gtid: `${IAD}:1-12` }), site("pdx", "writable", { gtid: `${IAD}:1-10,${PDX}:1-5` })], history);
    expect(d.actions).toEqual([{ kind: "fence", site: "iad", reason: "ReturningOldPrimary" }]);
    expect(d.primary).toBe("pdx");
  });

  it("fenced even when the new primary is down, and no promotion until it is read-only", () => {
    const d = run([site("iad", "writable"), site("pdx", "unreachable")], history);
    expect(d.actions).toEqual([{ kind: "fence", site: "iad", reason: "ReturningOldPrimary" }]);
    expect(d.blocked?.reason).toBe("OtherWritable");
  });

  it("fenced on its first writable answer, before the writable debounce completes", () => {
    const d = run([site("iad", "unreachable", { polledOk: true, readOnly: false }), site("pdx", "writable")], history);
    expect(d.actions).toEqual([{ kind: "fence", site: "iad", reason: "ReturningOldPrimary" }]);
  });

  it("read-only and held by the primary: repointed as a former primary", () => {
    const d = run([site("iad", "read-only", { gtid: `${IAD}:1-10` }), site("pdx", "writable", { gtid: `${IAD}:1-10,${PDX}:1-5` })], history);
    expect(d.actions).toEqual([{ kind: "repoint", site: "iad", source: "pdx", formerPrimary: true }]);
  });

  it("a site being cloned is left alone: not repointed, its divergence not recorded", () => {
    const sites = [site("iad", "read-only", { gtid: "" }), site("pdx", "writable", { gtid: `${IAD}:1-10,${PDX}:1-5` })];
    expect(run(sites, { ...history, cloning: "iad" }).actions).toEqual([]);
    const divergent = [site("iad", "read-only", { gtid: `${IAD}:1-12` }), site("pdx", "writable", { gtid: `${IAD}:1-10,${PDX}:1-5` })];
    expect(run(divergent, { ...history, cloning: "iad" }).actions).toEqual([]);
  });

  it("an empty site waiting for its clone while another runs is not repointed; without the wait it is", () => {
    const sites = [site("iad", "read-only", { gtid: "" }), site("sfo", "read-only", { gtid: "" }), site("pdx", "writable", { gtid: `${IAD}:1-10,${PDX}:1-5` })];
    expect(run(sites, { ...history, cloning: "iad" }, {}, { awaitingClone: ["sfo"] }).actions).toEqual([]);
    expect(run(sites, { ...history, cloning: "iad" }).actions).toEqual([{ kind: "repoint", site: "sfo", source: "pdx", formerPrimary: false }]);
  });

  it("divergent: records the exact missing set and count, never repoints", () => {
    const d = run([site("iad", "read-only", { gtid: `${IAD}:1-13` }), site("pdx", "writable", { gtid: `${IAD}:1-10,${PDX}:1-5` })], history);
    expect(d.actions).toEqual([{ kind: "recordDivergence", site: "iad", divergentGtid: `${IAD}:11-13`, count: 3 }]);
  });

  it("divergence already recorded identically: nothing new; further divergence: recorded again", () => {
    const recorded = { ...history, recovery: { iad: { state: "RecoveryBlocked" as const, divergentGtid: `${IAD}:11-13`, divergentTransactionCount: 3 } } };
    const pdx = site("pdx", "writable", { gtid: `${IAD}:1-10,${PDX}:1-5` });
    expect(run([site("iad", "read-only", { gtid: `${IAD}:1-13` }), pdx], recorded).actions).toEqual([]);
    expect(run([site("iad", "read-only", { gtid: `${IAD}:1-14` }), pdx], recorded).actions).toEqual([
      { kind: "recordDivergence", site: "iad", divergentGtid: `${IAD}:11-14`, count: 4 },
    ]);
  });

  it("someone replays the missing transactions on the primary: the site is repointed", () => {
    const recorded = { ...history, recovery: { iad: { state: "RecoveryBlocked" as const, divergentGtid: `${IAD}:11-13`, divergentTransactionCount: 3 } } };
    const d = run([site("iad", "read-only", { gtid: `${IAD}:1-13` }), site("pdx", "writable", { gtid: `${IAD}:1-13,${PDX}:1-5` })], recorded);
    expect(d.actions).toEqual([{ kind: "repoint", site: "iad", source: "pdx", formerPrimary: true }]);
  });

  it("replicating from the primary again: the recovery record is cleared", () => {
    const recorded = { ...history, recovery: { iad: { state: "RecoveryInProgress" as const } } };
    const d = run([site("iad", "read-only", { from: "pdx", gtid: `${IAD}:1-10,${PDX}:1-3` }), site("pdx", "writable", { gtid: `${IAD}:1-10,${PDX}:1-5` })], recorded);
    expect(d.actions).toEqual([{ kind: "clearRecovery", site: "iad" }]);
  });

  it("replicating from the primary without a record: nothing (healthy follower)", () => {
    const d = run([site("iad", "read-only", { from: "pdx" }), site("pdx", "writable", { gtid: `${IAD}:1-12` })], history);
    expect(d.actions).toEqual([]);
  });

  it("a managed replica of the primary whose server restarted (replication stopped cleanly) is repointed, which starts it", () => {
    const restarted = { ...site("iad", "read-only", { from: "pdx", gtid: `${IAD}:1-10` }), replicationStopped: true };
    expect(run([restarted, site("pdx", "writable", { gtid: `${IAD}:1-12` })], history).actions).toEqual([{ kind: "repoint", site: "iad", source: "pdx", formerPrimary: false }]);
    // Holding transactions the primary lacks: never restarted onto it.
    const ahead = { ...site("iad", "read-only", { from: "pdx", gtid: `${IAD}:1-13` }), replicationStopped: true };
    expect(run([ahead, site("pdx", "writable", { gtid: `${IAD}:1-12` })], history).actions.filter((a) => a.kind === "repoint")).toEqual([]);
  });

  it("a replica replicating from the primary but not held is left alone (no false errant report)", () => {
    const d = run([site("iad", "read-only", { from: "pdx", gtid: `${IAD}:1-13` }), site("pdx", "writable", { gtid: `${IAD}:1-12` })], history);
    expect(d.actions).toEqual([]);
  });

  it("other followers after a failover (still pointing at the old primary) are repointed, not as former primaries", () => {
    const d = run(
      [site("iad", "unreachable"), site("pdx", "writable", { gtid: `${IAD}:1-10,${PDX}:1` }), site("sfo", "read-only", { from: "iad", gtid: `${IAD}:1-9` }), site("r", "read-only", { role: "read-only", from: "iad", gtid: `${IAD}:1-8` })],
      history,
    );
    expect(d.actions).toEqual([
      { kind: "repoint", site: "sfo", source: "pdx", formerPrimary: false },
      { kind: "repoint", site: "r", source: "pdx", formerPrimary: false },
    ]);
  });

  it("a follower holding transactions the primary lacks is recorded divergent, not repointed", () => {
    const d = run([site("pdx", "writable", { gtid: `${IAD}:1-10` }), site("sfo", "read-only", { from: "iad", gtid: `${IAD}:1-10,${SFO}:1` })], history);
    expect(d.actions).toEqual([{ kind: "recordDivergence", site: "sfo", divergentGtid: `${SFO}:1`, count: 1 }]);
  });

  it("a chained replica is repointed onto the primary directly", () => {
    const d = run([site("pdx", "writable", { gtid: `${IAD}:1-10` }), site("sfo", "read-only", { from: "pdx" }), site("lax", "read-only", { from: "sfo" })], history);
    expect(d.actions).toEqual([{ kind: "repoint", site: "lax", source: "pdx", formerPrimary: false }]);
  });

  it("no repoints while a fence is pending or the primary is not yet confirmed writable", () => {
    const pending = run([site("pdx", "writable"), site("iad", "read-only", { gtid: `${IAD}:1-9` }), site("dr", "writable", { role: "dr-only" })], history);
    expect(kinds(pending)).toEqual(["fence:dr"]);
    const debouncing = run([site("pdx", "read-only", { readOnly: false }), site("iad", "read-only", { gtid: `${IAD}:1-9` })], history);
    expect(debouncing.actions).toEqual([]);
    expect(debouncing.primary).toBe("pdx");
  });

  it("MariaDB divergence: the foreign GTIDs, count unknown", () => {
    const maria = (name: string, state: SiteState, pos: string, bls: string): DecisionSite => ({
      ...site(name, state),
      position: { flavor: "mariadb", gtidExecuted: pos, gtidBinlogState: bls },
    });
    const d = run([maria("iad", "read-only", "0-1-12", "0-1-12"), maria("pdx", "writable", "0-2-30", "0-1-10,0-2-30")], history);
    expect(d.actions).toEqual([{ kind: "recordDivergence", site: "iad", divergentGtid: "0-1-12", count: undefined }]);
  });

  it("stale recovery records: of the primary itself and of sites no longer in the group", () => {
    const recorded = { ...history, recovery: { pdx: { state: "RecoveryInProgress" as const }, gone: { state: "RecoveryBlocked" as const } } };
    const d = run([site("pdx", "writable"), site("iad", "read-only", { from: "pdx" })], recorded);
    expect(d.actions).toEqual([
      { kind: "clearRecovery", site: "gone" },
      { kind: "clearRecovery", site: "pdx" },
    ]);
  });
});

describe("errant transactions on a site that still replicates from the primary", () => {
  const sites = (): DecisionSite[] => [
    site("iad", "writable", { gtid: `${IAD}:1-10` }),
    site("pdx", "read-only", { gtid: `${IAD}:1-10` }),
    site("r", "read-only", { role: "read-only", gtid: `${IAD}:1-10,${SFO}:1-3` }),
  ];

  it("is reported once two cycles in a row show the same set, with the exact count, and the site stays a replica", () => {
    const first = run(sites());
    expect(first.actions).toEqual([]);
    expect(first.ahead).toEqual({ r: `${SFO}:1-3` });
    const second = run(sites(), {}, {}, { aheadLastCycle: first.ahead });
    expect(second.actions).toEqual([{ kind: "recordDivergence", site: "r", divergentGtid: `${SFO}:1-3`, count: 3, errant: true }]);
    // Already recorded as it is: nothing more.
    const recorded = { recovery: { r: { state: "ErrantTransactions" as const, divergentGtid: `${SFO}:1-3`, divergentTransactionCount: 3 } } };
    expect(run(sites(), recorded, {}, { aheadLastCycle: second.ahead }).actions).toEqual([]);
  });

  it("a replica merely read after the primary (ahead by a different set each cycle) is never reported", () => {
    const a = run([site("iad", "writable", { gtid: `${IAD}:1-10` }), site("pdx", "read-only", { gtid: `${IAD}:1-11` })]);
    const b = run([site("iad", "writable", { gtid: `${IAD}:1-11` }), site("pdx", "read-only", { gtid: `${IAD}:1-12` })], {}, {}, { aheadLastCycle: a.ahead });
    expect(a.ahead).toEqual({ pdx: `${IAD}:11` });
    expect(b.actions).toEqual([]);
  });

  it("cleared once the primary holds them (replayed there)", () => {
    const recorded = { recovery: { r: { state: "ErrantTransactions" as const, divergentGtid: `${SFO}:1-3`, divergentTransactionCount: 3 } } };
    const held = [site("iad", "writable", { gtid: `${IAD}:1-10,${SFO}:1-3` }), site("r", "read-only", { role: "read-only", gtid: `${IAD}:1-10,${SFO}:1-3` })];
    expect(run(held, recorded).actions).toEqual([{ kind: "clearRecovery", site: "r" }]);
  });
});

describe("writable sites the record does not name", () => {
  it("a manual promotion that holds everything the demoted primary had is adopted, even with history", () => {
    const d = run([site("iad", "read-only", { gtid: `${IAD}:1-10` }), site("pdx", "writable", { gtid: `${IAD}:1-10,${PDX}:1` })], {
      lastFailover: minutesBefore(60),
      lastFailoverTarget: "iad",
      activeSite: "iad",
    });
    expect(d.actions).toEqual([{ kind: "repoint", site: "iad", source: "pdx", formerPrimary: true }]);
    expect(d.primary).toBe("pdx");
  });

  it("with history, a writable site lacking the recorded primary's transactions is fenced", () => {
    const d = run([site("iad", "read-only", { gtid: `${IAD}:1-10` }), site("pdx", "writable", { gtid: `${IAD}:1-8,${PDX}:1` })], {
      lastFailover: minutesBefore(60),
      lastFailoverTarget: "iad",
      activeSite: "iad",
    });
    expect(d.actions).toEqual([{ kind: "fence", site: "pdx", reason: "ReturningOldPrimary" }]);
  });

  it("without history, the only writable candidate is the primary", () => {
    const d = run([site("iad", "unreachable"), site("pdx", "writable", { gtid: `${IAD}:1-8` })]);
    expect(d.actions).toEqual([]);
    expect(d.primary).toBe("pdx");
  });

  it("the single writable site is not adopted while another candidate may still be writable", () => {
    const d = run([site("iad", "writable", { polledOk: false }), site("pdx", "writable")], { activeSite: "iad" });
    expect(d).toEqual({ actions: [] });
  });
});

describe("action order and uniqueness", () => {
  it("fences come first and a site is fenced once", () => {
    const d = run(
      [site("iad", "writable"), site("pdx", "writable"), site("sfo", "writable"), site("dr", "writable", { role: "dr-only" })],
      { lastFailover: minutesBefore(60), lastFailoverTarget: "iad", activeSite: "iad" },
      { sitePriorities: ["pdx"] },
    );
    expect(d.actions).toEqual([
      { kind: "fence", site: "dr", reason: "NonPromotableWritable" },
      { kind: "fence", site: "pdx", reason: "ReturningOldPrimary" },
      { kind: "fence", site: "sfo", reason: "ReturningOldPrimary" },
    ]);
    expect(d.primary).toBe("iad");
  });
});

describe("maintenance pauses automatic split-brain resolution", () => {
  it("alerts instead of fencing the lower-priority site", () => {
    const pos = (n: number) => ({ flavor: "mariadb" as const, gtidExecuted: `0-1-${n}` });
    const sites = [
      { name: "iad", role: "primary-candidate" as const, state: "writable" as const, polledOk: true, readOnly: false, position: pos(5) },
      { name: "pdx", role: "primary-candidate" as const, state: "writable" as const, polledOk: true, readOnly: false, position: pos(5) },
    ];
    const input = { now: "2026-01-01T00:00:00Z", settled: true, sites, record: { recovery: {}, activeSite: "iad" }, policy: { failoverCooldownMs: 0, sitePriorities: ["iad", "pdx"], automaticFailover: true } };
    expect(decide(input).actions).toEqual([{ kind: "fence", site: "pdx", reason: "SplitBrainLoser" }]);
    const paused = decide({ ...input, policy: { ...input.policy, automaticFailover: false } });
    expect(paused.actions).toEqual([]);
    expect(paused.blocked?.reason).toBe("AutomaticFailoverOff");
  });
});

describe("waiting for an unreachable primary's agent to fence itself", () => {
  const sites = (): DecisionSite[] => [site("iad", "unreachable"), site("pdx", "read-only"), site("sfo", "read-only")];
  const later = new Date(Date.parse(NOW) + 4_000).toISOString();

  it("blocks the promotion until the lease has surely run out, with the moment in retryAt", () => {
    const d = run(sites(), {}, {}, { selfFence: { iad: { safeAt: later, basis: "the operator stood behind iad last" } } });
    expect(d.actions).toEqual([]);
    expect(d.blocked).toEqual({
      reason: "AwaitingSelfFence",
      message: "primary iad is unreachable; waiting until its agent has surely fenced it: the operator stood behind iad last, and its lease runs out leaseTimeout after that",
      retryAt: later,
    });
  });

  it("promotes once that moment has passed", () => {
    const d = run(sites(), {}, {}, { selfFence: { iad: { safeAt: NOW, basis: "x" } } });
    expect(d.actions).toEqual([expect.objectContaining(promote("pdx", "iad"))]);
  });

  it("never promotes while too few agents answered to know", () => {
    const d = run(sites(), {}, {}, { selfFence: { iad: { unproven: "only 0 of the 2 other sites' agents answered" } } });
    expect(d.actions).toEqual([]);
    expect(d.blocked?.reason).toBe("SelfFenceUnproven");
    expect(d.blocked?.message).toMatch(/^primary iad is unreachable, but it runs an agent and only 0 of the 2/);
  });

  it("does not apply to another site's evidence", () => {
    expect(run(sites(), {}, {}, { selfFence: { pdx: { unproven: "x" } } }).actions).toEqual([expect.objectContaining(promote("pdx", "iad"))]);
  });
});
