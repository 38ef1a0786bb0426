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
 * Files are compared by their last transaction's GTID: exact for a group that writes in one
 * replication domain (as the operator sets servers up); with several domains a file's other
 * domains are not looked at.
 */
import { parseMariadbBinlogState, parseMariadbPosition } from "../gtid/mariadb-position.js";
import { binlogNumber, generations, type ArchivedBinlog, type ArchiveManifest } from "./binlog-archive.js";

export interface ReplayPlan {
  readonly site: string;
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


/** The file holds a transaction after `from` in some domain. */
function after(file: ArchivedBinlog, from: Map<number, bigint>): boolean {
  if (file.lastGtid === undefined) return false;
  const [domain = "", , seq = ""] = file.lastGtid.split("-");
  return BigInt(seq) > (from.get(Number(domain)) ?? -1n);
}

/** The file starts at or before `from` in every domain `from` has: nothing between the two is missing. */
function startsBy(file: ArchivedBinlog, from: Map<number, bigint>): boolean {
  const start = seqs(file.startState, parseMariadbBinlogState);
  return [...from].every(([domain, seq]) => (start.get(domain) ?? 0n) <= seq);
}

/** One generation's chain of a site's archive (`files` in numbering order). */
function chainOf(archive: ArchiveManifest, files: readonly ArchivedBinlog[], from: Map<number, bigint>, until: number | undefined): ReplayPlan | string {
  const needed = files.findIndex((f) => after(f, from));
  if (needed < 0) return `${archive.site}'s archive holds nothing after the backup`;
  if (!startsBy(files[needed] as ArchivedBinlog, from)) {
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
    files: chain,
    ...(last?.lastGtid !== undefined ? { reachesGtid: last.lastGtid } : {}),
    ...(last?.lastTime !== undefined ? { reachesTime: last.lastTime } : {}),
    short: until !== undefined && (last?.lastTime ?? 0) < until,
  };
}

/**
 * The archive floor: the position every one of these backups (gtid_binlog_pos form) holds, per
 * replication domain the lowest seq; a domain some backup lacks is left out, so nothing of it is
 * covered. undefined when nothing is covered (no backups). The server id is not compared: 0.
 */
export function archiveFloor(positions: readonly string[]): string | undefined {
  let each: Map<number, bigint>[];
  try {
    each = positions.map((p) => seqs(p, parseMariadbPosition));
  } catch {
    // Not a MariaDB position (a MySQL backup's GTID set): MariaDB's archive cannot be judged by it.
    return undefined;
  }
  const domains = [...(each[0]?.keys() ?? [])].filter((d) => each.every((m) => m.has(d)));
  if (domains.length === 0) return undefined;
  const lowest = (d: number): bigint => each.map((m) => m.get(d) as bigint).reduce((a, b) => (b < a ? b : a));
  return domains.map((d) => `${d}-0-${lowest(d)}`).join(",");
}

/**
 * The files of a site's archive that no replay onto a backup at or after `floor` can need (see
 * planReplay): the oldest ones, up to the first that holds a transaction after the floor. What
 * follows a pruned file starts where it ended, so every later backup still finds its first file.
 */
export function prunableFiles(archive: ArchiveManifest, floor: string): ArchivedBinlog[] {
  const from = seqs(floor, parseMariadbPosition);
  return generations(archive.files).flatMap((files) => {
    const firstNeeded = files.findIndex((f) => after(f, from));
    return firstNeeded < 0 ? files : files.slice(0, firstNeeded);
  });
}

/**
 * Chooses the replay for a backup at `fromGtid` (gtid_binlog_pos form) up to `until` (unix
 * seconds; undefined: everything archived) from every site's archive.
 */
export function planReplay(archives: readonly ArchiveManifest[], fromGtid: string, until?: number): ReplayChoice {
  const from = seqs(fromGtid, parseMariadbPosition);
  const chains: ReplayPlan[] = [];
  const reasons: string[] = [];
  for (const archive of archives) {
    for (const files of generations(archive.files)) {
      const chain = chainOf(archive, files, from, until);
      if (typeof chain === "string") reasons.push(chain);
      else chains.push(chain);
    }
  }
  if (chains.length === 0) {
    if (archives.length === 0) return { refused: "no site has a binary log archive: enable spec.backup.pitr, or restore the backup without a point in time" };
    // Nothing after the backup anywhere is a complete (empty) replay, not a failure.
    if (reasons.every((r) => r.endsWith("holds nothing after the backup"))) return { plan: { site: archives[0]?.site ?? "", files: [], short: until !== undefined } };
    return { refused: `no site's archive covers the time after the backup: ${reasons.join("; ")}` };
  }
  const reach = (p: ReplayPlan): bigint => BigInt(p.reachesGtid?.split("-")[2] ?? "0");
  chains.sort((a, b) => Number(a.short) - Number(b.short) || (reach(b) > reach(a) ? 1 : reach(b) < reach(a) ? -1 : 0) || a.files.length - b.files.length);
  return { plan: chains[0] as ReplayPlan };
}
