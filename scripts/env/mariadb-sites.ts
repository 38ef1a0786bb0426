import { spawn, execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import mysql from "mysql2/promise";
import { cacheDir } from "./cache.js";
import { EnvDir } from "./env-dir.js";
import { freePort, waitFor } from "./ports.js";
import { pauseProcess } from "./processes.js";
import { ensureDebianPackages, MARIADB_BINARIES, MARIADB_PACKAGES } from "./prerequisites.js";
import type { TestNetwork } from "./test-network.js";

/** Accounts created in every test server. The app account lacks READ ONLY ADMIN, so fencing stops it. */
export const TEST_USERS = {
  admin: { user: "root", password: "bloodraven-admin" },
  operator: { user: "bloodraven", password: "bloodraven-operator" },
  replication: { user: "repl", password: "bloodraven-repl" },
  app: { user: "app", password: "bloodraven-app" },
} as const;
export type TestUser = keyof typeof TEST_USERS;

const USERS_SQL = `
CREATE OR REPLACE USER 'root'@'127.0.0.1' IDENTIFIED BY '${TEST_USERS.admin.password}';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
CREATE OR REPLACE USER 'bloodraven'@'%' IDENTIFIED BY '${TEST_USERS.operator.password}';
GRANT ALL PRIVILEGES ON *.* TO 'bloodraven'@'%';
CREATE OR REPLACE USER 'repl'@'%' IDENTIFIED BY '${TEST_USERS.replication.password}';
GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%';
CREATE OR REPLACE USER 'app'@'%' IDENTIFIED BY '${TEST_USERS.app.password}';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, INDEX, ALTER ON *.* TO 'app'@'%';
SHUTDOWN;
`;

const MARIADBD = "/usr/sbin/mariadbd";
const APPLY_CLONE = fileURLToPath(new URL("../../images/mariadb/apply-clone.sh", import.meta.url));
const QUERY_TIMEOUT_MS = 10_000;

/** Settings shared by the template bootstrap and every test server. */
const COMMON_ARGS = ["--no-defaults", "--innodb-log-file-size=8M", "--innodb-buffer-pool-size=32M"];
if (process.getuid?.() === 0) COMMON_ARGS.push("--user=root");

function mariadbVersion(): string {
  return execFileSync(MARIADBD, ["--version"], { encoding: "utf8" }).trim().split(/\s+/)[2] ?? "unknown";
}

/**
 * An initialised datadir with the test accounts, built once per MariaDB version and copied for
 * each server: mariadb-install-db takes about 2 s, a copy a few milliseconds.
 */
function templateDatadir(): string {
  const dir = cacheDir(`mariadb-template-${mariadbVersion()}`);
  if (existsSync(join(dir, "mysql", "global_priv.MAD"))) return dir;
  const work = `${dir}.tmp-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const data = join(work, "data");
  execFileSync(
    "mariadb-install-db",
    [...COMMON_ARGS, `--datadir=${data}`, "--auth-root-authentication-method=normal", "--skip-test-db"],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  const initFile = join(work, "users.sql");
  writeFileSync(initFile, USERS_SQL);
  execFileSync(
    MARIADBD,
    [...COMMON_ARGS, `--datadir=${data}`, "--skip-networking", `--socket=${join(work, "boot.sock")}`, `--init-file=${initFile}`, `--log-error=${join(work, "boot.err")}`],
    { stdio: "ignore", timeout: 30_000 },
  );
  rmSync(dir, { recursive: true, force: true });
  renameSync(data, dir);
  rmSync(work, { recursive: true, force: true });
  return dir;
}

export interface ReplicaStatus {
  ioRunning: string;
  sqlRunning: string;
  secondsBehind: number | null;
  masterPort: number;
  lastIoError: string;
  lastSqlError: string;
  sqlDelay: number;
}

export interface StartOptions {
  /** Start with read_only=ON (how a fenced or replica server should come back). */
  readOnly?: boolean;
  /**
   * Listen on this port instead of the site's until the next start: the operator knows only the
   * site's port, so it cannot see the server (a start by hand for maintenance).
   */
  hiddenPort?: number;
  /** What VERSION() answers until the next start (mariadbd --version=...): "8.4.3" makes the server read as MySQL to the flavor detection. */
  reportVersion?: string;
}

/**
 * A site inside a TestNetwork namespace: the server listens on its own address, and the test's
 * connections leave from the network's app (application account) or observer (every other
 * account) address, so that cutting the operator leaves them alone.
 */
export interface SiteNetwork {
  netns: string;
  address: string;
  app: string;
  observer: string;
}

/** One real mariadbd process with its own datadir, port and server_id. */
export class MariaDbSite {
  readonly dir: string;
  private child: ReturnType<typeof spawn> | undefined;
  private stopped = false;
  /** The harness is stopping the server: its exit is no crash to restart from. */
  private stopping = false;
  /** Restart the server whenever it exits on its own, as a supervisor would (superviseRestarts). */
  private supervised = false;
  /** What a supervised restart waits for first. */
  private beforeRestart: () => Promise<void> = async () => undefined;
  /** The port the server listens on now: the site's, or a hidden one (StartOptions.hiddenPort). */
  private listening: number;

  constructor(
    readonly name: string,
    readonly serverId: number,
    readonly port: number,
    env: EnvDir,
    readonly network?: SiteNetwork,
    private readonly listenAddress = "127.0.0.1",
  ) {
    this.dir = env.join(name);
    this.listening = port;
  }

  get host(): string {
    return this.network?.address ?? this.listenAddress;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get pidFile(): string {
    return join(this.dir, "mariadbd.pid");
  }

  /** Creates the datadir from the template (first start only) and starts the server. */
  async start(opts: StartOptions = {}): Promise<void> {
    if (!existsSync(join(this.dir, "data"))) {
      mkdirSync(this.dir, { recursive: true });
      cpSync(templateDatadir(), join(this.dir, "data"), { recursive: true });
    }
    this.listening = opts.hiddenPort ?? this.port;
    const args = [
      ...COMMON_ARGS,
      `--datadir=${join(this.dir, "data")}`,
      `--port=${this.listening}`,
      `--bind-address=${this.host}`,
      "--skip-name-resolve",
      `--socket=${join(this.dir, "mariadbd.sock")}`,
      `--pid-file=${this.pidFile}`,
      `--log-error=${join(this.dir, "error.log")}`,
      `--server-id=${this.serverId}`,
      "--log-bin=mysql-bin",
      "--log-slave-updates=ON",
      "--gtid-strict-mode=ON",
      "--binlog-format=ROW",
      "--slave-net-timeout=4",
      "--lock-wait-timeout=5",
      // As managed sites run: the agents' fence deadline is an event.
      "--event-scheduler=ON",
      // The scale benchmark points hundreds of groups at one server.
      "--max-connections=3000",
      // Durability is not under test here; speed is.
      "--sync-binlog=0",
      "--innodb-flush-log-at-trx-commit=2",
      `--read-only=${opts.readOnly ? "ON" : "OFF"}`,
      ...(opts.reportVersion !== undefined ? [`--version=${opts.reportVersion}`] : []),
    ];
    this.stopped = false;
    this.stopping = false;
    // `ip netns exec` execs the server in place: the child's pid is mariadbd's.
    const child = this.network ? spawn("ip", ["netns", "exec", this.network.netns, MARIADBD, ...args], { stdio: "ignore" }) : spawn(MARIADBD, args, { stdio: "ignore" });
    this.child = child;
    const exited = new Promise<never>((_, reject) =>
      child.once("exit", (code, signal) => reject(new Error(`mariadbd ${this.name} exited during start (code ${code}, signal ${signal}); see ${join(this.dir, "error.log")}`))),
    );
    exited.catch(() => undefined);
    await Promise.race([waitFor(`mariadbd ${this.name} on port ${this.listening}`, () => this.ping(), 10_000), exited]);
    child.once("exit", () => {
      if (this.supervised && !this.stopping && this.child === child) this.restartSupervised();
    });
  }

  /**
   * From now on the server is started again, read-only, whenever it exits without the harness
   * stopping it (a SHUTDOWN statement), after the clone swap an external site's supervisor runs
   * first (images/mariadb/apply-clone.sh): how the agent's clone restarts a server. Each restart
   * waits for `before` first (a test holding the server down).
   */
  superviseRestarts(before?: () => Promise<void>): void {
    this.supervised = true;
    if (before) this.beforeRestart = before;
  }

  private restartSupervised(): void {
    this.beforeRestart().then(
      () => this.applyCloneAndStart(),
      (err: unknown) => process.stderr.write(`supervised restart of ${this.name} not done: ${String(err)}\n`),
    );
  }

  private applyCloneAndStart(): void {
    try {
      execFileSync("sh", [APPLY_CLONE, join(this.dir, "data")], { stdio: "pipe" });
    } catch (err) {
      process.stderr.write(`apply-clone for ${this.name} failed: ${String(err)}\n`);
      return;
    }
    this.start({ readOnly: true }).catch((err: unknown) => process.stderr.write(`supervised restart of ${this.name} failed: ${String(err)}\n`));
  }

  private async ping(): Promise<boolean> {
    const conn = await this.connect("admin", 500);
    await conn.end();
    return true;
  }

  /** A fresh connection; the caller ends it. Short timeouts: a hung server must not hang a test. */
  connect(user: TestUser = "admin", connectTimeout = 3_000): Promise<mysql.Connection> {
    // root exists for 127.0.0.1 only; from any other address the operator account (all privileges) stands in.
    const creds = this.host !== "127.0.0.1" && user === "admin" ? TEST_USERS.operator : TEST_USERS[user];
    const localAddress = this.network ? (user === "app" ? this.network.app : this.network.observer) : undefined;
    // mysql2 ignores its localAddress option: bind the socket ourselves.
    const stream = localAddress ? { stream: connect({ host: this.host, port: this.listening, localAddress }) } : {};
    return mysql.createConnection({ host: this.host, port: this.listening, user: creds.user, password: creds.password, connectTimeout, multipleStatements: false, ...stream });
  }

  async query<T = mysql.RowDataPacket[]>(sql: string, params: unknown[] = [], user: TestUser = "admin"): Promise<T> {
    const conn = await this.connect(user);
    try {
      const [rows] = await conn.query({ sql, values: params, timeout: QUERY_TIMEOUT_MS });
      return rows as T;
    } finally {
      conn.destroy();
    }
  }

  async variable(name: string): Promise<string> {
    if (!/^[a-z_]+$/.test(name)) throw new Error(`bad variable name ${name}`);
    const rows = await this.query<mysql.RowDataPacket[]>(`SELECT @@GLOBAL.${name} AS v`);
    return String(rows[0]?.v ?? "");
  }

  gtidBinlogPos(): Promise<string> {
    return this.variable("gtid_binlog_pos");
  }

  gtidCurrentPos(): Promise<string> {
    return this.variable("gtid_current_pos");
  }

  async isReadOnly(): Promise<boolean> {
    return (await this.variable("read_only")) === "1";
  }

  async setReadOnly(readOnly: boolean): Promise<void> {
    await this.query(`SET GLOBAL read_only = ${readOnly ? "ON" : "OFF"}`);
  }

  /** Makes this server a GTID replica of source (slave_pos auto-positioning, 1 s heartbeat). */
  async replicateFrom(source: MariaDbSite, opts: { delaySeconds?: number } = {}): Promise<void> {
    const r = TEST_USERS.replication;
    await this.query("STOP SLAVE");
    await this.query(
      `CHANGE MASTER TO MASTER_HOST='${source.host}', MASTER_PORT=${source.port}, MASTER_USER='${r.user}', MASTER_PASSWORD='${r.password}', ` +
        `MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1, MASTER_HEARTBEAT_PERIOD=1, MASTER_DELAY=${opts.delaySeconds ?? 0}`,
    );
    await this.query("START SLAVE");
  }

  async stopReplication(): Promise<void> {
    await this.query("STOP SLAVE");
    await this.query("RESET SLAVE ALL");
  }

  /** Sets MASTER_DELAY on a running replica, keeping its source. */
  async setReplicationDelay(seconds: number): Promise<void> {
    await this.query("STOP SLAVE");
    await this.query(`CHANGE MASTER TO MASTER_DELAY=${Math.max(0, Math.floor(seconds))}`);
    await this.query("START SLAVE");
  }

  async replicaStatus(): Promise<ReplicaStatus | undefined> {
    const rows = await this.query<mysql.RowDataPacket[]>("SHOW SLAVE STATUS");
    const row = rows[0];
    if (!row) return undefined;
    return {
      ioRunning: String(row.Slave_IO_Running),
      sqlRunning: String(row.Slave_SQL_Running),
      secondsBehind: row.Seconds_Behind_Master === null ? null : Number(row.Seconds_Behind_Master),
      masterPort: Number(row.Master_Port),
      lastIoError: String(row.Last_IO_Error ?? ""),
      lastSqlError: String(row.Last_SQL_Error ?? ""),
      sqlDelay: Number(row.SQL_Delay ?? 0),
    };
  }

  /**
   * Commits one row into bloodraven_test.writes as the given account and returns the server's
   * gtid_binlog_pos afterwards. As admin it succeeds even under read_only (an errant write).
   */
  async injectWrite(note = "write", user: TestUser = "admin"): Promise<string> {
    const conn = await this.connect(user);
    try {
      // DDL only when the table is missing: even `IF NOT EXISTS` DDL is binlogged as a
      // transaction, and a test counting transactions expects one write to be one.
      const [tables] = await conn.query<mysql.RowDataPacket[]>({ sql: "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'bloodraven_test' AND TABLE_NAME = 'writes'", timeout: QUERY_TIMEOUT_MS });
      if (tables.length === 0) {
        await conn.query({ sql: "CREATE DATABASE IF NOT EXISTS bloodraven_test", timeout: QUERY_TIMEOUT_MS });
        await conn.query({
          sql: "CREATE TABLE IF NOT EXISTS bloodraven_test.writes (id BIGINT AUTO_INCREMENT PRIMARY KEY, site VARCHAR(64) NOT NULL, note VARCHAR(255) NOT NULL, at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))",
          timeout: QUERY_TIMEOUT_MS,
        });
      }
      await conn.query({ sql: "INSERT INTO bloodraven_test.writes (site, note) VALUES (?, ?)", values: [this.name, note], timeout: QUERY_TIMEOUT_MS });
      const [rows] = await conn.query<mysql.RowDataPacket[]>({ sql: "SELECT @@GLOBAL.gtid_binlog_pos AS pos", timeout: QUERY_TIMEOUT_MS });
      return String(rows[0]?.pos ?? "");
    } finally {
      conn.destroy();
    }
  }

  /** Waits until this server has applied pos (MASTER_GTID_WAIT); false on timeout. */
  async waitForGtid(pos: string, timeoutSeconds = 10): Promise<boolean> {
    const rows = await this.query<mysql.RowDataPacket[]>("SELECT MASTER_GTID_WAIT(?, ?) AS r", [pos, timeoutSeconds]);
    return Number(rows[0]?.r) === 0;
  }

  private signal(sig: NodeJS.Signals): void {
    const pid = this.pid;
    if (pid === undefined) throw new Error(`mariadbd ${this.name} is not running`);
    process.kill(pid, sig);
  }

  /** kill -9: the server dies without a clean shutdown, as in a crash. */
  async kill9(): Promise<void> {
    await this.stopAndWait("SIGKILL");
  }

  /**
   * SIGSTOP: the server hangs (accepts TCP in the kernel backlog, answers nothing). Resolves
   * once every thread is stopped: the signal is delivered asynchronously, and a query sent in
   * between would still be answered.
   */
  async pause(): Promise<void> {
    const pid = this.pid;
    if (pid === undefined) throw new Error(`mariadbd ${this.name} is not running`);
    await pauseProcess(pid, `mariadbd ${this.name}`);
  }

  resume(): void {
    this.signal("SIGCONT");
  }

  /** Clean shutdown (SIGTERM), waiting for the process to exit. */
  async stop(): Promise<void> {
    await this.stopAndWait("SIGTERM");
  }

  async restart(opts: StartOptions = {}): Promise<void> {
    if (!this.stopped) await this.stop();
    await this.start(opts);
  }

  get running(): boolean {
    return !this.stopped && this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  private async stopAndWait(sig: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || !this.running) {
      this.stopped = true;
      return;
    }
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    this.stopping = true;
    if (sig !== "SIGKILL") child.kill("SIGCONT");
    child.kill(sig);
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    await exited;
    clearTimeout(timer);
    this.stopped = true;
  }

  errorLog(): string {
    try {
      return readFileSync(join(this.dir, "error.log"), "utf8");
    } catch {
      return "";
    }
  }
}

export interface SitesOptions {
  /** Site names in order; server_id is the position, counted from firstServerId. */
  names: string[];
  /** The site the others replicate from; none wires no replication. */
  primary?: string;
  /** Run each server in its own namespace of this network (fault-injection tests). */
  network?: TestNetwork;
  /** Without a network: the address the servers listen on (default 127.0.0.1); pods reach the machine's own. */
  listenAddress?: string;
  /** server_id of the first site (default 1): sites added to a running group need ids of their own. */
  firstServerId?: number;
}

/** A set of MariaDB servers in one temporary folder, torn down together. */
export class MariaDbSites {
  private constructor(
    readonly env: EnvDir,
    readonly sites: MariaDbSite[],
  ) {}

  static async start(opts: SitesOptions): Promise<MariaDbSites> {
    ensureDebianPackages(MARIADB_BINARIES, MARIADB_PACKAGES);
    templateDatadir();
    const env = new EnvDir("mariadb");
    const sites: MariaDbSite[] = [];
    const net = opts.network;
    for (const [i, name] of opts.names.entries()) {
      const network = net ? { ...net.addSite(name), app: net.address("app"), observer: net.address("observer") } : undefined;
      // Each namespace has its own ports: the standard one is free there.
      sites.push(new MariaDbSite(name, i + (opts.firstServerId ?? 1), network ? 3306 : await freePort(), env, network, opts.listenAddress));
    }
    const group = new MariaDbSites(env, sites);
    try {
      await Promise.all(sites.map((s) => s.start({ readOnly: opts.primary !== undefined && s.name !== opts.primary })));
      if (opts.primary !== undefined) {
        const primary = group.site(opts.primary);
        await Promise.all(sites.filter((s) => s !== primary).map((s) => s.replicateFrom(primary)));
      }
    } catch (err) {
      await group.teardown();
      throw err;
    }
    return group;
  }

  site(name: string): MariaDbSite {
    const site = this.sites.find((s) => s.name === name);
    if (!site) throw new Error(`no test site ${name}; have ${this.sites.map((s) => s.name).join(", ")}`);
    return site;
  }

  async teardown(): Promise<void> {
    await Promise.all(this.sites.map((s) => s.kill9().catch(() => undefined)));
    this.env.remove();
  }
}
