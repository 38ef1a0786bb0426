import { randomBytes } from "node:crypto";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { inventoryOf, isSettled, type ManagedInventory } from "../../shared/managed/inventory.js";
import { agentTokenSecret, managedObjects, sameServerIds, type ManagedGroup } from "../../shared/managed/objects.js";
import { managedNames, managedSites } from "../../shared/managed/sites.js";
import type { GroupContext } from "./context.js";
import { DONE, failed, type GroupCycle, type ReconcileResult, type Reconciler } from "./reconciler.js";

/**
 * How often the objects are applied again although the spec did not change: a deleted Service or
 * a hand edit comes back within this time.
 */
export const MANAGED_RESYNC_MS = 60_000;
/**
 * How often the StatefulSets, claims and pods are listed again once every site is settled (bound,
 * Ready, current): the pod state in status is at most this old. Three list calls per group, so
 * not every poll; while a site starts or rolls, every cycle.
 */
export const MANAGED_READ_MS = 10_000;

/**
 * Keeps the objects of the group's managed sites (those with `storage`) as the spec describes
 * them: applied on every new generation and every MANAGED_RESYNC_MS. Reads what exists for the
 * other reconcilers (cycle.managed). External sites need nothing.
 */
export class ManagedSitesReconciler implements Reconciler {
  readonly name = "managed-sites";
  private appliedGeneration: number | undefined;
  private appliedAt = 0;
  private inventory: { generation: number; at: number; sites: ManagedInventory } | undefined;

  constructor(private readonly ctx: GroupContext) {}

  async reconcile(cycle: GroupCycle): Promise<ReconcileResult> {
    const { ctx } = this;
    const sites = managedSites(ctx.spec);
    if (sites.length === 0) return DONE;
    const generation = ctx.group.metadata.generation ?? 0;
    let inventory = this.inventory;
    if (!inventory || inventory.generation !== generation || !isSettled(inventory.sites) || Date.now() - inventory.at >= MANAGED_READ_MS) {
      const lists = await ctx.deps.listManaged(ctx.namespace, ctx.name);
      inventory = this.inventory = { generation, at: Date.now(), sites: inventoryOf(ctx.name, sites, lists) };
    }
    cycle.managed = inventory.sites;
    if (generation === this.appliedGeneration && Date.now() - this.appliedAt < MANAGED_RESYNC_MS) return DONE;
    const clashes = sameServerIds(ctx.spec);
    if (clashes.length > 0) return failed(`sites ${clashes.join(" and ")} would get the same server_id; rename one of them`);
    const operator = ctx.spec.credentials?.operator;
    if (!operator) return failed("managed sites need spec.credentials.operator: its password initialises each new server's root account");
    const group = { name: ctx.name, namespace: ctx.namespace, uid: ctx.group.metadata.uid ?? "", spec: ctx.spec };
    // Before the pods that mount it: a sidecar cannot start without its token file.
    if (ctx.deps.sidecar) await this.ensureAgentToken(group);
    const objects = managedObjects(
      group,
      { name: operator.secretName, usernameKey: operator.usernameKey, passwordKey: operator.passwordKey },
      inventory.sites,
      ctx.deps.sidecar && { ...ctx.deps.sidecar, image: ctx.spec.sidecarImage ?? ctx.deps.sidecar.image },
    );
    for (const obj of objects) await ctx.deps.applyObject(obj);
    this.appliedGeneration = generation;
    this.appliedAt = Date.now();
    ctx.log.debug(LOG_MESSAGES.managedObjectsApplied, { generation, objects: objects.length });
    return DONE;
  }

  /** A token Secret that exists, the operator's or the admin's, is kept as it is: the agents hold its token. */
  private async ensureAgentToken(group: ManagedGroup): Promise<void> {
    const token = randomBytes(32).toString("base64url");
    if (!(await this.ctx.deps.createSecretIfAbsent(agentTokenSecret(group, token)))) return;
    this.ctx.rememberAgentToken(token);
    // Not a field named like a secret: the logger redacts those.
    this.ctx.log.info(LOG_MESSAGES.agentTokenCreated, { object: `Secret/${managedNames.agentToken(group.name)}` });
  }
}
