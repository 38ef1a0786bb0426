/**
 * The generated CRD against the real kube-apiserver: every rule that matters rejects what it
 * should with a message that tells the user what to fix, the documented examples are accepted,
 * and `kubectl get mfg` prints the columns the docs promise.
 */
import { randomBytes } from "node:crypto";
import { readFile, readdir } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { withDefaults, type MysqlFailoverGroup } from "../../shared/api/index.js";
import { API_GROUP_VERSION, FAILOVER_GROUP, MYSQL_BACKUP, MYSQL_BACKUP_VERIFICATION } from "../../shared/names.js";
import { kubectl } from "../support/kubectl.js";

const namespace = `crd-validation-${randomBytes(4).toString("hex")}`;
const examplesDir = new URL("../../docs/examples/", import.meta.url);

type Json = Record<string, unknown>;
interface GroupDoc {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: Json & { sites: Json[] };
}

const external = (name: string, port: number, extra: Json = {}): Json => ({
  name,
  endpoint: { host: "127.0.0.1", port },
  ...extra,
});
const managed = (name: string, extra: Json = {}): Json => ({
  name,
  storage: { size: "10Gi" },
  taintNodeSelector: { "shipstream.io/site": name },
  ...extra,
});

function validGroup(name: string): GroupDoc {
  return {
    apiVersion: API_GROUP_VERSION,
    kind: FAILOVER_GROUP.kind,
    metadata: { name },
    spec: {
      credentials: { operator: { secretName: "orders-operator" } },
      sites: [external("iad", 33061), external("pdx", 33062)],
    },
  };
}

// JSON, not YAML: kubectl reads YAML 1.1, where an unquoted OFF would arrive as a boolean.
function apply(doc: object): ReturnType<typeof kubectl> {
  return kubectl(["apply", "--server-side", "--field-manager=crd-validation-e2e", "-n", namespace, "-f", "-"], {
    input: JSON.stringify(doc),
  });
}

