import { lookup } from "node:dns/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { cacheFlavor, parseReplication, type CacheFlavor, type CacheReplication, type ListedReplica } from "../../shared/dragonfly/replication.js";
import type { CacheAddress, CacheClient } from "./cache-client.js";

/** A cache server as one poll saw it. */
export interface CacheObservation extends CacheReplication {
  flavor: CacheFlavor;
  /** Keys in the current database (DBSIZE). */
  keys: number;
}

const text = (value: unknown, what: string): string => {
  if (typeof value !== "string") throw new Error(`${what}: expected text, got ${JSON.stringify(value)}`);
  return value;
};

/** INFO server, INFO replication and DBSIZE. */
export async function observeCache(client: CacheClient): Promise<CacheObservation> {
  const flavor = cacheFlavor(text(await client.read(["INFO", "server"]), "INFO server"));
  const replication = parseReplication(text(await client.read(["INFO", "replication"]), "INFO replication"));
  const keys = await client.read(["DBSIZE"]);
  if (typeof keys !== "number") throw new Error(`DBSIZE: expected a number, got ${JSON.stringify(keys)}`);
  return { ...replication, flavor, keys };
}

/** Makes the server a replica of `master` (a full or partial resync follows, in the background). */
export async function replicate(client: CacheClient, master: CacheAddress): Promise<void> {
  await client.write(["REPLICAOF", master.host, master.port]);
}

/**
 * Writes a snapshot now and returns once it is on disk (SAVE, the same on Dragonfly and Redis):
 * what a server with a snapshot volume loads when it starts again.
 */
export async function saveSnapshot(client: CacheClient, timeoutMs: number): Promise<void> {
  await client.write(["SAVE"], timeoutMs);
}

/** Makes a replica a master at once, with whatever it has received. */
export async function promoteNow(client: CacheClient): Promise<void> {
  await client.write(["REPLICAOF", "NO", "ONE"]);
}

/**
 * Makes `target`, a replica of the reachable master `from`, the master without losing a write:
 * the master stops taking writes until the replica has them all, then the two swap roles.
 * Dragonfly: REPLTAKEOVER on the replica. Redis: FAILOVER TO the replica on the master, which
 * answers at once and hands over in the background, so the target is polled until it is master.
 * Throws when that did not happen within `timeoutMs` (nothing was promoted then).
 */
export async function takeOver(target: CacheClient, from: CacheClient, flavor: CacheFlavor, timeoutMs: number): Promise<void> {
  if (flavor === "dragonfly") {
    // REPLTAKEOVER's own limit is in seconds; the client allows it 5 s more to answer.
    await target.write(["REPLTAKEOVER", Math.max(1, Math.ceil(timeoutMs / 1000))], timeoutMs + 5_000);
    return;
  }
  // FAILOVER names the replica as the master lists it, and only once the master has it online
  // (shortly after a copy ends, the master still waits for its first acknowledgement).
  const deadline = Date.now() + timeoutMs;
  const addresses = new Set((await lookup(target.address.host, { all: true })).map((a) => a.address));
  let listed: ListedReplica | undefined;
  for (let i = 0; i < 10_000; i++) {
    const replicas = parseReplication(text(await from.read(["INFO", "replication"]), "INFO replication")).replicas.filter((r) => r.port === target.address.port);
    listed = replicas.find((r) => addresses.has(r.ip)) ?? (replicas.length === 1 ? replicas[0] : undefined);
    if (listed?.state === "online" || Date.now() >= deadline) break;
    await sleep(50);
  }
  if (listed?.state !== "online") {
    throw new Error(`${target.address.host}:${target.address.port} is not an online replica of ${from.address.host}:${from.address.port}${listed ? ` (state ${listed.state})` : ""}`);
  }
  await from.write(["FAILOVER", "TO", listed.ip, listed.port, "TIMEOUT", Math.max(1, deadline - Date.now())]);
  for (let i = 0; i < 10_000 && Date.now() < deadline + 2_000; i++) {
    if (parseReplication(text(await target.read(["INFO", "replication"]), "INFO replication")).role === "master") return;
    await sleep(50);
  }
  throw new Error(`${target.address.host}:${target.address.port} was not the master ${timeoutMs} ms after FAILOVER TO it`);
}
