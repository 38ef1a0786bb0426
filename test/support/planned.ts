import { expect } from "vitest";
import type { MysqlFailoverGroup } from "../../shared/api/index.js";
import { ANNOTATIONS } from "../../shared/names.js";
import { waitFor } from "../../scripts/env/ports.js";
import { kubectl } from "./kubectl.js";

/** Helpers for driving planned failovers of one group through the real API server. */
export function plannedGroup(ns: string, name: string, cooldownMs: number) {
  const group = async (): Promise<MysqlFailoverGroup> => {
    const r = await kubectl(["get", "mfg", name, "-n", ns, "-o", "json"]);
    if (r.code !== 0) throw new Error(r.stderr);
    return JSON.parse(r.stdout) as MysqlFailoverGroup;
  };

  /** Posts a request the way the plugin does: the request and its id. */
  const request = async (value: string, id: string): Promise<void> => {
    const r = await kubectl(["annotate", "--overwrite", "mfg", name, "-n", ns, `${ANNOTATIONS.plannedFailover}=${value}`, `${ANNOTATIONS.plannedFailoverRequestId}=${id}`]);
    expect(r.code, r.stderr).toBe(0);
  };

  /**
   * Waits for request `id` to be finished: its block in a terminal phase and the request
   * annotation consumed. The operator writes the two one after the other, in that order.
   */
  const finished = (id: string, timeoutMs = 30_000): Promise<MysqlFailoverGroup> =>
    waitFor(
      `planned failover ${id} finished`,
      async () => {
        const g = await group();
        const b = g.status?.plannedFailover;
        const terminal = b?.requestId === id && (b.phase === "Succeeded" || b.phase === "Failed");
        return terminal && g.metadata.annotations?.[ANNOTATIONS.plannedFailover] === undefined ? g : undefined;
      },
      timeoutMs,
      100,
    );

  /** One writable primary, the others replicating from it, no recovery in flight, and the cooldown over. */
  const settled = async (primary: string): Promise<void> => {
    const g = await waitFor(
      `${primary} settled as primary`,
      async () => {
        const g = await group();
        const ok = g.status?.activeSite === primary && (g.status.sites ?? []).every((s) => !s.recoveryState && (s.name === primary || s.replicating === true));
        return ok ? g : undefined;
      },
      30_000,
      100,
    );
    const last = Date.parse(g.status?.lastFailover ?? "");
    const wait = Number.isNaN(last) ? 0 : last + cooldownMs + 150 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  };

  /** The operator has seen the current spec (it writes observedGeneration with its status). */
  const specSeen = (): Promise<boolean> =>
    waitFor(
      "spec seen by the operator",
      async () => {
        const g = await group();
        return g.status?.observedGeneration === g.metadata.generation;
      },
      10_000,
      100,
    );

  const patchSpec = async (spec: Record<string, unknown>): Promise<void> => {
    const r = await kubectl(["patch", "mfg", name, "-n", ns, "--type=merge", "-p", JSON.stringify({ spec })]);
    expect(r.code, r.stderr).toBe(0);
    await specSeen();
  };

  return { group, request, finished, settled, specSeen, patchSpec };
}
