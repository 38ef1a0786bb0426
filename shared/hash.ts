/**
 * 32-bit FNV-1a of the text's UTF-8 bytes: stable across releases and platforms, which a server id,
 * a template hash and a shortened name must be; not for secrecy.
 */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash;
}
