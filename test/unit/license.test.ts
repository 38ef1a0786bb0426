/**
 * One license, named the same everywhere a user or an index reads it: the repository's LICENSE,
 * package.json, the chart (Artifact Hub's annotation) and the krew manifest's archive contents.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const repo = (path: string): string => readFileSync(fileURLToPath(new URL(`../../${path}`, import.meta.url)), "utf8");

describe("the license", () => {
  it("is the Apache License 2.0 text, and package.json and the chart name it", () => {
    expect(repo("LICENSE")).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004/);
    expect(JSON.parse(repo("package.json")).license).toBe("Apache-2.0");
    expect(parse(repo("charts/bloodraven/Chart.yaml")).annotations["artifacthub.io/license"]).toBe("Apache-2.0");
  });

  it("ships in every platform's krew archive beside the plugin", () => {
    const manifest = parse(repo("cli/krew/bloodraven.yaml")) as { spec: { platforms: { files: { from: string; to: string }[] }[] } };
    expect(manifest.spec.platforms.length).toBe(4);
    for (const platform of manifest.spec.platforms) expect(platform.files).toContainEqual({ from: "LICENSE", to: "." });
  });
});
