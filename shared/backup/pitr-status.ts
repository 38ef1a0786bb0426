/**
 * status.pitr from the sites' agents' /archiver/status answers (operator/group/archive.ts reads
 * them beside the cycle) and the archive floor of the last retention scan. Only what changes when
 * the archive does: a scan's time is left out, so a quiet archive writes nothing.
 */
import type { PitrStatus } from "../api/backup.js";
import type { ArchiverStatus } from "../agent/archiver-status.js";

const isoSeconds = (unixSeconds: number): string => new Date(unixSeconds * 1000).toISOString();

/** undefined when no site's agent reports an archive. */
export function pitrStatus(answers: ReadonlyMap<string, ArchiverStatus>, floor: string | undefined): PitrStatus | undefined {
  if (answers.size === 0) return undefined;
  const sites = [...answers]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, a]) => ({
      name,
      primary: a.primary,
      filesArchived: a.filesArchived,
      bytesArchived: a.bytesArchived,
      ...(a.lastArchivedFile === undefined ? {} : { lastArchivedFile: a.lastArchivedFile }),
      ...(a.lastArchivedAt === undefined ? {} : { lastArchivedTime: a.lastArchivedAt }),
      ...(a.newestTransactionTime === undefined ? {} : { newestTransactionTime: isoSeconds(a.newestTransactionTime) }),
      backlogFiles: a.backlogFiles,
      ...(a.filesPruned === undefined ? {} : { filesPruned: a.filesPruned }),
      ...(a.lastError === undefined ? {} : { error: a.lastError }),
    }));
  const newest = Math.max(...[...answers.values()].map((a) => a.newestTransactionTime ?? -Infinity));
  return { ...(floor === undefined ? {} : { floor }), ...(Number.isFinite(newest) ? { newestTransactionTime: isoSeconds(newest) } : {}), sites };
}
