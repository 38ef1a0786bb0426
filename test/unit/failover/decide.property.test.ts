/**
 * Random fault sequences against a minimal model of a failover group, with the real debounce
 * (topologyCycle: nextSiteTracker + topologyVerdict) and the real decide() in the loop, and the
 * actions applied the way a correct executor would. Safety invariants are checked on every
 * decision; liveness once the faults stop.
 *
 * Model: each site is up or not (down, hung and partitioned from everyone look the same to a poll,
 * and a site that is not up takes no writes from anyone), cut off from the operator alone or not
 * (it still serves applications and replicates, but the operator can neither poll nor fence it),
 * read-only or writable, has an executed GTID set
 * (MySQL; every site writes under its own UUID) and maybe a replication source. Replication is
 * modelled as catch-up events: a replica whose source is up takes the source's whole set.
 *
 * On failure fast-check prints the seed and the shrunk counterexample (the group and the event
 * list, plain data); the thrown error carries the model state and the decision trace.
 * Re-run one case with FC_SEED=<seed> (and FC_PATH=<path>).
 */

import fc from "fast-check";
import { describe, it } from "vitest";
import { decide, type Action, type Decision, type DecisionSite, type DurableRecord } from "../../../shared/failover/decide.js";
import { GtidSet } from "../../../shared/gtid/gtid-set.js";
import type { SiteRole } from "../../../shared/names.js";
import { EMPTY_MEMORY, topologyCycle, type GroupMemory, type SitePoll } from "../../../shared/topology/cycle.js";

const POLL_MS = 2_000;
const COOLDOWN_MS = 60_000;
const THRESHOLDS = { failureThreshold: 2, recoveryThreshold: 2 };
const QUIET_POLLS = 12;
const START = Date.parse("2025-01-01T00:00:00.000Z");

// ---- the generated scenario (plain data, printed by fast-check on failure) ----

interface Group {
  /** Site 0 is the initial primary and always a primary-candidate. */
  roles: SiteRole[];
  /** Indexes into the primary-candidates, in priority order ([] = alert-only split brain). */
  priorities: number[];
  /** Whether the operator's status already names the initial primary. */
  knownPrimary: boolean;
  /** Transactions each replica lags behind the primary at the start. */
  initialLag: number[];
}

type Fault =
  | { t: "down"; site: number }
  /** Only the operator's path to the site breaks: it keeps serving and replicating. */
  | { t: "cut"; site: number }
  /** The site currently writable (the primary, if any) goes down: the common emergency. */
  | { t: "downPrimary"; pick: number }
  /**
   * One of the sites that are down comes back. reboot: a crashed server boots fenced and its
   * sidecar unfences it only if the operator names it; otherwise (a healed partition, a hang that
   * ended) it comes back as it was, writable included.
   */
  | { t: "up"; pick: number; reboot: boolean }
  /** A down site reboots read-only whatever the operator says (no agent to unfence it). */
  | { t: "upFenced"; pick: number }
  /** Applications write on a writable site; each up replica catches up unless it lags. */
  | { t: "write"; pick: number; n: number; lag: boolean[] }
  /** Someone writes on a read-only replica (bypassing super_read_only). */
  | { t: "errant"; site: number }
  /** Someone clears read_only on a site. */
  | { t: "rogueWritable"; site: number }
  | { t: "sync" }
  /** Operator restart: in-memory debounce lost, durable record kept. */
  | { t: "restart" }
  /** Operator restart after the status was lost: only the annotation pair (lastFailover, target) survives. */
  | { t: "restartStatusLost" }
  | { t: "maintenance"; on: boolean }
  | { t: "tick"; ms: number };

interface Step {
  fault: Fault;
  polls: number;
}

const SITE_NAMES = ["iad", "pdx", "sfo", "lax"];
const uuid = (i: number): string => `${String(i + 1).repeat(8)}-0000-0000-0000-000000000000`;

