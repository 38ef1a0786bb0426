import { describe, expect, it } from "vitest";
import { TAR_BLOCK, tarEnd, tarFileHeader, tarPadding, TarReader, type TarEvent } from "../../../shared/backup/tar.js";

const text = (b: Buffer, from: number, length: number): string => b.subarray(from, from + length).toString("utf8").replace(/\0+$/, "");
/** A header's checksum holds when the bytes sum, with the checksum field as spaces, to its value. */
const checksumHolds = (h: Buffer): boolean => {
  let sum = 0;
  for (let i = 0; i < TAR_BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (h[i] ?? 0);
  return parseInt(text(h, 148, 7), 8) === sum;
};

describe("tar", () => {
  const mtime = new Date("2026-12-06T02:00:00Z");

  it("writes a ustar header with the name, mode, size, time and a checksum that holds", () => {
    const h = tarFileHeader("@.json", 1234, mtime);
    expect(h.length).toBe(TAR_BLOCK);
    expect(text(h, 0, 100)).toBe("@.json");
    expect(text(h, 100, 8)).toBe("0000644");
    expect(parseInt(text(h, 124, 12), 8)).toBe(1234);
    expect(parseInt(text(h, 136, 12), 8)).toBe(mtime.getTime() / 1000);
    expect(text(h, 156, 1)).toBe("0");
    expect(text(h, 257, 6)).toBe("ustar");
    expect(checksumHolds(h)).toBe(true);
  });

  it("puts a long name and a size beyond 11 octal digits in a pax header first", () => {
    const name = `${"s".repeat(80)}@${"t".repeat(80)}@@12.tsv.zst`;
    const big = 9 * 1024 ** 3;
    const h = tarFileHeader(name, big, mtime);
    expect(text(h, 156, 1)).toBe("x");
    expect(checksumHolds(h.subarray(0, TAR_BLOCK))).toBe(true);
    const records = text(h, TAR_BLOCK, parseInt(text(h, 124, 12), 8));
    expect(records).toBe(`${name.length + 10} path=${name}\n19 size=${big}\n`);
    for (const r of records.split("\n").filter((x) => x !== "")) expect(Buffer.byteLength(`${r}\n`)).toBe(Number(r.split(" ")[0]));
    const own = h.subarray(h.length - TAR_BLOCK);
    expect(h.length).toBe(3 * TAR_BLOCK);
    expect(text(own, 156, 1)).toBe("0");
    expect(parseInt(text(own, 124, 12), 8)).toBe(0);
    expect(checksumHolds(own)).toBe(true);
  });

  it("pads to whole blocks, ends with two zero blocks, and refuses what is no plain file", () => {
    expect(tarPadding(0).length).toBe(0);
    expect(tarPadding(1).length).toBe(511);
    expect(tarPadding(512).length).toBe(0);
    expect(tarEnd()).toEqual(Buffer.alloc(1024));
    expect(() => tarFileHeader("a/b", 1, mtime)).toThrow(/plain file name/);
    expect(() => tarFileHeader("", 1, mtime)).toThrow(/plain file name/);
    expect(() => tarFileHeader("a", -1, mtime)).toThrow(/valid size/);
  });

  describe("TarReader", () => {
    const files: [string, Buffer][] = [
      ["@.json", Buffer.from('{"gtidExecuted":"x"}')],
      ["empty", Buffer.alloc(0)],
      [`shop@${"o".repeat(150)}@0.tsv.zst`, Buffer.alloc(1300, 7)],
      ["@.done.json", Buffer.alloc(512, 1)],
    ];
    const archive = Buffer.concat([...files.flatMap(([name, bytes]) => [tarFileHeader(name, bytes.length, mtime), bytes, tarPadding(bytes.length)]), tarEnd()]);
    /** The files an event list holds, their bytes joined. */
    const collect = (events: TarEvent[]): [string, Buffer][] => {
      const out: [string, Buffer[]][] = [];
      for (const e of events) {
        if (e.kind === "file") out.push([e.name, []]);
        else if (e.kind === "data") out.at(-1)?.[1].push(Buffer.from(e.bytes));
      }
      return out.map(([n, parts]) => [n, Buffer.concat(parts)]);
    };
    const read = (bytes: Buffer, slice: number): TarEvent[] => {
      const reader = new TarReader();
      const events: TarEvent[] = [];
      for (let at = 0; at < bytes.length; at += slice) events.push(...reader.push(bytes.subarray(at, at + slice)));
      reader.end();
      return events;
    };

    it("reads back what the writer wrote, in chunks of any size", () => {
      for (const slice of [1, 7, 511, 512, 513, 4096, archive.length]) expect(collect(read(archive, slice))).toEqual(files);
    });

    it("refuses a cut-off archive, bytes after its end, a damaged header, and anything but a plain file", () => {
      expect(() => read(archive.subarray(0, archive.length - 512), 100)).toThrow(/cut off/);
      expect(() => read(archive.subarray(0, 700), 100)).toThrow(/cut off/);
      expect(() => read(Buffer.concat([archive, Buffer.alloc(512, 1)]), 512)).toThrow(/bytes follow/);
      const damaged = Buffer.from(archive);
      damaged[10] = (damaged[10] ?? 0) ^ 1;
      expect(() => read(damaged, 512)).toThrow(/checksum/);
      const entry = (name: string, type: string): Buffer => {
        const h = tarFileHeader("x", 0, mtime);
        h.fill(0, 0, 100).write(name, 0);
        h.write(type, 156);
        h.fill(" ", 148, 156);
        let sum = 0;
        for (const b of h) sum += b;
        h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
        return Buffer.concat([h, tarEnd()]);
      };
      expect(() => read(entry("link", "2"), 512)).toThrow(/type "2": only plain files/);
      expect(() => read(entry("dir", "5"), 512)).toThrow(/type "5": only plain files/);
      expect(() => read(entry("../etc/passwd", "0"), 512)).toThrow(/not a plain file name/);
      expect(() => read(entry("..", "0"), 512)).toThrow(/not a plain file name/);
      expect(collect(read(entry("fine", "0"), 512))).toEqual([["fine", Buffer.alloc(0)]]);
    });
  });
});
