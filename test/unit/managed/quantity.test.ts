import { describe, expect, it } from "vitest";
import { compareQuantities, parseQuantity } from "../../../shared/managed/quantity.js";

const cmp = (a: string | number, b: string | number) => compareQuantities(parseQuantity(a)!, parseQuantity(b)!);

describe("Kubernetes quantities", () => {
  it.each([
    ["1Gi", "1024Mi", 0],
    ["1Gi", "1G", 1],
    ["1.5Gi", "1536Mi", 0],
    ["512Mi", "0.5Gi", 0],
    ["100", 100, 0],
    ["2e3", "2k", 0],
    ["1500m", "1.5", 0],
    ["10Gi", "9Gi", 1],
    [".5", "500m", 0],
    ["1E", "1Ei", -1],
    ["3n", "3u", -1],
  ] as const)("%s vs %s: %i", (a, b, sign) => {
    expect(cmp(a, b)).toBe(sign);
  });

  it.each(["", "lots", "1GB", "-1Gi", "1.2.3", "Gi", "1e999"])("refuses %j", (text) => {
    expect(parseQuantity(text)).toBeUndefined();
  });
});
