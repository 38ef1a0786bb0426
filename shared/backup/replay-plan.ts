/**
 * Which archived binary logs a point-in-time recovery replays onto a restored backup. The backup
 * holds every transaction up to its position (per replication domain, the highest seq); replay
 * must start in a file that begins at or before that position and continue through consecutive
 * files of one site's archive, so that no transaction in between is missing. Each site's
 * archive is a chain of its own (a replica's files hold the primary's transactions too:
 * log_slave_updates), so after a failover the new primary's chain usually covers the old one's.
 * The chain that reaches furthest (or first reaches the target time) is chosen. A site's archive
 * holds one chain per generation (its binary logs started again after a clone or a restore).
 *
 * MariaDB files are compared by their last transaction's GTID: exact for a group that writes in
 * one replication domain (as the operator sets servers up); with several domains a file's other
 * domains are not looked at. MySQL files by GTID sets: a file's Previous_gtids must be in the
 * backup for nothing to be missing, and it is needed when it holds a transaction the backup lacks.
 */
import { GtidSet } from "../gtid/gtid-set.js";
import { parseMariadbBinlogState, parseMariadbPosition } from "../gtid/mariadb-position.js";
import type { FlavorName } from "../topology/site-observation.js";
import { archiveFlavor, binlogNumber, generations, type ArchivedBinlog, type ArchiveManifest } from "./binlog-archive.js";

export interface ReplayPlan {
  readonly site: string;
  /** The flavor of the server whose files these are: how they are replayed. */
  readonly flavor: FlavorName;
  /** The files to replay, in order. */
  readonly files: readonly ArchivedBinlog[];
  /** The last transaction the chosen files hold (before the time limit cuts it). */
  readonly reachesGtid?: string;
  /** Unix seconds of that transaction: with a target time, what the archive can reach. */
  readonly reachesTime?: number;
  /** The target time lies beyond what the archive holds: transactions after reachesTime are not archived. */
  readonly short: boolean;
}

export type ReplayChoice = { readonly plan: ReplayPlan } | { readonly refused: string };

/** Highest seq per domain of a position or binlog state. */
function seqs(text: string, parse: (t: string) => readonly { domain: number; seq: bigint }[]): Map<number, bigint> {
  const out = new Map<number, bigint>();
  for (const g of parse(text)) out.set(g.domain, g.seq > (out.get(g.domain) ?? -1n) ? g.seq : (out.get(g.domain) as bigint));
  return out;
}

/** A backup's position read one flavor's way, and what the planning asks of a file against it. */
interface Position {
  /** The file holds a transaction the position does not. */
  after(file: ArchivedBinlog): boolean;
  /** The file starts at or before the position: nothing between the two is missing. */
  startsBy(file: ArchivedBinlog): boolean;
}

function mariadbPosition(text: string): Position {
  const from = seqs(text, parseMariadbPosition);
  return {
    after: (file) => {
      if (file.lastGtid === undefined) return false;
      const [domain = "", , seq = ""] = file.lastGtid.split("-");
      return BigInt(seq) > (from.get(Number(domain)) ?? -1n);
    },
    startsBy: (file) => {
      const start = seqs(file.startState, parseMariadbBinlogState);
      return [...from].every(([domain, seq]) => (start.get(domain) ?? 0n) <= seq);
    },
  };
}

function mysqlPosition(text: string): Position {
  const from = GtidSet.parse(text);
  return {
    after: (file) => file.gtids !== undefined && !GtidSet.parse(file.gtids).isSubsetOf(from),
    startsBy: (file) => GtidSet.parse(file.startState).isSubsetOf(from),
  };
}

/** How far a chain reaches, to choose between chains: MariaDB's last seq, the size of MySQL's set at the chain's end. */
const REACH: Record<FlavorName, (last: ArchivedBinlog | undefined) => bigint> = {
  mariadb: (last) => BigInt(last?.lastGtid?.split("-")[2] ?? "0"),
  mysql: (last) => (last ? GtidSet.parse(last.startState).union(GtidSet.parse(last.gtids ?? "")).count() : 0n),
};

const POSITIONS: Record<FlavorName, (text: string) => Position> = { mariadb: mariadbPosition, mysql: mysqlPosition };

/** `text` read as a position of the archive's flavor; a string saying why when it is not one. */
function positionFor(archive: ArchiveManifest, text: string): Position | string {
  const flavor = archiveFlavor(archive);
  try {
    return POSITIONS[flavor](text);
  } catch {
    return `${archive.site}'s archive holds a ${flavor} server's binary logs, and the backup's position ${JSON.stringify(text)} is not a ${flavor} one`;
  }
}

