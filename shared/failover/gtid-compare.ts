/**
 * Flavor-aware answers to the two questions the decision core asks about executed transactions:
 * "does server a hold everything server b holds?" (`contains`) and "what does b hold that a
 * lacks?" (`missing`). Pure: the inputs are the texts the servers printed.
 *
 * MySQL compares `@@gtid_executed` sets exactly (GTID_SUBSET / GTID_SUBTRACT semantics, tags
 * included). MariaDB has no GTID sets, only positions (`@@gtid_binlog_pos`, the last GTID of each
 * domain) and binlog states (`@@gtid_binlog_state`, the last GTID of each domain and server_id),
 * so its answers are approximations; see `missingMariadb` for exactly what they can and cannot see.
 */

import { GtidSet } from "../gtid/gtid-set.js";
import {
  comparePositions,
  findForeignWrites,
  formatMariadbGtids,
  parseMariadbBinlogState,
  parseMariadbPosition,
  type MariadbGtid,
} from "../gtid/mariadb-position.js";

export type ServerFlavor = "mysql" | "mariadb";

/** What one server has executed, as read from it in one poll. */
export interface ServerPosition {
  flavor: ServerFlavor;
  /** MySQL: `@@global.gtid_executed`. MariaDB: `@@gtid_binlog_pos`. */
  gtidExecuted: string;
  /** MariaDB only: `@@gtid_binlog_state`. Without it MariaDB comparisons see positions only. */
  gtidBinlogState?: string;
}

/** What `b` holds that `a` lacks. */
export interface MissingTransactions {
  /**
   * MySQL: the canonical GTID set b − a ("" when nothing is missing). MariaDB: the GTIDs of b
   * that lie outside a's history, comma-separated in canonical order (see `missingMariadb`).
   */
  text: string;
  /**
   * Number of missing transactions when it is known exactly: always for MySQL (undefined only
   * beyond 2^53, where a JS number cannot hold it), for MariaDB only when nothing is missing (0).
   */
  count: number | undefined;
}

export class FlavorMismatchError extends Error {
  constructor(
    readonly a: ServerFlavor,
    readonly b: ServerFlavor,
  ) {
    super(`cannot compare executed transactions of a ${a} server with a ${b} server`);
    this.name = "FlavorMismatchError";
  }
}

/**
 * Whether `a` has executed every transaction `b` has (a ⊇ b). MySQL: GTID_SUBSET(b, a).
 * MariaDB: `missing(a, b)` finds nothing, i.e. every domain of a is equal to or ahead of b's with
 * no divergence, and (when both binlog states are given) b has no GTID outside a's history.
 * Throws FlavorMismatchError for mixed flavors and the parsers' errors for malformed text.
 */
export function contains(a: ServerPosition, b: ServerPosition): boolean {
  checkFlavors(a, b);
  if (a.flavor === "mysql") return GtidSet.parse(b.gtidExecuted).isSubsetOf(GtidSet.parse(a.gtidExecuted));
  return missingMariadb(a, b).length === 0;
}

/**
 * What `b` holds that `a` lacks. MySQL: b − a, canonical text and exact count. MariaDB: the
 * GTIDs of b that a cannot have (see `missingMariadb`), counted exactly when b went further
 * along a's own history (see `linearCount`) or, given `base` (a's position when it was
 * promoted), along the history a had then: the common case of an old primary that kept writing
 * after the candidate stopped receiving from it.
 * `contains(a, b)` is exactly `missing(a, b).text === ""`.
 */
export function missing(a: ServerPosition, b: ServerPosition, base?: string): MissingTransactions {
  checkFlavors(a, b);
  if (a.flavor === "mysql") {
    const diff = GtidSet.parse(b.gtidExecuted).subtract(GtidSet.parse(a.gtidExecuted));
    const count = diff.count();
    return { text: diff.toString(), count: count <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(count) : undefined };
  }
  const gtids = missingMariadb(a, b);
  const text = formatMariadbGtids(gtids);
  if (gtids.length === 0) return { text, count: 0 };
  const count = linearCount(a, b, gtids) ?? (base !== undefined ? countFromBase(base, b, text) : undefined);
  return { text, count };
}

/**
 * MariaDB, when a's own position cannot anchor the count (a went on under its own server_id
 * after it was promoted): `base` is a's position when it was promoted, which a's history holds.
 * If b differs from base exactly where it differs from a (the same offending GTIDs), b's extra
 * transactions are the ones after base along b's own history, which linearCount counts.
 */
function countFromBase(base: string, b: ServerPosition, text: string): number | undefined {
  const from: ServerPosition = { flavor: "mariadb", gtidExecuted: base };
  const gtids = missingMariadb(from, b);
  return formatMariadbGtids(gtids) === text ? linearCount(from, b, gtids) : undefined;
}

/** Who originated a server's own writes: its server_id (MariaDB GTIDs) and server_uuid (MySQL GTIDs). */
export interface Origin {
  serverId: number;
  serverUuid?: string;
}

/**
 * `m` without the transactions `origin` wrote itself: a server's own writes are never "a
 * transaction it never had", whatever a read taken a moment before another says (a replica read
 * just after its source looks ahead of it by the source's newest writes). The count stays exact
 * when nothing or everything is removed; otherwise it is unknown.
 */
