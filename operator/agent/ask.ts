/**
 * Calls between the operator and the agents, each bounded by its own deadline: the operator's
 * /active-site and a peer agent's /v1/view (asked by agents, and by the operator for self-fence
 * evidence), and the clone endpoints the operator drives. A failure of any kind (refused, timed
 * out, an unexpected status, a body that does not parse) comes back as `{ ok: false, error }`,
 * never thrown: the caller decides what silence means.
 */

import { parseArchiverStatus, type ArchiverStatus } from "../../shared/agent/archiver-status.js";
import { parseCloneJob, type CloneJob, type CloneRequest } from "../../shared/agent/clone.js";
import { SERVER_STATES, type ServerState } from "../../shared/agent/fencing.js";

/** The body of a 200 from the operator's /active-site. */
export interface OperatorAnswer {
  /** The single writable site, "" when there is none or more than one. */
  readonly activeSite: string;
  /** The primary the operator stands behind and sees writable; "" otherwise. */
  readonly confirmedPrimary: string;
  /** The primary the operator stands behind, whatever it sees ("" before the group's first). */
  readonly lastKnownPrimary: string;
  /** spec.sidecar.leaseTimeout, when the agent named its site. */
  readonly leaseTimeoutMs?: number;
  /** The other sites' agents, site to base URL, when the agent named its site. */
  readonly peers?: Readonly<Record<string, string>>;
  /** How old the operator's observation behind the answer was when it answered. */
  readonly observedAgoMs: number;
  /** How far the binary log archive may be pruned, when the agent named its site (gtid_binlog_pos form). */
  readonly archiveFloor?: string;
}

/** The body of a 200 from a peer agent's /v1/view. */
export interface PeerAnswer {
  readonly site: string;
  /** The operator's view the peer holds, with its age; absent when it has none. */
  readonly view?: { readonly primary: string; readonly observedAgoMs: number; readonly source: string };
  /** Its server at the last read. */
  readonly server: ServerState;
  /** How long ago, in ms, each peer last asked this agent while that peer's server could be writable. */
  readonly reachedWhileWritable: Readonly<Record<string, number>>;
  /** How long this agent has been running, in ms (reachedWhileWritable knows nothing from before). */
  readonly upMs: number;
}

export type Asked<T> = { ok: true; value: T } | { ok: false; status?: number; error: string };

