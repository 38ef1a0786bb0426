import { gzipSync } from "node:zlib";

export interface TarEntry {
  /** A relative path of at most 100 bytes, `/` between folders. */
  name: string;
  content: string | Buffer;
}

const BLOCK = 512;

/** `value` as an octal field of `width` bytes: digits, then a NUL. */
function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, "0") + "\0";
}

/** One ustar header: a regular file, mode 0644, owned by uid/gid 0, modified at `mtime`. */
function header(name: string, size: number, mtime: number): Buffer {
  const block = Buffer.alloc(BLOCK);
  const field = (offset: number, text: string): void => void block.write(text, offset, "utf8");
  field(0, name);
  field(100, octal(0o644, 8));
  field(108, octal(0, 8));
  field(116, octal(0, 8));
  field(124, octal(size, 12));
  field(136, octal(mtime, 12));
  // The checksum is computed with its own field read as eight spaces.
  field(148, "        ");
  field(156, "0");
  field(257, "ustar\0");
  field(263, "00");
  let sum = 0;
  for (const byte of block) sum += byte;
  field(148, sum.toString(8).padStart(6, "0") + "\0 ");
  return block;
}

/**
 * A gzip-compressed POSIX (ustar) archive of regular files, readable by `tar -xzf` everywhere.
 * Names longer than the format's 100 bytes are refused rather than cut.
 */
export function tarGz(entries: readonly TarEntry[], mtime: Date): Buffer {
  const seconds = Math.floor(mtime.getTime() / 1000);
  const parts: Buffer[] = [];
  for (const entry of entries) {
    if (Buffer.byteLength(entry.name) > 100 || entry.name.startsWith("/") || entry.name.split("/").includes("..")) {
      throw new Error(`cannot archive ${JSON.stringify(entry.name)}: names are relative, without "..", and at most 100 bytes`);
    }
    const content = typeof entry.content === "string" ? Buffer.from(entry.content, "utf8") : entry.content;
    parts.push(header(entry.name, content.length, seconds), content);
    const pad = (BLOCK - (content.length % BLOCK)) % BLOCK;
    if (pad > 0) parts.push(Buffer.alloc(pad));
  }
  // The end of the archive: two empty blocks.
  parts.push(Buffer.alloc(2 * BLOCK));
  return gzipSync(Buffer.concat(parts));
}
