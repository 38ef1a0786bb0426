/**
 * A MariaDB server started on a physical copy (a clone, a restored backup) has no binary logs,
 * so it reports no GTID state for what it holds. Its state is set to the copy's position: it
 * then reports what it holds and replicates on from there. Only a server that has written
 * nothing since it started on the copy is positioned; one already there is left alone.
 */
import { onlyRow, readString } from "./flavor.js";
import type { SiteSession } from "./site-client.js";

/** `gtid` comes from a manifest this program wrote and parsed: a GTID list, nothing that can end the quoted string. */
export async function positionCopy(s: SiteSession, gtid: string): Promise<void> {
  if (s.flavor.name !== "mariadb") throw new Error("only MariaDB copies are positioned here (MySQL's CLONE INSTANCE keeps its GTID state)");
  if (!/^[0-9,-]*$/.test(gtid)) throw new Error(`${JSON.stringify(gtid)} is not a GTID position`);
  const pos = readString(s, onlyRow(s, await s.query("SELECT @@GLOBAL.gtid_binlog_pos AS pos"), "gtid_binlog_pos"), "pos");
  if (pos === gtid) return;
  if (pos !== "") throw new Error(`the server wrote ${pos} after it started on the copy; it is not positioned at ${gtid}`);
  await s.query("STOP SLAVE");
  await s.query("RESET SLAVE ALL");
  await s.query("RESET MASTER");
  await s.query(`SET GLOBAL gtid_binlog_state = '${gtid}'`);
  await s.query(`SET GLOBAL gtid_slave_pos = '${gtid}'`);
}