const arbGroup: fc.Arbitrary<Group> = fc.integer({ min: 2, max: 4 }).chain((n) =>
  fc
    .record({
      rest: fc.array(fc.constantFrom<SiteRole>("primary-candidate", "primary-candidate", "primary-candidate", "dr-only", "read-only"), { minLength: n - 1, maxLength: n - 1 }),
      priorities: fc.oneof(fc.constant([] as number[]), fc.shuffledSubarray([0, 1, 2, 3], { minLength: 1 })),
      knownPrimary: fc.boolean(),
      initialLag: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: n, maxLength: n }),
    })
    .map(({ rest, ...r }) => ({ ...r, roles: ["primary-candidate" as SiteRole, ...rest] })),
);

const site = fc.integer({ min: 0, max: 3 });
/** Relative weights of the fault kinds; 0 leaves a kind out. */
type Mix = Record<Fault["t"], number>;

/** Every kind of fault, each now and then. */
const EVERYTHING: Mix = { upFenced: 3, cut: 4, down: 8, downPrimary: 4, up: 8, write: 12, errant: 3, rogueWritable: 2, sync: 4, restart: 2, restartStatusLost: 1, maintenance: 1, tick: 6 };
/** Primary churn: crashes and returns of whoever is writable, writes with lag, restarts, time. */
const CHURN: Mix = { upFenced: 2, cut: 2, down: 2, downPrimary: 8, up: 8, write: 10, errant: 1, rogueWritable: 0, sync: 3, restart: 2, restartStatusLost: 0, maintenance: 0, tick: 6 };

function arbFault(mix: Mix): fc.Arbitrary<Fault> {
  const kinds: { weight: number; arbitrary: fc.Arbitrary<Fault> }[] = [
    { weight: mix.down, arbitrary: site.map((s) => ({ t: "down" as const, site: s })) },
    { weight: mix.cut, arbitrary: site.map((s) => ({ t: "cut" as const, site: s })) },
    { weight: mix.downPrimary, arbitrary: fc.nat(3).map((pick) => ({ t: "downPrimary" as const, pick })) },
    { weight: mix.upFenced, arbitrary: fc.nat(3).map((pick) => ({ t: "upFenced" as const, pick })) },
    { weight: mix.up, arbitrary: fc.record({ pick: fc.nat(3), reboot: fc.boolean() }).map((r) => ({ t: "up" as const, ...r })) },
    {
      weight: mix.write,
      arbitrary: fc
        .record({ pick: fc.nat(3), n: fc.integer({ min: 1, max: 3 }), lag: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }) })
        .map((r) => ({ t: "write" as const, ...r })),
    },
    { weight: mix.errant, arbitrary: site.map((s) => ({ t: "errant" as const, site: s })) },
    { weight: mix.rogueWritable, arbitrary: site.map((s) => ({ t: "rogueWritable" as const, site: s })) },
    { weight: mix.sync, arbitrary: fc.constant({ t: "sync" as const }) },
    { weight: mix.restart, arbitrary: fc.constant({ t: "restart" as const }) },
    { weight: mix.restartStatusLost, arbitrary: fc.constant({ t: "restartStatusLost" as const }) },
    { weight: mix.maintenance, arbitrary: fc.boolean().map((on) => ({ t: "maintenance" as const, on })) },
    { weight: mix.tick, arbitrary: fc.integer({ min: 1_000, max: 3 * COOLDOWN_MS }).map((ms) => ({ t: "tick" as const, ms })) },
  ];
  return fc.oneof(...kinds.filter((k) => k.weight > 0));
}

const arbSteps = (mix: Mix): fc.Arbitrary<Step[]> =>
  fc.array(fc.record({ fault: arbFault(mix), polls: fc.integer({ min: 1, max: 3 }) }), { minLength: 1, maxLength: 40, size: "max" });

// ---- the model ----

