/**
 * Starts MariaDB test sites by hand and keeps them until Ctrl-C:
 *   npm run sites -- iad pdx sfo --primary iad
 * Prints each site's port and pid and the accounts to connect with.
 */
import { parseArgs } from "node:util";
import { MariaDbSites, TEST_USERS } from "./env/mariadb-sites.js";

const { values, positionals } = parseArgs({ allowPositionals: true, options: { primary: { type: "string" } } });
const names = positionals.length > 0 ? positionals : ["iad", "pdx", "sfo"];
const primary = values.primary ?? names[0];
const started = Date.now();
const sites = await MariaDbSites.start({ names, primary });
console.log(`${names.length} MariaDB sites up in ${Date.now() - started} ms (primary ${primary}), folder ${sites.env.path}`);
for (const s of sites.sites) console.log(`  ${s.name.padEnd(8)} 127.0.0.1:${s.port}  server_id=${s.serverId}  pid=${s.pid}`);
const admin = TEST_USERS.admin;
console.log(`connect: mariadb -h127.0.0.1 -P${sites.sites[0]?.port} -u${admin.user} -p${admin.password}`);
console.log("Ctrl-C stops them and removes their data.");
const stop = async () => {
  await sites.teardown();
  process.exit(0);
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
setInterval(() => undefined, 1 << 30);