async function getJson(url: string, token: string | undefined, timeoutMs: number, init: { method?: string; body?: unknown; accept?: readonly number[] } = {}): Promise<Asked<unknown>> {
  try {
    const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
    if (init.body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(url, { method: init.method ?? "GET", headers, signal: AbortSignal.timeout(timeoutMs), ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}) });
    const text = await res.text();
    if (!(init.accept ?? [200]).includes(res.status)) return { ok: false, status: res.status, error: `HTTP ${res.status}: ${text.slice(0, 300).trim()}` };
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : "";
    return { ok: false, error: `${err instanceof Error ? err.message : String(err)}${cause}` };
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isAge = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && v >= 0;
/** A MariaDB GTID position: domain-server-seq, comma separated; anything else prunes nothing. */
const MARIADB_POSITION = /^\d+-\d+-\d+(,\d+-\d+-\d+)*$/;

export async function askOperator(base: string, q: { namespace: string; group: string; site: string; phase?: string }, token: string | undefined, timeoutMs: number): Promise<Asked<OperatorAnswer>> {
  const url = `${base}/active-site?${new URLSearchParams(q).toString()}`;
  const answer = await getJson(url, token, timeoutMs);
  if (!answer.ok) return answer;
  const body = answer.value;
  if (!isRecord(body) || typeof body.activeSite !== "string" || typeof body.confirmedPrimary !== "string" || typeof body.lastKnownPrimary !== "string" || !isAge(body.observedAgoMs)) {
    return { ok: false, status: 200, error: "the operator's answer lacks activeSite, confirmedPrimary, lastKnownPrimary or observedAgoMs (an operator older than the agent?)" };
  }
  const lease = isAge(body.leaseTimeoutMs) && body.leaseTimeoutMs > 0 ? { leaseTimeoutMs: body.leaseTimeoutMs } : {};
  const peers = isRecord(body.peers) ? { peers: Object.fromEntries(Object.entries(body.peers).filter((e): e is [string, string] => typeof e[1] === "string" && /^https?:\/\//.test(e[1]))) } : {};
  const floor = typeof body.archiveFloor === "string" && MARIADB_POSITION.test(body.archiveFloor) ? { archiveFloor: body.archiveFloor } : {};
  return { ok: true, value: { activeSite: body.activeSite, confirmedPrimary: body.confirmedPrimary, lastKnownPrimary: body.lastKnownPrimary, observedAgoMs: body.observedAgoMs, ...lease, ...peers, ...floor } };
}

/** `from`: the asking agent's site and its server's state; the operator asks without one. */
export async function askPeer(base: string, from: { site: string; server: ServerState } | undefined, timeoutMs: number): Promise<Asked<PeerAnswer>> {
  const query = from === undefined ? "" : `?${new URLSearchParams({ from: from.site, server: from.server }).toString()}`;
  const answer = await getJson(`${base}/v1/view${query}`, undefined, timeoutMs);
  if (!answer.ok) return answer;
  const body = answer.value;
  if (!isRecord(body) || typeof body.site !== "string" || !isAge(body.upMs)) return { ok: false, status: 200, error: "the agent's answer lacks site or upMs" };
  const v = body.view;
  const view = isRecord(v) && typeof v.primary === "string" && isAge(v.observedAgoMs) && typeof v.source === "string" ? { primary: v.primary, observedAgoMs: v.observedAgoMs, source: v.source } : undefined;
  const reached = body.reachedWhileWritable;
  const reachedWhileWritable = isRecord(reached) ? Object.fromEntries(Object.entries(reached).filter((e): e is [string, number] => isAge(e[1]))) : {};
  const server = SERVER_STATES.find((s) => s === body.server) ?? "unknown";
  return { ok: true, value: { site: body.site, ...(view ? { view } : {}), server, reachedWhileWritable, upMs: body.upMs } };
}

function jobOf(answer: Asked<unknown>): Asked<CloneJob | null> {
  if (!answer.ok) return answer;
  const parsed = parseCloneJob(answer.value);
  return parsed.ok ? { ok: true, value: parsed.value } : { ok: false, error: `the agent's clone answer: ${parsed.error}` };
}

/** The recipient agent's last clone job (GET /v1/clone), or null when it has none. */
export async function askCloneJob(base: string, token: string, timeoutMs: number): Promise<Asked<CloneJob | null>> {
  return jobOf(await getJson(`${base}/v1/clone`, token, timeoutMs));
}

/** Starts `request` on the recipient's agent (POST /v1/clone); the same id again answers with that job. */
export async function sendClone(base: string, token: string, request: CloneRequest, timeoutMs: number): Promise<Asked<CloneJob>> {
  const answer = jobOf(await getJson(`${base}/v1/clone`, token, timeoutMs, { method: "POST", body: request, accept: [200, 202] }));
  if (!answer.ok) return answer;
  return answer.value ? { ok: true, value: answer.value } : { ok: false, error: "the agent answered without a job" };
}

/** The agent's binary log archive (GET /archiver/status), or null when it archives nothing. */
export async function askArchiver(base: string, timeoutMs: number): Promise<Asked<ArchiverStatus | null>> {
  const answer = await getJson(`${base}/archiver/status`, undefined, timeoutMs);
  if (!answer.ok) return answer;
  const parsed = parseArchiverStatus(answer.value);
  return parsed.ok ? parsed : { ok: false, status: 200, error: `the agent's archiver answer: ${parsed.error}` };
}
