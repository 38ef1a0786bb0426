import { describe, expect, it } from "vitest";
import type { MysqlFailoverGroup } from "../../../shared/api/index.js";
import { formatMaintenance, parseMaintenance } from "../../../shared/maintenance.js";
import { ANNOTATIONS } from "../../../shared/names.js";
import { colors } from "../../../cli/format.js";
import {
  acknowledgementGraceMs,
  annotationSetAt,
  buildMaintenance,
  operatorView,
  parseForFlag,
  renderMaintenanceStatus,
  whoAmI,
} from "../../../cli/commands/maintenance.js";

const NOW = Date.parse("2026-11-22T03:00:00.250Z");
const H = 3_600_000;

describe("buildMaintenance", () => {
  it("defaults to 1h; --for and --until; whole seconds; the shared parser accepts the result", () => {
    const dflt = buildMaintenance({}, NOW);
    expect(dflt).toEqual({ ok: true, value: { until: "2026-11-22T04:00:01Z" }, durationMs: H });
    const two = buildMaintenance({ for: "2h", reason: "network work", by: "alice" }, NOW);
    expect(two).toEqual({ ok: true, value: { until: "2026-11-22T05:00:01Z", reason: "network work", by: "alice" }, durationMs: 2 * H });
    if (two.ok) expect(parseMaintenance(formatMaintenance(two.value))).toEqual({ ok: true, value: { until: "2026-11-22T05:00:01.000Z", reason: "network work", by: "alice" } });
    const until = buildMaintenance({ until: "2026-11-22T06:00:00Z" }, NOW);
    expect(until).toMatchObject({ ok: true, value: { until: "2026-11-22T06:00:00Z" } });
    expect(buildMaintenance({ until: "2026-11-22T08:30:00+02:00" }, NOW)).toMatchObject({ ok: true, value: { until: "2026-11-22T06:30:00Z" } });
    expect(buildMaintenance({ for: "7d" }, NOW)).toMatchObject({ ok: true, durationMs: 7 * 24 * H });
  });

  it.each<[Parameters<typeof buildMaintenance>[0], string]>([
    [{ for: "8d" }, "--for: 8d is longer than the maximum, 7d (168h)"],
    [{ for: "168h1s" }, "--for: 168h1s is longer than the maximum, 7d (168h)"],
    [{ for: "0s" }, '--for: invalid duration "0s": must be greater than zero (examples: 500ms, 30s, 5m, 1h30m)'],
    [{ for: "0d" }, '--for: invalid duration "0d": must be greater than zero (examples: 500ms, 30s, 5m, 1h30m)'],
    [{ for: "1x" }, '--for: invalid duration "1x": unexpected "1x" (examples: 500ms, 30s, 5m, 1h30m)'],
    [{ until: "2026-11-22" }, "--until: must be an RFC 3339 time such as 2026-11-22T06:00:00Z"],
    [{ until: "2026-11-22T02:59:59Z" }, "--until: 2026-11-22T02:59:59Z is not in the future"],
    [{ until: "2026-11-29T03:00:01Z" }, "--until: 2026-11-29T03:00:01Z is more than 7 days (168h) ahead; maintenance is bounded so that a forgotten one ends"],
    [{ for: "1h", until: "2026-11-22T06:00:00Z" }, "--for and --until cannot be combined"],
    [{ reason: "x".repeat(257) }, "--reason must be text of at most 256 characters"],
  ])("rejects %j", (flags, error) => {
    expect(buildMaintenance(flags, NOW)).toEqual({ ok: false, error });
  });

  it("parseForFlag: durations plus a leading number of days", () => {
    expect(parseForFlag("30m")).toBe(30 * 60_000);
    expect(parseForFlag("1d")).toBe(24 * H);
    expect(parseForFlag("1d12h")).toBe(36 * H);
    expect(() => parseForFlag("d")).toThrow(/invalid duration/);
    expect(() => parseForFlag("1d12")).toThrow(/a number needs a unit/);
  });

  it("whoAmI: the kubeconfig user, else $USER", () => {
    expect(whoAmI("admin", { USER: "bob" })).toBe("admin");
    expect(whoAmI(undefined, { USER: "bob" })).toBe("bob");
    expect(whoAmI("", {})).toBeUndefined();
  });
});

function group(over: { annotation?: string; conditions?: NonNullable<MysqlFailoverGroup["status"]>["conditions"]; setAt?: string; pollInterval?: string } = {}): MysqlFailoverGroup {
  return {
    apiVersion: "shipstream.io/v1alpha1",
    kind: "MysqlFailoverGroup",
    metadata: {
      name: "orders",
      namespace: "shop",
      annotations: over.annotation === undefined ? {} : { [ANNOTATIONS.maintenance]: over.annotation },
      managedFields: over.setAt
        ? [
            { manager: "kubectl-create", operation: "Update", time: "2026-11-20T00:00:00Z" as unknown as Date, fieldsV1: { "f:spec": {} } },
            {
              manager: "kubectl-bloodraven",
              operation: "Update",
              time: over.setAt as unknown as Date,
              fieldsV1: { "f:metadata": { "f:annotations": { [`f:${ANNOTATIONS.maintenance}`]: {} } } },
            },
          ]
        : [],
    },
    spec: { secretName: "dsn", ...(over.pollInterval ? { pollInterval: over.pollInterval } : {}), sites: [] },
    status: { conditions: over.conditions ?? [] },
  };
}