interface Server {
  name: string;
  role: SiteRole;
  uuid: string;
  up: boolean;
  /** Up, but the operator cannot reach it (polls fail, fences do not arrive). */
  cut: boolean;
  readOnly: boolean;
  executed: GtidSet;
  source?: string;
  /** Transactions this server originated so far (its UUID's sequence). */
  written: number;
}

interface World {
  servers: Server[];
  nowMs: number;
  record: DurableRecord;
  memory: GroupMemory;
  /** The operator's memory of when each site's polls started failing (lost on restart). */
  failingSince: Map<string, number>;
  /** Sites whose polls failed since they were last seen writable, as the manager tracks it (lost on restart). */
  lostSinceWritable: Set<string>;
  /** The last decision's `ahead` (lost on restart). */
  ahead: Record<string, string>;
  priorities: string[];
  automaticFailover: boolean;
  promotions: { atMs: number; site: string }[];
  /** A primary-candidate was made writable by someone else: split brain may legitimately stay. */
  rogueCandidate: boolean;
  /** No primary was known when the faults stopped (never seen, or the status was lost). */
  noKnownPrimary: boolean;
  trace: string[];
}

class InvariantViolation extends Error {}

function snapshot(w: World): unknown {
  return {
    now: new Date(w.nowMs).toISOString(),
    servers: w.servers.map((s) => ({ name: s.name, role: s.role, up: s.up, cut: s.cut, readOnly: s.readOnly, executed: s.executed.toString(), source: s.source })),
    record: w.record,
    trackers: Object.fromEntries([...w.memory.trackers].map(([k, v]) => [k, v.state])),
    priorities: w.priorities,
    automaticFailover: w.automaticFailover,
    promotions: w.promotions.map((p) => ({ at: new Date(p.atMs).toISOString(), site: p.site })),
  };
}

function violated(w: World, message: string): never {
  throw new InvariantViolation(`${message}\nmodel: ${JSON.stringify(snapshot(w), null, 1)}\ntrace (last 30):\n${w.trace.slice(-30).join("\n")}`);
}

function build(g: Group): World {
  const servers: Server[] = g.roles.map((role, i) => ({
    name: SITE_NAMES[i]!,
    role,
    uuid: uuid(i),
    up: true,
    cut: false,
    readOnly: i !== 0,
    executed: GtidSet.empty(),
    written: 0,
    ...(i !== 0 ? { source: SITE_NAMES[0]! } : {}),
  }));
  const primary = servers[0]!;
  primary.written = 5;
  primary.executed = GtidSet.parse(`${primary.uuid}:1-5`);
  servers.forEach((s, i) => {
    if (i === 0) return;
    const upTo = 5 - (g.initialLag[i] ?? 0);
    s.executed = GtidSet.parse(`${primary.uuid}:1-${upTo}`);
  });
  const candidates = servers.filter((s) => s.role === "primary-candidate").map((s) => s.name);
  return {
    servers,
    nowMs: START,
    record: { recovery: {}, ...(g.knownPrimary ? { activeSite: primary.name } : {}) },
    memory: EMPTY_MEMORY,
    failingSince: new Map(),
    lostSinceWritable: new Set(),
    ahead: {},
    priorities: g.priorities.filter((i) => i < candidates.length).map((i) => candidates[i]!),
    automaticFailover: true,
    promotions: [],
    rogueCandidate: false,
    noKnownPrimary: false,
    trace: [],
  };
}

const byName = (w: World, name: string): Server => {
  const s = w.servers.find((x) => x.name === name);
  if (!s) throw new Error(`no site ${name}`);
  return s;
};

function originate(s: Server, n: number): void {
  const from = s.written + 1;
  s.written += n;
  s.executed = s.executed.union(GtidSet.parse(`${s.uuid}:${from}-${s.written}`));
}

