import { randomBytes } from "node:crypto";
import type { RowDataPacket } from "mysql2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FAILPOINTS_ENV } from "../../operator/failpoints.js";
import { LOG_MESSAGES } from "../../shared/log-messages.js";
import { MariaDbSites, TEST_USERS } from "../../scripts/env/mariadb-sites.js";
import { waitFor } from "../../scripts/env/ports.js";
import { failoverGroup, namespaceWithCredentials, siteAt } from "../support/fixtures.js";
import { applyAll, groupReader } from "../support/groups.js";
import { kubectl } from "../support/kubectl.js";
import { OperatorProcess } from "../support/operator.js";

/**
 * A leader frozen inside an emergency promotion (a failpoint holds it after the intent is written;
 * then SIGSTOP, as a long GC pause or a VM freeze would) loses its Lease to a standby, which
 * finishes the failover. The standby is then killed and the old leader resumed: it must send no
 * statement to any server (MariaDB's general log, filtered on the operator's account) and stand
 * down, although its promotion was half done when it froze.
 */
const ns = `guard-${randomBytes(3).toString("hex")}`;
const GROUP = "orders";
const LEASE = ["--lease-duration=3s", "--renew-deadline=2s", "--retry-period=500ms"];

describe("the leadership guard (real operators, API server and MariaDB)", () => {
  let sites: MariaDbSites;
  const operators: OperatorProcess[] = [];
  const group = groupReader(ns);
  const start = async (identity: string, env: NodeJS.ProcessEnv = {}): Promise<OperatorProcess> => {
    const op = await OperatorProcess.start({ identity, args: [`--namespaces=${ns}`, `--lease-namespace=${ns}`, ...LEASE], env });
    operators.push(op);
    return op;
  };
  const leads = (op: OperatorProcess): boolean => op.logged(LOG_MESSAGES.leaderElected).length > op.logged(LOG_MESSAGES.leaderLost).length;

  beforeAll(async () => {
    sites = await MariaDbSites.start({ names: ["iad", "pdx"], primary: "iad" });
    await applyAll([...namespaceWithCredentials(ns), failoverGroup(ns, GROUP, { pollInterval: "500ms", failureThreshold: 2, failoverCooldown: "10m", sites: sites.sites.map((s) => siteAt(s)) })]);
    // Every statement, with its account, in mysql.general_log.
    await sites.site("pdx").query("SET GLOBAL log_output = 'TABLE'");
    await sites.site("pdx").query("SET GLOBAL general_log = ON");
  });

  afterAll(async () => {
    await Promise.all(operators.map((op) => op.stop("SIGKILL")));
    await sites?.teardown();
    await kubectl(["delete", "namespace", ns, "--wait=false"]);
  });

  it("a leader resumed after its Lease expired sends nothing more, and stands down", { timeout: 120_000 }, async () => {
    const a = await start("guard-a", { [FAILPOINTS_ENV]: "emergency.after.intent=3s" });
    await waitFor("a leads and stands behind iad", async () => leads(a) && (await group(GROUP)).status?.lastKnownPrimary === "iad", 20_000, 100);
    const b = await start("guard-b");
    expect(leads(b)).toBe(false);

    await sites.site("iad").kill9();
    await waitFor("a paused after writing the intent", async () => a.logged(LOG_MESSAGES.failpointReached).some((l) => l.failpoint === "emergency.after.intent"), 20_000, 20);
    a.child.kill("SIGSTOP");
    expect(await sites.site("pdx").isReadOnly()).toBe(true);

    // The standby takes the Lease once it expired, settles the intent (pdx is read-only: dropped)
    // and fails over itself.
    await waitFor("b leads", async () => leads(b), 15_000, 100);
    await waitFor("b promoted pdx and recorded it", async () => (await group(GROUP)).status?.lastFailoverTarget === "pdx" && !(await sites.site("pdx").isReadOnly()), 30_000, 100);
    await b.stop("SIGKILL");

    const since = (await sites.site("pdx").query<(RowDataPacket & { since: string })[]>("SELECT DATE_FORMAT(NOW(6), '%Y-%m-%d %H:%i:%s.%f') AS since"))[0]?.since;
    const sinceMs = Date.now();
    const electedBefore = a.logged(LOG_MESSAGES.leaderElected).length;
    a.child.kill("SIGCONT");
    // a's failpoint and its renew deadline are both overdue: whichever timer runs first, the
    // promotion's next statement meets the guard. a cannot lead again before b's lease has run
    // out by a's own clock, a full lease duration after a first reads it.
    await waitFor("a stood down", async () => a.logged(LOG_MESSAGES.leaderLost).length > 0 && a.logged(LOG_MESSAGES.managerStopped).length > 0, 10_000, 50);
    await new Promise((r) => setTimeout(r, 1_500));
    // Once b's lease has run out by a's clock, a may lead again, legitimately: only statements
    // before that count. Closing its connections (COM_QUIT, logged as Quit) is all it may do meanwhile.
    const reelected = a.logged(LOG_MESSAGES.leaderElected)[electedBefore];
    const untilUs = Math.round(((reelected ? Date.parse(String(reelected.time)) : Date.now()) - sinceMs) * 1000);
    const sent = await sites.site("pdx").query<(RowDataPacket & { argument: string; command_type: string })[]>(
      "SELECT command_type, CONVERT(argument USING utf8mb4) AS argument FROM mysql.general_log WHERE event_time > ? AND event_time < DATE_ADD(?, INTERVAL ? MICROSECOND) AND user_host LIKE ? AND command_type <> 'Quit'",
      [since, since, untilUs, `${TEST_USERS.operator.user}[%`],
    );
    expect(untilUs, "a resumed and led again at once").toBeGreaterThan(500_000);
    expect(sent.map((r) => `${r.command_type}: ${r.argument}`), "statements the resumed leader sent").toEqual([]);
    expect(a.logged(LOG_MESSAGES.failover), "a promotion by the resumed leader").toEqual([]);
    // The guard, not luck, stopped it: the promotion's next step was refused.
    const refusals = a.lines.filter((l) => /not the leader|the lease may be lost/.test(String(l.error ?? "")));
    expect(refusals.length, a.dump(30)).toBeGreaterThan(0);
    expect(await sites.site("pdx").isReadOnly()).toBe(false);
    expect((await group(GROUP)).status?.lastFailoverTarget).toBe("pdx");
  });
});
