/**
 * The application account's statements (shared/managed/accounts.ts) on a real MariaDB server:
 * unscoped it works on every database, the grant tables included; scoped to databases it works
 * there only and loses `*.*`, and a database dropped from the list (or granted by hand) loses its
 * grant at the next run; the statements run again change nothing.
 */
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MariaDbSites, type MariaDbSite } from "../../scripts/env/mariadb-sites.js";
import { ensureAccount } from "../../operator/group/accounts.js";
import { schemaPrivilegesQuery, type Account } from "../../shared/managed/accounts.js";

const APP: Account = { user: "shop_app", password: "app-password-0123" };

describe("the application account on real MariaDB", () => {
  let sites: MariaDbSites;
  let site: MariaDbSite;

  /** The operator's own steps for the account (operator/group/accounts.ts), as its admin. */
  const ensure = (account: Account): Promise<void> => ensureAccount((s) => site.query(s.sql, s.params), "application", account, "mariadb");
  /** Runs `sql` as the application account; the server's error code, or "ok". */
  const asApp = async (sql: string): Promise<string> => {
    const conn = await mysql.createConnection({ host: "127.0.0.1", port: site.port, user: APP.user, password: APP.password });
    try {
      await conn.query(sql);
      return "ok";
    } catch (err) {
      return (err as { code?: string }).code ?? String(err);
    } finally {
      await conn.end();
    }
  };
  const schemas = async (): Promise<string[]> => {
    const where = schemaPrivilegesQuery(APP.user);
    return (await site.query<{ db: string }[]>(where.sql, where.params)).map((r) => r.db).sort();
  };

  beforeAll(async () => {
    sites = await MariaDbSites.start({ names: ["iad"], primary: "iad" });
    site = sites.site("iad");
    for (const db of ["shop", "billing", "extra"]) await site.query(`CREATE DATABASE IF NOT EXISTS ${db}`);
  });

  afterAll(async () => {
    await sites?.teardown();
  });

  it("unscoped: every database, the grant tables included (why scoping exists)", async () => {
    await ensure(APP);
    expect(await asApp("CREATE TABLE billing.t (id INT PRIMARY KEY)")).toBe("ok");
    expect(await asApp("UPDATE mysql.global_priv SET Priv = Priv WHERE User = 'nobody'")).toBe("ok");
  });

  it("scoped: its databases only; *.* and every other database revoked, a hand grant too", async () => {
    await site.query("GRANT SELECT ON extra.* TO ?@'%'", [APP.user]);
    await ensure({ ...APP, databases: ["shop", "billing"] });
    expect(await schemas()).toEqual(["billing", "shop"]);
    expect(await asApp("CREATE TABLE shop.t (id INT PRIMARY KEY)")).toBe("ok");
    expect(await asApp("INSERT INTO billing.t VALUES (1)")).toBe("ok");
    expect(await asApp("SELECT * FROM extra.nothing")).toBe("ER_TABLEACCESS_DENIED_ERROR");
    expect(await asApp("UPDATE mysql.global_priv SET Priv = Priv WHERE User = 'nobody'")).toBe("ER_TABLEACCESS_DENIED_ERROR");
    expect(await asApp("CREATE DATABASE elsewhere")).toBe("ER_DBACCESS_DENIED_ERROR");
  });

  it("a database dropped from the list loses its grant; running again changes nothing", async () => {
    await ensure({ ...APP, databases: ["shop"] });
    expect(await schemas()).toEqual(["shop"]);
    expect(await asApp("INSERT INTO billing.t VALUES (2)")).toBe("ER_TABLEACCESS_DENIED_ERROR");
    await ensure({ ...APP, databases: ["shop"] });
    expect(await schemas()).toEqual(["shop"]);
    expect(await asApp("INSERT INTO shop.t VALUES (1)")).toBe("ok");
  });
});
