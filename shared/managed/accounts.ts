/**
 * The MySQL accounts of a group with managed sites, one per role named in `spec.credentials`
 * besides the operator's own. The operator creates each on the primary (binary-logged, so every
 * site has it, also after a failover) with the privileges its role needs, keeps its password
 * equal to its Secret's, and repoints a replica whose receiver needs the replication account's
 * new password.
 */
import type { FlavorName } from "../topology/site-observation.js";

export interface Account {
  user: string;
  password: string;
  /** The application account's `spec.credentials.application.databases`: its privileges there only. */
  databases?: readonly string[];
}

export const MANAGED_ACCOUNT_ROLES = ["replication", "application", "monitoring", "backup"] as const;
export type ManagedAccountRole = (typeof MANAGED_ACCOUNT_ROLES)[number];

/** A statement with `?` placeholders, formatted by the MySQL client at the edge. */
export interface AccountStatement {
  sql: string;
  params: string[];
}

/** ER_ACCESS_DENIED_ERROR, as a replica's receiver reports a refused login. */
export const ACCESS_DENIED_ERRNO = 1045;

/** Names every MySQL and MariaDB version accepts without quoting surprises; 32 is MySQL's limit. */
const USER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.$-]{0,31}$/;

/** Data and schema work; on `*.*` (the system schema too) unless scoped to databases (docs/managed-sites.md). */
const APPLICATION_PRIVILEGES =
  "SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX, REFERENCES, CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, EVENT, TRIGGER";
const APPLICATION = `${APPLICATION_PRIVILEGES} ON *.*`;

/** What the CRD lets through (shared/api/failover-group.ts); checked again here, since a name is quoted into SQL. */
const DATABASE_NAME = /^[A-Za-z0-9_$]{1,64}$/;
const SYSTEM_SCHEMAS = new Set(["mysql", "sys", "performance_schema", "information_schema"]);

/**
 * What each role may do. None may pass read_only (no SUPER, READ ONLY ADMIN, CONNECTION ADMIN):
 * a fenced primary must refuse them. MariaDB 10.5+ splits MySQL's REPLICATION CLIENT into
 * BINLOG MONITOR and SLAVE MONITOR.
 */
const GRANTS: Record<ManagedAccountRole, Record<FlavorName, string[]>> = {
  replication: { mysql: ["REPLICATION SLAVE ON *.*"], mariadb: ["REPLICATION SLAVE ON *.*"] },
  application: { mysql: [APPLICATION], mariadb: [APPLICATION] },
  monitoring: {
    mysql: ["PROCESS, REPLICATION CLIENT ON *.*", "SELECT ON performance_schema.*"],
    mariadb: ["PROCESS, BINLOG MONITOR, SLAVE MONITOR ON *.*", "SELECT ON performance_schema.*"],
  },
  backup: {
    mysql: ["SELECT, LOCK TABLES, SHOW VIEW, EVENT, TRIGGER, RELOAD, PROCESS, REPLICATION CLIENT, BACKUP_ADMIN ON *.*"],
    mariadb: ["SELECT, LOCK TABLES, SHOW VIEW, EVENT, TRIGGER, RELOAD, PROCESS, BINLOG MONITOR, SLAVE MONITOR ON *.*"],
  },
};

/** Why the account cannot be created as given, naming the Secret and key to fix; undefined when it can. */
export function accountProblem(role: ManagedAccountRole, account: Account, source: { secretName: string; usernameKey: string; passwordKey: string }): string | undefined {
  if (!USER_NAME.test(account.user)) {
    return `Secret ${source.secretName} key "${source.usernameKey}": "${account.user}" is not a usable MySQL user name (letters, digits, _ . $ -, at most 32 characters, not starting with . $ or -)`;
  }
  if (account.password === "") return `Secret ${source.secretName} key "${source.passwordKey}" is empty: the ${role} account needs a password`;
  const badDatabase = account.databases?.find((d) => !DATABASE_NAME.test(d) || SYSTEM_SCHEMAS.has(d.toLowerCase()));
  if (badDatabase !== undefined) return `spec.credentials.${role}.databases: "${badDatabase}" is not a database the ${role} account may be scoped to (letters, digits, _ and $; not a system schema)`;
  return undefined;
}

/** The statement that lists where an account holds database-level privileges (for scopedAccountStatements). */
export function schemaPrivilegesQuery(user: string): AccountStatement {
  return { sql: "SELECT DISTINCT TABLE_SCHEMA AS db FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = ?", params: [`'${user}'@'%'`] };
}

