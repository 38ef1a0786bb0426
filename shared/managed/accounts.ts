/**
 * The replication account of a group with managed sites: the operator creates it on the primary
 * (replicated to every site, so it exists wherever a replica may connect after a failover) with
 * the one privilege a replica's receiver needs, keeps its password equal to its Secret's, and
 * repoints a replica whose receiver was refused at login with the password of the Secret.
 */
export interface Account {
  user: string;
  password: string;
}

/** A statement with `?` placeholders, formatted by the MySQL client at the edge. */
export interface AccountStatement {
  sql: string;
  params: string[];
}

/** ER_ACCESS_DENIED_ERROR, as a replica's receiver reports a refused login. */
export const ACCESS_DENIED_ERRNO = 1045;

/** Names every MySQL and MariaDB version accepts without quoting surprises; 32 is MySQL's limit. */
const USER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.$-]{0,31}$/;

/** Why the account cannot be created as given, naming the Secret and key to fix; undefined when it can. */
export function accountProblem(account: Account, source: { secretName: string; usernameKey: string; passwordKey: string }): string | undefined {
  if (!USER_NAME.test(account.user)) {
    return `Secret ${source.secretName} key "${source.usernameKey}": "${account.user}" is not a usable MySQL user name (letters, digits, _ . $ -, at most 32 characters, not starting with . $ or -)`;
  }
  if (account.password === "") return `Secret ${source.secretName} key "${source.passwordKey}" is empty: the replication account needs a password`;
  return undefined;
}

/** Idempotent: creates the account if missing, sets the Secret's password, grants REPLICATION SLAVE. */
export function replicationAccountStatements(account: Account): AccountStatement[] {
  const login = [account.user, account.password];
  return [
    { sql: "CREATE USER IF NOT EXISTS ?@'%' IDENTIFIED BY ?", params: login },
    { sql: "ALTER USER ?@'%' IDENTIFIED BY ?", params: login },
    { sql: "GRANT REPLICATION SLAVE ON *.* TO ?@'%'", params: [account.user] },
  ];
}

export interface ReplicaLogin {
  name: string;
  /** The site's replication source is the primary. */
  fromPrimary: boolean;
  /** The receiver's last error number (0: none). */
  lastIoErrno: number;
}

export interface AccountsInput {
  primary: string;
  account: Account;
  /** What this operator last made the account on which primary; undefined after a start. */
  applied?: { primary: string; account: Account };
  replicas: readonly ReplicaLogin[];
}

export interface AccountsPlan {
  /** Run replicationAccountStatements on the primary. */
  ensure: boolean;
  /** Replicas of the primary to repoint with the Secret's password. */
  repoint: string[];
}

/**
 * Ensure after a start, a failover (another primary) or a changed Secret, and whenever a replica
 * of the primary was refused at login (someone changed the password by hand). Repoint the
 * replicas of the primary when the password changed (their stored password is the old one; they
 * would be refused at their next reconnect) and those already refused.
 */
export function accountsPlan(input: AccountsInput): AccountsPlan {
  const { applied, account } = input;
  const refused = input.replicas.filter((r) => r.fromPrimary && r.lastIoErrno === ACCESS_DENIED_ERRNO).map((r) => r.name);
  const rotated = applied !== undefined && (applied.account.user !== account.user || applied.account.password !== account.password);
  const ensure = !applied || applied.primary !== input.primary || rotated || refused.length > 0;
  const repoint = rotated ? input.replicas.filter((r) => r.fromPrimary).map((r) => r.name) : refused;
  return { ensure, repoint };
}