/** [what is wrong, how to break a valid group, fragment the apiserver's error must contain] */
const invalid: [string, (g: GroupDoc) => void, string][] = [
  ["no spec", (g) => Reflect.deleteProperty(g, "spec"), "spec: Required value"],
  ["a single site", (g) => g.spec.sites.pop(), "should have at least 2 items"],
  [
    "seventeen sites",
    (g) => (g.spec.sites = Array.from({ length: 17 }, (_, i) => external(`s${i}`, 34000 + i))),
    "must have at most 16 items",
  ],
  ["duplicate site names", (g) => (g.spec.sites = [external("iad", 1), external("iad", 2)]), 'duplicate entries for key [name="iad"]'],
  ["a site name that is not a DNS label", (g) => (g.spec.sites[0]!.name = "IAD_1"), "spec.sites[0].name in body should match"],
  ["a site name longer than 63 characters", (g) => (g.spec.sites[0]!.name = "a".repeat(64)), "Too long"],
  ["an unknown role", (g) => (g.spec.sites[1]!.role = "leader"), 'Unsupported value: "leader"'],
  [
    "only one primary-candidate",
    (g) => (g.spec.sites[1]!.role = "dr-only"),
    "`sites` must include at least two sites with role 'primary-candidate'",
  ],
  ["a site with neither endpoint nor storage", (g) => delete g.spec.sites[0]!.endpoint, "a site must set exactly one of `endpoint`"],
  [
    "a site with both endpoint and storage",
    (g) => (g.spec.sites[0]!.storage = { size: "10Gi" }),
    "a site must set exactly one of `endpoint`",
  ],
  [
    "pod placement on an external site",
    (g) => (g.spec.sites[0]!.zone = "a"),
    "may not be set on an external site",
  ],
  [
    "a managed dr-only site without taintNodeSelector",
    (g) => g.spec.sites.push({ name: "dfw", role: "dr-only", storage: { size: "10Gi" } }),
    "must set `taintNodeSelector`",
  ],
  [
    "a taintNodeSelector key that is not a label key",
    (g) => (g.spec.sites = [managed("iad", { taintNodeSelector: { "site name": "iad" } }), managed("pdx")]),
    "`taintNodeSelector` keys must be label keys",
  ],
  ["an lbIP that is not an IP", (g) => (g.spec.sites[0]!.lbIP = "10.0.0.300"), "`lbIP` must be an IPv4 or IPv6 address"],
  ["a port above 65535", (g) => (g.spec.sites[0]!.endpoint = { host: "db", port: 70000 }), "should be less than or equal to 65535"],
  [
    "an endpoint host that is not a DNS name",
    (g) => (g.spec.sites[0]!.endpoint = { host: "db host!" }),
    "`host` must be a lower-case DNS name or an IP address",
  ],
  [
    "two sites on the same server",
    (g) => (g.spec.sites = [external("iad", 3306), external("pdx", 3306)]),
    "two sites may not have the same `endpoint` host and port",
  ],
  [
    "both credentials and secretName",
    (g) => (g.spec.secretName = "orders-mysql"),
    "exactly one of `credentials` and `secretName` must be set",
  ],
  ["no credentials at all", (g) => delete g.spec.credentials, "exactly one of `credentials` and `secretName` must be set"],
  [
    "an application account scoped to the grant tables",
    (g) => (g.spec.credentials = { operator: { secretName: "orders-operator" }, application: { secretName: "orders-app", databases: ["shop", "MySQL"] } }),
    "`credentials.application.databases` may not name a system schema",
  ],
  [
    "an application database name that is not a plain identifier",
    (g) => (g.spec.credentials = { operator: { secretName: "orders-operator" }, application: { secretName: "orders-app", databases: ["shop`; DROP"] } }),
    "spec.credentials.application.databases[0] in body should match",
  ],
  ["a zero poll interval", (g) => (g.spec.pollInterval = "0s"), "must be greater than zero"],
  ["a duration without a unit", (g) => (g.spec.pollInterval = "2"), "spec.pollInterval in body should match"],
  ["a cooldown beyond 100 years", (g) => (g.spec.failoverCooldown = "9999999h"), "at most 876000h"],
  ["a zero failure threshold", (g) => (g.spec.failureThreshold = 0), "should be greater than or equal to 1"],
  ["a sidecar peer check under 1s", (g) => (g.spec.sidecar = { peerCheckInterval: "500ms", leaseTimeout: "20s" }), "`sidecar.peerCheckInterval` must be at least 1s"],
  ["a sidecar lease under 3 peer checks", (g) => (g.spec.sidecar = { peerCheckInterval: "5s", leaseTimeout: "14s" }), "`sidecar.leaseTimeout` must be at least 3 x `sidecar.peerCheckInterval`"],
  ["an agentUrl with a path", (g) => (g.spec.sites[0]!.agentUrl = "http://db-iad:8080/agent"), "spec.sites[0].agentUrl in body should match"],
  ["an agentUrl on a managed site", (g) => (g.spec.sites[0] = { name: "iad", role: "read-only", storage: { size: "1Gi" }, agentUrl: "http://db-iad:8080" }), "`agentUrl` may not be set on a managed site"],
  [
    "an unknown onCooldown action",
    (g) => (g.spec.plannedFailover = { onCooldown: "wait" }),
    'Unsupported value: "wait"',
  ],
  [
    "a split-brain priority naming an unknown site",
    (g) => (g.spec.splitBrainPolicy = { sitePriorities: ["iad", "sfo"] }),
    "must name a site in `sites` with role 'primary-candidate'",
  ],
  [
    "a split-brain priority naming a dr-only site",
    (g) => {
      g.spec.sites.push(external("dfw", 33063, { role: "dr-only" }));
      g.spec.splitBrainPolicy = { sitePriorities: ["dfw"] };
    },
    "must name a site in `sites` with role 'primary-candidate'",
  ],
  [
    "dns without lbIP on a primary-candidate",
    (g) => (g.spec.dns = { hostname: "orders.example.com" }),
    "every site whose role is not 'read-only' must set `lbIP`",
  ],
  ["a zero DNS ttl", (g) => (g.spec.dns = { hostname: "orders.example.com", ttl: 0 }), "should be greater than or equal to 1"],
  ["a floating :latest image", (g) => (g.spec.image = "mysql:latest"), "must name a version tag or a digest"],
  ["an untagged image", (g) => (g.spec.image = "registry.local:5000/mysql"), "must name a version tag or a digest"],
  [
    "an operator-owned my.cnf option",
    (g) => (g.spec.mysqlConf = { "loose-GTID-mode": "OFF" }),
    "`mysqlConf` may not set options the operator owns",
  ],
  [
    "a my.cnf value with a line break",
    (g) => (g.spec.mysqlConf = { max_connections: "10\nskip_log_bin=1" }),
    "in body should match",
  ],
  [
    "a storage size that is not a quantity",
    (g) => (g.spec.sites = [managed("iad", { storage: { size: "lots" } }), managed("pdx")]),
    "spec.sites[0].storage.size in body should match",
  ],
  [
    "a backup profile with both S3 and a volume",
    (g) => (g.spec.backup = { profiles: [{ name: "p", storage: { s3: { bucket: "backups", credentialsSecret: { name: "s3" } }, pvc: { claimName: "c" } } }] }),
    "exactly one of `storage.s3` and `storage.pvc` must be set",
  ],
  [
    "a schedule naming an unknown profile",
    (g) => (g.spec.backup = { profiles: [{ name: "p", storage: { pvc: { claimName: "c" } } }], schedules: [{ name: "s", profileName: "q", schedule: "0 3 * * *" }] }),
    "every `schedules[].profileName` must name a profile in `profiles`",
  ],
  [
    "a schedule of four fields",
    (g) => (g.spec.backup = { profiles: [{ name: "p", storage: { pvc: { claimName: "c" } } }], schedules: [{ name: "s", profileName: "p", schedule: "0 3 * *" }] }),
    "`schedule` must be five cron fields",
  ],
  [
    "PITR enabled without a profile",
    (g) => (g.spec.backup = { profiles: [{ name: "p", storage: { pvc: { claimName: "c" } } }], pitr: { enabled: true } }),
    "`pitr.profileName` must be set when `pitr.enabled` is true",
  ],
  [
    "an S3 endpoint that is no URL",
    (g) => (g.spec.backup = { profiles: [{ name: "p", storage: { s3: { bucket: "backups", endpointURL: "minio:9000", credentialsSecret: { name: "s3" } } } }] }),
    "`endpointURL` must be an http(s) URL",
  ],
  [
    "a volume subPath that leaves the volume",
    (g) => (g.spec.backup = { profiles: [{ name: "p", storage: { pvc: { claimName: "c", subPath: "../other" } } }] }),
    "`subPath` must be a relative path inside the volume",
  ],
  [
    "initFromBackup in a group with an external site",
    (g) => {
      g.spec.backup = { profiles: [{ name: "p", storage: { pvc: { claimName: "c" } } }] };
      g.spec.initFromBackup = { profileName: "p", source: { group: "orders", backup: "b1" } };
    },
    "`initFromBackup` fills managed sites: every site must set `storage`",
  ],
  [
    "initFromBackup from a profile the group does not have",
    (g) => {
      g.spec.sites = [managed("iad"), managed("pdx")];
      g.spec.initFromBackup = { profileName: "p", source: { group: "orders", backup: "b1" } };
    },
    "`initFromBackup.profileName` must name a profile of `backup.profiles`",
  ],
  [
    "initFromBackup onto a site that cannot be primary",
    (g) => {
      g.spec.sites = [managed("iad"), managed("pdx"), { ...managed("dr"), role: "dr-only" }];
      g.spec.backup = { profiles: [{ name: "p", storage: { pvc: { claimName: "c" } } }] };
      g.spec.initFromBackup = { profileName: "p", source: { group: "orders", backup: "b1" }, site: "dr" };
    },
    "`initFromBackup.site` must name a site of `sites` with role 'primary-candidate'",
  ],
  ["dragonfly enabled without its servers", (g) => (g.spec.dragonfly = { enabled: true }), "`dragonfly.sites` must name the cache server of at least one site when `enabled`"],
  [
    "a dragonfly server of a site the group does not have",
    (g) => (g.spec.dragonfly = { enabled: true, sites: [{ name: "sfo", endpoint: { host: "10.0.0.9" } }] }),
    "every entry of `dragonfly.sites` must name a site in `sites`",
  ],
  ["a dragonfly host that is no DNS name", (g) => (g.spec.dragonfly = { enabled: true, sites: [{ name: "iad", endpoint: { host: "Cache_IAD" } }] }), "`host` must be a lower-case DNS name or an IP address"],
  [
    "an unknown onSyncTimeout",
    (g) => (g.spec.dragonfly = { enabled: true, sites: [{ name: "iad", endpoint: { host: "10.0.0.9" } }], plannedFailover: { onSyncTimeout: "wait" } }),
    'Unsupported value: "wait": supported values: "proceed", "fail"',
  ],
  [
    "a cache server the operator would run without an image",
    (g) => {
      g.spec.sites = [managed("iad"), managed("pdx")];
      g.spec.dragonfly = { enabled: true, sites: [{ name: "iad" }] };
    },
    "a `dragonfly.sites` entry without `endpoint` is a cache server the operator runs beside the site's database: it needs `dragonfly.image`, and the site must be managed (`storage`)",
  ],
  [
    "a cache server the operator would run beside an external database",
    (g) => (g.spec.dragonfly = { enabled: true, image: "dragonfly:v1.34.2", sites: [{ name: "iad" }] }),
    "a `dragonfly.sites` entry without `endpoint` is a cache server the operator runs beside the site's database",
  ],
  ["an unpinned cache image", (g) => (g.spec.dragonfly = { enabled: true, image: "dragonfly:latest", sites: [{ name: "iad", endpoint: { host: "10.0.0.9" } }] }), "must name a version tag or a digest"],
  [
    "a cache flag the operator owns",
    (g) => (g.spec.dragonfly = { enabled: true, sites: [{ name: "iad", endpoint: { host: "10.0.0.9" } }], args: ["--cache_mode=true", "--maxmemory=1gb"] }),
    "`dragonfly.args` may not set flags the operator owns: --port, --bind, --requirepass, --masterauth, --dir, --admin_port, --maxmemory, --proactor_threads, --dbfilename, --snapshot_cron",
  ],
  [
    "a snapshot schedule that is not five cron fields",
    (g) => (g.spec.dragonfly = { enabled: true, sites: [{ name: "iad", endpoint: { host: "10.0.0.9" } }], snapshot: { cron: "@every 15m" } }),
    "`snapshot.cron` must be five cron fields (minute hour day-of-month month day-of-week), e.g. */15 * * * *",
  ],
  ["a group name too long for the taint key", (g) => (g.metadata.name = "g".repeat(52)), "`metadata.name` must be a DNS label"],
  ["an unknown field", (g) => (g.spec.pollIntervall = "2s"), ".spec.pollIntervall: field not declared in schema"],
];

