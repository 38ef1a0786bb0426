import { describe, expect, it } from "vitest";
import { judgeSanityQuery } from "../../../shared/backup/sanity-check.js";

describe("the sanity query's verdict", () => {
  it("passes a count at or above the minimum, as a number, a bigint or a decimal string; no row is 0", () => {
    expect(judgeSanityQuery([[42]], 42)).toEqual({ passed: true, count: 42 });
    expect(judgeSanityQuery([[42n]], 1)).toEqual({ passed: true, count: 42 });
    expect(judgeSanityQuery([["7"]], 0)).toEqual({ passed: true, count: 7 });
    expect(judgeSanityQuery([], 0)).toEqual({ passed: true, count: 0 });
  });

  it("fails a count below the minimum, saying both", () => {
    expect(judgeSanityQuery([[3]], 10)).toEqual({ passed: false, count: 3, reason: "the sanity query counted 3, fewer than the 10 expected: the restored data is not all there" });
    expect(judgeSanityQuery([], 1)).toMatchObject({ passed: false, count: 0 });
  });

  it("fails an answer that is not one whole number, naming what came back", () => {
    expect(judgeSanityQuery([[1], [2]], 0)).toMatchObject({ passed: false, reason: expect.stringMatching(/^the sanity query returned 2 rows; it must return one value/) as unknown });
    expect(judgeSanityQuery([[1, 2]], 0)).toMatchObject({ passed: false, reason: expect.stringMatching(/^the sanity query returned 2 columns/) as unknown });
    expect(judgeSanityQuery([["abc"]], 0)).toMatchObject({ passed: false, reason: 'the sanity query returned "abc", not a count (a whole number of at least 0)' });
    expect(judgeSanityQuery([["1.5"]], 0)).toMatchObject({ passed: false });
    expect(judgeSanityQuery([[-1]], 0)).toMatchObject({ passed: false });
    expect(judgeSanityQuery([[null]], 0)).toMatchObject({ passed: false, reason: 'the sanity query returned NULL, not a count (a whole number of at least 0)' });
  });
});
