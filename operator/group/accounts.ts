import mysql from "mysql2";
import { errorText } from "../../shared/errors.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { accountProblem, accountsPlan, replicationAccountStatements, type Account } from "../../shared/managed/accounts.js";
import { managedSites } from "../../shared/managed/sites.js";
import { EVENT_REASONS } from "../../shared/names.js";
import type { GroupContext } from "./context.js";
import { DONE, failed, type GroupCycle, type ReconcileResult, type Reconciler } from "./reconciler.js";

/** Creating or altering one account, or repointing one replica: a few statements. */
const ACCOUNT_DEADLINE_MS = 10_000;

/**
 * Keeps the replication account of a group with managed sites (shared/managed/accounts.ts) on the
 * confirmed primary, and repoints the replicas that need the Secret's password. Nothing while a
 * switchover holds the group, without a primary, or when replicas use the operator's own account.
 */
export class AccountsReconciler implements Reconciler {
  readonly name = "accounts";
  private applied: { primary: string; account: Account } | undefined;
  private lastProblem = "";

  constructor(private readonly ctx: GroupContext) {}

  async reconcile(cycle: GroupCycle): Promise<ReconcileResult> {
    const { ctx } = this;
    const ref = ctx.spec.credentials?.replication;
    const credentials = ctx.credentials;
    const primary = cycle.primary;
    if (managedSites(ctx.spec).length === 0 || !ref || !credentials || credentials.replication.user === credentials.operator.user) return DONE;
    if (!primary || cycle.holdEmergency || !cycle.observations) return DONE;
    const account = credentials.replication;
    const problem = accountProblem(account, ref);
    if (problem) {
      if (problem !== this.lastProblem) {
        ctx.log.warn(LOG_MESSAGES.credentialReconcileFailed, { error: problem });
        ctx.recordEvent({ type: "Warning", reason: EVENT_REASONS.credentialReconcileFailed, message: `${problem}; the account is left as it is` });
      }
      this.lastProblem = problem;
      return failed(problem);
    }
    this.lastProblem = "";
    const source = ctx.address(primary);
    const replicas = [...cycle.observations].flatMap(([name, o]) =>
      name === primary || !o?.replica ? [] : [{ name, fromPrimary: o.replica.sourceHost === source.host && o.replica.sourcePort === source.port, lastIoErrno: o.replica.lastIoErrno }],
    );
    const plan = accountsPlan({ primary, account, ...(this.applied ? { applied: this.applied } : {}), replicas });
    if (plan.ensure) {
      try {
        await ctx.withSite(primary, "replication account", async (s) => {
          for (const statement of replicationAccountStatements(account)) await s.query(mysql.format(statement.sql, statement.params));
        }, ACCOUNT_DEADLINE_MS);
      } catch (err) {
        // A server's syntax error quotes the statement: never the password.
        const message = `creating or updating the replication account ${account.user} on ${primary}: ${errorText(err).replaceAll(account.password, "<password>")}`;
        ctx.recordEvent({ type: "Warning", reason: EVENT_REASONS.credentialReconcileFailed, message });
        return failed(message);
      }
      this.applied = { primary, account };
      ctx.log.info(LOG_MESSAGES.replicationAccountEnsured, { site: primary, user: account.user });
    }
    for (const site of plan.repoint) {
      await ctx.withSite(site, "repoint", (s) => s.flavor.repoint(s, ctx.replicationSource(primary), { formerPrimary: false, heartbeatSeconds: 1 }), ACCOUNT_DEADLINE_MS);
      ctx.log.info(LOG_MESSAGES.replicationAccountRepointed, { site, source: primary, user: account.user });
    }
    return DONE;
  }
}
