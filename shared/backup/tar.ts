/**
 * The POSIX tar format (pax interchange) for regular files, written as a stream: a header before
 * each file's bytes, each file padded to 512 bytes, two zero blocks at the end. A name longer
 * than the header's 100 bytes, or a size beyond its 11 octal digits, goes in a pax extended
 * header before the file's own, which GNU tar, bsdtar and busybox read. Files only: a MySQL
 * Shell dump is one flat folder.
 */

export const TAR_BLOCK = 512;
const NAME_BYTES = 100;
/** 11 octal digits. */
const MAX_HEADER_SIZE = 8 ** 11 - 1;

function field(header: Buffer, offset: number, length: number, text: string): void {
  header.write(text, offset, length, "utf8");
}

function octal(header: Buffer, offset: number, length: number, value: number): void {
  field(header, offset, length, `${value.toString(8).padStart(length - 1, "0")}\0`);
}

function header(name: Buffer, size: number, mtimeSeconds: number, type: "0" | "x"): Buffer {
  const h = Buffer.alloc(TAR_BLOCK);
  name.copy(h, 0, 0, NAME_BYTES);
  octal(h, 100, 8, 0o644);
  octal(h, 108, 8, 0);
  octal(h, 116, 8, 0);
  octal(h, 124, 12, size);
  octal(h, 136, 12, mtimeSeconds);
  h.fill(" ", 148, 156);
  field(h, 156, 1, type);
  field(h, 257, 6, "ustar\0");
  field(h, 263, 2, "00");
  let sum = 0;
  for (const b of h) sum += b;
  field(h, 148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  return h;
}

/** One pax record, `<length> <key>=<value>\n`, whose length counts its own digits. */
function paxRecord(key: string, value: string): string {
  const rest = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(rest);
  while (String(length).length + Buffer.byteLength(rest) !== length) length = String(length).length + Buffer.byteLength(rest);
  return `${length}${rest}`;
}

/** Zero bytes that bring `size` up to a whole block. */
export function tarPadding(size: number): Buffer {
  return Buffer.alloc((TAR_BLOCK - (size % TAR_BLOCK)) % TAR_BLOCK);
}

/** The header(s) before a regular file of `size` bytes; its bytes and tarPadding(size) follow. */
export function tarFileHeader(name: string, size: number, mtime: Date): Buffer {
  if (name === "" || name.includes("/") || name.includes("\0")) throw new Error(`tar: ${JSON.stringify(name)} is not a plain file name`);
  if (!Number.isSafeInteger(size) || size < 0) throw new Error(`tar: ${name} has no valid size (${size})`);
  const seconds = Math.max(0, Math.floor(mtime.getTime() / 1000));
  const bytes = Buffer.from(name);
  const records = [...(bytes.length > NAME_BYTES ? [paxRecord("path", name)] : []), ...(size > MAX_HEADER_SIZE ? [paxRecord("size", String(size))] : [])].join("");
  // With a pax path the header's own name is only what a reader without pax shows: its first bytes.
  const own = header(bytes, size > MAX_HEADER_SIZE ? 0 : size, seconds, "0");
  if (records === "") return own;
  const pax = Buffer.from(records);
  return Buffer.concat([header(Buffer.from("PaxHeader"), pax.length, seconds, "x"), pax, tarPadding(pax.length), own]);
}

/** The end of the archive. */
export function tarEnd(): Buffer {
  return Buffer.alloc(2 * TAR_BLOCK);
}

/** What a tar stream holds, as it is read: a file begins, some of its bytes, it ends. */
export type TarEvent = { readonly kind: "file"; readonly name: string; readonly size: number } | { readonly kind: "data"; readonly bytes: Buffer } | { readonly kind: "file-end" };

/** A pax header larger than this is no header of ours. */
const MAX_PAX_BYTES = 64 * 1024;

const isZero = (b: Buffer): boolean => b.every((x) => x === 0);
const cString = (b: Buffer): string => {
  const nul = b.indexOf(0);
  return b.subarray(0, nul === -1 ? b.length : nul).toString("utf8");
};

/** A plain file name, as the packer writes them: no folder, nothing that leaves the folder. */
export function isPlainFileName(name: string): boolean {
  return name !== "" && name !== "." && name !== ".." && !name.includes("/") && !name.includes("\\") && !name.includes("\0");
}

function parsePax(records: Buffer): Map<string, string> {
  const values = new Map<string, string>();
  let at = 0;
  while (at < records.length) {
    const space = records.indexOf(0x20, at);
    const length = Number(records.subarray(at, space).toString("ascii"));
    if (space === -1 || !Number.isSafeInteger(length) || length <= space - at || at + length > records.length || records[at + length - 1] !== 0x0a) throw new Error("tar: a pax header is malformed");
    const record = records.subarray(space + 1, at + length - 1).toString("utf8");
    const eq = record.indexOf("=");
    if (eq <= 0) throw new Error("tar: a pax record has no key");
    values.set(record.slice(0, eq), record.slice(eq + 1));
    at += length;
  }
  return values;
}

/**
 * Reads a tar stream of plain files, as tarFileHeader and friends write it, from chunks of any
 * size. Anything else (a folder, a link, a device, a name with a folder in it, a bad checksum,
 * bytes after the end) is refused: the archive is an artifact of ours or damaged.
 */
export class TarReader {
  private pending: Buffer = Buffer.alloc(0);
  /** What the current part of the stream is. */
  private state: { readonly kind: "header" } | { readonly kind: "pax"; readonly size: number } | { readonly kind: "data"; left: number; readonly padding: number } | { readonly kind: "padding"; left: number } | { readonly kind: "end"; zeros: number } = { kind: "header" };
  private pax = new Map<string, string>();

  push(chunk: Buffer): TarEvent[] {
    const events: TarEvent[] = [];
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    for (;;) {
      const s = this.state;
      if (s.kind === "data") {
        if (this.pending.length === 0) return events;
        const take = Math.min(s.left, this.pending.length);
        if (take > 0) events.push({ kind: "data", bytes: this.pending.subarray(0, take) });
        this.pending = this.pending.subarray(take);
        s.left -= take;
        if (s.left > 0) return events;
        events.push({ kind: "file-end" });
        this.state = { kind: "padding", left: s.padding };
        continue;
      }
      if (s.kind === "padding") {
        const take = Math.min(s.left, this.pending.length);
        this.pending = this.pending.subarray(take);
        s.left -= take;
        if (s.left > 0) return events;
        this.state = { kind: "header" };
        continue;
      }
      if (s.kind === "pax") {
        const whole = s.size + tarPadding(s.size).length;
        if (this.pending.length < whole) return events;
        this.pax = parsePax(this.pending.subarray(0, s.size));
        this.pending = this.pending.subarray(whole);
        this.state = { kind: "header" };
        continue;
      }
      if (this.pending.length < TAR_BLOCK) return events;
      const block = this.pending.subarray(0, TAR_BLOCK);
      this.pending = this.pending.subarray(TAR_BLOCK);
      if (s.kind === "end") {
        if (!isZero(block)) throw new Error("tar: bytes follow the archive's end");
        s.zeros += 1;
        continue;
      }
      if (isZero(block)) {
        this.state = { kind: "end", zeros: 1 };
        continue;
      }
      const header = this.header(block);
      if (header.type === "x") {
        if (header.size > MAX_PAX_BYTES) throw new Error(`tar: a pax header of ${header.size} bytes`);
        this.state = { kind: "pax", size: header.size };
        continue;
      }
      const pax = this.pax;
      this.pax = new Map();
      const name = pax.get("path") ?? header.name;
      const size = pax.has("size") ? Number(pax.get("size")) : header.size;
      if (!isPlainFileName(name)) throw new Error(`tar: ${JSON.stringify(name.slice(0, 200))} is not a plain file name`);
      if (!Number.isSafeInteger(size) || size < 0) throw new Error(`tar: ${name} has no valid size`);
      events.push({ kind: "file", name, size });
      this.state = { kind: "data", left: size, padding: tarPadding(size).length };
      if (size === 0) {
        events.push({ kind: "file-end" });
        this.state = { kind: "header" };
      }
    }
  }

  /** The stream ended: whole, with the archive's two zero blocks, or an error. */
  end(): void {
    if (this.state.kind !== "end" || this.state.zeros < 2 || this.pending.length > 0) throw new Error("tar: the archive is cut off before its end");
  }

  private header(block: Buffer): { readonly name: string; readonly size: number; readonly type: "0" | "x" } {
    let sum = 0;
    for (let i = 0; i < TAR_BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
    if (parseInt(cString(block.subarray(148, 156)).trim(), 8) !== sum) throw new Error("tar: a header's checksum does not hold: the archive is damaged");
    if (cString(block.subarray(257, 263)) !== "ustar") throw new Error("tar: a header is not ustar");
    const type = String.fromCharCode(block[156] ?? 0);
    if (type !== "0" && type !== "\0" && type !== "x") throw new Error(`tar: an entry of type ${JSON.stringify(type)}: only plain files are restored`);
    const size = parseInt(cString(block.subarray(124, 136)).trim() || "0", 8);
    // A ustar prefix is a folder: the name it makes is refused as no plain file name.
    const prefix = cString(block.subarray(345, 500));
    const name = cString(block.subarray(0, 100));
    return { name: prefix === "" ? name : `${prefix}/${name}`, size, type: type === "x" ? "x" : "0" };
  }
}
