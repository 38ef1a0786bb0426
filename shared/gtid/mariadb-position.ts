/**
 * MariaDB GTID positions and binlog states.
 *
 * A MariaDB GTID is `domain-server_id-seq`. Unlike MySQL it names one transaction, not a set:
 * `@@gtid_binlog_pos`, `@@gtid_current_pos` and `@@gtid_slave_pos` hold the last GTID of each
 * replication domain, and `@@gtid_binlog_state` the last GTID of each (domain, server_id).
 * There is no set algebra; progress is compared per domain by seq, which only orders
 * transactions within one domain.
 */

export interface MariadbGtid {
  /** 32-bit unsigned. */
  readonly domain: number;
  /** 32-bit unsigned. */
  readonly serverId: number;
  /** 64-bit unsigned. */
  readonly seq: bigint;
}

/** A position: at most one GTID per domain, sorted by domain. */
export type MariadbPosition = readonly MariadbGtid[];

/** A binlog state: at most one GTID per (domain, server_id), sorted by domain then server_id. */
export type MariadbBinlogState = readonly MariadbGtid[];

const MAX_U32 = 0xffff_ffffn;
const MAX_U64 = 0xffff_ffff_ffff_ffffn;
const GTID_PATTERN = /^([0-9]+)-([0-9]+)-([0-9]+)$/;

export class MariadbGtidParseError extends Error {
  constructor(
    readonly input: string,
    /** Offset (0-based) of the offending entry. */
    readonly offset: number,
    readonly token: string,
    readonly problem: string,
  ) {
    super(`malformed MariaDB GTID list: ${problem} at offset ${offset} (entry ${JSON.stringify(token)})`);
    this.name = "MariadbGtidParseError";
  }
}

interface ParsedGtid {
  readonly gtid: MariadbGtid;
  readonly offset: number;
  readonly token: string;
}

/**
 * Reads a comma-separated list as the server prints it. Whitespace around entries is allowed so
 * that pasted values work; empty entries are refused, as the server refuses them.
 */
function parseList(text: string): ParsedGtid[] {
  if (text.trim() === "") return [];
  const out: ParsedGtid[] = [];
  let start = 0;
  for (const raw of text.split(",")) {
    const lead = raw.length - raw.trimStart().length;
    const token = raw.trim();
    const offset = start + lead;
    start += raw.length + 1;
    if (token === "") throw new MariadbGtidParseError(text, offset, token, "empty entry");
    const m = GTID_PATTERN.exec(token);
    if (m === null) {
      throw new MariadbGtidParseError(text, offset, token, "expected domain-server_id-seq, e.g. 0-1-42");
    }
    const field = (digits: string, name: string, max: bigint): bigint => {
      const value = BigInt(digits);
      if (value > max) throw new MariadbGtidParseError(text, offset, token, `${name} ${digits} is larger than ${max}`);
      return value;
    };
    out.push({
      offset,
      token,
      gtid: {
        domain: Number(field(m[1]!, "domain", MAX_U32)),
        serverId: Number(field(m[2]!, "server_id", MAX_U32)),
        seq: field(m[3]!, "seq", MAX_U64),
      },
    });
  }
  return out;
}

const byDomainThenServer = (a: MariadbGtid, b: MariadbGtid): number => a.domain - b.domain || a.serverId - b.serverId;

/** Parses `@@gtid_binlog_pos`, `@@gtid_current_pos` or `@@gtid_slave_pos`. */
export function parseMariadbPosition(text: string): MariadbPosition {
  const seen = new Map<number, ParsedGtid>();
  for (const entry of parseList(text)) {
    const earlier = seen.get(entry.gtid.domain);
    if (earlier !== undefined) {
      throw new MariadbGtidParseError(
        text,
        entry.offset,
        entry.token,
        `domain ${entry.gtid.domain} appears twice (also ${JSON.stringify(earlier.token)}); ` +
          "a position has one GTID per domain",
      );
    }
    seen.set(entry.gtid.domain, entry);
  }
  return [...seen.values()].map((e) => e.gtid).sort(byDomainThenServer);
}

