/**
 * One node per machine: the tier's node holds the machine's lock, so a second node (another test
 * run on the same machine) is refused before it touches anything, with the owner named.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { takeLock } from "../../scripts/env/node.js";

describe("the machine's node lock", () => {
  it("refuses a second node while the first one's owner lives, naming it", () => {
    const held = JSON.parse(readFileSync("/run/bloodraven-node.lock", "utf8")) as { pid: number; folder: string };
    expect(held.pid).not.toBe(process.pid);
    expect(() => takeLock("/tmp/bloodraven-second-node")).toThrow(`another test node runs on this machine (pid ${held.pid}, ${held.folder})`);
    expect(JSON.parse(readFileSync("/run/bloodraven-node.lock", "utf8"))).toEqual(held);
  });
});