const ACTIVE = formatMaintenance({ until: "2026-11-22T04:00:00Z", reason: "network work in iad", by: "alice" });
const TRUE_CONDITION = { type: "Maintenance", status: "True" as const, reason: "MaintenanceActive", message: "paused", lastTransitionTime: "2026-11-22T02:59:00Z" };

describe("the operator's view", () => {
  it("annotationSetAt reads managedFields", () => {
    expect(annotationSetAt(group({ annotation: ACTIVE, setAt: "2026-11-22T02:50:00Z" }), ANNOTATIONS.maintenance)).toBe(Date.parse("2026-11-22T02:50:00Z"));
    expect(annotationSetAt(group({ annotation: ACTIVE }), ANNOTATIONS.maintenance)).toBeUndefined();
  });

  it("grace: three polls plus 30s", () => {
    expect(acknowledgementGraceMs(group())).toBe(36_000);
    expect(acknowledgementGraceMs(group({ pollInterval: "10s" }))).toBe(60_000);
  });

  it("reports the condition; not yet within the grace; a warning after it", () => {
    expect(operatorView(group({ annotation: ACTIVE, conditions: [TRUE_CONDITION] }), true, NOW)).toEqual({ text: "reports Maintenance=True (MaintenanceActive) since 2026-11-22T02:59:00Z" });
    expect(operatorView(group({ annotation: ACTIVE, setAt: "2026-11-22T02:59:50Z" }), true, NOW)).toEqual({
      text: "has not reported the Maintenance condition yet (annotation set 10s ago)",
    });
    const late = operatorView(group({ annotation: ACTIVE, setAt: "2026-11-22T02:55:00Z" }), true, NOW);
    expect(late.text).toBe("does not report the Maintenance condition 5m after the annotation was set");
    expect(late.warning).toBe(
      "warning: maintenance is on but the operator has not reported it 5m after the annotation was set: the operator may not be running (kubectl get pods -n bloodraven -l app.kubernetes.io/name=bloodraven) or may predate maintenance mode; until it does, automatic failover is NOT known to be paused",
    );
    // Without managedFields there is no grace to give.
    expect(operatorView(group({ annotation: ACTIVE }), true, NOW).warning).toMatch(/^warning: maintenance is on but the operator has not reported it: /);
    expect(operatorView(group({ conditions: [TRUE_CONDITION] }), false, NOW).text).toBe("reports Maintenance=True (MaintenanceActive) since 2026-11-22T02:59:00Z; it turns it off on its next poll");
    expect(operatorView(group(), false, NOW)).toEqual({ text: "no Maintenance condition reported" });
  });
});

describe("renderMaintenanceStatus", () => {
  it("on", () => {
    const r = renderMaintenanceStatus(group({ annotation: ACTIVE, conditions: [TRUE_CONDITION], setAt: "2026-11-22T02:58:00Z" }), NOW, colors(false));
    expect(r.warnings).toEqual([]);
    expect(r.stdout).toBe(
      [
        "Group:        shop/orders",
        "Maintenance:  on",
        "Until:        2026-11-22T04:00:00Z",
        "Remaining:    1h",
        "Reason:       network work in iad",
        "By:           alice",
        "Set:          2026-11-22T02:58:00Z (2m ago)",
        "Operator:     reports Maintenance=True (MaintenanceActive) since 2026-11-22T02:59:00Z",
        "Paused:       automatic failover and automatic split-brain resolution",
        "Continues:    fencing of writable sites that may not be primary, polling, status and events",
        "Still runs:   planned failovers (kubectl bloodraven failover)",
        "",
      ].join("\n"),
    );
  });

  it("off, expired and invalid", () => {
    expect(renderMaintenanceStatus(group(), NOW, colors(false)).stdout).toBe("Group:        shop/orders\nMaintenance:  off\nOperator:     no Maintenance condition reported\n");
    const expired = renderMaintenanceStatus(group({ annotation: formatMaintenance({ until: "2026-11-22T02:00:00Z" }) }), NOW, colors(false));
    expect(expired.stdout).toContain("Maintenance:  off (expired at 2026-11-22T02:00:00Z; the annotation can be removed with maintenance off)\n");
    const invalid = renderMaintenanceStatus(group({ annotation: "yes" }), NOW, colors(false));
    expect(invalid.stdout).toContain('Maintenance:  off: the annotation is invalid (maintenance annotation is not JSON; expected {"until":"<RFC 3339 time>","reason":"..."}); automatic failover stays on\n');
    expect(invalid.stdout).toContain("Annotation:   yes\n");
  });
});
