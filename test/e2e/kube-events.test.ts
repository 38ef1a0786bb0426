/**
 * operator/kube/events.ts against the real kube-apiserver: repeats fold into one Event with a
 * count, a different message makes a new Event, kubectl shows them, and failures stay inside
 * the recorder.
 */
import { randomBytes } from "node:crypto";
import type { CoreV1Event } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Kube, loadKubeConfig } from "../../shared/kube/client.js";
import { EventRecorder } from "../../operator/kube/events.js";
import { createLogger, type LogFields } from "../../operator/log.js";
import type { MysqlFailoverGroup } from "../../shared/api/index.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { API_GROUP, API_GROUP_VERSION, API_VERSION, EVENT_REASONS, FAILOVER_GROUP } from "../../shared/names.js";
import { kubectl, testKubeconfig } from "../support/kubectl.js";

const namespace = `kube-events-${randomBytes(4).toString("hex")}`;

let kube: Kube;
let group: MysqlFailoverGroup;

function recorder(opts: { maxCached?: number } = {}): { events: EventRecorder; lines: LogFields[] } {
  const lines: LogFields[] = [];
  const logger = createLogger({ write: (line) => lines.push(JSON.parse(line) as LogFields) });
  return { events: new EventRecorder(kube, { logger, host: "bloodraven-0", ...opts }), lines };
}

async function eventsFor(name: string): Promise<CoreV1Event[]> {
  // Timestamps have whole seconds only, so callers compare sets rather than rely on an order.
  const list = await kube.core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` });
  return list.items;
}

async function createGroup(name: string): Promise<MysqlFailoverGroup> {
  return (await kube.customObjects.createNamespacedCustomObject({
    group: API_GROUP,
    version: API_VERSION,
    plural: FAILOVER_GROUP.plural,
    namespace,
    body: {
      apiVersion: API_GROUP_VERSION,
      kind: FAILOVER_GROUP.kind,
      metadata: { name },
      spec: {
        credentials: { operator: { secretName: `${name}-operator` } },
        sites: [
          { name: "iad", endpoint: { host: "127.0.0.1", port: 33061 } },
          { name: "pdx", endpoint: { host: "127.0.0.1", port: 33062 } },
        ],
      },
    },
  })) as MysqlFailoverGroup;
}

beforeAll(async () => {
  kube = new Kube(loadKubeConfig({ kubeconfig: testKubeconfig() }));
  const created = await kubectl(["create", "namespace", namespace]);
  if (created.code !== 0) throw new Error(created.stderr);
  group = await createGroup("orders");
});

afterAll(async () => {
  await kubectl(["delete", "namespace", namespace, "--wait=false"]);
});

describe("EventRecorder", () => {
  it("folds five repeats into one Event with count 5; a new message makes a second Event", async () => {
    const { events } = recorder();
    const message = "site pdx promoted; iad fenced";
    // Concurrent repeats must still fold into one Event with the right count.
    await Promise.all(Array.from({ length: 3 }, () => events.normal(group, EVENT_REASONS.failoverExecuted, message)));
    await events.normal(group, EVENT_REASONS.failoverExecuted, message);
    await events.normal(group, EVENT_REASONS.failoverExecuted, message);

    let stored = await eventsFor("orders");
    expect(stored).toHaveLength(1);
    const [folded] = stored;
    expect(folded).toMatchObject({
      type: "Normal",
      reason: EVENT_REASONS.failoverExecuted,
      message,
      count: 5,
      source: { component: "bloodraven", host: "bloodraven-0" },
      involvedObject: { kind: FAILOVER_GROUP.kind, apiVersion: API_GROUP_VERSION, name: "orders", namespace, uid: group.metadata.uid },
    });
    expect(folded?.lastTimestamp?.getTime()).toBeGreaterThanOrEqual(folded?.firstTimestamp?.getTime() ?? Infinity);

    await events.warning(group, EVENT_REASONS.splitBrainDetected, "iad and pdx are both writable");
    stored = await eventsFor("orders");
    expect(stored.map((e) => [e.type, e.reason, e.count]).sort()).toEqual([
      ["Normal", EVENT_REASONS.failoverExecuted, 5],
      ["Warning", EVENT_REASONS.splitBrainDetected, 1],
    ]);
    expect(events.failedWrites).toBe(0);

    const shown = await kubectl(["get", "events", "-n", namespace, "--field-selector", "involvedObject.name=orders"]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(EVENT_REASONS.failoverExecuted);
    expect(shown.stdout).toContain(EVENT_REASONS.splitBrainDetected);
    expect(shown.stdout).toContain("iad and pdx are both writable");
    const counted = await kubectl(["get", "events", "-n", namespace, "--field-selector", "involvedObject.name=orders", "-o", "custom-columns=REASON:.reason,COUNT:.count"]);
    expect(counted.stdout).toMatch(new RegExp(`${EVENT_REASONS.failoverExecuted}\\s+5\\n`));
    const described = await kubectl(["describe", "mfg", "orders", "-n", namespace]);
    expect(described.stdout).toContain(EVENT_REASONS.splitBrainDetected);
  });

  it("starts a new Event when the folded one is gone", async () => {
    const target = await createGroup("expired");
    const { events } = recorder();
    await events.normal(target, EVENT_REASONS.siteRecovered, "iad is back");
    const [first] = await eventsFor("expired");
    const deleted = await kubectl(["delete", "event", first?.metadata.name ?? "", "-n", namespace]);
    expect(deleted.code).toBe(0);

    await events.normal(target, EVENT_REASONS.siteRecovered, "iad is back");
    const stored = await eventsFor("expired");
    expect(stored).toHaveLength(1);
    expect(stored[0]?.metadata.uid).not.toBe(first?.metadata.uid);
    expect(stored[0]?.count).toBe(1);
    expect(events.failedWrites).toBe(0);
  });

  it("a tuple forgotten beyond maxCached, or unknown to a new recorder (a restart), continues its series", async () => {
    const target = await createGroup("bounded");
    const { events } = recorder({ maxCached: 2 });
    for (const site of ["iad", "pdx", "sfo"]) await events.normal(target, EVENT_REASONS.siteRecovered, `${site} is back`);
    await events.normal(target, EVENT_REASONS.siteRecovered, "sfo is back");
    // "iad" was forgotten when "sfo" arrived: its repeat finds the existing Event by name.
    await events.normal(target, EVENT_REASONS.siteRecovered, "iad is back");
    // A restarted operator's recorder knows nothing, and still adds to the same series.
    const restarted = recorder({ maxCached: 2 }).events;
    await restarted.normal(target, EVENT_REASONS.siteRecovered, "pdx is back");
    const counts = (await eventsFor("bounded")).map((e) => `${e.message} x${e.count}`).sort();
    expect(counts).toEqual(["iad is back x2", "pdx is back x2", "sfo is back x2"]);
    expect(restarted.failedWrites).toBe(0);
  });

  it("never throws: a failed write is logged and counted", async () => {
    const { events, lines } = recorder();
    const ghost = { ...group, metadata: { ...group.metadata, namespace: "no-such-namespace", uid: "ghost" } };
    await expect(events.warning(ghost, EVENT_REASONS.totalLossDetected, "nothing answers")).resolves.toBeUndefined();
    expect(events.failedWrites).toBe(1);
    expect(lines).toContainEqual(expect.objectContaining({ msg: LOG_MESSAGES.eventFailed, reason: EVENT_REASONS.totalLossDetected, namespace: "no-such-namespace" }));
  });
});
