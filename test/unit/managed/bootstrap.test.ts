import { describe, expect, it } from "vitest";
import { bootstrapDecision, type BootstrapSite } from "../../../shared/managed/bootstrap.js";
import type { ServerObservation } from "../../../shared/topology/site-observation.js";
import { canonicalGtidSet } from "../../../shared/gtid/gtid-set.js";

const empty: ServerObservation = { flavor: "mariadb", version: "10.11.19", serverId: 1, readOnly: true, superReadOnly: true, gtidExecuted: "" };
const site = (name: string, extra: Partial<BootstrapSite> = {}): BootstrapSite => ({ name, role: "primary-candidate", managed: true, observation: empty, ...extra });

describe("bootstrapDecision", () => {
  it("makes the first primary-candidate in spec order the first primary of a new group of empty servers", () => {
    expect(bootstrapDecision([site("dr", { role: "dr-only" }), site("pdx"), site("iad")], {})).toEqual({ kind: "seed", site: "pdx" });
  });

  it("waits for every server to answer", () => {
    expect(bootstrapDecision([site("iad"), site("pdx", { observation: undefined })], {})).toEqual({
      kind: "wait",
      reason: "waiting for pdx to answer before choosing the first primary",
    });
  });

  it("never acts on a group with history, an external site, a writable server, data or replication", () => {
    const sites = [site("iad"), site("pdx")];
    expect(bootstrapDecision(sites, { activeSite: "iad" })).toEqual({ kind: "none" });
    expect(bootstrapDecision(sites, { intent: { target: "pdx", at: "2026-12-03T00:00:00Z" } })).toEqual({ kind: "none" });
    expect(bootstrapDecision(sites, { lastFailoverTarget: "pdx" })).toEqual({ kind: "none" });
    expect(bootstrapDecision([site("iad"), site("ext", { managed: false })], {})).toEqual({ kind: "none" });
    expect(bootstrapDecision([site("iad"), site("pdx", { observation: { ...empty, readOnly: false } })], {})).toEqual({ kind: "none" });
    expect(bootstrapDecision([site("iad"), site("pdx", { observation: { ...empty, gtidExecuted: "0-1-5" } })], {})).toEqual({ kind: "none" });
    const replica = { ...empty, replica: {} as ServerObservation["replica"] };
    expect(bootstrapDecision([site("iad"), site("pdx", { observation: replica })], {})).toEqual({ kind: "none" });
  });

  it("chooses nothing without a primary-candidate", () => {
    expect(bootstrapDecision([site("a", { role: "dr-only" }), site("b", { role: "read-only" })], {})).toEqual({ kind: "none" });
  });
});

describe("bootstrapDecision of a group made from a backup", () => {
  const restoredCopy = { ...empty, gtidExecuted: "0-7-42" };
  const restored = { restored: { site: "pdx", gtid: "0-7-42" } };

  it("waits for the restore, whatever the servers say", () => {
    expect(bootstrapDecision([site("iad"), site("pdx")], {}, { wait: "waiting for the restore of spec.initFromBackup" })).toEqual({
      kind: "wait",
      reason: "waiting for the restore of spec.initFromBackup",
    });
  });

  it("seeds the restored site, not the first candidate, once it holds exactly the copy and the others nothing", () => {
    expect(bootstrapDecision([site("iad"), site("pdx", { observation: restoredCopy })], {}, restored)).toEqual({ kind: "seed", site: "pdx" });
  });

  it("seeds nothing while the restored site is not at the copy's position or another site holds transactions", () => {
    expect(bootstrapDecision([site("iad"), site("pdx")], {}, restored)).toEqual({ kind: "none" });
    expect(bootstrapDecision([site("iad", { observation: { ...empty, gtidExecuted: "0-1-1" } }), site("pdx", { observation: restoredCopy })], {}, restored)).toEqual({ kind: "none" });
    expect(bootstrapDecision([site("iad"), site("pdx", { observation: restoredCopy })], { activeSite: "iad" }, restored)).toEqual({ kind: "none" });
  });

  it("seeds a MySQL site loaded with several servers' GTIDs: its restore records them in the form the operator observes", () => {
    // gtid_executed as the server prints it after the load, the line break after each comma.
    const printed = "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-40,\n8a94f357-aab4-11df-86ab-c80aa9429562:1-7";
    const observed = { ...empty, flavor: "mysql" as const, version: "8.4.3", gtidExecuted: canonicalGtidSet(printed) };
    const recorded = canonicalGtidSet(printed.replace(/\s+/g, ""));
    expect(bootstrapDecision([site("iad"), site("pdx", { observation: observed })], {}, { restored: { site: "pdx", gtid: recorded } })).toEqual({ kind: "seed", site: "pdx" });
    // A position without the line breaks compares unequal as text: the restored site would never be seeded.
    expect(bootstrapDecision([site("iad"), site("pdx", { observation: observed })], {}, { restored: { site: "pdx", gtid: printed.replace(/\s+/g, "") } })).toEqual({ kind: "none" });
  });
});
