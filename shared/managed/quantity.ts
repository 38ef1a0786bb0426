/**
 * Kubernetes quantities ('256Mi', '1.5G', '100', '2e3') as exact fractions, so two sizes compare
 * exactly as the API server compares them: '1Gi' is larger than '1G', '1024Mi' equals '1Gi'.
 */
export interface Quantity {
  /** value = numerator / denominator, both positive or zero. */
  numerator: bigint;
  denominator: bigint;
}

const BINARY: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const GRAMMAR = /^(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;

/** The quantity `text` denotes (a number is taken as written); undefined when it is not one. */
export function parseQuantity(text: string | number): Quantity | undefined {
  const match = GRAMMAR.exec(String(text).trim());
  if (!match) return undefined;
  const [, number = "", suffix = ""] = match;
  const [whole = "", fraction = ""] = number.split(".");
  let numerator = BigInt(`${whole}${fraction}` || "0");
  let denominator = 10n ** BigInt(fraction.length);
  let exponent: number;
  if (suffix in BINARY) {
    numerator *= 1024n ** BigInt(BINARY[suffix] ?? 0);
    exponent = 0;
  } else if (suffix in DECIMAL) {
    exponent = DECIMAL[suffix] ?? 0;
  } else {
    exponent = Number(suffix.slice(1));
    // Far beyond any real size; also keeps 10n ** exponent from exhausting memory.
    if (Math.abs(exponent) > 64) return undefined;
  }
  if (exponent >= 0) numerator *= 10n ** BigInt(exponent);
  else denominator *= 10n ** BigInt(-exponent);
  return { numerator, denominator };
}

/** Negative when a < b, zero when equal, positive when a > b. */
export function compareQuantities(a: Quantity, b: Quantity): number {
  const left = a.numerator * b.denominator;
  const right = b.numerator * a.denominator;
  return left < right ? -1 : left > right ? 1 : 0;
}