/** One generation's chain of a site's archive (`files` in numbering order). */
function chainOf(archive: ArchiveManifest, files: readonly ArchivedBinlog[], from: Position, until: number | undefined): ReplayPlan | string {
  const needed = files.findIndex((f) => from.after(f));
  if (needed < 0) return `${archive.site}'s archive holds nothing after the backup`;
  if (!from.startsBy(files[needed] as ArchivedBinlog)) {
    return `${archive.site}'s archive starts after the backup's position (its first needed file, ${files[needed]?.file}, starts at ${files[needed]?.startState || "nothing"}): the files in between were never archived`;
  }
  const chain: ArchivedBinlog[] = [];
  for (let i = needed; i < files.length; i++) {
    const file = files[i] as ArchivedBinlog;
    const previous = chain.at(-1);
    // A gap in the numbering is a file the server purged before the archive took it: stop there.
    if (previous && binlogNumber(file.file) !== binlogNumber(previous.file) + 1) break;
    chain.push(file);
    if (until !== undefined && file.lastTime !== undefined && file.lastTime >= until) break;
  }
  const last = chain.findLast((f) => f.lastGtid !== undefined);
  return {
    site: archive.site,
    flavor: archiveFlavor(archive),
    files: chain,
    ...(last?.lastGtid !== undefined ? { reachesGtid: last.lastGtid } : {}),
    ...(last?.lastTime !== undefined ? { reachesTime: last.lastTime } : {}),
    short: until !== undefined && (last?.lastTime ?? 0) < until,
  };
}

/**
 * The archive floor: the position every one of these backups holds. MariaDB (gtid_binlog_pos
 * form): per replication domain the lowest seq; a domain some backup lacks is left out, so nothing
 * of it is covered; the server id is not compared: 0. MySQL: the intersection of their GTID sets.
 * undefined when nothing is covered (no backups, or positions of both flavors).
 */
export function archiveFloor(positions: readonly string[]): string | undefined {
  if (positions.length === 0) return undefined;
  try {
    const each = positions.map((p) => seqs(p, parseMariadbPosition));
    const domains = [...(each[0]?.keys() ?? [])].filter((d) => each.every((m) => m.has(d)));
    if (domains.length === 0) return undefined;
    const lowest = (d: number): bigint => each.map((m) => m.get(d) as bigint).reduce((a, b) => (b < a ? b : a));
    return domains.map((d) => `${d}-0-${lowest(d)}`).join(",");
  } catch {
    // Not MariaDB positions: MySQL backups' GTID sets, or a mix, which covers nothing.
  }
  try {
    const common = positions.map((p) => GtidSet.parse(p)).reduce((a, b) => a.intersect(b));
    return common.isEmpty() ? undefined : common.toString();
  } catch {
    return undefined;
  }
}

/**
 * The files of a site's archive that no replay onto a backup at or after `floor` can need (see
 * planReplay): the oldest ones, up to the first that holds a transaction after the floor. What
 * follows a pruned file starts where it ended, so every later backup still finds its first file.
 */
export function prunableFiles(archive: ArchiveManifest, floor: string): ArchivedBinlog[] {
  const from = positionFor(archive, floor);
  // A floor of the other flavor covers nothing of this archive.
  if (typeof from === "string") return [];
  return generations(archive.files).flatMap((files) => {
    const firstNeeded = files.findIndex((f) => from.after(f));
    return firstNeeded < 0 ? files : files.slice(0, firstNeeded);
  });
}

/**
 * Chooses the replay for a backup at `fromGtid` (gtid_binlog_pos form) up to `until` (unix
 * seconds; undefined: everything archived) from every site's archive.
 */
export function planReplay(archives: readonly ArchiveManifest[], fromGtid: string, until?: number): ReplayChoice {
  const chains: ReplayPlan[] = [];
  const reasons: string[] = [];
  for (const archive of archives) {
    const from = positionFor(archive, fromGtid);
    if (typeof from === "string") {
      reasons.push(from);
      continue;
    }
    for (const files of generations(archive.files)) {
      const chain = chainOf(archive, files, from, until);
      if (typeof chain === "string") reasons.push(chain);
      else chains.push(chain);
    }
  }
  if (chains.length === 0) {
    if (archives.length === 0) return { refused: "no site has a binary log archive: enable spec.backup.pitr, or restore the backup without a point in time" };
    // Nothing after the backup anywhere is a complete (empty) replay, not a failure.
    if (reasons.every((r) => r.endsWith("holds nothing after the backup"))) return { plan: { site: archives[0]?.site ?? "", flavor: archiveFlavor(archives[0] ?? {}), files: [], short: until !== undefined } };
    return { refused: `no site's archive covers the time after the backup: ${reasons.join("; ")}` };
  }
  const reach = (p: ReplayPlan): bigint => REACH[p.flavor](p.files.findLast((f) => f.lastGtid !== undefined));
  chains.sort((a, b) => Number(a.short) - Number(b.short) || (reach(b) > reach(a) ? 1 : reach(b) < reach(a) ? -1 : 0) || a.files.length - b.files.length);
  return { plan: chains[0] as ReplayPlan };
}