beforeAll(async () => {
  const created = await kubectl(["create", "namespace", namespace]);
  expect(created.stderr).toBe("");
});

afterAll(async () => {
  await kubectl(["delete", "namespace", namespace, "--wait=false"]);
});

describe("MysqlFailoverGroup CRD validation", () => {
  it.each(invalid.map(([what, breakIt, fragment], i) => ({ what, breakIt, fragment, i })))(
    "rejects $what",
    async ({ breakIt, fragment, i }) => {
      const group = validGroup(`invalid-${i}`);
      breakIt(group);
      const result = await apply(group);
      expect(result.code, result.stdout).not.toBe(0);
      expect(result.stderr).toContain(fragment);
    },
  );

  it("keeps the cache servers' snapshot volumes as they were made: no change, no adding or removing while spec.dragonfly exists", async () => {
    const cache = (snapshot?: Json): Json => ({ enabled: true, sites: [{ name: "iad", endpoint: { host: "10.0.0.9" } }], ...(snapshot ? { snapshot } : {}) });
    const group = (name: string, dragonfly?: Json): GroupDoc => {
      const g = validGroup(name);
      if (dragonfly) g.spec.dragonfly = dragonfly;
      return g;
    };
    expect((await apply(group("snapshots", cache({ storage: { size: "1Gi" } })))).code).toBe(0);
    const resized = await apply(group("snapshots", cache({ storage: { size: "2Gi" } })));
    expect(resized.stderr).toContain("`snapshot.storage` may not change: the servers' volumes exist");
    const removed = await apply(group("snapshots", cache({ cron: "*/5 * * * *" })));
    expect(removed.stderr).toContain("`dragonfly.snapshot.storage` may not be added or removed while `spec.dragonfly` exists");
    // The schedule alone may change.
    expect((await apply(group("snapshots", cache({ cron: "*/5 * * * *", storage: { size: "1Gi" } })))).stderr).toBe("");

    expect((await apply(group("no-snapshots", cache()))).code).toBe(0);
    const added = await apply(group("no-snapshots", cache({ storage: { size: "1Gi" } })));
    expect(added.stderr).toContain("`dragonfly.snapshot.storage` may not be added or removed while `spec.dragonfly` exists");
    // Without spec.dragonfly (its servers gone), it comes back with volumes.
    const without = await kubectl(["patch", "mfg", "no-snapshots", "-n", namespace, "--type=json", "-p", JSON.stringify([{ op: "remove", path: "/spec/dragonfly" }])]);
    expect(without.stderr).toBe("");
    expect((await apply(group("no-snapshots", cache({ storage: { size: "1Gi" } })))).stderr).toBe("");
  });

  it("accepts the valid group that the invalid cases start from", async () => {
    const result = await kubectl(["apply", "--dry-run=server", "-n", namespace, "-f", "-"], {
      input: JSON.stringify(validGroup("baseline")),
    });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
  });

  it("accepts every example in docs/examples, defaulting it exactly as withDefaults does", async () => {
    const files = (await readdir(examplesDir)).filter((f) => f.endsWith(".yaml"));
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const file of files) {
      const input = await readFile(new URL(file, examplesDir), "utf8");
      const result = await kubectl(["apply", "--dry-run=server", "-n", namespace, "-o", "json", "-f", "-"], { input });
      expect(result.stderr, file).toBe("");
      expect(result.code, file).toBe(0);
      // A file may carry what its group needs (a Secret) before the group.
      const output = JSON.parse(result.stdout) as MysqlFailoverGroup | { kind: "List"; items: MysqlFailoverGroup[] };
      const served = "items" in output ? output.items.find((o) => o.kind === FAILOVER_GROUP.kind) : output;
      const written = parseAllDocuments(input)
        .map((d) => d.toJS() as MysqlFailoverGroup)
        .find((o) => o.kind === FAILOVER_GROUP.kind);
      expect(served?.spec, file).toEqual(withDefaults(written!.spec));
    }
  });

  it("applies the schema defaults on the server", async () => {
    expect((await apply(validGroup("defaults"))).code).toBe(0);
    const got = await kubectl(["get", "mfg", "defaults", "-n", namespace, "-o", "json"]);
    const spec = (JSON.parse(got.stdout) as { spec: Json & { sites: Json[] } }).spec;
    expect(spec.pollInterval).toBe("2s");
    expect(spec.plannedFailover).toEqual({ maxLagWait: "5m", drainTimeout: "30s", onCooldown: "reject" });
    expect(spec.sites[0]).toMatchObject({ role: "primary-candidate", endpoint: { port: 33061 } });
  });

  describe("status subresource and printer columns", () => {
    const name = "printed";

    beforeAll(async () => {
      expect((await apply(validGroup(name))).code).toBe(0);
    });

    it("rejects an invalid status", async () => {
      const patch = { status: { sites: [{ name: "iad", state: "on-fire" }] } };
      const result = await kubectl(
        ["patch", "mfg", name, "-n", namespace, "--subresource=status", "--type=merge", "-p", JSON.stringify(patch)],
      );
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain('Unsupported value: "on-fire"');
    });

    it("shows the status in `kubectl get mfg`, with more columns in -o wide", async () => {
      const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
      const status = {
        observedGeneration: 1,
        activeSite: "iad",
        summary: "1W/1RO/0X",
        sites: [
          { name: "iad", state: "writable", lastSeen: now, replicating: false, secondsBehindSource: null },
          { name: "pdx", state: "read-only", lastSeen: now, replicating: true, secondsBehindSource: 0 },
        ],
        conditions: [
          { type: "Ready", status: "True", reason: "Healthy", message: "iad is writable", lastTransitionTime: now },
        ],
        lastFailover: now,
        lastFailoverTarget: "iad",
        plannedFailover: { phase: "Succeeded", target: "iad", transactionsLost: 0 },
      };
      const patched = await kubectl([
        "patch",
        "mfg",
        name,
        "-n",
        namespace,
        "--subresource=status",
        "--type=merge",
        "-p",
        JSON.stringify({ status }),
      ]);
      expect(patched.stderr).toBe("");

      const table = await kubectl(["get", "mfg", name, "-n", namespace]);
      const [header, row] = table.stdout.trim().split("\n");
      expect(header?.split(/\s+/)).toEqual(["NAME", "ACTIVE", "READY", "SITES", "AGE"]);
      expect(row?.split(/\s+/).slice(0, 4)).toEqual([name, "iad", "True", "1W/1RO/0X"]);

      const wide = await kubectl(["get", "mysqlfailovergroups", name, "-n", namespace, "-o", "wide"]);
      const [wideHeader, wideRow] = wide.stdout.trim().split("\n");
      expect(wideHeader?.split(/\s+/)).toEqual(["NAME", "ACTIVE", "READY", "SITES", "AGE", "PLANNED", "LAST-FAILOVER"]);
      expect(wideRow?.split(/\s+/)[5]).toBe("Succeeded");
    });

    it("is listed under the bloodraven category", async () => {
      const result = await kubectl(["get", "bloodraven", "-n", namespace, "-o", "name"]);
      expect(result.stdout).toContain(`mysqlfailovergroup.shipstream.io/${name}`);
    });
  });
});

