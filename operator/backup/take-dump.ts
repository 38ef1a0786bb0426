/**
 * The copy of a MySQL site: MySQL Shell (`mysqlsh`, in the Job's MySQL image) dumps the source
 * into a folder of the Job's work volume, and each file, once finished, is packed into one tar
 * stream and deleted (shared/backup/mysql-dump.ts says which files are finished when). The
 * folder holds what MySQL Shell writes ahead of the store at most, never the whole dump.
 */
import { createReadStream } from "node:fs";
import { mkdir, readdir, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { DUMP_METADATA_FILE, dumpPosition, dumpProgram, filesToPack, leftInProgress, type DumpSettings } from "../../shared/backup/mysql-dump.js";
import { tarEnd, tarFileHeader, tarPadding } from "../../shared/backup/tar.js";
import { runMysqlShell } from "../tools/mysql-shell.js";
import type { CopyStream } from "./artifact-streams.js";

/** How often the dump folder is listed for finished files. */
const POLL_MS = 200;

export interface DumpSource {
  readonly site: string;
  readonly host: string;
  readonly port: number;
  /** The mounted Secret's files: MySQL Shell reads the account from them itself. */
  readonly userFile: string;
  readonly passwordFile: string;
  readonly settings: DumpSettings;
  /** Absent or empty: the program and the dump folder go here, and it is removed after. */
  readonly workDir: string;
  /** The MySQL Shell executable. */
  readonly mysqlsh: string;
}

export async function openDump(source: DumpSource, signal: AbortSignal): Promise<CopyStream> {
  const { workDir } = source;
  if ((await readdir(workDir).catch(() => [])).length > 0) throw new Error(`${workDir} is not empty: a dump starts in an empty folder`);
  await mkdir(workDir, { recursive: true, mode: 0o700 });
  const dumpDir = join(workDir, "dump");
  const text = dumpProgram({ outputDir: dumpDir, host: source.host, port: source.port, userFile: source.userFile, passwordFile: source.passwordFile, settings: source.settings });
  const shell = await runMysqlShell({ mysqlsh: source.mysqlsh, name: "util.dumpInstance", text, workDir, imageHint: "the backup Job's image must carry MySQL Shell (spec.backup.profiles[].dump.image)" }, signal);
  const dumped = shell.exited;
  // Read by the packer; a failure the packer never reaches (the store gave up) is not unhandled.
  dumped.catch(() => undefined);
  let metadata: string | undefined;
  const stream = Readable.from(packDump(dumpDir, dumped, signal, (text) => (metadata = text)));
  return {
    streams: [stream],
    position: () => {
      if (metadata === undefined) throw new Error(`the dump of ${source.site} has no ${DUMP_METADATA_FILE}`);
      const position = dumpPosition(metadata);
      if (!position.ok) throw new Error(`the dump of ${source.site}: ${position.error}`);
      return position.value;
    },
    stop: async () => {
      stream.destroy();
      shell.kill();
      await dumped.catch(() => undefined);
      await rm(workDir, { recursive: true, force: true });
    },
  };
}

/**
 * The tar stream of the folder MySQL Shell writes: each file as soon as it is finished, deleted
 * once passed on, `@.done.json` last, then the archive's end. `dumped` settles when MySQL Shell
 * exits (rejecting when it failed); `metadata` gets `@.json`'s text as it is packed. A dump whose
 * `@.json` names no exact position fails as soon as that file reads whole, not hours later.
 */
export async function* packDump(dir: string, dumped: Promise<void>, signal: AbortSignal, metadata: (text: string) => void): AsyncGenerator<Buffer> {
  let exit: { failure?: unknown } | undefined;
  dumped.then(
    () => (exit = {}),
    (failure: unknown) => (exit = { failure }),
  );
  const packed = new Set<string>();
  let positionChecked = false;
  for (;;) {
    signal.throwIfAborted();
    // Taken before the listing: a folder listed after the exit holds everything MySQL Shell wrote.
    const exited = exit;
    const names = (await readdir(dir).catch((err: NodeJS.ErrnoException) => (err.code === "ENOENT" ? [] : Promise.reject(err)))).filter((n) => !packed.has(n));
    if (!positionChecked && names.includes(DUMP_METADATA_FILE)) positionChecked = await checkPosition(join(dir, DUMP_METADATA_FILE));
    const { files, finished } = filesToPack(names);
    for (const name of files) {
      const path = join(dir, name);
      if (name === DUMP_METADATA_FILE) metadata(await readFile(path, "utf8"));
      yield* packFile(path, name);
      packed.add(name);
      await rm(path);
    }
    if (finished) {
      await dumped;
      const left = leftInProgress(await readdir(dir));
      if (left.length > 0) throw new Error(`MySQL Shell finished and left ${left.slice(0, 3).join(", ")} unfinished: the dump is incomplete`);
      yield tarEnd();
      return;
    }
    if (exited) {
      if (exited.failure !== undefined) throw exited.failure;
      throw new Error("mysqlsh ended without writing @.done.json: the dump is incomplete");
    }
    await sleep(POLL_MS, undefined, { signal });
  }
}

/**
 * True once `@.json` reads whole and names an exact position; false while MySQL Shell is still
 * writing it (it is written in place, so a read may catch half of it); throws when it names none.
 */
async function checkPosition(path: string): Promise<boolean> {
  const text = await readFile(path, "utf8");
  try {
    JSON.parse(text);
  } catch {
    return false;
  }
  const position = dumpPosition(text);
  if (!position.ok) throw new Error(`the dump cannot be used: ${position.error}`);
  return true;
}

/** One file's header, bytes and padding; a file that changes size while it is read fails the stream. */
async function* packFile(path: string, name: string): AsyncGenerator<Buffer> {
  const { size, mtime } = await stat(path);
  yield tarFileHeader(name, size, mtime);
  let read = 0;
  for await (const chunk of createReadStream(path)) {
    read += (chunk as Buffer).length;
    if (read > size) break;
    yield chunk as Buffer;
  }
  if (read !== size) throw new Error(`${name} changed while it was packed (${size} bytes at first, ${read} read): MySQL Shell was still writing it`);
  yield tarPadding(size);
}
