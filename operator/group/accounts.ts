import mysql from "mysql2";
import { errorText, redacted } from "../../shared/errors.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import {
  accountProblem,
  accountsPlan,
  accountStatements,
  MANAGED_ACCOUNT_ROLES,
  operatorPasswordStatements,
  schemaPrivilegesQuery,
  type Account,
  type AccountStatement,
  type ManagedAccountRole,
  type RoleAccounts,
} from "../../shared/managed/accounts.js";
import type { FlavorName } from "../../shared/topology/site-observation.js";
import { isManaged, managedNames, managedSites } from "../../shared/managed/sites.js";
import { ANNOTATIONS, EVENT_REASONS } from "../../shared/names.js";
import { isAuthenticationFailure } from "../mysql/site-client.js";
import type { GroupContext } from "./context.js";
import { DONE, failed, type GroupCycle, type ReconcileResult, type Reconciler } from "./reconciler.js";

/** Creating or altering one account, or repointing one replica: a few statements. */
const ACCOUNT_DEADLINE_MS = 10_000;

/**
 * Runs a role's statements on a server through `run`; a scoped application account first reads
 * where it holds database privileges, so that the others are revoked.
 */
export async function ensureAccount(run: (statement: AccountStatement) => Promise<Record<string, unknown>[]>, role: ManagedAccountRole, account: Account, flavor: FlavorName): Promise<void> {
  const schemas = account.databases === undefined ? [] : (await run(schemaPrivilegesQuery(account.user))).map((row) => String(row.db));
  for (const statement of accountStatements(role, account, flavor, schemas)) await run(statement);
}

/**
 * Changes the operator's own password on each managed server after its Secret changed (each
 * server by itself). Then, on the confirmed primary when it is a managed site, keeps the accounts
 * of the other roles (shared/managed/accounts.ts) and repoints the replicas that need the
 * replication account's password. Nothing while a switchover holds the group. Role accounts are
 * never the operator's: a role that names its user (replication, by default) is left out.
 */
export class AccountsReconciler implements Reconciler {
  readonly name = "accounts";
  private applied: { primary: string; accounts: RoleAccounts } | undefined;
  private lastProblem = "";

  constructor(private readonly ctx: GroupContext) {}

  async reconcile(cycle: GroupCycle): Promise<ReconcileResult> {
    const { ctx } = this;
    const primary = cycle.primary;
    const flavor = primary ? cycle.observations?.get(primary)?.flavor : undefined;
    if (managedSites(ctx.spec).length === 0 || !ctx.spec.credentials || !ctx.credentials) return DONE;
    if (cycle.holdEmergency || !cycle.observations) return DONE;
    await this.rotateOperatorPassword(cycle.observations);
    // A mixed group's external primary is someone else's server: its accounts are theirs to keep.
    if (!primary || !flavor || !ctx.spec.sites.some((s) => s.name === primary && isManaged(s))) return DONE;
    const { accounts, problems } = this.wanted();
    if (problems.length > 0) {
      const problem = problems.join("; ");
      if (problem !== this.lastProblem) {
        ctx.log.warn(LOG_MESSAGES.credentialReconcileFailed, { error: problem });
        ctx.recordEvent({ type: "Warning", reason: EVENT_REASONS.credentialReconcileFailed, message: `${problem}; those accounts are left as they are` });
      }
      this.lastProblem = problem;
    } else {
      this.lastProblem = "";
    }
    const source = ctx.address(primary);
    const replicas = [...cycle.observations].flatMap(([name, o]) =>
      name === primary || !o?.replica ? [] : [{ name, fromPrimary: o.replica.sourceHost === source.host && o.replica.sourcePort === source.port, lastIoErrno: o.replica.lastIoErrno }],
    );
    const plan = accountsPlan({ primary, accounts, ...(this.applied ? { applied: this.applied } : {}), replicas });
    for (const role of plan.ensure) {
      const account = accounts[role];
      if (!account) continue;
      try {
        await ctx.withSite(primary, `${role} account`, (s) => ensureAccount((st) => s.query(mysql.format(st.sql, st.params)), role, account, flavor), ACCOUNT_DEADLINE_MS);
      } catch (err) {
        // A server's syntax error quotes the statement: never the password.
        const message = `creating or updating the ${role} account ${account.user} on ${primary}: ${redacted(errorText(err), account.password)}`;
        ctx.recordEvent({ type: "Warning", reason: EVENT_REASONS.credentialReconcileFailed, message });
        return failed(message);
      }
      ctx.log.info(LOG_MESSAGES.accountEnsured, { site: primary, role, user: account.user });
    }
    this.applied = { primary, accounts };
    for (const site of plan.repoint) {
      await ctx.withSite(site, "repoint", (s) => s.flavor.repoint(s, ctx.replicationSource(primary), { formerPrimary: false, heartbeatSeconds: 1 }), ACCOUNT_DEADLINE_MS);
      ctx.log.info(LOG_MESSAGES.replicationAccountRepointed, { site, source: primary, user: accounts.replication?.user });
    }
    // Bad input was reported once above; retrying it every cycle would only repeat the report.
    return DONE;
  }

