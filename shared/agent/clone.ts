/**
 * The clone protocol between the operator and the agents, as pure data and parsers.
 *
 * A clone replaces a recipient site's data with a physical copy of a donor's:
 *   1. the operator POSTs a CloneRequest to the recipient's agent (`POST /v1/clone`);
 *   2. the recipient's agent pulls the donor agent's backup stream (`GET /v1/clone/backup`,
 *      MariaDB: `mariadb-backup --backup --stream=xbstream`), extracts and prepares it in the
 *      staging directory beside the datadir, and writes the manifest there last;
 *   3. it shuts the server down; whatever starts it again (the pod's entrypoint, or an external
 *      site's supervisor) first swaps the staged copy in (images/mariadb/apply-clone.sh), so
 *      the swap never races the process that restarts the server;
 *   4. the server comes back read-only on the copy; the agent positions its GTID state at the
 *      copy's and reports Ready; the operator then points replication at the primary.
 * MySQL's recipient instead runs CLONE INSTANCE against the donor's server (donor.mysql), which
 * copies, swaps and restarts by itself; steps 3 and 4 are then the server's own.
 * The operator follows the job with `GET /v1/clone`.
 */
import { isSiteName, type ParseResult } from "../annotations.js";

export const CLONE_JOB_PHASES = ["Cloning", "Preparing", "WaitingForRestart", "Ready", "Failed"] as const;
export type CloneJobPhase = (typeof CLONE_JOB_PHASES)[number];

/**
 * Where the copy comes from: the donor site, its agent's base URL, and its server's address as
 * the operator reaches it (MySQL's recipient connects to it with CLONE INSTANCE).
 */
export interface CloneDonor {
  readonly site: string;
  readonly url: string;
  readonly mysql?: { readonly host: string; readonly port: number };
}

export interface CloneRequest {
  /** Chosen by the operator and persisted before it asks: a repeated POST with the same id is the same job. */
  readonly id: string;
  readonly donor: CloneDonor;
}

/** What `GET /v1/clone` answers about the recipient's last job. */
export interface CloneJob extends CloneRequest {
  readonly phase: CloneJobPhase;
  /** ISO times. */
  readonly startedAt: string;
  readonly finishedAt?: string;
  /** Bytes of the backup stream received so far. */
  readonly bytes: number;
  /** The copy's GTID position (MariaDB: gtid_binlog_pos form), once prepared. */
  readonly gtid?: string;
  /** Why the job failed, with what to do. */
  readonly error?: string;
}

/**
 * A donor whose server refuses its agent's login answers `GET /v1/clone/backup` with 503 and
 * Retry-After: its password file is not yet the rotated password (a pod's mounted Secret follows
 * the Secret within about a minute and a half). The recipient, or a backup Job, asks again for
 * this long before giving up with the donor's answer.
 */
export const DONOR_NOT_READY_WAIT_MS = 180_000;
/** The Retry-After a donor that cannot log in sends, in seconds. */
export const DONOR_RETRY_AFTER_S = 5;

/** The file the recipient writes last into the staged copy; once swapped in, it stays in the datadir. */
export const CLONE_MANIFEST = "bloodraven-clone.json";

export interface CloneManifest {
  readonly id: string;
  readonly gtid: string;
  readonly donor: string;
  readonly preparedAt: string;
}

const CLONE_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** A DNS name or an IPv4/IPv6 address: nothing that could end a quoted SQL string. */
const HOST = /^[A-Za-z0-9.:-]{1,253}$/;

export type Parsed<T> = ParseResult<T>;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function agentUrl(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:" ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

export function parseCloneRequest(body: unknown): Parsed<CloneRequest> {
  if (!isRecord(body)) return { ok: false, error: 'the body must be a JSON object {"id": ..., "donor": {"site": ..., "url": ...}}' };
  if (typeof body.id !== "string" || !CLONE_ID.test(body.id)) return { ok: false, error: "id must be 1-63 characters of a-z, 0-9 and -, starting with a letter or digit" };
  const donor = body.donor;
  if (!isRecord(donor) || typeof donor.site !== "string" || !isSiteName(donor.site)) return { ok: false, error: "donor.site must be a site name (a DNS label)" };
  const url = agentUrl(donor.url);
  if (url === undefined) return { ok: false, error: "donor.url must be the donor agent's base URL, http(s)://host:port" };
  const server = donor.mysql;
  if (server === undefined) return { ok: true, value: { id: body.id, donor: { site: donor.site, url } } };
  if (!isRecord(server) || typeof server.host !== "string" || !HOST.test(server.host) || typeof server.port !== "number" || !Number.isInteger(server.port) || server.port < 1 || server.port > 65_535) {
    return { ok: false, error: "donor.mysql must be the donor server's {host, port}: a host name or IP address, and a port from 1 to 65535" };
  }
  return { ok: true, value: { id: body.id, donor: { site: donor.site, url, mysql: { host: server.host, port: server.port } } } };
}

/**
 * The GTID position of a mariadb-backup copy, from its `xtrabackup_binlog_info`: the binary log
 * file, the position and the GTID position, separated by tabs (`mysql-bin.000003\t2796\t0-2-14`).
 */
export function parseBinlogInfo(text: string): Parsed<string> {
  const fields = text.trim().split(/\s+/);
  const gtid = fields[2] ?? "";
  if (fields.length < 3 || !/^\d+-\d+-\d+(,\d+-\d+-\d+)*$/.test(gtid)) {
    return { ok: false, error: `xtrabackup_binlog_info does not hold a GTID position (${JSON.stringify(text.trim().slice(0, 200))}); is the donor's binary log on?` };
  }
  return { ok: true, value: gtid };
}

export function parseCloneManifest(text: string): Parsed<CloneManifest> {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { ok: false, error: `${CLONE_MANIFEST} is not JSON` };
  }
  if (!isRecord(body) || typeof body.id !== "string" || typeof body.gtid !== "string" || typeof body.donor !== "string" || typeof body.preparedAt !== "string") {
    return { ok: false, error: `${CLONE_MANIFEST} lacks id, gtid, donor or preparedAt` };
  }
  return { ok: true, value: { id: body.id, gtid: body.gtid, donor: body.donor, preparedAt: body.preparedAt } };
}

/** Parses a `GET /v1/clone` answer: the job, or null when the agent has none. */
export function parseCloneJob(body: unknown): Parsed<CloneJob | null> {
  if (!isRecord(body)) return { ok: false, error: "the answer is not a JSON object" };
  const job = body.job;
  if (job === null) return { ok: true, value: null };
  if (!isRecord(job)) return { ok: false, error: "the answer lacks job" };
  const request = parseCloneRequest(job);
  if (!request.ok) return request;
  const phase = CLONE_JOB_PHASES.find((p) => p === job.phase);
  if (phase === undefined || typeof job.startedAt !== "string" || typeof job.bytes !== "number") return { ok: false, error: "the job lacks phase, startedAt or bytes" };
  return {
    ok: true,
    value: {
      ...request.value,
      phase,
      startedAt: job.startedAt,
      bytes: job.bytes,
      ...(typeof job.finishedAt === "string" ? { finishedAt: job.finishedAt } : {}),
      ...(typeof job.gtid === "string" ? { gtid: job.gtid } : {}),
      ...(typeof job.error === "string" ? { error: job.error } : {}),
    },
  };
}
