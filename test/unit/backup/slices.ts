/** Feeds `bytes` to `push` cut at `cuts` (any order): a stream reader must read the same whatever the slicing. */
export function feedSliced(bytes: Buffer, cuts: readonly number[], push: (slice: Buffer) => void): void {
  let at = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    push(bytes.subarray(at, cut));
    at = cut;
  }
  push(bytes.subarray(at));
}
