/**
 * The encrypted artifact format: AES-256-GCM over frames, so that a backup of any size is
 * encrypted and decrypted as it streams, and every frame is authenticated before a byte of it is
 * used.
 *
 * An artifact is a header (`BRSEAL01`, the 16-byte salt, the frame size as uint32 LE) and then
 * frames: the plaintext length (uint32 LE), the ciphertext, the 16-byte tag. The nonce is the
 * frame's number; the additional data binds the header, the number and whether the frame is the
 * last, so frames cannot be reordered, dropped or spliced from another artifact, and a cut-off
 * artifact (no last frame) is refused. Keys come from the passphrase by scrypt with the
 * artifact's own salt, so no two artifacts share a key and a frame number never repeats under one.
 * The manifest is signed with a second key from the same derivation (manifest.ts).
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, scryptSync, timingSafeEqual } from "node:crypto";

export const SEAL_MAGIC = Buffer.from("BRSEAL01", "latin1");
export const SALT_BYTES = 16;
export const HEADER_BYTES = SEAL_MAGIC.length + SALT_BYTES + 4;
const TAG_BYTES = 16;
/** Plaintext per frame: large enough that the 20 bytes of framing and the per-frame call cost are noise. */
export const DEFAULT_FRAME_BYTES = 1024 * 1024;
const MAX_FRAME_BYTES = 64 * 1024 * 1024;
/** scrypt's cost: about 100 ms on a server core, once per artifact; raises a guess's price alike. */
const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;

export class SealError extends Error {}

export interface SealKeys {
  readonly salt: Buffer;
  readonly data: Buffer;
  readonly manifest: Buffer;
}

export function newSalt(): Buffer {
  return randomBytes(SALT_BYTES);
}

export function deriveKeys(passphrase: string, salt: Buffer): SealKeys {
  if (passphrase.length === 0) throw new SealError("the encryption passphrase is empty");
  const master = scryptSync(passphrase, salt, 32, SCRYPT);
  const key = (info: string): Buffer => Buffer.from(hkdfSync("sha256", master, salt, info, 32));
  return { salt, data: key("bloodraven backup data"), manifest: key("bloodraven backup manifest") };
}

function sealHeader(keys: SealKeys, frameBytes = DEFAULT_FRAME_BYTES): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  SEAL_MAGIC.copy(header, 0);
  keys.salt.copy(header, SEAL_MAGIC.length);
  header.writeUInt32LE(frameBytes, SEAL_MAGIC.length + SALT_BYTES);
  return header;
}

export function parseSealHeader(header: Buffer): { salt: Buffer; frameBytes: number } {
  if (header.length < HEADER_BYTES || !header.subarray(0, SEAL_MAGIC.length).equals(SEAL_MAGIC)) {
    throw new SealError("the artifact does not start with BRSEAL01: it is not encrypted by Bloodraven, or its start is damaged");
  }
  const frameBytes = header.readUInt32LE(SEAL_MAGIC.length + SALT_BYTES);
  if (frameBytes === 0 || frameBytes > MAX_FRAME_BYTES) throw new SealError(`the artifact's header claims frames of ${frameBytes} bytes: it is damaged`);
  return { salt: Buffer.from(header.subarray(SEAL_MAGIC.length, SEAL_MAGIC.length + SALT_BYTES)), frameBytes };
}

function nonce(frame: number): Buffer {
  const iv = Buffer.alloc(12);
  iv.writeBigUInt64BE(BigInt(frame), 4);
  return iv;
}

function aad(header: Buffer, frame: number, last: boolean): Buffer {
  const tail = Buffer.alloc(9);
  tail.writeBigUInt64BE(BigInt(frame), 0);
  tail[8] = last ? 1 : 0;
  return Buffer.concat([header, tail]);
}

function sealFrame(keys: SealKeys, header: Buffer, frame: number, plaintext: Buffer, last: boolean): Buffer {
  const cipher = createCipheriv("aes-256-gcm", keys.data, nonce(frame));
  cipher.setAAD(aad(header, frame, last));
  const length = Buffer.alloc(4);
  length.writeUInt32LE(plaintext.length);
  const body = cipher.update(plaintext);
  cipher.final();
  return Buffer.concat([length, body, cipher.getAuthTag()]);
}

/**
 * Seals a plaintext as it arrives: `push` returns the header and the full frames that became
 * ready; `end` returns the last frame, shorter than the frame size (empty when the plaintext
 * filled its frames exactly), which marks the artifact whole.
 */
