import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { LOG_MESSAGES } from "../../shared/log-messages.js";

describe("docs/log-schema.md", () => {
  it("documents every stable log message", () => {
    const doc = readFileSync(new URL("../../docs/log-schema.md", import.meta.url), "utf8");
    expect(Object.values(LOG_MESSAGES).filter((msg) => !doc.includes(`\`${msg}\``))).toEqual([]);
  });
});
