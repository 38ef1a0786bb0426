import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { groupMetrics, isGroupEvent, REDACTED, redact, redactLogLines } from "../../cli/report/contents.js";
import { tarGz } from "../../cli/report/tarball.js";

describe("report bundle: redaction", () => {
  it("replaces credential-named values and literal credential env values, keeps names of Secrets and everything else", () => {
    const pod = {
      metadata: { name: "p", managedFields: [{ manager: "kubectl" }], annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{...}", "example.com/owner": "db" } },
      spec: {
        containers: [
          {
            env: [
              { name: "MARIADB_ROOT_PASSWORD", value: "hunter2" },
              { name: "AWS_SECRET_ACCESS_KEY", value: "abc" },
              { name: "TZ", value: "UTC" },
              { name: "OPERATOR_PASSWORD", valueFrom: { secretKeyRef: { name: "orders-dsn", key: "password" } } },
            ],
          },
        ],
      },
      status: { startTime: new Date("2026-12-05T06:00:00Z"), token: "t0k", passwordFile: "/run/secrets/p", tokenSecret: "agent-token", accessKeyId: "AKIA", count: 3, flag: true, none: null },
    };
    expect(redact(pod)).toEqual({
      metadata: { name: "p", annotations: { "example.com/owner": "db" } },
      spec: {
        containers: [
          {
            env: [
              { name: "MARIADB_ROOT_PASSWORD", value: REDACTED },
              { name: "AWS_SECRET_ACCESS_KEY", value: REDACTED },
              { name: "TZ", value: "UTC" },
              { name: "OPERATOR_PASSWORD", valueFrom: { secretKeyRef: { name: "orders-dsn", key: "password" } } },
            ],
          },
        ],
      },
      status: { startTime: "2026-12-05T06:00:00.000Z", token: REDACTED, passwordFile: "/run/secrets/p", tokenSecret: "agent-token", accessKeyId: REDACTED, count: 3, flag: true, none: null },
    });
    // The input is not changed.
    expect(pod.spec.containers[0]!.env[0]!.value).toBe("hunter2");
  });

  it("redacts JSON log lines and keeps other lines as written", () => {
    expect(redactLogLines(['{"msg":"x","password":"p","site":"iad"}', "plain text"])).toBe(`{"msg":"x","password":"${REDACTED}","site":"iad"}\nplain text\n`);
  });
});

describe("report bundle: metrics of one group", () => {
  const text = [
    "# HELP bloodraven_site_up 1 when the site answers",
    "# TYPE bloodraven_site_up gauge",
    'bloodraven_site_up{namespace="shop",group="orders",site="iad"} 1',
    'bloodraven_site_up{namespace="shop",group="billing",site="iad"} 1',
    'bloodraven_site_up{namespace="other",group="orders",site="iad"} 0',
    "# HELP bloodraven_failover_duration_seconds How long",
    "# TYPE bloodraven_failover_duration_seconds histogram",
    'bloodraven_failover_duration_seconds_bucket{le="1",namespace="shop",group="billing"} 1',
    'bloodraven_failover_duration_seconds_count{namespace="shop",group="billing"} 1',
    "# HELP bloodraven_build_info Build",
    "# TYPE bloodraven_build_info gauge",
    'bloodraven_build_info{version="1",revision="abc",node="v24"} 1',
    "# HELP bloodraven_dragonfly_manager_panics_total Panics",
    "# TYPE bloodraven_dragonfly_manager_panics_total counter",
    'bloodraven_dragonfly_manager_panics_total{namespace="shop",name="orders"} 0',
    'bloodraven_dragonfly_manager_panics_total{namespace="shop",name="billing"} 2',
    "process_cpu_seconds_total 1.5",
    "",
  ].join("\n");

  it("keeps the group's samples and the operator's own, with their HELP and TYPE; drops other groups and namespaces", () => {
    expect(groupMetrics(text, "shop", "orders")).toBe(
      [
        "# HELP bloodraven_site_up 1 when the site answers",
        "# TYPE bloodraven_site_up gauge",
        'bloodraven_site_up{namespace="shop",group="orders",site="iad"} 1',
        "# HELP bloodraven_build_info Build",
        "# TYPE bloodraven_build_info gauge",
        'bloodraven_build_info{version="1",revision="abc",node="v24"} 1',
        "# HELP bloodraven_dragonfly_manager_panics_total Panics",
        "# TYPE bloodraven_dragonfly_manager_panics_total counter",
        'bloodraven_dragonfly_manager_panics_total{namespace="shop",name="orders"} 0',
        "process_cpu_seconds_total 1.5",
        "",
      ].join("\n"),
    );
    // A histogram's HELP and TYPE stay with its kept _bucket/_count samples.
    expect(groupMetrics(text, "shop", "billing")).toContain("# TYPE bloodraven_failover_duration_seconds histogram\nbloodraven_failover_duration_seconds_bucket");
  });
});

describe("report bundle: events", () => {
  it("keeps events on the named objects and on names with the group's prefixes", () => {
    const related = new Set(["orders", "orders-b1"]);
    const prefixes = ["mysql-orders-", "orders-b1-backup"];
    const about = (name: string) => ({ involvedObject: { name } });
    expect(["orders", "orders-b1", "mysql-orders-iad-0", "orders-b1-backup-x7k2p", "billing", "mysql-ordersx-iad-0", "orders-b2"].filter((n) => isGroupEvent(about(n), related, prefixes))).toEqual([
      "orders",
      "orders-b1",
      "mysql-orders-iad-0",
      "orders-b1-backup-x7k2p",
    ]);
    expect(isGroupEvent({}, related, prefixes)).toBe(false);
  });
});

describe("report bundle: tar.gz", () => {
  it("writes ustar headers with valid checksums, contents padded to 512 bytes, and two empty blocks at the end", () => {
    const archive = gunzipSync(tarGz([{ name: "a.txt", content: "hello\n" }, { name: "dir/b.bin", content: Buffer.alloc(600, 7) }], new Date("2026-12-05T00:00:00Z")));
    const headerAt = (offset: number) => {
      const block = archive.subarray(offset, offset + 512);
      const text = (start: number, length: number) => block.subarray(start, start + length).toString("utf8").replace(/\0.*$/s, "");
      let sum = 0;
      for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : block[i]!;
      return { name: text(0, 100), size: parseInt(text(124, 12), 8), mtime: parseInt(text(136, 12), 8), checksum: parseInt(text(148, 8), 8), sum, magic: text(257, 6), type: text(156, 1) };
    };
    const a = headerAt(0);
    expect(a).toMatchObject({ name: "a.txt", size: 6, mtime: Date.parse("2026-12-05T00:00:00Z") / 1000, magic: "ustar", type: "0" });
    expect(a.checksum).toBe(a.sum);
    expect(archive.subarray(512, 518).toString()).toBe("hello\n");
    const b = headerAt(1024);
    expect(b).toMatchObject({ name: "dir/b.bin", size: 600 });
    expect(b.checksum).toBe(b.sum);
    // 600 bytes take two blocks; then the two empty end blocks.
    expect(archive.length).toBe(1024 + 512 + 1024 + 1024);
    expect(archive.subarray(archive.length - 1024).every((byte) => byte === 0)).toBe(true);
  });

  it("refuses names it cannot store as given", () => {
    expect(() => tarGz([{ name: `${"x".repeat(101)}`, content: "" }], new Date())).toThrow(/at most 100 bytes/);
    expect(() => tarGz([{ name: "../etc/passwd", content: "" }], new Date())).toThrow(/without "\.\."/);
    expect(() => tarGz([{ name: "/etc/passwd", content: "" }], new Date())).toThrow(/relative/);
  });
});