export class FrameSealer {
  /** Plaintext not sealed yet, kept as the chunks it came in: copied once, when a frame is full. */
  private parts: Buffer[] = [];
  private size = 0;
  private frame = 0;
  private readonly header: Buffer;
  private started = false;

  constructor(
    private readonly keys: SealKeys,
    private readonly frameBytes = DEFAULT_FRAME_BYTES,
  ) {
    this.header = sealHeader(keys, frameBytes);
  }

  push(bytes: Buffer): Buffer[] {
    const out = this.start();
    this.parts.push(bytes);
    this.size += bytes.length;
    if (this.size < this.frameBytes) return out;
    const pending = Buffer.concat(this.parts, this.size);
    let at = 0;
    for (; pending.length - at >= this.frameBytes; at += this.frameBytes) {
      out.push(sealFrame(this.keys, this.header, this.frame++, pending.subarray(at, at + this.frameBytes), false));
    }
    const rest = pending.subarray(at);
    this.parts = rest.length > 0 ? [rest] : [];
    this.size = rest.length;
    return out;
  }

  end(): Buffer[] {
    const out = this.start();
    out.push(sealFrame(this.keys, this.header, this.frame++, Buffer.concat(this.parts, this.size), true));
    this.parts = [];
    this.size = 0;
    return out;
  }

  private start(): Buffer[] {
    if (this.started) return [];
    this.started = true;
    return [this.header];
  }
}

/**
 * Opens an artifact's frames as its bytes arrive: `push` returns the plaintext that became
 * available, `end` throws unless the last frame was seen. Any damage fails the frame it is in.
 * Every frame but the last is full (FrameSealer), so a short frame is the last one and a full
 * frame is not: the flag each is authenticated with follows from its length.
 */
export class FrameOpener {
  private pending: Buffer = Buffer.alloc(0);
  private frame = 0;
  private done = false;
  private header: Buffer | undefined;
  private frameBytes = 0;
  private keys: SealKeys | undefined;

  constructor(private readonly keysFor: (salt: Buffer) => SealKeys) {}

  push(bytes: Buffer): Buffer[] {
    this.pending = this.pending.length === 0 ? bytes : Buffer.concat([this.pending, bytes]);
    const out: Buffer[] = [];
    if (!this.header) {
      if (this.pending.length < HEADER_BYTES) return out;
      this.header = Buffer.from(this.pending.subarray(0, HEADER_BYTES));
      const { salt, frameBytes } = parseSealHeader(this.header);
      this.frameBytes = frameBytes;
      this.keys = this.keysFor(salt);
      this.pending = this.pending.subarray(HEADER_BYTES);
    }
    for (;;) {
      if (this.pending.length < 4) return out;
      const length = this.pending.readUInt32LE(0);
      if (length > this.frameBytes) throw new SealError(`frame ${this.frame} claims ${length} bytes, more than the artifact's frame size: it is damaged`);
      const whole = 4 + length + TAG_BYTES;
      if (this.pending.length < whole) return out;
      if (this.done) throw new SealError(`the artifact goes on after its last frame (frame ${this.frame}): it is damaged`);
      const body = this.pending.subarray(4, 4 + length);
      const tag = this.pending.subarray(4 + length, whole);
      this.pending = this.pending.subarray(whole);
      out.push(this.open(body, tag, length < this.frameBytes));
      this.frame += 1;
    }
  }

  end(): void {
    if (!this.header) throw new SealError("the artifact is shorter than its header: it is empty or cut off");
    if (this.pending.length > 0 || !this.done) throw new SealError(`the artifact ends after frame ${this.frame - 1} without its last frame: it was cut off`);
  }

  private open(body: Buffer, tag: Buffer, last: boolean): Buffer {
    const decipher = createDecipheriv("aes-256-gcm", (this.keys as SealKeys).data, nonce(this.frame));
    decipher.setAAD(aad(this.header as Buffer, this.frame, last));
    decipher.setAuthTag(tag);
    const plain = decipher.update(body);
    try {
      decipher.final();
    } catch {
      throw new SealError(`frame ${this.frame} fails authentication: the artifact is damaged, or the passphrase is not the one it was encrypted with`);
    }
    this.done = last;
    return plain;
  }
}

/** The manifest's signature: HMAC-SHA256 under the manifest key, hex. */
export function signText(keys: SealKeys, text: string): string {
  return createHmac("sha256", keys.manifest).update(text, "utf8").digest("hex");
}

export function signatureMatches(keys: SealKeys, text: string, signature: string): boolean {
  const want = Buffer.from(signText(keys, text), "hex");
  const got = Buffer.from(signature, "hex");
  return got.length === want.length && timingSafeEqual(got, want);
}
