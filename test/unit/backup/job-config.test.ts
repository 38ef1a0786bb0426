import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseBackupJobConfig, parseLoadRestoreJobConfig, parseReplayJobConfig, parseRestoreJobConfig, parseStageRestoreJobConfig, parseTriggerConfig, parseVerificationTriggerConfig, parseVerifyJobConfig } from "../../../operator/backup/job-config.js";
import { resultLine, RESULT_LIMIT_BYTES } from "../../../operator/backup/job.js";
import { ConfigError } from "../../../operator/flags.js";

const TOKEN = "0123456789abcdef0123";

describe("backup, restore and replay job flags", () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let argv: string[];
  const backup = (over: NodeJS.ProcessEnv = {}, extra: string[] = []) => parseBackupJobConfig([...argv, ...extra], { ...env, ...over });
  const refused = (parse: () => unknown, pattern: RegExp) => {
    expect(parse).toThrow(ConfigError);
    expect(parse).toThrow(pattern);
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "job-config-"));
    const creds = join(dir, "s3");
    mkdirSync(creds);
    writeFileSync(join(creds, "AWS_ACCESS_KEY_ID"), "AKIDEXAMPLE\n");
    writeFileSync(join(creds, "AWS_SECRET_ACCESS_KEY"), "s3cr3t-value\n");
    writeFileSync(join(dir, "token"), `${TOKEN}\n`);
    writeFileSync(join(dir, "passphrase"), "correct horse battery staple\n");
    writeFileSync(join(dir, "empty"), "");
    writeFileSync(join(dir, "mysql-password"), "root-password\n");
    mkdirSync(join(dir, "full"));
    writeFileSync(join(dir, "full", "ibdata1"), "x");
    env = { BLOODRAVEN_AGENT_TOKEN_FILE: join(dir, "token"), BLOODRAVEN_S3_CREDENTIALS_DIR: creds, BLOODRAVEN_BACKUP_PASSPHRASE_FILE: join(dir, "passphrase") };
    argv = ["--namespace=shop", "--group=orders", "--backup=orders-nightly-1", "--profile=nightly", "--prefix=prod", "--source-site=pdx", "--source-agent-url=http://mysql-orders-pdx:8080/", "--storage=s3", "--s3-bucket=backups", `--result-file=${join(dir, "result")}`];
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads flags, secret files and defaults", () => {
    const config = backup();
    expect(config).toMatchObject({
      namespace: "shop",
      group: "orders",
      backup: "orders-nightly-1",
      profile: "nightly",
      prefix: "prod",
      storage: { kind: "s3", bucket: "backups", region: "us-east-1", credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "s3cr3t-value" } },
      passphrase: "correct horse battery staple",
      source: { site: "pdx", agentUrl: "http://mysql-orders-pdx:8080", token: TOKEN },
      timeoutMs: 2 * 3600_000,
      logLevel: "info",
    });
    expect(config.storage).not.toHaveProperty("endpoint");
    expect(config.storage).not.toHaveProperty("credentials.sessionToken");
  });

  it("a MySQL site's backup: its server, MySQL Shell's settings with their defaults, and the operator account's files, read to check them", () => {
    const mysql = argv.filter((a) => !a.startsWith("--source-agent-url")).concat("--source-host=db-pdx.example", `--work-dir=${join(dir, "work")}`);
    const accountEnv = { ...env, BLOODRAVEN_AGENT_TOKEN_FILE: undefined, BLOODRAVEN_OPERATOR_USER_FILE: join(dir, "mysql-user"), BLOODRAVEN_OPERATOR_PASSWORD_FILE: join(dir, "mysql-password") };
    writeFileSync(join(dir, "mysql-user"), "bloodraven\n");
    expect(parseBackupJobConfig(mysql, accountEnv).source).toEqual({
      site: "pdx",
      host: "db-pdx.example",
      port: 3306,
      userFile: join(dir, "mysql-user"),
      passwordFile: join(dir, "mysql-password"),
      password: "root-password",
      settings: { threads: 4, bytesPerChunk: "64M", compression: "zstd" },
      workDir: join(dir, "work"),
      mysqlsh: "mysqlsh",
    });
    const tuned = parseBackupJobConfig([...mysql, "--source-port=3307", "--dump-threads=16", "--dump-bytes-per-chunk=256M", "--dump-compression=none", "--mysqlsh=/usr/bin/mysqlsh"], accountEnv).source;
    expect(tuned).toMatchObject({ port: 3307, settings: { threads: 16, bytesPerChunk: "256M", compression: "none" }, mysqlsh: "/usr/bin/mysqlsh" });
    refused(() => parseBackupJobConfig([...mysql, "--dump-threads=0"], accountEnv), /--dump-threads must be a whole number from 1 to 64/);
    refused(() => parseBackupJobConfig([...mysql, "--dump-bytes-per-chunk=64MB"], accountEnv), /--dump-bytes-per-chunk must be digits and an optional k, M or G/);
    refused(() => parseBackupJobConfig([...mysql, "--dump-compression=lz4"], accountEnv), /--dump-compression must be one of zstd, gzip, none/);
    refused(() => parseBackupJobConfig(mysql.filter((a) => !a.startsWith("--work-dir")), accountEnv), /--work-dir is required/);
    refused(() => parseBackupJobConfig(mysql, { ...accountEnv, BLOODRAVEN_OPERATOR_PASSWORD_FILE: undefined }), /BLOODRAVEN_OPERATOR_PASSWORD_FILE is required/);
    refused(() => parseBackupJobConfig(mysql, { ...accountEnv, BLOODRAVEN_OPERATOR_PASSWORD: "x" }), /BLOODRAVEN_OPERATOR_PASSWORD is not read: give the secret as a file/);
  });

  it("takes every flag from its BLOODRAVEN_ variable, the flag winning", () => {
    const config = parseBackupJobConfig(["--group=payments"], {
      ...env,
      BLOODRAVEN_NAMESPACE: "shop",
      BLOODRAVEN_GROUP: "orders",
      BLOODRAVEN_BACKUP: "b1",
      BLOODRAVEN_PROFILE: "hourly",
      BLOODRAVEN_SOURCE_SITE: "iad",
      BLOODRAVEN_SOURCE_AGENT_URL: "https://agent.example.com",
      BLOODRAVEN_STORAGE: "volume",
      BLOODRAVEN_VOLUME_PATH: "/backups",
      BLOODRAVEN_TIMEOUT: "30m",
      BLOODRAVEN_RESULT_FILE: join(dir, "result"),
      BLOODRAVEN_LOG_LEVEL: "debug",
    });
    expect(config).toMatchObject({ group: "payments", backup: "b1", prefix: "", storage: { kind: "volume", path: "/backups" }, timeoutMs: 1_800_000, logLevel: "debug", source: { site: "iad", agentUrl: "https://agent.example.com" } });
  });

  it("reads an optional session token and an S3 endpoint", () => {
    const creds = join(dir, "s3-session");
    mkdirSync(creds);
    for (const [name, value] of [["AWS_ACCESS_KEY_ID", "a"], ["AWS_SECRET_ACCESS_KEY", "b"], ["AWS_SESSION_TOKEN", "c"]]) writeFileSync(join(creds, name as string), value as string);
    expect(backup({ BLOODRAVEN_S3_CREDENTIALS_DIR: creds }, ["--s3-endpoint=http://127.0.0.1:9000", "--s3-region=eu-west-1"]).storage).toEqual({
      kind: "s3",
      bucket: "backups",
      region: "eu-west-1",
      endpoint: "http://127.0.0.1:9000",
      credentials: { accessKeyId: "a", secretAccessKey: "b", sessionToken: "c" },
    });
  });

  it("needs the agent token as a file", () => {
    refused(() => backup({ BLOODRAVEN_AGENT_TOKEN_FILE: undefined }), /BLOODRAVEN_AGENT_TOKEN_FILE is required/);
    refused(() => backup({ BLOODRAVEN_AGENT_TOKEN_FILE: join(dir, "nope") }), /BLOODRAVEN_AGENT_TOKEN_FILE: cannot read .*nope \(ENOENT\)/);
    refused(() => backup({ BLOODRAVEN_AGENT_TOKEN_FILE: join(dir, "empty") }), /BLOODRAVEN_AGENT_TOKEN_FILE: .*empty is empty/);
    refused(() => backup({ BLOODRAVEN_AGENT_TOKEN: TOKEN }), /BLOODRAVEN_AGENT_TOKEN is not read: .*BLOODRAVEN_AGENT_TOKEN_FILE/);
  });

  it("needs the S3 credentials folder for s3, and not for a volume", () => {
    refused(() => backup({ BLOODRAVEN_S3_CREDENTIALS_DIR: undefined }), /--storage=s3 needs BLOODRAVEN_S3_CREDENTIALS_DIR/);
    refused(() => backup({ BLOODRAVEN_S3_CREDENTIALS_DIR: join(dir, "nope") }), /BLOODRAVEN_S3_CREDENTIALS_DIR\/AWS_ACCESS_KEY_ID: cannot read/);
    refused(() => backup({ BLOODRAVEN_S3_CREDENTIALS_DIR: join(dir, "full") }), /AWS_ACCESS_KEY_ID: cannot read/);
    expect(backup({ BLOODRAVEN_S3_CREDENTIALS_DIR: undefined }, ["--storage=volume", "--volume-path=/backups"]).storage).toEqual({ kind: "volume", path: "/backups" });
  });

  it("refuses an empty or unreadable passphrase file, naming it, and a passphrase given as a value", () => {
    refused(() => backup({ BLOODRAVEN_BACKUP_PASSPHRASE_FILE: join(dir, "empty") }), /BLOODRAVEN_BACKUP_PASSPHRASE_FILE: .*\/empty is empty/);
    refused(() => backup({ BLOODRAVEN_BACKUP_PASSPHRASE_FILE: join(dir, "nope") }), /BLOODRAVEN_BACKUP_PASSPHRASE_FILE: cannot read/);
    refused(() => backup({ BLOODRAVEN_BACKUP_PASSPHRASE: "hunter2" }), /BLOODRAVEN_BACKUP_PASSPHRASE is not read/);
    expect(backup({ BLOODRAVEN_BACKUP_PASSPHRASE_FILE: undefined })).not.toHaveProperty("passphrase");
  });

  it("refuses a bad storage type, bad URLs and missing or malformed flags, naming the flag", () => {
    refused(() => backup({}, ["--storage=gcs"]), /--storage must be s3 or volume, got "gcs"/);
    refused(() => backup({}, ["--storage=volume"]), /--volume-path is required/);
    refused(() => backup({}, ["--s3-endpoint=minio:9000"]), /--s3-endpoint: "minio:9000" must start with http:\/\/ or https:\/\//);
    refused(() => backup({}, ["--s3-endpoint=not a url"]), /--s3-endpoint: "not a url" is not a URL; give http\(s\):\/\/host:port/);
    refused(() => backup({}, ["--source-agent-url=ftp://agent"]), /--source-agent-url: "ftp:\/\/agent" must start with http:\/\/ or https:\/\//);
    refused(() => parseBackupJobConfig(argv.filter((a) => !a.startsWith("--source-agent-url")), env), /give exactly one of --source-agent-url \(a MariaDB site's agent\) and --source-host/);
    refused(() => backup({}, ["--source-host=db"]), /give exactly one of --source-agent-url/);
    refused(() => backup({}, ["--dump-threads=8"]), /--dump-threads is for a MySQL site's dump \(--source-host\)/);
    refused(() => parseBackupJobConfig(argv.filter((a) => !a.startsWith("--s3-bucket")), env), /--s3-bucket is required/);
    refused(() => backup({}, ["--backup=../../etc"]), /--backup must be a Kubernetes object name/);
    refused(() => backup({}, ["--source-site=PDX"]), /--source-site must be a site name/);
    refused(() => backup({}, ["--prefix=prod/../x"]), /--prefix must not contain/);
    refused(() => backup({}, ["--timeout=soon"]), /--timeout/);
    refused(() => backup({}, ["--log-level=loud"]), /--log-level/);
    refused(() => backup({}, ["--bucket=x"]), /bucket/);
    refused(() => backup({}, [`--result-file=${join(dir, "missing", "result")}`]), /--result-file: cannot write .*ENOENT/);
  });

  it("restore: needs an absent or empty target folder, and no agent token", () => {
    const common = argv.filter((a) => !/^--(profile|source-)/.test(a));
    const restore = (target: string) => parseRestoreJobConfig([...common, `--target-dir=${target}`], { ...env, BLOODRAVEN_AGENT_TOKEN_FILE: undefined });
    expect(restore(join(dir, "restored"))).toMatchObject({ backup: "orders-nightly-1", prefix: "prod", targetDir: join(dir, "restored"), passphrase: "correct horse battery staple" });
    refused(() => restore(join(dir, "full")), /--target-dir: .*full is not empty/);
    refused(() => parseRestoreJobConfig(common, env), /--target-dir is required/);
    refused(() => parseRestoreJobConfig([...common, "--target-dir=/x", "--profile=nightly"], env), /profile/);
  });

  describe("replay", () => {
    const replayArgv = () => [...argv.filter((a) => !/^--(profile|source-|backup)/.test(a)), "--from-gtid=0-1-42", "--mysql-user=root", `--work-dir=${join(dir, "replay")}`];
    const replayEnv = () => ({ ...env, BLOODRAVEN_AGENT_TOKEN_FILE: undefined, BLOODRAVEN_MYSQL_PASSWORD_FILE: join(dir, "mysql-password") });
    const replay = (over: NodeJS.ProcessEnv = {}, extra: string[] = []) => parseReplayJobConfig([...replayArgv(), ...extra], { ...replayEnv(), ...over });

    it("reads its flags, the password file and defaults; needs no backup name and no agent token", () => {
      const config = replay();
      expect(config).toMatchObject({ namespace: "shop", group: "orders", prefix: "prod", fromGtid: "0-1-42", workDir: join(dir, "replay"), passphrase: "correct horse battery staple" });
      expect(config.server).toEqual({ host: "127.0.0.1", port: 3306, user: "root", password: "root-password" });
      expect(config).not.toHaveProperty("until");
      expect(config).not.toHaveProperty("backup");
      expect(replay({}, ["--mysql-host=mysql-orders-restore", "--mysql-port=3307"]).server).toMatchObject({ host: "mysql-orders-restore", port: 3307 });
      // Pasted with spaces and out of order: handed on in the server's own form.
      expect(replay({}, ["--from-gtid= 1-2-7, 0-1-42"]).fromGtid).toBe("0-1-42,1-2-7");
      // A MySQL site's backup: its GTID set, canonical.
      expect(replay({}, ["--from-gtid=8a94f357-aab4-11df-86ab-c80aa9429562:1-5,3e11fa47-71ca-11e1-9e33-c80aa9429562:1-100"]).fromGtid).toBe("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-100,\n8a94f357-aab4-11df-86ab-c80aa9429562:1-5");
      refused(() => replay({}, ["--backup=b1"]), /backup/);
    });

    it("reads --until as RFC 3339 in whole seconds, with any offset", () => {
      expect(replay({}, ["--until=2026-12-04T02:00:00Z"]).until).toEqual(new Date("2026-12-04T02:00:00Z"));
      expect(replay({}, ["--until=2026-12-04T03:30:00+01:30"]).until).toEqual(new Date("2026-12-04T02:00:00Z"));
      expect(replay({}, ["--until=2026-12-03t21:00:00-05:00"]).until).toEqual(new Date("2026-12-04T02:00:00Z"));
      expect(replay({ BLOODRAVEN_UNTIL: "2026-12-04T02:00:00Z" }).until).toEqual(new Date("2026-12-04T02:00:00Z"));
    });

    it("refuses a malformed --until, naming the flag and the form", () => {
      for (const bad of ["yesterday", "2026-12-04", "2026-12-04 02:00:00Z", "2026-12-04T02:00:00", "2026-12-04T02:00Z", "1733277600", "2026-12-04T02:00:00+0100"]) {
        refused(() => replay({}, [`--until=${bad}`]), /^--until must be an RFC 3339 time such as 2026-12-04T02:00:00Z/);
      }
      for (const impossible of ["2026-02-30T02:00:00Z", "2026-12-04T24:00:00Z", "2026-12-04T02:60:00Z", "2026-12-04T02:00:60Z", "2026-13-01T02:00:00Z", "2026-12-04T02:00:00+24:00"]) {
        refused(() => replay({}, [`--until=${impossible}`]), /^--until: .* is no such time; give an RFC 3339 time/);
      }
      refused(() => replay({}, ["--until=2026-12-04T02:00:00.5Z"]), /^--until: .* has fractional seconds; binary log times are whole seconds/);
      refused(() => replay({}, ["--until=2026-12-04T02:00:00.000Z"]), /--until: .* has fractional seconds/);
    });

    it("refuses a bad or missing --from-gtid, naming the flag", () => {
      refused(() => replay({}, ["--from-gtid=0-1"]), /^--from-gtid is neither a MariaDB position \(malformed MariaDB GTID list: expected domain-server_id-seq.*\) nor a MySQL GTID set \(/);
      refused(() => replay({}, ["--from-gtid=0-1-42,0-2-43"]), /^--from-gtid is neither .*domain 0 appears twice/);
      refused(() => replay({}, ["--from-gtid=0-1-99999999999999999999"]), /^--from-gtid is neither .*seq .* is larger than/);
      refused(() => replay({}, ["--from-gtid=3e11fa47:1-5"]), /^--from-gtid is neither .*MySQL GTID set/);
      refused(() => replay({}, ["--from-gtid= "]), /^--from-gtid must name at least one GTID/);
      refused(() => parseReplayJobConfig(replayArgv().filter((a) => !a.startsWith("--from-gtid")), replayEnv()), /^--from-gtid is required/);
    });

    it("needs the MySQL password as a file, never a value", () => {
      refused(() => replay({ BLOODRAVEN_MYSQL_PASSWORD_FILE: undefined }), /^BLOODRAVEN_MYSQL_PASSWORD_FILE is required/);
      refused(() => replay({ BLOODRAVEN_MYSQL_PASSWORD_FILE: join(dir, "nope") }), /^BLOODRAVEN_MYSQL_PASSWORD_FILE: cannot read .*nope \(ENOENT\)/);
      refused(() => replay({ BLOODRAVEN_MYSQL_PASSWORD_FILE: join(dir, "empty") }), /^BLOODRAVEN_MYSQL_PASSWORD_FILE: .*empty is empty/);
      refused(() => replay({ BLOODRAVEN_MYSQL_PASSWORD: "hunter2" }), /^BLOODRAVEN_MYSQL_PASSWORD is not read: .*BLOODRAVEN_MYSQL_PASSWORD_FILE/);
      let message = "";
      try {
        replay({ BLOODRAVEN_MYSQL_PASSWORD: "hunter2" });
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).not.toContain("hunter2");
    });

    it("refuses the other flags' bad values, naming the flag", () => {
      refused(() => parseReplayJobConfig(replayArgv().filter((a) => !a.startsWith("--mysql-user")), replayEnv()), /^--mysql-user is required/);
      refused(() => parseReplayJobConfig(replayArgv().filter((a) => !a.startsWith("--work-dir")), replayEnv()), /^--work-dir is required/);
      refused(() => replay({}, ["--work-dir=/"]), /^--work-dir: \/ is a filesystem root/);
      refused(() => replay({}, ["--mysql-port=mysql"]), /^--mysql-port must be a port number/);
      refused(() => replay({}, ["--mysql-user=root\npassword=x"]), /^--mysql-user must not contain a line break/);
      refused(() => replay({}, ["--storage=gcs"]), /--storage must be s3 or volume/);
    });
  });
});

describe("verify job flags", () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const base = () => ["--namespace=shop", "--group=orders", "--backup=b1", "--storage=volume", "--volume-path=/backups", `--work-dir=${join(dir, "verify")}`, `--result-file=${join(dir, "result")}`];
  const verify = (extra: string[] = [], over: NodeJS.ProcessEnv = {}) => parseVerifyJobConfig([...base(), ...extra], { ...env, ...over });
  const refused = (extra: string[], pattern: RegExp) => {
    expect(() => verify(extra)).toThrow(ConfigError);
    expect(() => verify(extra)).toThrow(pattern);
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "verify-config-"));
    mkdirSync(join(dir, "s3"));
    writeFileSync(join(dir, "s3", "AWS_ACCESS_KEY_ID"), "AKIDEXAMPLE\n");
    writeFileSync(join(dir, "s3", "AWS_SECRET_ACCESS_KEY"), "archive-secret\n");
    env = { BLOODRAVEN_ARCHIVE_S3_CREDENTIALS_DIR: join(dir, "s3") };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("takes the MySQL binaries a dump is loaded with from their flags", () => {
    expect(verify(["--mysqld=/usr/sbin/mysqld", "--mysqlsh=/usr/bin/mysqlsh", "--mysql-port=3307"]).server).toEqual({ mariadbd: "mariadbd", mysqld: "/usr/sbin/mysqld", mysqlsh: "/usr/bin/mysqlsh", port: 3307 });
  });

  it("defaults to the backup alone, no query, mariadbd, mysqld and mysqlsh on port 3306, the folder removed on failure", () => {
    const config = verify();
    expect(config).toMatchObject({ backup: "b1", storage: { kind: "volume", path: "/backups" }, pointInTime: "none", server: { mariadbd: "mariadbd", mysqld: "mysqld", mysqlsh: "mysqlsh", port: 3306 }, keepOnFailure: false });
    expect(config).not.toHaveProperty("sanity");
    expect(config).not.toHaveProperty("archive");
  });

  it("reads the sanity query with its minimum and limit, and a replay with the archive's own store", () => {
    expect(verify(["--sanity-query=SELECT COUNT(*) FROM shop.orders", "--min-rows=1000", "--query-timeout=5s", "--keep-on-failure"])).toMatchObject({ sanity: { query: "SELECT COUNT(*) FROM shop.orders", minRows: 1000, timeoutMs: 5000 }, keepOnFailure: true });
    expect(verify(["--sanity-query=SELECT 1"]).sanity).toEqual({ query: "SELECT 1", minRows: 0, timeoutMs: 60_000 });
    const archive = ["--archive-storage=s3", "--archive-s3-bucket=binlogs", "--archive-prefix=pitr"];
    expect(verify(["--point-in-time=latest", ...archive])).toMatchObject({ pointInTime: "latest", archive: { prefix: "pitr", storage: { kind: "s3", bucket: "binlogs", credentials: { secretAccessKey: "archive-secret" } } } });
    expect(verify(["--point-in-time=2026-12-04T03:00:00+01:00", ...archive]).pointInTime).toEqual(new Date("2026-12-04T02:00:00Z"));
  });

  it("refuses what cannot run, naming the flag", () => {
    refused(["--point-in-time=latest"], /^--point-in-time=latest replays the binary log archive: give its store with --archive-storage/);
    refused(["--point-in-time=yesterday", "--archive-storage=volume", "--archive-volume-path=/a"], /^--point-in-time must be an RFC 3339 time/);
    refused(["--min-rows=5"], /^--min-rows applies to the sanity query: give --sanity-query too/);
    refused(["--sanity-query=SELECT 1", "--min-rows=-1"], /^--min-rows must be a whole number of at least 0, got "-1"/);
    refused(["--sanity-query=SELECT 1", "--query-timeout=soon"], /^--query-timeout: /);
    refused(["--mysql-port=99999"], /^--mysql-port must be a port number/);
    refused(["--work-dir=/"], /^--work-dir: \/ is a filesystem root/);
  });
});

describe("a schedule's trigger flags", () => {
  const argv = ["--namespace=shop", "--group=orders", "--schedule=nightly", "--profile=s3"];
  const env = { BLOODRAVEN_TRIGGER_JOB: "mysql-orders-backup-nightly-29412345" };

  it("takes the run's Job name from the environment the CronJob sets, and Forbid by default", () => {
    expect(parseTriggerConfig(argv, env)).toEqual({ namespace: "shop", group: "orders", schedule: "nightly", profile: "s3", concurrencyPolicy: "Forbid", job: "mysql-orders-backup-nightly-29412345", logLevel: "info" });
    expect(parseTriggerConfig([...argv, "--concurrency-policy=Replace"], env).concurrencyPolicy).toBe("Replace");
  });

  it("refuses a missing Job name, a policy it does not know and a missing flag, naming each", () => {
    expect(() => parseTriggerConfig(argv, {})).toThrow(/BLOODRAVEN_TRIGGER_JOB must be the run's Job name/);
    expect(() => parseTriggerConfig([...argv, "--concurrency-policy=Sometimes"], env)).toThrow(/--concurrency-policy must be one of Forbid, Allow, Replace, got "Sometimes"/);
    expect(() => parseTriggerConfig(argv.slice(1), env)).toThrow(/--namespace is required/);
  });
});

describe("the result line", () => {
  it("cuts a long failure message to fit the termination message, keeping it JSON", () => {
    for (const message of ["x".repeat(10_000), "é\"\n".repeat(5_000), "🙂".repeat(3_000)]) {
      const line = resultLine({ phase: "Failed", message });
      expect(Buffer.byteLength(line)).toBeLessThanOrEqual(RESULT_LIMIT_BYTES);
      expect(Buffer.byteLength(line)).toBeGreaterThan(RESULT_LIMIT_BYTES - 16);
      const parsed = JSON.parse(line) as { phase: string; message: string };
      expect(parsed.phase).toBe("Failed");
      expect(parsed.message.endsWith("...")).toBe(true);
    }
    expect(resultLine({ phase: "Failed", message: "short" })).toBe('{"phase":"Failed","message":"short"}\n');
  });

  it("keeps a load's serverChanged when it cuts the message: the operator gives the site back by it", () => {
    const parsed = JSON.parse(resultLine({ phase: "Failed", message: "x".repeat(10_000), serverChanged: false })) as { serverChanged?: boolean };
    expect(parsed.serverChanged).toBe(false);
  });
});

describe("a verification schedule's trigger flags", () => {
  const env = { BLOODRAVEN_TRIGGER_JOB: "mysql-orders-verify-nightly-29451840" };
  const base = ["--namespace=shop", "--group=orders", "--profile=nightly"];

  it("takes the schedule's settings as JSON and the run's Job name from the environment", () => {
    const config = parseVerificationTriggerConfig([...base, '--verification={"pointInTime":{"mode":"latest"},"keepOnFailure":true}'], env);
    expect(config).toMatchObject({ namespace: "shop", group: "orders", profile: "nightly", job: "mysql-orders-verify-nightly-29451840", verification: { pointInTime: { mode: "latest" }, keepOnFailure: true } });
  });

  it("refuses settings that are no JSON object or name a field a schedule does not have, and a missing Job name", () => {
    const refused = (argv: string[], e: NodeJS.ProcessEnv, pattern: RegExp) => expect(() => parseVerificationTriggerConfig(argv, e)).toThrow(pattern);
    refused([...base, "--verification={"], env, /^--verification must be a JSON object of the schedule's settings: /);
    refused([...base, "--verification=[]"], env, /^--verification must be a JSON object/);
    refused([...base, '--verification={"backupRef":{"name":"b1"}}'], env, /^--verification: backupRef is not a setting of a verification schedule/);
    refused(base, env, /^--verification is required/);
    refused([...base, "--verification={}"], {}, /^BLOODRAVEN_TRIGGER_JOB must be the run's Job name/);
  });
});

describe("stage-restore job flags", () => {
  const base = ["--namespace=shop", "--group=orders", "--backup=b1", "--storage=volume", "--volume-path=/backups", "--work-dir=/work/restore", "--result-file=/tmp/result"];
  let env: NodeJS.ProcessEnv;
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "stage-config-"));
    writeFileSync(join(dir, "user"), "root\n");
    writeFileSync(join(dir, "password"), "s3cret\n");
    env = { BLOODRAVEN_OPERATOR_USER_FILE: join(dir, "user"), BLOODRAVEN_OPERATOR_PASSWORD_FILE: join(dir, "password") };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const stage = (extra: string[], over: NodeJS.ProcessEnv = {}) => parseStageRestoreJobConfig([...base, ...extra], { ...env, ...over });

  it("stages beside the datadir named, under the restore's id, with the replay's server", () => {
    expect(stage(["--datadir=/var/lib/mysql/data/", "--restore-id=mysql-copy-restore"])).toMatchObject({
      datadir: "/var/lib/mysql/data",
      id: "mysql-copy-restore",
      pointInTime: "none",
      server: { mariadbd: "mariadbd", port: 3306 },
      workDir: "/work/restore",
      operator: { user: "root", password: "s3cret" },
    });
  });

  it("refuses what cannot run, naming the flag", () => {
    expect(() => stage(["--restore-id=x"])).toThrow(/--datadir/);
    expect(() => stage(["--datadir=/", "--restore-id=x"])).toThrow(/^--datadir: \/ is a filesystem root/);
    expect(() => stage(["--datadir=/d", "--restore-id=Bad_Id"])).toThrow(/^--restore-id must be lowercase letters/);
    expect(() => stage(["--datadir=/d", "--restore-id=x", "--point-in-time=latest"])).toThrow(/^--point-in-time=latest replays the binary log archive/);
    expect(() => stage(["--datadir=/d", "--restore-id=x"], { BLOODRAVEN_OPERATOR_PASSWORD_FILE: undefined })).toThrow(/^BLOODRAVEN_OPERATOR_PASSWORD_FILE is required/);
  });
});

describe("load-restore job flags", () => {
  const base = ["--namespace=shop", "--group=orders", "--backup=b1", "--storage=volume", "--volume-path=/backups", "--work-dir=/work/restore", "--result-file=/tmp/result"];
  let env: NodeJS.ProcessEnv;
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "load-config-"));
    writeFileSync(join(dir, "user"), "bloodraven\n");
    writeFileSync(join(dir, "password"), "s3cret\n");
    env = { BLOODRAVEN_OPERATOR_USER_FILE: join(dir, "user"), BLOODRAVEN_OPERATOR_PASSWORD_FILE: join(dir, "password") };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const load = (extra: string[], over: NodeJS.ProcessEnv = {}) => parseLoadRestoreJobConfig([...base, ...extra], { ...env, ...over });

  it("loads into the site's server named, with the account's files for MySQL Shell and its values for its own sessions", () => {
    expect(load(["--site=iad", "--target-host=mysql-orders-iad.shop.svc"])).toMatchObject({
      site: "iad",
      target: { host: "mysql-orders-iad.shop.svc", port: 3306, user: "bloodraven", password: "s3cret", userFile: join(dir, "user"), passwordFile: join(dir, "password") },
      mysqlsh: "mysqlsh",
      pointInTime: "none",
      workDir: "/work/restore",
    });
  });

  it("refuses what cannot run, naming the flag", () => {
    expect(() => load(["--target-host=h"])).toThrow(/^--site is required/);
    expect(() => load(["--site=Bad_Site", "--target-host=h"])).toThrow(/^--site must be a site name/);
    expect(() => load(["--site=iad"])).toThrow(/^--target-host is required/);
    expect(() => load(["--site=iad", "--target-host=h", "--target-port=70000"])).toThrow(/--target-port/);
    expect(() => load(["--site=iad", "--target-host=h", "--point-in-time=latest"])).toThrow(/^--point-in-time=latest replays the binary log archive/);
    expect(() => load(["--site=iad", "--target-host=h"], { BLOODRAVEN_OPERATOR_USER_FILE: undefined })).toThrow(/^BLOODRAVEN_OPERATOR_USER_FILE is required/);
  });
});