  /**
   * The operator's new password on each managed server that still has the previous one and
   * answers (context.ts operatorLogins), one by one, logged in with the previous one. A server
   * that refuses the previous password already has another: the Secret's is tried from then on.
   */
  private async rotateOperatorPassword(observations: NonNullable<GroupCycle["observations"]>): Promise<void> {
    const { ctx } = this;
    const operator = ctx.credentials?.operator;
    if (!operator || ctx.operatorLogins.size === 0 || !(await ctx.savePreviousOperator())) return;
    for (const site of [...ctx.operatorLogins.keys()]) {
      if (!observations.get(site)) continue;
      try {
        await ctx.withSite(site, "operator password", async (s) => {
          for (const statement of operatorPasswordStatements(operator)) await s.query(mysql.format(statement.sql, statement.params));
        }, ACCOUNT_DEADLINE_MS);
      } catch (err) {
        if (!isAuthenticationFailure(err)) {
          ctx.recordEvent({ type: "Warning", reason: EVENT_REASONS.credentialReconcileFailed, message: `changing the operator's password on ${site}: ${redacted(errorText(err), operator.password)}` });
          continue;
        }
      }
      ctx.operatorLogins.delete(site);
      ctx.log.info(LOG_MESSAGES.operatorPasswordChanged, { site, user: operator.user });
      // Only managed sites are rotated here: each has its pod.
      await this.refreshMountedSecrets(site);
    }
  }

  /**
   * A managed site's sidecar reads the operator's password from its mounted Secret, which the
   * kubelet refreshes at its periodic sync, up to a minute or more later: until then the sidecar
   * cannot log in (it could not fence, nor donate a clone). Touching the pod makes the kubelet
   * sync it, and refresh the Secret, now. Only a speed-up: a failure is logged and waited out.
   */
  private async refreshMountedSecrets(site: string): Promise<void> {
    const { ctx } = this;
    const pod = managedNames.pod(ctx.name, site);
    try {
      await ctx.deps.annotatePod(ctx.namespace, pod, { [ANNOTATIONS.operatorPasswordChanged]: new Date().toISOString() });
    } catch (err) {
      ctx.log.warn(LOG_MESSAGES.podAnnotationFailed, { pod, error: errorText(err) });
    }
  }

  /**
   * The accounts of the roles the spec names, each on its own user: never the operator's (the
   * replication account is the operator's when omitted), never one a role before took, never one
   * that is not usable. The others are reported and left out.
   */
  private wanted(): { accounts: RoleAccounts; problems: string[] } {
    const { ctx } = this;
    const refs = ctx.spec.credentials;
    const credentials = ctx.credentials;
    const accounts: RoleAccounts = {};
    const problems: string[] = [];
    if (!refs || !credentials) return { accounts, problems };
    const taken = new Map<string, string>([[credentials.operator.user, "operator"]]);
    for (const role of MANAGED_ACCOUNT_ROLES) {
      const ref = refs[role];
      const secret = role === "replication" ? credentials.replication : credentials.roles[role];
      if (!ref || !secret) continue;
      const databases = role === "application" ? refs.application?.databases : undefined;
      const account = databases === undefined ? secret : { ...secret, databases };
      const owner = taken.get(account.user);
      // Replicas may connect as the operator (the default): that account is the operator's to keep.
      if (role === "replication" && owner === "operator") continue;
      const problem = accountProblem(role, account, ref) ?? (owner ? `the ${role} account's user ${account.user} is already the ${owner} account's: give each role its own user` : undefined);
      if (problem) {
        problems.push(problem);
      } else {
        accounts[role] = account;
        taken.set(account.user, role);
      }
    }
    return { accounts, problems };
  }
}
