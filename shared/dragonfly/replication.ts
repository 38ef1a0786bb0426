/**
 * What a cache server (Dragonfly, or Redis, which speaks the same replication commands) says of
 * its replication in `INFO replication`, read into one shape. Field names differ between the two
 * (Dragonfly says `role:replica`, Redis `role:slave`), and Dragonfly may leave out the offsets and
 * replication ids Redis always reports: a missing field stays undefined, and the decisions that
 * need one are conservative without it (decide.ts).
 */
export interface CacheReplication {
  role: "master" | "replica";
  /** A replica's master as it was told (`REPLICAOF host port`). */
  masterHost?: string;
  masterPort?: number;
  /** A replica's link to its master is up. */
  linkUp?: boolean;
  /** Seconds since the replica last heard from its master. */
  lastIOSecondsAgo?: number;
  /** A replica is loading a full copy from its master. */
  syncInProgress?: boolean;
  /** Replicas connected to a master. */
  connectedReplicas: number;
  /** A master's replicas as it lists them (`slave<n>:ip=...,port=...,state=...`). */
  replicas: ListedReplica[];
  /** The replication stream's id and this server's offset in it (`master_replid`, `master_repl_offset`). */
  replid?: string;
  offset?: number;
  /**
   * After a promotion: the id of the stream it replicated before (`master_replid2`), valid up to
   * `secondOffset` - 1 (`second_repl_offset`, -1 when none).
   */
  replid2?: string;
  secondOffset?: number;
}

export interface ListedReplica {
  ip: string;
  port: number;
  /** `online` (Redis) or `stable_sync` (Dragonfly) once it streams; a copy in progress before. */
  state: string;
}

/** `INFO server`: which server answers. */
export type CacheFlavor = "dragonfly" | "redis";

/** The `key:value` lines of an INFO answer (sections and comments skipped). */
export function infoFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    if (raw === "" || raw.startsWith("#")) continue;
    const colon = raw.indexOf(":");
    if (colon > 0) fields.set(raw.slice(0, colon), raw.slice(colon + 1).trim());
  }
  return fields;
}

export function cacheFlavor(serverInfo: string): CacheFlavor {
  return infoFields(serverInfo).has("dragonfly_version") ? "dragonfly" : "redis";
}

const NO_ID = /^0+$/;

/** Parses `INFO replication`; an answer without a known role is an error that quotes it. */
export function parseReplication(text: string): CacheReplication {
  const f = infoFields(text);
  const int = (key: string): number | undefined => {
    const v = f.get(key);
    return v !== undefined && /^-?\d+$/.test(v) ? Number(v) : undefined;
  };
  const id = (key: string): string | undefined => {
    const v = f.get(key);
    return v === undefined || v === "" || NO_ID.test(v) ? undefined : v;
  };
  const role = f.get("role");
  if (role !== "master" && role !== "slave" && role !== "replica") {
    throw new Error(`INFO replication without a known role (role:${role ?? "missing"})`);
  }
  const replicas: ListedReplica[] = [];
  for (const [key, value] of f) {
    if (!/^slave\d+$/.test(key)) continue;
    const attrs = new Map(value.split(",").map((kv) => kv.split("=") as [string, string]));
    const port = Number(attrs.get("port"));
    if (attrs.has("ip") && Number.isInteger(port)) replicas.push({ ip: attrs.get("ip")!, port, state: attrs.get("state") ?? "" });
  }
  const out: CacheReplication = { role: role === "master" ? "master" : "replica", connectedReplicas: int("connected_slaves") ?? 0, replicas };
  const replid = id("master_replid");
  const replid2 = id("master_replid2");
  const offset = int("master_repl_offset") ?? int("slave_repl_offset");
  const secondOffset = int("second_repl_offset");
  if (replid !== undefined) out.replid = replid;
  if (offset !== undefined) out.offset = offset;
  if (replid2 !== undefined) out.replid2 = replid2;
  if (secondOffset !== undefined) out.secondOffset = secondOffset;
  if (out.role === "replica") {
    const host = f.get("master_host");
    const port = int("master_port");
    const io = int("master_last_io_seconds_ago");
    if (host !== undefined) out.masterHost = host;
    if (port !== undefined) out.masterPort = port;
    if (f.has("master_link_status")) out.linkUp = f.get("master_link_status") === "up";
    if (io !== undefined && io >= 0) out.lastIOSecondsAgo = io;
    if (f.has("master_sync_in_progress")) out.syncInProgress = f.get("master_sync_in_progress") === "1";
  }
  return out;
}