describe("MysqlBackup CRD validation", () => {
  const backup = (name: string, spec: Json): Json => ({ apiVersion: API_GROUP_VERSION, kind: MYSQL_BACKUP.kind, metadata: { name }, spec });
  const valid = { failoverGroupRef: { name: "orders" }, profileName: "nightly", triggeredBy: "manual" };

  it("accepts a backup, refuses a changed spec and a missing profile, and shows the documented columns", async () => {
    expect((await apply(backup("b1", valid))).code).toBe(0);
    const changed = await apply(backup("b1", { ...valid, profileName: "hourly" }));
    expect(changed.code).not.toBe(0);
    expect(changed.stderr).toContain("a MysqlBackup's spec may not change: create a new MysqlBackup instead");
    const missing = await apply(backup("b2", { failoverGroupRef: { name: "orders" } }));
    expect(missing.stderr).toContain("spec.profileName: Required value");
    const override = await apply(backup("b3", { ...valid, sourceSiteOverride: "Not_A_Site" }));
    expect(override.stderr).toContain("spec.sourceSiteOverride in body should match");
    const table = await kubectl(["get", "mb", "-n", namespace]);
    expect(table.stdout.trim().split("\n")[0]?.split(/\s+/)).toEqual(["NAME", "GROUP", "PROFILE", "PHASE", "STARTED", "COMPLETED", "AGE"]);
    const wide = await kubectl(["get", "mb", "-n", namespace, "-o", "wide"]);
    expect(wide.stdout.trim().split("\n")[0]?.split(/\s+/)).toEqual(["NAME", "GROUP", "PROFILE", "PHASE", "STARTED", "COMPLETED", "LOCATION", "SIZE", "AGE"]);
    const listed = await kubectl(["get", "bloodraven", "-n", namespace, "-o", "name"]);
    expect(listed.stdout).toContain("mysqlbackup.shipstream.io/b1");
  });
});