/** Parses `@@gtid_binlog_state`. */
export function parseMariadbBinlogState(text: string): MariadbBinlogState {
  const seen = new Map<string, ParsedGtid>();
  for (const entry of parseList(text)) {
    const key = `${entry.gtid.domain}-${entry.gtid.serverId}`;
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      throw new MariadbGtidParseError(
        text,
        entry.offset,
        entry.token,
        `domain ${entry.gtid.domain}, server_id ${entry.gtid.serverId} appears twice ` +
          `(also ${JSON.stringify(earlier.token)})`,
      );
    }
    seen.set(key, entry);
  }
  return [...seen.values()].map((e) => e.gtid).sort(byDomainThenServer);
}

/** Canonical text: sorted by domain, then server_id, joined by ",". */
export function formatMariadbGtids(gtids: readonly MariadbGtid[]): string {
  return [...gtids]
    .sort(byDomainThenServer)
    .map((g) => `${g.domain}-${g.serverId}-${g.seq}`)
    .join(",");
}

/**
 * How `a` stands against `b`. In one domain: `behind`/`ahead` by seq, `equal` when the GTIDs
 * match, and `diverged` when the seq is equal but the server_id differs, because then the two
 * servers hold different transactions under the same number. Overall: `diverged` if any domain
 * diverged or some are behind while others are ahead, else the single direction found.
 */
export type PositionRelation = "equal" | "behind" | "ahead" | "diverged";

export interface DomainComparison {
  readonly domain: number;
  /** `undefined` when the domain is absent on that side, which counts as seq 0. */
  readonly a: MariadbGtid | undefined;
  readonly b: MariadbGtid | undefined;
  readonly relation: PositionRelation;
}

export interface PositionComparison {
  readonly overall: PositionRelation;
  /** One per domain present on either side, sorted by domain. */
  readonly domains: readonly DomainComparison[];
}

function byDomain(position: MariadbPosition, side: string): Map<number, MariadbGtid> {
  const map = new Map<number, MariadbGtid>();
  for (const gtid of position) {
    if (map.has(gtid.domain)) {
      throw new RangeError(
        `comparePositions: ${side} has domain ${gtid.domain} twice; pass positions, not binlog states`,
      );
    }
    map.set(gtid.domain, gtid);
  }
  return map;
}

export function comparePositions(a: MariadbPosition, b: MariadbPosition): PositionComparison {
  const mapA = byDomain(a, "a");
  const mapB = byDomain(b, "b");
  const domains = [...new Set([...mapA.keys(), ...mapB.keys()])].sort((x, y) => x - y);
  const result = domains.map((domain): DomainComparison => {
    const ga = mapA.get(domain);
    const gb = mapB.get(domain);
    const seqA = ga?.seq ?? 0n;
    const seqB = gb?.seq ?? 0n;
    let relation: PositionRelation;
    if (seqA < seqB) relation = "behind";
    else if (seqA > seqB) relation = "ahead";
    else relation = ga !== undefined && gb !== undefined && ga.serverId !== gb.serverId ? "diverged" : "equal";
    return { domain, a: ga, b: gb, relation };
  });
  const seen = new Set(result.map((d) => d.relation));
  let overall: PositionRelation = "equal";
  if (seen.has("diverged") || (seen.has("behind") && seen.has("ahead"))) overall = "diverged";
  else if (seen.has("behind")) overall = "behind";
  else if (seen.has("ahead")) overall = "ahead";
  return { overall, domains: result };
}

/**
 * Why a GTID of the candidate's binlog state lies outside the reference's history:
 * - `unknown-server`: the reference never logged anything from that server_id in that domain;
 * - `beyond-domain`: its seq is above the reference's highest seq in that domain;
 * - `beyond-server`: the reference knows the server_id, but only up to a lower seq, while the
 *   domain has gone further under other server_ids. Typical of an old primary that kept writing
 *   after a failover: its late GTIDs reuse seqs that the new lineage gave to other servers.
 * A GTID can be both `unknown-server` and `beyond-domain`.
 */
