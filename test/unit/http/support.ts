import { WebSocket, type ClientOptions } from "ws";
import { createLogger, type Logger } from "../../../operator/log.js";
import type { StatusSource } from "../../../operator/http/status-server.js";
import type { GroupStatusMessage } from "../../../shared/status-message.js";

/** A logger whose lines the test can read back. */
export function capturedLogger(): { log: Logger; records: () => Record<string, unknown>[] } {
  const lines: string[] = [];
  const log = createLogger({ level: "debug", write: (line) => lines.push(line) });
  return { log, records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

export function groupMessage(namespace: string, group: string, activeSite = "iad"): GroupStatusMessage {
  return {
    namespace,
    group,
    activeSite,
    verdict: "Healthy",
    sites: [
      { name: "iad", role: "primary-candidate", state: "writable", lastSeen: "2026-04-10T00:00:00Z", replicating: false },
      {
        name: "pdx",
        role: "primary-candidate",
        state: "read-only",
        lastSeen: "2026-04-10T00:00:00Z",
        replicating: true,
        secondsBehindSource: 0,
        gtidExecuted: "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-45839",
      },
    ],
    pollTime: "2026-04-10T00:00:00Z",
  };
}

/** The topology managers' registry as the status server sees it, held in memory. */
export class MemorySource implements StatusSource {
  active = true;
  readonly groups = new Map<string, GroupStatusMessage>();
  /** Groups run here whose first message is not there yet. */
  readonly starting = new Set<string>();

  put(message: GroupStatusMessage): void {
    this.groups.set(`${message.namespace}/${message.group}`, message);
  }

  manages(namespace: string, group: string): boolean {
    return this.groups.has(`${namespace}/${group}`) || this.starting.has(`${namespace}/${group}`);
  }

  hasActiveManagers(): boolean {
    return this.active;
  }

  snapshot(namespace: string, group: string): GroupStatusMessage | undefined {
    return this.groups.get(`${namespace}/${group}`);
  }

  snapshots(): GroupStatusMessage[] {
    return [...this.groups.values()];
  }

  /** Every agentAsked call, in order. */
  readonly agentCalls: { namespace: string; group: string; site: string; confirmed: boolean }[] = [];

  /** Agent tokens by `namespace/group`. */
  readonly agentTokens = new Map<string, string>();

  agentToken(namespace: string, group: string): string | undefined {
    return this.agentTokens.get(`${namespace}/${group}`);
  }

  agentAsked(namespace: string, group: string, site: string, confirmed: boolean): { leaseTimeoutMs: number; peers: Record<string, string> } {
    this.agentCalls.push({ namespace, group, site, confirmed });
    return { leaseTimeoutMs: 20_000, peers: { pdx: "http://pdx.db:8080" } };
  }
}

/** An open WebSocket client that records every message it receives. */
export interface Client {
  ws: WebSocket;
  messages: GroupStatusMessage[];
  closed: Promise<{ code: number; reason: string }>;
}

/** Opens a client, or rejects with the HTTP status the server refused the handshake with. */
export function connect(url: string, protocols: string[] = [], options: ClientOptions = {}): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, options);
    const messages: GroupStatusMessage[] = [];
    ws.on("message", (data) => messages.push(JSON.parse(String(data)) as GroupStatusMessage));
    const closed = new Promise<{ code: number; reason: string }>((resolveClose) =>
      ws.on("close", (code, reason) => resolveClose({ code, reason: String(reason) })),
    );
    ws.once("open", () => resolve({ ws, messages, closed }));
    ws.once("unexpected-response", (_req, res) => {
      reject(new HandshakeRefused(res.statusCode ?? 0));
      ws.terminate();
    });
    ws.once("error", reject);
  });
}

export class HandshakeRefused extends Error {
  constructor(readonly status: number) {
    super(`handshake refused with HTTP ${status}`);
  }
}

export async function refusalStatus(attempt: Promise<Client>): Promise<number> {
  try {
    const client = await attempt;
    client.ws.terminate();
  } catch (err) {
    if (err instanceof HandshakeRefused) return err.status;
    throw err;
  }
  throw new Error("handshake was accepted");
}

export async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  type: string;
  samples: Sample[];
}

/** Parses Prometheus text exposition into families keyed by metric name. */
export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  for (const line of text.split("\n")) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      families.set(type[1] as string, { type: type[2] as string, samples: [] });
      continue;
    }
    if (line === "" || line.startsWith("#")) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample) throw new Error(`unparsable exposition line: ${line}`);
    const name = sample[1] as string;
    const labels: Record<string, string> = {};
    for (const pair of (sample[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1] as string] = (pair[2] as string).replace(/\\(.)/g, (_m, c: string) => (c === "n" ? "\n" : c));
    }
    const family = families.get(name) ?? families.get(name.replace(/_(bucket|sum|count)$/, ""));
    if (!family) throw new Error(`sample ${name} before its TYPE line`);
    family.samples.push({ name, labels, value: Number(sample[3]) });
  }
  return families;
}
