import { managedNames } from "../../shared/managed/sites.js";
import type { GroupContext } from "./context.js";
import { credentialSecretNames } from "./credentials.js";
import { DONE, type ReconcileResult, type Reconciler } from "./reconciler.js";

/**
 * With --watch-secrets, watches the Secrets the group names (its accounts' and its agents'
 * token): a change makes the next cycle read them again and starts it now, so that a rotated
 * password is taken within seconds. Without it they are read every --credentials-refresh, and at
 * once after a refused login. It writes nothing.
 */
export class SecretWatchReconciler implements Reconciler {
  readonly name = "secret-watch";
  private watching = "";
  private unwatch: (() => void) | undefined;

  constructor(private readonly ctx: GroupContext) {}

  reconcile(): Promise<ReconcileResult> {
    const { ctx } = this;
    const watch = ctx.deps.watchSecrets;
    if (!watch) return Promise.resolve(DONE);
    const names = [...credentialSecretNames(ctx.spec), managedNames.agentToken(ctx.name)].sort();
    const key = names.join(",");
    if (key !== this.watching) {
      this.unwatch?.();
      this.unwatch = watch(ctx.namespace, names, () => ctx.credentialsChanged());
      this.watching = key;
    }
    return Promise.resolve(DONE);
  }

  stop(): void {
    this.unwatch?.();
    this.unwatch = undefined;
  }
}
