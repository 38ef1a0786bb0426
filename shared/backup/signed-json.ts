/**
 * JSON documents the store holds beside encrypted data (a backup's manifest, a site's binary log
 * archive manifest), signed so that a changed field is refused: HMAC-SHA256 under the manifest
 * key (sealing.ts) over the document's canonical form, in a `signature` field.
 */
import { signatureMatches, signText, type SealKeys } from "./sealing.js";

/** JSON with keys sorted at every level and undefined fields left out: the bytes a signature covers. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    return `{${entries
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

/** The document as stored: signed when `keys` are given. */
export function signedJson(document: object, keys?: SealKeys): string {
  const unsigned = { ...document, signature: undefined };
  const stored = keys ? { ...unsigned, signature: signText(keys, canonical(unsigned)) } : unsigned;
  return `${JSON.stringify(stored, null, 2)}\n`;
}

/** Whether a parsed document carries a signature that holds under `keys`. */
export function signatureHolds(document: Record<string, unknown>, keys: SealKeys): boolean {
  const { signature, ...rest } = document;
  return typeof signature === "string" && signatureMatches(keys, canonical(rest), signature);
}