/** Every up replica whose source is up takes the source's set (repeated for chains). */
function replicate(w: World, skip: (s: Server) => boolean = () => false): void {
  for (let round = 0; round < w.servers.length; round++) {
    for (const s of w.servers) {
      if (!s.up || s.source === undefined || skip(s)) continue;
      const src = byName(w, s.source);
      if (src.up) s.executed = s.executed.union(src.executed);
    }
  }
}

/** One of the sites that are down comes back, reachable by everyone again; undefined when none is down. */
function bringBack(w: World, pick: number): Server | undefined {
  const down = w.servers.filter((x) => !x.up);
  const s = down[pick % Math.max(1, down.length)];
  if (s) {
    s.up = true;
    s.cut = false;
  }
  return s;
}

function applyFault(w: World, f: Fault): void {
  const at = (i: number): Server => w.servers[i % w.servers.length]!;
  switch (f.t) {
    case "down":
      at(f.site).up = false;
      return;
    case "cut":
      at(f.site).cut = true;
      return;
    case "downPrimary": {
      const writable = w.servers.filter((s) => s.up && !s.readOnly);
      const victim = writable[f.pick % Math.max(1, writable.length)];
      if (victim) victim.up = false;
      return;
    }
    case "upFenced": {
      const s = bringBack(w, f.pick);
      if (s) s.readOnly = true;
      return;
    }
    case "up": {
      const s = bringBack(w, f.pick);
      if (!s) return;
      // The startup safety net: boot fenced, unfence only when the operator names this site.
      if (f.reboot) s.readOnly = w.record.activeSite !== s.name;
      return;
    }
    case "write": {
      const writable = w.servers.filter((s) => s.up && !s.readOnly);
      const target = writable[f.pick % Math.max(1, writable.length)];
      if (!target) return;
      originate(target, f.n);
      replicate(w, (s) => f.lag[w.servers.indexOf(s)] === true);
      return;
    }
    case "errant": {
      const s = at(f.site);
      if (s.up && s.readOnly) originate(s, 1);
      return;
    }
    case "rogueWritable": {
      const s = at(f.site);
      if (!s.up || !s.readOnly) return;
      s.readOnly = false;
      if (s.role === "primary-candidate") w.rogueCandidate = true;
      return;
    }
    case "sync":
      replicate(w);
      return;
    case "restart":
      w.memory = EMPTY_MEMORY;
      w.failingSince = new Map();
      w.lostSinceWritable = new Set();
      w.ahead = {};
      return;
    case "restartStatusLost": {
      w.memory = EMPTY_MEMORY;
      w.failingSince = new Map();
      w.lostSinceWritable = new Set();
      w.ahead = {};
      const { lastFailover, lastFailoverTarget } = w.record;
      w.record = { recovery: {}, ...(lastFailover ? { lastFailover } : {}), ...(lastFailoverTarget ? { lastFailoverTarget } : {}) };
      return;
    }
    case "maintenance":
      w.automaticFailover = !f.on;
      return;
    case "tick":
      w.nowMs += f.ms;
      return;
  }
}

