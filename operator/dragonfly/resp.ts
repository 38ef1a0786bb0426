/**
 * The Redis serialization protocol (RESP2), as Dragonfly and Redis speak it: commands go out as
 * arrays of bulk strings; answers are parsed incrementally from whatever the socket delivered.
 */
export type RespValue = string | number | null | RespError | RespValue[];

/** An error answer (`-ERR ...`), kept apart from a simple string. */
export class RespError extends Error {
  override readonly name = "RespError";
}

export function encodeCommand(args: readonly (string | number)[]): Buffer {
  const parts = args.map((a) => Buffer.from(String(a), "utf8"));
  return Buffer.concat([Buffer.from(`*${parts.length}\r\n`), ...parts.flatMap((p) => [Buffer.from(`$${p.length}\r\n`), p, Buffer.from("\r\n")])]);
}

/** Where one value ends in `buf` from `at`, and the value; undefined when more bytes are needed. */
export function parseValue(buf: Buffer, at = 0): { value: RespValue; end: number } | undefined {
  const lineEnd = buf.indexOf("\r\n", at);
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(buf[at]!);
  const line = buf.toString("utf8", at + 1, lineEnd);
  const next = lineEnd + 2;
  switch (type) {
    case "+":
      return { value: line, end: next };
    case "-":
      return { value: new RespError(line), end: next };
    case ":":
      return { value: Number(line), end: next };
    case "$": {
      const length = Number(line);
      if (length < 0) return { value: null, end: next };
      if (buf.length < next + length + 2) return undefined;
      return { value: buf.toString("utf8", next, next + length), end: next + length + 2 };
    }
    case "*": {
      const count = Number(line);
      if (count < 0) return { value: null, end: next };
      const items: RespValue[] = [];
      let end = next;
      for (let i = 0; i < count; i++) {
        const item = parseValue(buf, end);
        if (item === undefined) return undefined;
        items.push(item.value);
        end = item.end;
      }
      return { value: items, end };
    }
    default:
      throw new Error(`not a RESP answer: ${JSON.stringify(buf.toString("utf8", at, Math.min(buf.length, at + 40)))}`);
  }
}
