import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MariaDbSites } from "../../scripts/env/mariadb-sites.js";
import { loginOptions } from "../../operator/tools/option-file.js";

/** The option file the tools log in with, read by the real mariadb client against a real server. */
describe("login option files (real mariadb client and server)", () => {
  let sites: MariaDbSites;
  const password = `p#ss "quoted" back\\slash 'single' ;semi`;

  beforeAll(async () => {
    sites = await MariaDbSites.start({ names: ["opt"] });
    await sites.site("opt").query("CREATE USER 'odd'@'%' IDENTIFIED BY ?", [password]);
  });

  afterAll(async () => {
    await sites?.teardown();
  });

  it("logs in with a password holding #, quotes, a backslash and spaces", () => {
    const site = sites.site("opt");
    const file = join(sites.env.path, "login.cnf");
    writeFileSync(file, loginOptions("client", { host: site.host, port: site.port, user: "odd", password }), { mode: 0o600 });
    const out = execFileSync("mariadb", [`--defaults-extra-file=${file}`, "--batch", "--skip-column-names", "-e", "SELECT CURRENT_USER()"], { encoding: "utf8", timeout: 10_000 });
    expect(out.trim()).toBe("odd@%");
  });

  it("refuses a value with a line break, which would start another option", () => {
    expect(() => loginOptions("client", { host: "h", port: 1, user: "u", password: "a\npassword=other" })).toThrow(/line break/);
  });
});