/** One poll cycle: observe, debounce, decide, check the decision, execute it. */
function poll(w: World): Decision | undefined {
  w.nowMs += POLL_MS;
  const now = new Date(w.nowMs).toISOString();
  const reached = (s: Server): boolean => s.up && !s.cut;
  for (const s of w.servers) {
    if (reached(s)) w.failingSince.delete(s.name);
    else if (!w.failingSince.has(s.name)) w.failingSince.set(s.name, w.nowMs);
    if (!reached(s)) w.lostSinceWritable.add(s.name);
    else if (!s.readOnly) w.lostSinceWritable.delete(s.name);
  }
  // A replica's receiver hears from an up source (heartbeats) and reconnects to one that is not.
  const receiver = (s: Server): DecisionSite["receiver"] =>
    s.source !== undefined && byName(w, s.source).up
      ? { link: "connected", heartbeatPeriodSeconds: 1, receivedAfter: new Date(w.nowMs - POLL_MS).toISOString() }
      : { link: "reconnecting", heartbeatPeriodSeconds: 1 };
  const polls: SitePoll[] = w.servers.map((s) => (reached(s) ? { name: s.name, role: s.role, ok: true, readOnly: s.readOnly, gtidExecuted: s.executed.toString() } : { name: s.name, role: s.role, ok: false }));
  const cycle = topologyCycle(w.memory, polls, THRESHOLDS, now);
  w.memory = cycle.memory;
  const sites: DecisionSite[] = w.servers.map((s) => ({
    name: s.name,
    role: s.role,
    state: cycle.states.get(s.name)?.state ?? "unknown",
    polledOk: reached(s),
    ...(reached(s) ? { readOnly: s.readOnly, position: { flavor: "mysql" as const, gtidExecuted: s.executed.toString() } } : {}),
    ...(s.source !== undefined ? { replicatingFrom: s.source, receiver: receiver(s) } : {}),
    ...(w.lostSinceWritable.has(s.name) ? { lostSinceWritable: true } : {}),
    ...(w.failingSince.has(s.name) ? { failingSince: new Date(w.failingSince.get(s.name)!).toISOString() } : {}),
  }));
  const decision = decide({
    now,
    settled: cycle.settled,
    sites,
    record: structuredClone(w.record),
    aheadLastCycle: w.ahead,
    policy: { failoverCooldownMs: COOLDOWN_MS, sitePriorities: w.priorities, automaticFailover: w.automaticFailover },
  });
  if (decision.actions.length > 0 || decision.blocked) {
    w.trace.push(`${now} [${sites.map((s) => `${s.name}:${s.state}${s.polledOk ? (s.readOnly ? "/ro" : "/rw") : "/-"}`).join(" ")}] -> ${JSON.stringify(decision.actions)}${decision.blocked ? ` blocked=${decision.blocked.reason}` : ""}`);
  }
  w.ahead = decision.ahead ?? {};
  checkDecision(w, decision);
  execute(w, decision);
  if (decision.primary !== undefined) w.record.activeSite = decision.primary;
  return decision;
}

const isCore = (s: Server): boolean => s.role !== "read-only";

function checkDecision(w: World, d: Decision): void {
  const promotes = d.actions.filter((a) => a.kind === "promote");
  if (promotes.length > 1) violated(w, "two promotes in one decision");
  const firstPromote = d.actions.findIndex((a) => a.kind === "promote");
  const lastFence = d.actions.map((a) => a.kind).lastIndexOf("fence");
  if (firstPromote >= 0 && lastFence > firstPromote) violated(w, "a fence after the promote");
  for (const a of promotes) {
    const target = caughtUp(w, a);
    if (target.role !== "primary-candidate") violated(w, `promoted ${target.role} site ${a.site}`);
    if (!w.automaticFailover) violated(w, "promoted during maintenance");
    // The old primary counts even when only the operator's path to it is cut: it is alive and
    // serving, and promoting next to it is the split brain. Another cut site made writable by
    // hand, or holding transactions, is invisible to the operator.
    const writable = w.servers.filter((s) => s.up && !s.readOnly && (!s.cut || s.name === a.oldPrimary));
    if (writable.length > 0) violated(w, `promote ${a.site} decided while ${writable.map((s) => s.name).join(",")} is writable`);
    for (const o of w.servers) {
      if (o === target || !o.up || o.cut || !isCore(o)) continue;
      if (!o.executed.isSubsetOf(target.executed)) violated(w, `promote ${a.site} would lose ${o.executed.subtract(target.executed).toString()} of ${o.name}`);
    }
    const previous = w.promotions[w.promotions.length - 1];
    if (previous && w.nowMs - previous.atMs < COOLDOWN_MS) violated(w, `promote ${a.site} ${w.nowMs - previous.atMs} ms after the previous one`);
  }
  for (const a of d.actions) {
    if (a.kind === "repoint") {
      const replica = byName(w, a.site);
      const source = byName(w, a.source);
      if (!replica.executed.isSubsetOf(source.executed)) violated(w, `repoint ${a.site} onto ${a.source}, which lacks ${replica.executed.subtract(source.executed).toString()}`);
    }
    if (a.kind === "recordDivergence") {
      const primary = w.servers.find((s) => s.up && !s.cut && !s.readOnly);
      if (!primary) violated(w, "divergence recorded without a primary");
      const expected = byName(w, a.site).executed.subtract(primary.executed);
      if (expected.toString() !== a.divergentGtid || Number(expected.count()) !== a.count) violated(w, `divergence of ${a.site} recorded as ${a.divergentGtid}, expected ${expected.toString()}`);
    }
  }
}

