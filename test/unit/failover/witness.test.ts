import { describe, expect, it } from "vitest";
import { nextContact, receiverLink, witnessVerdict, type ReceiverSample, type SiteContact, type WitnessView } from "../../../shared/failover/witness.js";

const sample = (over: Partial<ReceiverSample> = {}): ReceiverSample => ({ link: "connected", sourceServerId: 1, heartbeats: 10, received: "0-1-100", heartbeatPeriodSeconds: 1, ...over });
const T0 = Date.parse("2026-01-01T00:00:00.000Z");
const iso = (ms: number): string => new Date(ms).toISOString();

describe("receiverLink", () => {
  it("Yes is connected; Connecting and network errors are reconnecting; anything else is stopped", () => {
    expect(receiverLink({ ioRunning: true, ioConnecting: false, lastIoErrno: 0 })).toBe("connected");
    expect(receiverLink({ ioRunning: false, ioConnecting: true, lastIoErrno: 0 })).toBe("reconnecting");
    for (const errno of [2003, 2005, 2006, 2013]) expect(receiverLink({ ioRunning: false, ioConnecting: false, lastIoErrno: errno })).toBe("reconnecting");
    expect(receiverLink({ ioRunning: false, ioConnecting: false, lastIoErrno: 0 })).toBe("stopped");
    expect(receiverLink({ ioRunning: false, ioConnecting: false, lastIoErrno: 1236 })).toBe("stopped");
  });
});

describe("nextContact", () => {
  it("records when polls started failing and forgets it after a successful poll", () => {
    let c: SiteContact | undefined = nextContact(undefined, { at: T0, ok: true, serverId: 7, readOnly: true });
    c = nextContact(c, { at: T0 + 1000, ok: false });
    c = nextContact(c, { at: T0 + 2000, ok: false });
    expect(c.failingSince).toBe(T0 + 1000);
    expect(c.serverId).toBe(7);
    c = nextContact(c, { at: T0 + 3000, ok: true, serverId: 7, readOnly: true });
    expect(c.failingSince).toBeUndefined();
  });

  it("remembers that a site was lost until it is seen writable again", () => {
    let c = nextContact(undefined, { at: T0, ok: true, serverId: 1, readOnly: false });
    expect(c.lostSinceWritable).toBeUndefined();
    c = nextContact(c, { at: T0 + 1000, ok: false });
    c = nextContact(c, { at: T0 + 2000, ok: true, serverId: 1, readOnly: true });
    expect(c.lostSinceWritable).toBe(true);
    c = nextContact(c, { at: T0 + 3000, ok: true, serverId: 1, readOnly: false });
    expect(c.lostSinceWritable).toBeUndefined();
    // Read-only all along (a replica, or a primary demoted while reachable): never lost.
    expect(nextContact(nextContact(undefined, { at: T0, ok: true, serverId: 2, readOnly: true }), { at: T0 + 1000, ok: true, serverId: 2, readOnly: true }).lostSinceWritable).toBeUndefined();
  });

  it("a change of heartbeats or received position is dated after the sample before it", () => {
    let c = nextContact(undefined, { at: T0, ok: true, serverId: 2, readOnly: true, receiver: sample() });
    expect(c.receivedAfter).toBeUndefined();
    c = nextContact(c, { at: T0 + 1000, ok: true, serverId: 2, readOnly: true, receiver: sample() });
    expect(c.receivedAfter).toBeUndefined();
    c = nextContact(c, { at: T0 + 2000, ok: true, serverId: 2, readOnly: true, receiver: sample({ heartbeats: 11 }) });
    expect(c.receivedAfter).toBe(T0 + 1000);
    c = nextContact(c, { at: T0 + 3000, ok: true, serverId: 2, readOnly: true, receiver: sample({ heartbeats: 11 }) });
    expect(c.receivedAfter).toBe(T0 + 1000);
    c = nextContact(c, { at: T0 + 4000, ok: true, serverId: 2, readOnly: true, receiver: sample({ heartbeats: 11, received: "0-1-101" }) });
    expect(c.receivedAfter).toBe(T0 + 3000);
  });

  it("a new source starts afresh: receipts from the old one say nothing about the new one", () => {
    let c = nextContact(undefined, { at: T0, ok: true, serverId: 2, readOnly: true, receiver: sample() });
    c = nextContact(c, { at: T0 + 1000, ok: true, serverId: 2, readOnly: true, receiver: sample({ heartbeats: 12 }) });
    expect(c.receivedAfter).toBe(T0);
    c = nextContact(c, { at: T0 + 2000, ok: true, serverId: 2, readOnly: true, receiver: sample({ sourceServerId: 3, heartbeats: 0 }) });
    expect(c.receivedAfter).toBeUndefined();
  });
});

describe("witnessVerdict", () => {
  const lostAt = T0;
  const view = (name: string, over: Partial<WitnessView> = {}): WitnessView => ({ name, link: "connected", heartbeatPeriodSeconds: 1, ...over });

  it("a receipt after the loss means alive, even when another witness lost the primary", () => {
    const v = witnessVerdict([view("pdx", { link: "reconnecting" }), view("r1", { receivedAfter: iso(T0 + 1000) })], lostAt, T0 + 3000);
    expect(v).toEqual({ kind: "alive", sites: ["r1"] });
  });

  it("a receipt dated before the loss proves nothing: pending, then gone after two silent heartbeat periods", () => {
    const w = [view("pdx", { receivedAfter: iso(T0 - 1000) })];
    expect(witnessVerdict(w, lostAt, T0 + 1500)).toEqual({ kind: "pending", sites: ["pdx"] });
    expect(witnessVerdict(w, lostAt, T0 + 2001)).toEqual({ kind: "gone", sites: ["pdx"] });
  });

  it("with heartbeats off, silence never proves loss", () => {
    expect(witnessVerdict([view("pdx", { heartbeatPeriodSeconds: 0 })], lostAt, T0 + 3_600_000).kind).toBe("pending");
  });

  it("every witness reconnecting: gone; stopped receivers are not witnesses; no witness: none", () => {
    expect(witnessVerdict([view("pdx", { link: "reconnecting" }), view("r1", { link: "stopped" })], lostAt, T0)).toEqual({ kind: "gone", sites: ["pdx"] });
    expect(witnessVerdict([view("r1", { link: "stopped" })], lostAt, T0)).toEqual({ kind: "none" });
    expect(witnessVerdict([], lostAt, T0)).toEqual({ kind: "none" });
  });
});
