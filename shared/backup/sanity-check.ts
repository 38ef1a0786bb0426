/**
 * A verification's sanity query, judged: it must return one value, a whole number (a count, e.g.
 * `SELECT COUNT(*) FROM shop.orders`), at least the expected minimum. No row counts as 0. More
 * rows or columns, or a value that is no whole number, fail the check naming what came back: a
 * query that answers something else cannot prove the data is there.
 */

export type SanityVerdict = { readonly passed: true; readonly count: number } | { readonly passed: false; readonly count?: number; readonly reason: string };

/** `rows`: the query's rows as arrays of column values. */
export function judgeSanityQuery(rows: readonly (readonly unknown[])[], minRows: number): SanityVerdict {
  if (rows.length > 1) return { passed: false, reason: `the sanity query returned ${rows.length} rows; it must return one value, a count such as SELECT COUNT(*) FROM ...` };
  const row = rows[0] ?? [0];
  if (row.length !== 1) return { passed: false, reason: `the sanity query returned ${row.length} columns; it must return one value, a count such as SELECT COUNT(*) FROM ...` };
  const value = row[0];
  const text = typeof value === "bigint" || typeof value === "number" || typeof value === "string" ? String(value) : undefined;
  if (text === undefined || !/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    return { passed: false, reason: `the sanity query returned ${value === null || value === undefined ? "NULL" : JSON.stringify(String(value))}, not a count (a whole number of at least 0)` };
  }
  const count = Number(text);
  if (count < minRows) return { passed: false, count, reason: `the sanity query counted ${count}, fewer than the ${minRows} expected: the restored data is not all there` };
  return { passed: true, count };
}
