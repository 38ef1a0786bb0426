import { describe, expect, it } from "vitest";
import { redacted } from "../../shared/errors.js";

describe("redacted", () => {
  it("hides every occurrence of the secret, and leaves a text alone for an empty one", () => {
    expect(redacted("near 'IDENTIFIED BY 's3cret'' at line 1; s3cret", "s3cret")).toBe("near 'IDENTIFIED BY '<password>'' at line 1; <password>");
    expect(redacted("Access denied", "")).toBe("Access denied");
  });
});