describe("MysqlBackupVerification CRD validation", () => {
  const verification = (name: string, spec: Json): Json => ({ apiVersion: API_GROUP_VERSION, kind: MYSQL_BACKUP_VERIFICATION.kind, metadata: { name }, spec });
  const valid = { failoverGroupRef: { name: "orders" }, profileName: "nightly", sanityCheck: { query: "SELECT COUNT(*) FROM shop.orders", minRows: 1 } };

  it("accepts a verification with its defaults, refuses a changed spec, a timestamp without its mode and the other way round, an unpinned image; shows the documented columns", async () => {
    expect((await apply(verification("v1", valid))).code).toBe(0);
    const stored = await kubectl(["get", "mbv", "v1", "-n", namespace, "-o", "jsonpath={.spec.pointInTime.mode} {.spec.keepOnFailure} {.spec.timeout} {.spec.sanityCheck.timeout}"]);
    expect(stored.stdout).toBe("none true 2h 60s");
    const changed = await apply(verification("v1", { ...valid, profileName: "hourly" }));
    expect(changed.stderr).toContain("a MysqlBackupVerification's spec may not change: create a new one instead");
    const noTime = await apply(verification("v2", { ...valid, pointInTime: { mode: "timestamp" } }));
    expect(noTime.stderr).toContain("`pointInTime.timestamp` must be set when `pointInTime.mode` is timestamp");
    const strayTime = await apply(verification("v3", { ...valid, pointInTime: { mode: "latest", timestamp: "2026-12-05T01:00:00Z" } }));
    expect(strayTime.stderr).toContain("`pointInTime.timestamp` must be left out unless `pointInTime.mode` is timestamp");
    const latest = await apply(verification("v4", { ...valid, image: "mariadb:latest" }));
    expect(latest.stderr).toContain("must name a version tag or a digest");
    const emptyQuery = await apply(verification("v5", { ...valid, sanityCheck: { query: "" } }));
    expect(emptyQuery.stderr).toContain("spec.sanityCheck.query");
    expect((await apply(verification("v6", { ...valid, pointInTime: { mode: "timestamp", timestamp: "2026-12-05T01:00:00Z" } }))).code).toBe(0);
    const table = await kubectl(["get", "mbv", "-n", namespace]);
    expect(table.stdout.trim().split("\n")[0]?.split(/\s+/)).toEqual(["NAME", "GROUP", "PROFILE", "BACKUP", "PHASE", "STARTED", "COMPLETED", "AGE"]);
    const wide = await kubectl(["get", "mbv", "-n", namespace, "-o", "wide"]);
    expect(wide.stdout.trim().split("\n")[0]?.split(/\s+/)).toEqual(["NAME", "GROUP", "PROFILE", "BACKUP", "PHASE", "COUNT", "STARTED", "COMPLETED", "AGE"]);
  });
});
