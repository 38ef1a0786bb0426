import { describe, expect, it } from "vitest";
import { accountProblem, accountsPlan, accountStatements, operatorPasswordStatements, schemaPrivilegesQuery, type ReplicaLogin } from "../../../shared/managed/accounts.js";

const repl = { user: "repl", password: "s3cret" };
const app = { user: "app", password: "app-pw" };
const source = { secretName: "orders-replication", usernameKey: "username", passwordKey: "password" };
const replica = (name: string, lastIoErrno = 0, fromPrimary = true): ReplicaLogin => ({ name, fromPrimary, lastIoErrno });
const grants = (role: Parameters<typeof accountStatements>[0], flavor: "mysql" | "mariadb") => accountStatements(role, app, flavor).slice(2).map((s) => s.sql);

describe("the accounts of a managed group", () => {
  it("are created, given their Secret's password, then their role's privileges", () => {
    expect(accountStatements("replication", repl, "mariadb")).toEqual([
      { sql: "CREATE USER IF NOT EXISTS ?@'%' IDENTIFIED BY ?", params: ["repl", "s3cret"] },
      { sql: "ALTER USER ?@'%' IDENTIFIED BY ?", params: ["repl", "s3cret"] },
      { sql: "GRANT REPLICATION SLAVE ON *.* TO ?@'%'", params: ["repl"] },
    ]);
  });

  // The MySQL side is pinned here: the integration servers are MariaDB.
  it.each([
    ["replication", "mysql", ["GRANT REPLICATION SLAVE ON *.* TO ?@'%'"]],
    ["monitoring", "mysql", ["GRANT PROCESS, REPLICATION CLIENT ON *.* TO ?@'%'", "GRANT SELECT ON performance_schema.* TO ?@'%'"]],
    ["monitoring", "mariadb", ["GRANT PROCESS, BINLOG MONITOR, SLAVE MONITOR ON *.* TO ?@'%'", "GRANT SELECT ON performance_schema.* TO ?@'%'"]],
    ["backup", "mysql", ["GRANT SELECT, LOCK TABLES, SHOW VIEW, EVENT, TRIGGER, RELOAD, PROCESS, REPLICATION CLIENT, BACKUP_ADMIN ON *.* TO ?@'%'"]],
    ["backup", "mariadb", ["GRANT SELECT, LOCK TABLES, SHOW VIEW, EVENT, TRIGGER, RELOAD, PROCESS, BINLOG MONITOR, SLAVE MONITOR ON *.* TO ?@'%'"]],
  ] as const)("%s on %s", (role, flavor, expected) => {
    expect(grants(role, flavor)).toEqual(expected);
  });

  it("never lets a role pass read_only or grant", () => {
    for (const role of ["replication", "application", "monitoring", "backup"] as const) {
      for (const flavor of ["mysql", "mariadb"] as const) {
        for (const sql of grants(role, flavor)) expect(sql).not.toMatch(/SUPER|READ ONLY ADMIN|CONNECTION_ADMIN|CONNECTION ADMIN|ALL PRIVILEGES|GRANT OPTION/);
      }
    }
  });

  it("refuses a user name MySQL would not take plainly and an empty password, naming the Secret and key", () => {
    expect(accountProblem("replication", repl, source)).toBeUndefined();
    expect(accountProblem("replication", { user: "repl'; DROP", password: "x" }, source)).toMatch(/^Secret orders-replication key "username": "repl'; DROP" is not a usable MySQL user name/);
    expect(accountProblem("replication", { user: "a".repeat(33), password: "x" }, source)).toMatch(/not a usable MySQL user name/);
    expect(accountProblem("backup", { user: "bk", password: "" }, source)).toBe('Secret orders-replication key "password" is empty: the backup account needs a password');
  });

  it("ensures every account after a start and on a new primary, then only what changed", () => {
    const replicas = [replica("pdx"), replica("sfo")];
    const accounts = { replication: repl, application: app };
    expect(accountsPlan({ primary: "iad", accounts, replicas })).toEqual({ ensure: ["replication", "application"], repoint: [] });
    expect(accountsPlan({ primary: "iad", accounts, applied: { primary: "iad", accounts }, replicas })).toEqual({ ensure: [], repoint: [] });
    expect(accountsPlan({ primary: "pdx", accounts, applied: { primary: "iad", accounts }, replicas })).toEqual({ ensure: ["replication", "application"], repoint: [] });
    const newApp = { ...accounts, application: { user: "app", password: "new" } };
    expect(accountsPlan({ primary: "iad", accounts: newApp, applied: { primary: "iad", accounts }, replicas })).toEqual({ ensure: ["application"], repoint: [] });
  });

  it("scopes the application account to its databases: granted on each, revoked on *.* and on every other database it holds (same SQL on both flavors)", () => {
    const PRIVS = "SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX, REFERENCES, CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, EVENT, TRIGGER";
    for (const flavor of ["mysql", "mariadb"] as const) {
      const statements = accountStatements("application", { ...app, databases: ["shop", "billing"] }, flavor, ["shop", "old"]);
      expect(statements.slice(2)).toEqual([
        { sql: `GRANT ${PRIVS} ON \`shop\`.* TO ?@'%'`, params: ["app"] },
        { sql: `GRANT ${PRIVS} ON \`billing\`.* TO ?@'%'`, params: ["app"] },
        { sql: `REVOKE ${PRIVS} ON *.* FROM ?@'%'`, params: ["app"] },
        { sql: `REVOKE ${PRIVS} ON \`old\`.* FROM ?@'%'`, params: ["app"] },
      ]);
    }
    // Unscoped: *.* as before, and the other roles ignore databases.
    expect(grants("application", "mariadb")).toEqual([`GRANT ${PRIVS} ON *.* TO ?@'%'`]);
    expect(accountStatements("backup", { ...app, databases: ["shop"] }, "mariadb").slice(2).map((x) => x.sql)).toEqual(grants("backup", "mariadb"));
    expect(schemaPrivilegesQuery("app")).toEqual({ sql: "SELECT DISTINCT TABLE_SCHEMA AS db FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = ?", params: ["'app'@'%'"] });
  });

  it("refuses a database the application account may not be scoped to, naming the field", () => {
    const appSource = { ...source, secretName: "orders-app" };
    expect(accountProblem("application", { ...app, databases: ["shop"] }, appSource)).toBeUndefined();
    expect(accountProblem("application", { ...app, databases: ["shop", "MySQL"] }, appSource)).toBe('spec.credentials.application.databases: "MySQL" is not a database the application account may be scoped to (letters, digits, _ and $; not a system schema)');
    expect(accountProblem("application", { ...app, databases: ["a`b"] }, appSource)).toMatch(/"a`b" is not a database/);
  });

  it("ensures the application account again when its databases change", () => {
    const accounts = { application: { ...app, databases: ["shop"] } };
    expect(accountsPlan({ primary: "iad", accounts, applied: { primary: "iad", accounts }, replicas: [] })).toEqual({ ensure: [], repoint: [] });
    expect(accountsPlan({ primary: "iad", accounts: { application: { ...app, databases: ["shop", "billing"] } }, applied: { primary: "iad", accounts }, replicas: [] })).toEqual({ ensure: ["application"], repoint: [] });
    expect(accountsPlan({ primary: "iad", accounts: { application: app }, applied: { primary: "iad", accounts }, replicas: [] })).toEqual({ ensure: ["application"], repoint: [] });
  });

  it("after a replication password change, alters it and repoints every replica of the primary", () => {
    const replicas = [replica("pdx"), replica("sfo"), replica("old", 0, false)];
    const plan = accountsPlan({ primary: "iad", accounts: { replication: { user: "repl", password: "new" } }, applied: { primary: "iad", accounts: { replication: repl } }, replicas });
    expect(plan).toEqual({ ensure: ["replication"], repoint: ["pdx", "sfo"] });
  });

  it("a replica refused at login: the replication password is set again and that replica repointed", () => {
    const replicas = [replica("pdx", 1045), replica("sfo", 2003), replica("old", 1045, false)];
    const accounts = { replication: repl };
    expect(accountsPlan({ primary: "iad", accounts, applied: { primary: "iad", accounts }, replicas })).toEqual({ ensure: ["replication"], repoint: ["pdx"] });
    // Without a managed replication account (replicas use the operator's), nothing to repoint.
    expect(accountsPlan({ primary: "iad", accounts: {}, applied: { primary: "iad", accounts: {} }, replicas })).toEqual({ ensure: [], repoint: [] });
  });
});

describe("the operator's own password", () => {
  it("changes on each server by itself, never binary-logged, and only for TCP logins", () => {
    expect(operatorPasswordStatements({ user: "root", password: "n3w" })).toEqual([
      { sql: "SET SESSION sql_log_bin = 0", params: [] },
      { sql: "ALTER USER ?@'%' IDENTIFIED BY ?", params: ["root", "n3w"] },
      { sql: "SET SESSION sql_log_bin = 1", params: [] },
    ]);
  });
});