/** The promotion's target as it will be made writable: after catching up from `catchUpFrom`, if any. */
function caughtUp(w: World, a: Extract<Action, { kind: "promote" }>): Server {
  const target = byName(w, a.site);
  if (a.catchUpFrom === undefined) return target;
  const donor = byName(w, a.catchUpFrom);
  if (!donor.up || donor.cut) violated(w, `${a.site} told to catch up from ${a.catchUpFrom}, which the operator cannot reach`);
  if (!target.executed.isSubsetOf(donor.executed)) violated(w, `${a.site} told to catch up from ${a.catchUpFrom}, which lacks ${target.executed.subtract(donor.executed).toString()}`);
  return { ...target, executed: donor.executed };
}

function execute(w: World, d: Decision): void {
  for (const a of d.actions) applyAction(w, a);
}

function applyAction(w: World, a: Action): void {
  switch (a.kind) {
    case "fence": {
      const s = byName(w, a.site);
      if (s.up && !s.cut) s.readOnly = true;
      return;
    }
    case "promote": {
      if (a.oldPrimary !== undefined) {
        const old = byName(w, a.oldPrimary);
        if (old.up && !old.cut) old.readOnly = true;
      }
      const target = byName(w, a.site);
      target.executed = caughtUp(w, a).executed;
      // Invariant: nothing else we can reach, and not the old primary, is writable at the moment we grant writability.
      const others = w.servers.filter((s) => s !== target && s.up && !s.readOnly && (!s.cut || s.name === a.oldPrimary));
      if (others.length > 0) violated(w, `promoting ${a.site} while ${others.map((s) => s.name).join(",")} is writable`);
      delete target.source;
      target.readOnly = false;
      const at = new Date(w.nowMs).toISOString();
      w.record = { ...w.record, lastFailover: at, lastFailoverTarget: a.site, activeSite: a.site, promotionGtidExecuted: target.executed.toString() };
      w.promotions.push({ atMs: w.nowMs, site: a.site });
      return;
    }
    case "repoint": {
      if (a.formerPrimary && !w.record.recovery[a.site]) w.record.recovery[a.site] = { state: "RecoveryInProgress" };
      byName(w, a.site).source = a.source;
      return;
    }
    case "recordDivergence":
      w.record.recovery[a.site] = { state: a.errant ? "ErrantTransactions" : "RecoveryBlocked", divergentGtid: a.divergentGtid, ...(a.count !== undefined ? { divergentTransactionCount: a.count } : {}) };
      return;
    case "clearRecovery":
      delete w.record.recovery[a.site];
      return;
  }
}

/** Faults stop: everything comes back (partitions heal, crashed servers reboot), time passes. */
function quiet(w: World): void {
  w.trace.push("---- faults stop ----");
  w.noKnownPrimary = w.record.activeSite === undefined;
  w.automaticFailover = true;
  for (const s of w.servers) s.cut = false;
  for (let i = 0; i < w.servers.length; i++) applyFault(w, { t: "up", pick: i % 2, reboot: i % 2 === 0 });
  w.nowMs += 2 * COOLDOWN_MS;
  for (let i = 0; i < QUIET_POLLS; i++) {
    replicate(w);
    poll(w);
  }
}

