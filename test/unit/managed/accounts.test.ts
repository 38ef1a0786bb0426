import { describe, expect, it } from "vitest";
import { accountProblem, accountsPlan, replicationAccountStatements, type ReplicaLogin } from "../../../shared/managed/accounts.js";

const repl = { user: "repl", password: "s3cret" };
const source = { secretName: "orders-replication", usernameKey: "username", passwordKey: "password" };
const replica = (name: string, lastIoErrno = 0, fromPrimary = true): ReplicaLogin => ({ name, fromPrimary, lastIoErrno });

describe("the replication account of a managed group", () => {
  it("is created, given the Secret's password and only REPLICATION SLAVE", () => {
    expect(replicationAccountStatements(repl)).toEqual([
      { sql: "CREATE USER IF NOT EXISTS ?@'%' IDENTIFIED BY ?", params: ["repl", "s3cret"] },
      { sql: "ALTER USER ?@'%' IDENTIFIED BY ?", params: ["repl", "s3cret"] },
      { sql: "GRANT REPLICATION SLAVE ON *.* TO ?@'%'", params: ["repl"] },
    ]);
  });

  it("refuses a user name MySQL would not take plainly and an empty password, naming the Secret and key", () => {
    expect(accountProblem(repl, source)).toBeUndefined();
    expect(accountProblem({ user: "repl'; DROP", password: "x" }, source)).toMatch(/^Secret orders-replication key "username": "repl'; DROP" is not a usable MySQL user name/);
    expect(accountProblem({ user: "a".repeat(33), password: "x" }, source)).toMatch(/not a usable MySQL user name/);
    expect(accountProblem({ user: "repl", password: "" }, source)).toBe('Secret orders-replication key "password" is empty: the replication account needs a password');
  });

  it("is ensured after a start and on a new primary, once; replicas are left alone", () => {
    const replicas = [replica("pdx"), replica("sfo")];
    expect(accountsPlan({ primary: "iad", account: repl, replicas })).toEqual({ ensure: true, repoint: [] });
    expect(accountsPlan({ primary: "iad", account: repl, applied: { primary: "iad", account: repl }, replicas })).toEqual({ ensure: false, repoint: [] });
    expect(accountsPlan({ primary: "pdx", account: repl, applied: { primary: "iad", account: repl }, replicas })).toEqual({ ensure: true, repoint: [] });
  });

  it("after a password change, alters it and repoints every replica of the primary", () => {
    const replicas = [replica("pdx"), replica("sfo"), replica("old", 0, false)];
    expect(accountsPlan({ primary: "iad", account: { user: "repl", password: "new" }, applied: { primary: "iad", account: repl }, replicas })).toEqual({
      ensure: true,
      repoint: ["pdx", "sfo"],
    });
  });

  it("a replica refused at login: the password is set again and that replica repointed", () => {
    const replicas = [replica("pdx", 1045), replica("sfo", 2003), replica("old", 1045, false)];
    expect(accountsPlan({ primary: "iad", account: repl, applied: { primary: "iad", account: repl }, replicas })).toEqual({ ensure: true, repoint: ["pdx"] });
  });
});
