import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { deriveKeys, FrameOpener, FrameSealer, HEADER_BYTES, newSalt, SealError, type SealKeys } from "../../../shared/backup/sealing.js";

const keys = deriveKeys("correct horse battery staple", newSalt());
const other = deriveKeys("another passphrase", keys.salt);

function seal(plain: Buffer, frameBytes: number, slices = [plain]): Buffer {
  const sealer = new FrameSealer(keys, frameBytes);
  return Buffer.concat([...slices.flatMap((s) => sealer.push(s)), ...sealer.end()]);
}

function open(sealed: Buffer, using: SealKeys = keys, step = 7): Buffer {
  const opener = new FrameOpener((salt) => {
    expect(salt.equals(using.salt)).toBe(true);
    return using;
  });
  const out: Buffer[] = [];
  for (let i = 0; i < sealed.length; i += step) out.push(...opener.push(sealed.subarray(i, i + step)));
  opener.end();
  return Buffer.concat(out);
}

describe("sealed artifacts (AES-256-GCM frames)", () => {
  it("round-trips any plaintext, frame size and slicing, including exact multiples and empty", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 50 }), (bytes, frameBytes, step) => {
        const plain = Buffer.from(bytes);
        const half = Math.floor(plain.length / 2);
        expect(open(seal(plain, frameBytes, [plain.subarray(0, half), plain.subarray(half)]), keys, step).equals(plain)).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it("hides the plaintext", () => {
    const plain = Buffer.alloc(4096, 0x41);
    expect(seal(plain, 1024).includes(Buffer.alloc(32, 0x41))).toBe(false);
  });

  it("refuses any flipped byte past the header, naming the frame", () => {
    const sealed = seal(Buffer.alloc(300, 7), 64);
    fc.assert(
      fc.property(fc.integer({ min: HEADER_BYTES, max: sealed.length - 1 }), (at) => {
        const bad = Buffer.from(sealed);
        bad[at] = (bad[at] as number) ^ 0x01;
        expect(() => open(bad)).toThrow(SealError);
      }),
      { numRuns: 200 },
    );
  });

  it("refuses a cut-off artifact, frames reordered, trailing bytes and a wrong passphrase", () => {
    const sealed = seal(Buffer.alloc(256, 3), 64);
    const frame = 4 + 64 + 16;
    for (let cut = 1; cut < sealed.length; cut += 5) expect(() => open(sealed.subarray(0, cut))).toThrow(SealError);
    // Dropping whole frames (and so ending on a full frame) is a cut too.
    expect(() => open(sealed.subarray(0, HEADER_BYTES + 2 * frame))).toThrow(/without its last frame/);
    const swapped = Buffer.concat([sealed.subarray(0, HEADER_BYTES), sealed.subarray(HEADER_BYTES + frame, HEADER_BYTES + 2 * frame), sealed.subarray(HEADER_BYTES, HEADER_BYTES + frame), sealed.subarray(HEADER_BYTES + 2 * frame)]);
    expect(() => open(swapped)).toThrow(/frame 0 fails authentication/);
    expect(() => open(Buffer.concat([sealed, sealed.subarray(HEADER_BYTES, HEADER_BYTES + frame)]))).toThrow(/after its last frame/);
    expect(() => open(sealed, other)).toThrow(/passphrase/);
    expect(() => open(Buffer.from("plain xbstream bytes, not sealed"))).toThrow(/BRSEAL01/);
  });

  it("derives different keys from another salt and refuses an empty passphrase", () => {
    const again = deriveKeys("correct horse battery staple", newSalt());
    expect(again.data.equals(keys.data)).toBe(false);
    expect(keys.data.equals(keys.manifest)).toBe(false);
    expect(() => deriveKeys("", newSalt())).toThrow(/empty/);
  });
});
