import type { DefaultedMysqlFailoverGroupSpec } from "../../shared/api/index.js";
import { EVENT_REASONS } from "../../shared/names.js";

export interface MysqlAccount {
  user: string;
  password: string;
}

export interface GroupCredentials {
  operator: MysqlAccount;
  /** Account replicas use to connect to the primary; the operator account when not configured. */
  replication: MysqlAccount;
  /** The accounts of the other roles the spec names (managed sites: created by the operator). */
  roles: Partial<Record<"application" | "monitoring" | "backup", MysqlAccount>>;
}

/** Reads one Secret's data (base64-decoded); undefined when the Secret does not exist. */
export type SecretReader = (namespace: string, name: string) => Promise<Record<string, string> | undefined>;

export class CredentialsError extends Error {
  constructor(
    readonly reason: typeof EVENT_REASONS.secretNotFound | typeof EVENT_REASONS.secretMissingKey,
    message: string,
  ) {
    super(message);
    this.name = "CredentialsError";
  }
}

/** The Secrets that resolveCredentials reads for `spec`. */
export function credentialSecretNames(spec: DefaultedMysqlFailoverGroupSpec): string[] {
  const refs = spec.credentials;
  if (!refs) return spec.secretName ? [spec.secretName] : [];
  return [...new Set([refs.operator, refs.replication, refs.application, refs.monitoring, refs.backup].flatMap((ref) => (ref ? [ref.secretName] : [])))];
}

/**
 * Resolves the MySQL accounts of a group from `spec.credentials` (one Secret per role) or the
 * legacy `spec.secretName`, whose `dsn` key holds `user:password@tcp(host:port)/`.
 */
export async function resolveCredentials(namespace: string, spec: DefaultedMysqlFailoverGroupSpec, read: SecretReader): Promise<GroupCredentials> {
  if (spec.credentials) {
    const operator = await account(namespace, spec.credentials.operator, read);
    const replication = spec.credentials.replication ? await account(namespace, spec.credentials.replication, read) : operator;
    const roles: GroupCredentials["roles"] = {};
    for (const role of ["application", "monitoring", "backup"] as const) {
      const ref = spec.credentials[role];
      if (ref) roles[role] = await account(namespace, ref, read);
    }
    return { operator, replication, roles };
  }
  if (!spec.secretName) throw new CredentialsError(EVENT_REASONS.secretNotFound, "spec sets neither `credentials` nor `secretName`");
  const data = await read(namespace, spec.secretName);
  if (!data) throw new CredentialsError(EVENT_REASONS.secretNotFound, `Secret ${namespace}/${spec.secretName} (spec.secretName) does not exist`);
  const dsn = data.dsn;
  if (dsn === undefined) throw new CredentialsError(EVENT_REASONS.secretMissingKey, `Secret ${namespace}/${spec.secretName} has no key "dsn"`);
  const parsed = parseDsn(dsn);
  if (!parsed) throw new CredentialsError(EVENT_REASONS.secretMissingKey, `Secret ${namespace}/${spec.secretName} key "dsn" is not of the form user:password@tcp(host:port)/`);
  return { operator: parsed, replication: parsed, roles: {} };
}

async function account(
  namespace: string,
  ref: { secretName: string; usernameKey?: string; passwordKey?: string },
  read: SecretReader,
): Promise<MysqlAccount> {
  const data = await read(namespace, ref.secretName);
  if (!data) throw new CredentialsError(EVENT_REASONS.secretNotFound, `Secret ${namespace}/${ref.secretName} does not exist`);
  const userKey = ref.usernameKey ?? "username";
  const passwordKey = ref.passwordKey ?? "password";
  const user = data[userKey];
  const password = data[passwordKey];
  if (!user) throw new CredentialsError(EVENT_REASONS.secretMissingKey, `Secret ${namespace}/${ref.secretName} has no key "${userKey}"`);
  if (password === undefined) throw new CredentialsError(EVENT_REASONS.secretMissingKey, `Secret ${namespace}/${ref.secretName} has no key "${passwordKey}"`);
  return { user, password };
}

/** Go-MySQL-driver DSN, user and password part only: `user:password@tcp(host:port)/db?params`. */
export function parseDsn(dsn: string): MysqlAccount | undefined {
  const at = dsn.lastIndexOf("@");
  if (at <= 0) return undefined;
  const userinfo = dsn.slice(0, at);
  const colon = userinfo.indexOf(":");
  const user = colon < 0 ? userinfo : userinfo.slice(0, colon);
  if (user === "") return undefined;
  return { user, password: colon < 0 ? "" : userinfo.slice(colon + 1) };
}
