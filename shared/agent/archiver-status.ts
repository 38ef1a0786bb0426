/**
 * What an agent's binary log archiver reports (`GET /archiver/status`), and the operator's parser
 * for it: the operator turns it into the bloodraven_archiver_* metrics.
 */
import type { ParseResult } from "../annotations.js";

export interface ArchiverStatus {
  readonly enabled: true;
  readonly site: string;
  /** The site's archive folder in the store (no secret). */
  readonly location: string;
  /** This agent's server was writable at the last scan: it is the one uploading. */
  readonly primary: boolean;
  readonly lastScanAt?: string;
  readonly filesArchived: number;
  readonly bytesArchived: number;
  readonly lastArchivedFile?: string;
  readonly lastArchivedAt?: string;
  /** The newest transaction time the archive holds, unix seconds. */
  readonly newestTransactionTime?: number;
  /** Files that failed to upload since the agent started. */
  readonly uploadFailures: number;
  /** On the primary: sealed binary logs not in the archive at the end of the last scan; 0 on a replica. */
  readonly backlogFiles: number;
  /** Files pruned from the archive since the agent started (every retained backup holds them). */
  readonly filesPruned?: number;
  /** The archive floor the last prune went to (the operator's, from the retained backups). */
  readonly prunedTo?: string;
  readonly lastError?: string;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/** An agent's answer: its archive's status, or null when the agent archives nothing. */
export function parseArchiverStatus(body: unknown): ParseResult<ArchiverStatus | null> {
  if (!isRecord(body)) return { ok: false, error: "the answer is not a JSON object" };
  if (body.enabled === false) return { ok: true, value: null };
  const counts = ["filesArchived", "bytesArchived", "uploadFailures", "backlogFiles"].filter((k) => !isCount(body[k]));
  if (body.enabled !== true || typeof body.site !== "string" || typeof body.primary !== "boolean" || counts.length > 0) {
    return { ok: false, error: `the answer lacks or has malformed: ${["enabled", "site", "primary"].filter((k) => body[k] === undefined).concat(counts).join(", ") || "enabled"}` };
  }
  if (body.lastArchivedAt !== undefined && Number.isNaN(Date.parse(String(body.lastArchivedAt)))) return { ok: false, error: "lastArchivedAt is not a time" };
  return { ok: true, value: body as unknown as ArchiverStatus };
}