/**
 * Idempotent: creates the account if missing, sets the Secret's password, grants the role's
 * privileges. An application account scoped to databases gets them on each of those, and loses
 * them on `*.*` and on every other database it holds them on (`schemas`, from
 * schemaPrivilegesQuery): with `databases` the operator owns where it may work.
 */
export function accountStatements(role: ManagedAccountRole, account: Account, flavor: FlavorName, schemas: readonly string[] = []): AccountStatement[] {
  const login = [account.user, account.password];
  const user = [account.user];
  const scoped = role === "application" && account.databases !== undefined;
  const grants = scoped
    ? [
        ...(account.databases ?? []).map((db) => ({ sql: `GRANT ${APPLICATION_PRIVILEGES} ON \`${db}\`.* TO ?@'%'`, params: user })),
        { sql: `REVOKE ${APPLICATION_PRIVILEGES} ON *.* FROM ?@'%'`, params: user },
        ...schemas.filter((db) => !account.databases?.includes(db)).map((db) => ({ sql: `REVOKE ${APPLICATION_PRIVILEGES} ON \`${db.replaceAll("`", "``")}\`.* FROM ?@'%'`, params: user })),
      ]
    : GRANTS[role][flavor].map((grant) => ({ sql: `GRANT ${grant} TO ?@'%'`, params: user }));
  return [
    { sql: "CREATE USER IF NOT EXISTS ?@'%' IDENTIFIED BY ?", params: login },
    { sql: "ALTER USER ?@'%' IDENTIFIED BY ?", params: login },
    ...grants,
  ];
}

/**
 * The operator's own new password, on one server: not binary-logged, so each server is changed
 * by itself (a replica that is down or behind gets it when the operator reaches it, not through
 * replication) and no server gets a transaction of its own. Only '<user>'@'%': the operator logs
 * in over TCP, and an image's '<user>'@'localhost' may log in by socket, which must keep working.
 */
export function operatorPasswordStatements(account: Account): AccountStatement[] {
  return [
    { sql: "SET SESSION sql_log_bin = 0", params: [] },
    { sql: "ALTER USER ?@'%' IDENTIFIED BY ?", params: [account.user, account.password] },
    { sql: "SET SESSION sql_log_bin = 1", params: [] },
  ];
}

export interface ReplicaLogin {
  name: string;
  /** The site's replication source is the primary. */
  fromPrimary: boolean;
  /** The receiver's last error number (0: none). */
  lastIoErrno: number;
}

export type RoleAccounts = Partial<Record<ManagedAccountRole, Account>>;

export interface AccountsInput {
  primary: string;
  accounts: RoleAccounts;
  /** What this operator last made the accounts on which primary; undefined after a start. */
  applied?: { primary: string; accounts: RoleAccounts };
  replicas: readonly ReplicaLogin[];
}

export interface AccountsPlan {
  /** Roles whose accountStatements to run on the primary. */
  ensure: ManagedAccountRole[];
  /** Replicas of the primary to repoint with the replication account's password. */
  repoint: string[];
}

const same = (a: Account | undefined, b: Account | undefined) => a?.user === b?.user && a?.password === b?.password && JSON.stringify(a?.databases) === JSON.stringify(b?.databases);

/**
 * Every account after a start or a failover (another primary); an account whose Secret changed;
 * the replication account also when a replica of the primary was refused at login (someone
 * changed its password by hand). Repoints the replicas of the primary when the replication
 * password changed (their stored password is the old one; they would be refused at their next
 * reconnect), and those already refused.
 */
export function accountsPlan(input: AccountsInput): AccountsPlan {
  const { applied, accounts } = input;
  const fresh = !applied || applied.primary !== input.primary;
  const refused = input.replicas.filter((r) => r.fromPrimary && r.lastIoErrno === ACCESS_DENIED_ERRNO).map((r) => r.name);
  const ensure = MANAGED_ACCOUNT_ROLES.filter((role) => {
    if (!accounts[role]) return false;
    if (fresh || !same(accounts[role], applied.accounts[role])) return true;
    return role === "replication" && refused.length > 0;
  });
  const rotated = !fresh && accounts.replication !== undefined && !same(accounts.replication, applied.accounts.replication);
  const repoint = !accounts.replication ? [] : rotated ? input.replicas.filter((r) => r.fromPrimary).map((r) => r.name) : refused;
  return { ensure, repoint };
}