export type ForeignWriteReason = "unknown-server" | "beyond-domain" | "beyond-server";

export interface ForeignWrite {
  readonly gtid: MariadbGtid;
  readonly reasons: readonly ForeignWriteReason[];
}

/*
 * findForeignWrites: the MariaDB stand-in for MySQL's GTID_SUBTRACT(candidate, reference) != ''.
 *
 * The rule: a candidate entry (d, s, q) is foreign when q is above the reference's last seq for
 * (d, s), a missing entry counting as 0. Under gtid_strict_mode seqs only grow within a domain,
 * so the reference's entry for (d, s) is the highest seq it ever logged from server s in domain
 * d: the candidate logged d-s-q and the reference cannot have. The two usual signals, a
 * server_id the reference never saw in the domain and a seq above the domain's high-water mark,
 * are special cases of this rule; `beyond-server` is the case they both miss.
 *
 * What it cannot see (false negatives):
 * - A GTID whose seq is at or below the reference's last seq for the same (domain, server_id).
 *   The state cannot tell "the same transaction" from "another transaction with the same
 *   number". With strict mode and unique server_ids this takes rewritten history, e.g. a server
 *   restored from an old backup (state 0-2-10) that writes 0-2-11 while the reference already
 *   holds 0-2-25 from before: the new 0-2-11 is errant and invisible.
 * - All but the newest foreign GTID per (domain, server_id): binlog_state keeps only the last
 *   GTID of each, so the result says which servers wrote outside the lineage, not how much.
 *   Read the candidate's binlog (or compare its gtid_current_pos with gtid_slave_pos) for that.
 * - Writes that never reached the binary log (sql_log_bin=0, binlog disabled).
 * - Erased history: RESET MASTER or a restored backup empties the candidate's state, and
 *   SET GLOBAL gtid_binlog_state replaces it. (Purging binlog files does not shrink the state.)
 *
 * What it reports that is not an errant write:
 * - If the reference was reset or rebuilt, everything the candidate has looks foreign.
 * - If the reference is merely behind rather than the authoritative primary, the result means
 *   "the reference lacks these", not "these are errant": choose the reference accordingly.
 *
 * Preconditions (the operator must enforce them; without them the answer means little):
 * - gtid_strict_mode=1 on every server; otherwise seqs can repeat or go backwards, and "last"
 *   is no longer "highest".
 * - Unique server_ids; two servers sharing one merge their histories into one entry.
 * - Seqs order transactions only within a domain; each domain is judged on its own.
 */
export function findForeignWrites(candidate: MariadbBinlogState, reference: MariadbBinlogState): ForeignWrite[] {
  const domainMax = new Map<number, bigint>();
  const serverSeq = new Map<string, bigint>();
  for (const g of reference) {
    const key = `${g.domain}-${g.serverId}`;
    const seq = serverSeq.get(key);
    if (seq === undefined || g.seq > seq) serverSeq.set(key, g.seq);
    const max = domainMax.get(g.domain);
    if (max === undefined || g.seq > max) domainMax.set(g.domain, g.seq);
  }
  const foreign: ForeignWrite[] = [];
  for (const gtid of [...candidate].sort(byDomainThenServer)) {
    const known = serverSeq.get(`${gtid.domain}-${gtid.serverId}`);
    const beyondDomain = gtid.seq > (domainMax.get(gtid.domain) ?? 0n);
    const reasons: ForeignWriteReason[] = [];
    if (known === undefined && gtid.seq > 0n) reasons.push("unknown-server");
    if (beyondDomain) reasons.push("beyond-domain");
    else if (known !== undefined && gtid.seq > known) reasons.push("beyond-server");
    if (reasons.length > 0) foreign.push({ gtid, reasons });
  }
  return foreign;
}