function checkLiveness(w: World): void {
  const writable = w.servers.filter((s) => s.up && !s.readOnly);
  if (writable.length === 1 && w.record.activeSite !== writable[0]!.name) {
    violated(w, `settled with ${writable[0]!.name} writable but record.activeSite=${w.record.activeSite}`);
  }
  // A rogue write-enable of a candidate may end in an alert-only split brain, and without a known
  // primary nothing is elected from nothing (e.g. a fresh operator whose primary died before it
  // settled, or a lost status): liveness is promised otherwise.
  if (w.rogueCandidate || w.noKnownPrimary) {
    if (!w.rogueCandidate && writable.length > 1) violated(w, `settled with ${writable.length} writable sites`);
    return;
  }
  // R4b makes a recorded primary that came back fenced writable again only when that is provably
  // safe: not when another site holds a transaction it lacks, and not when this operator did not
  // see it lost (a restart in between; it was maybe demoted by hand). A human decides then.
  if (writable.length === 0 && w.record.activeSite !== undefined) {
    const authority = byName(w, w.record.activeSite);
    const holdsLess = w.servers.some((s) => s !== authority && !s.executed.isSubsetOf(authority.executed));
    const lossUnseen = authority.readOnly && !w.lostSinceWritable.has(authority.name);
    if (holdsLess || lossUnseen) return;
  }
  if (writable.length !== 1) violated(w, `settled with ${writable.length} writable sites`);
  // Every follower that the primary holds completely replicates from it once settled.
  const primary = writable[0]!;
  for (const s of w.servers) {
    if (s === primary || !s.executed.isSubsetOf(primary.executed)) continue;
    if (s.source !== primary.name) violated(w, `${s.name} is held by ${primary.name} but replicates from ${s.source ?? "nothing"}`);
  }
}

function simulate(g: Group, steps: Step[]): void {
  const w = build(g);
  for (const step of steps) {
    applyFault(w, step.fault);
    w.trace.push(`fault ${JSON.stringify(step.fault)}`);
    for (let i = 0; i < step.polls; i++) poll(w);
  }
  quiet(w);
  checkLiveness(w);
}

describe("decide() under random fault sequences", () => {
  const seed = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : undefined;
  const path = process.env.FC_PATH;
  const numRuns = process.env.FC_RUNS !== undefined ? Number(process.env.FC_RUNS) : 300;
  const options = { numRuns, ...(seed !== undefined ? { seed } : {}), ...(path !== undefined ? { path } : {}) };
  // Generous only for long FC_RUNS campaigns; the default 300 runs take well under a second.
  const timeout = Math.max(10_000, numRuns * 5);

  it("keeps the safety invariants on every decision and converges once faults stop (every fault kind)", () => {
    fc.assert(
      fc.property(arbGroup, arbSteps(EVERYTHING), (g, steps) => simulate(g, steps)),
      options,
    );
  }, timeout);

  it("keeps the safety invariants and converges under primary churn (crashes, returns, lagging writes)", () => {
    fc.assert(
      fc.property(arbGroup, arbSteps(CHURN), (g, steps) => simulate(g, steps)),
      options,
    );
  }, timeout);

  it("sanity: the simulation does fail over (guards against a vacuous model)", () => {
    const w = build({ roles: ["primary-candidate", "primary-candidate"], priorities: [], knownPrimary: true, initialLag: [0, 0] });
    applyFault(w, { t: "down", site: 0 });
    for (let i = 0; i < 4; i++) poll(w);
    if (w.promotions.length !== 1 || w.promotions[0]!.site !== "pdx") violated(w, "expected pdx to be promoted");
    quiet(w);
    checkLiveness(w);
    if (byName(w, "iad").source !== "pdx") violated(w, "expected the old primary to be repointed");
  });
});