export function withoutOrigin(m: MissingTransactions, flavor: ServerFlavor, origin: Origin): MissingTransactions {
  if (m.text === "") return m;
  if (flavor === "mariadb") {
    const all = parseMariadbBinlogState(m.text);
    const kept = all.filter((g) => g.serverId !== origin.serverId);
    if (kept.length === all.length) return m;
    return { text: formatMariadbGtids(kept), count: kept.length === 0 ? 0 : undefined };
  }
  if (origin.serverUuid === undefined) return m;
  const own = GtidSet.parse(`${origin.serverUuid}:1-${MAX_GNO}`);
  const kept = GtidSet.parse(m.text).subtract(own);
  const count = kept.count();
  return { text: kept.toString(), count: count <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(count) : undefined };
}

/** The largest transaction number MySQL assigns (2^63 - 2). */
const MAX_GNO = "9223372036854775806";

/**
 * What one replica has received but not applied: `received` (MySQL Retrieved_Gtid_Set, MariaDB
 * Gtid_IO_Pos) minus `applied`. Exact for both flavors: a replica's receiver and applier follow
 * one source in order, so under gtid_strict_mode a MariaDB domain's gap runs without holes from
 * the applied seq to the received one.
 */
export function unapplied(applied: ServerPosition, received: string): MissingTransactions {
  if (applied.flavor === "mysql") return missing(applied, { flavor: "mysql", gtidExecuted: received });
  const done = new Map(parseMariadbPosition(applied.gtidExecuted).map((g) => [g.domain, g.seq]));
  const ahead = parseMariadbPosition(received).filter((g) => g.seq > (done.get(g.domain) ?? 0n));
  const total = ahead.reduce((sum, g) => sum + g.seq - (done.get(g.domain) ?? 0n), 0n);
  return { text: formatMariadbGtids(ahead), count: total <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(total) : undefined };
}

/**
 * The exact number of missing transactions in the common case: every offending GTID lies in a
 * domain where b simply went further along a's own history (b's binlog state holds a's last GTID
 * of that domain). Under gtid_strict_mode a domain's sequence numbers then run without gaps from
 * a's position to b's, so b − a is (b.seq − a.seq) transactions per domain. Anything else
 * (divergence inside a domain, writes hidden behind a higher seq) stays uncounted.
 */
function linearCount(a: ServerPosition, b: ServerPosition, offending: readonly MariadbGtid[]): number | undefined {
  if (b.gtidBinlogState === undefined) return undefined;
  const aPos = new Map(parseMariadbPosition(a.gtidExecuted).map((g) => [g.domain, g]));
  const bPos = new Map(parseMariadbPosition(b.gtidExecuted).map((g) => [g.domain, g]));
  const bState = parseMariadbBinlogState(b.gtidBinlogState);
  let total = 0n;
  for (const domain of new Set(offending.map((g) => g.domain))) {
    const from = aPos.get(domain);
    const to = bPos.get(domain);
    if (!to || offending.some((g) => g.domain === domain && (g.serverId !== to.serverId || g.seq !== to.seq))) return undefined;
    if (from && !bState.some((g) => g.domain === domain && g.serverId === from.serverId && g.seq >= from.seq)) return undefined;
    total += to.seq - (from?.seq ?? 0n);
  }
  return total <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(total) : undefined;
}

function checkFlavors(a: ServerPosition, b: ServerPosition): void {
  if (a.flavor !== b.flavor) throw new FlavorMismatchError(a.flavor, b.flavor);
}

/**
 * The MariaDB stand-in for b − a: a list of b's GTIDs that a cannot have executed, one per
 * offending domain or (domain, server_id). Two signals are combined:
 *
 * 1. Positions (always): every domain where a is behind b, or where both stand at the same seq
 *    under different server_ids (two different transactions under one number), contributes b's
 *    GTID of that domain. A domain absent on one side counts as seq 0.
 * 2. Binlog states (when both servers gave one): `findForeignWrites(b, a)`, i.e. every
 *    (domain, server_id) whose last seq in b is above what a logged from that server_id.
 *
 * Limits (why this is weaker than MySQL's set algebra; the operator must not pretend otherwise):
 * - Positions alone cannot see an errant write that a later, higher seq hides: b applied 0-1-10,
 *   wrote 0-2-11 itself, while a went on to 0-1-15. a is "ahead" in every domain, yet lacks
 *   0-2-11. The binlog state catches this case (server_id 2 unknown to a); pass it.
 * - The binlog state keeps only the last GTID per (domain, server_id), so the result names which
 *   servers wrote outside a's history, not how many transactions: the count stays unknown.
 * - It cannot see rewritten history (a server restored from an old backup reusing seqs it had
 *   already used), writes that never reached the binlog (sql_log_bin=0), or erased state
 *   (RESET MASTER, SET GLOBAL gtid_binlog_state). See findForeignWrites for the full list.
 * - It relies on gtid_strict_mode=1 and unique server_ids on every server.
 */
function missingMariadb(a: ServerPosition, b: ServerPosition): MariadbGtid[] {
  const found = new Map<string, MariadbGtid>();
  const add = (g: MariadbGtid): void => {
    found.set(`${g.domain}-${g.serverId}-${g.seq}`, g);
  };
  const comparison = comparePositions(parseMariadbPosition(a.gtidExecuted), parseMariadbPosition(b.gtidExecuted));
  for (const domain of comparison.domains) {
    if ((domain.relation === "behind" || domain.relation === "diverged") && domain.b !== undefined) add(domain.b);
  }
  if (a.gtidBinlogState !== undefined && b.gtidBinlogState !== undefined) {
    const foreign = findForeignWrites(parseMariadbBinlogState(b.gtidBinlogState), parseMariadbBinlogState(a.gtidBinlogState));
    for (const f of foreign) add(f.gtid);
  }
  return [...found.values()];
}
