/**
 * The read-only taint: while a site is not writable its nodes carry
 * `shipstream.io/db-readonly-<group>=true:NoExecute`, so application pods that do not tolerate it
 * leave them. The key is per group, so groups sharing nodes never touch each other's taints.
 *
 * Each node is patched with its resourceVersion as a precondition, so a concurrent writer (the
 * kubelet, the node lifecycle controller, another operator) is never overwritten: on 409 the node
 * is read again and the change recomputed. Every other taint is kept as it was.
 */
import type { V1Node, V1Taint } from "@kubernetes/client-node";
import { READ_ONLY_TAINT_EFFECT, READ_ONLY_TAINT_VALUE, readOnlyTaintKey } from "../../shared/names.js";
import { errorText } from "../../shared/errors.js";
import { apiStatus, mergePatch, type Kube } from "../../shared/kube/client.js";


const DEFAULT_MAX_ATTEMPTS = 5;
const DEFAULT_CONCURRENCY = 4;

export interface TaintResult {
  /** Nodes that received the taint. */
  applied: number;
  /** Nodes the taint was removed from. */
  removed: number;
  /** Nodes the selector matched. */
  matched: number;
}

export interface NodeTaintFailure {
  node: string;
  error: unknown;
}

/** Some nodes could not be changed; the counts say what was done on the others. */
export class NodeTaintError extends Error {
  override readonly name = "NodeTaintError";

  constructor(
    readonly result: TaintResult,
    readonly failures: NodeTaintFailure[],
    message: string,
  ) {
    super(message, { cause: failures[0]?.error });
  }
}

export interface NodeTainterOptions {
  /** Deadline of each API request, in ms; the Kube's own deadline when omitted. */
  timeoutMs?: number;
  /** Patch attempts per node when the node keeps changing under us (409). */
  maxAttempts?: number;
  /** Nodes patched at the same time. */
  concurrency?: number;
}

/** A taint as it goes on the wire: timeAdded as an RFC 3339 string. */
interface WireTaint {
  key: string;
  value?: string;
  effect: string;
  timeAdded?: string;
}

/** `k1=v1,k2=v2`: every label must match. */
export function labelSelector(selector: Record<string, string>): string {
  return Object.entries(selector)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}

/**
 * The node's taints with the group's read-only taint present or absent; undefined when nothing
 * needs to change. Other keys are kept in order; any variant of our key (another value or
 * effect) is replaced by the canonical taint, or removed.
 */
export function withReadOnlyTaint(taints: readonly V1Taint[] | undefined, key: string, present: boolean, now: Date = new Date()): WireTaint[] | undefined {
  const current = taints ?? [];
  const ours = current.filter((t) => t.key === key);
  const others = current.filter((t) => t.key !== key);
  if (present) {
    const exact = ours.length === 1 && ours[0]?.value === READ_ONLY_TAINT_VALUE && ours[0].effect === READ_ONLY_TAINT_EFFECT;
    if (exact) return undefined;
    // timeAdded is what tolerationSeconds counts from; kubectl taint sets it the same way.
    return [...others.map(toWire), { key, value: READ_ONLY_TAINT_VALUE, effect: READ_ONLY_TAINT_EFFECT, timeAdded: rfc3339(now) }];
  }
  return ours.length === 0 ? undefined : others.map(toWire);
}

export function hasReadOnlyTaint(node: V1Node, group: string): boolean {
  const key = readOnlyTaintKey(group);
  return (node.spec?.taints ?? []).some((t) => t.key === key && t.effect === READ_ONLY_TAINT_EFFECT);
}

export class NodeTainter {
  private readonly maxAttempts: number;
  private readonly concurrency: number;

  constructor(
    private readonly kube: Kube,
    private readonly opts: NodeTainterOptions = {},
  ) {
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
    this.concurrency = Math.max(1, opts.concurrency ?? DEFAULT_CONCURRENCY);
  }

  /**
   * Puts the group's read-only taint on every node matching `selector` (present) or takes it
   * off (absent). Idempotent: nodes already in the wanted state are not written. Rejects with
   * an ApiError when the nodes cannot be listed, and with NodeTaintError (carrying the counts of
   * the nodes that did change) when some nodes could not be patched.
   */
  async setReadOnlyTaint(group: string, selector: Record<string, string>, present: boolean): Promise<TaintResult> {
    // An empty selector matches every node in the cluster: never what a site means.
    if (Object.keys(selector).length === 0) throw new Error(`refusing to ${present ? "taint" : "untaint"} nodes for group ${group}: the node selector is empty`);
    const key = readOnlyTaintKey(group);
    const labels = labelSelector(selector);
    const list = await this.kube.call(`list nodes ${labels}`, (options) => this.kube.core.listNode({ labelSelector: labels }, options), this.opts.timeoutMs);

    const result: TaintResult = { applied: 0, removed: 0, matched: list.items.length };
    const failures: NodeTaintFailure[] = [];
    const queue = [...list.items];
    const worker = async () => {
      for (let node = queue.shift(); node; node = queue.shift()) {
        const name = node.metadata?.name ?? "";
        try {
          if (await this.converge(node, key, present)) {
            if (present) result.applied++;
            else result.removed++;
          }
        } catch (error) {
          failures.push({ node: name, error });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, queue.length) }, worker));

    if (failures.length > 0) {
      const detail = failures.map((f) => `${f.node}: ${errorText(f.error)}`).join("; ");
      throw new NodeTaintError(result, failures, `${present ? "tainting" : "untainting"} ${failures.length} of ${result.matched} nodes (${labels}) failed: ${detail}`);
    }
    return result;
  }

  /** Brings one node to the wanted state; true when it was written. */
  private async converge(initial: V1Node, key: string, present: boolean): Promise<boolean> {
    let node = initial;
    const name = node.metadata?.name ?? "";
    for (let attempt = 1; ; attempt++) {
      const taints = withReadOnlyTaint(node.spec?.taints, key, present);
      if (!taints) return false;
      const resourceVersion = node.metadata?.resourceVersion;
      const body = {
        metadata: resourceVersion === undefined ? {} : { resourceVersion },
        // JSON merge patch replaces the list whole; the precondition makes that safe.
        spec: { taints: taints.length === 0 ? null : taints },
      };
      try {
        await this.kube.call(`patch taints of node ${name}`, (options) => this.kube.core.patchNode({ name, body }, mergePatch(options)), this.opts.timeoutMs);
        return true;
      } catch (err) {
        const status = apiStatus(err);
        if (status === 404) return false; // The node left the cluster: nothing to taint.
        if (status !== 409 || attempt >= this.maxAttempts) throw err;
      }
      try {
        node = await this.kube.call(`get node ${name}`, (options) => this.kube.core.readNode({ name }, options), this.opts.timeoutMs);
      } catch (err) {
        if (apiStatus(err) === 404) return false;
        throw err;
      }
    }
  }
}

function toWire(t: V1Taint): WireTaint {
  const wire: WireTaint = { key: t.key, effect: t.effect };
  if (t.value !== undefined) wire.value = t.value;
  if (t.timeAdded !== undefined) wire.timeAdded = rfc3339(new Date(t.timeAdded));
  return wire;
}

/** metav1.Time has second precision. */
function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}
