import { describe, expect, it } from "vitest";
import { ignoredSpecFields } from "../../../shared/api/ignored-fields.js";
import type { MysqlFailoverGroupSpec } from "../../../shared/api/index.js";

const external = (name: string) => ({ name, endpoint: { host: `${name}.db`, port: 3306 } });
const base: MysqlFailoverGroupSpec = { sites: [external("iad"), external("pdx")], credentials: { operator: { secretName: "ops" } } };
const everything: MysqlFailoverGroupSpec = {
  ...base,
  image: "mysql:8.0",
  sidecarImage: "bloodraven/sidecar:1",
  updateStrategy: "Recreate",
  mysqlConf: { max_connections: "500" },
  connectionDrainTimeout: "10s",
  backup: {
    profiles: [{ name: "nightly", storage: { pvc: { claimName: "backups" } } }],
    schedules: [{ name: "daily", profileName: "nightly", schedule: "@daily" }],
    pitr: { enabled: true, profileName: "nightly" },
  },
};

describe("ignoredSpecFields", () => {
  it("names nothing for external sites with the defaults the API server wrote", () => {
    expect(ignoredSpecFields({ ...base, image: "mysql:8.4", updateStrategy: "OrderedUpdate", connectionDrainTimeout: "30s" })).toEqual([]);
  });

  it("names the managed-site fields of a group without managed sites", () => {
    expect(ignoredSpecFields(everything)).toEqual(["spec.image", "spec.sidecarImage", "spec.updateStrategy", "spec.mysqlConf", "spec.connectionDrainTimeout", "spec.backup.pitr"]);
  });

  it("acts on backup profiles and schedules; on the archive only where it configures it, in managed sites' sidecars", () => {
    expect(ignoredSpecFields({ ...base, backup: { profiles: everything.backup?.profiles ?? [], pitr: { enabled: false } } })).toEqual([]);
  });

  it("acts on image, sidecarImage, mysqlConf, updateStrategy, the archive and the sites' storage, resources and zone once a site is managed", () => {
    const spec: MysqlFailoverGroupSpec = {
      ...everything,
      sites: [external("iad"), { name: "pdx", storage: { size: "10Gi" }, resources: { requests: { cpu: "1" } }, zone: "us-west-2a", taintNodeSelector: { zone: "pdx" } }],
    };
    expect(ignoredSpecFields(spec)).toEqual(["spec.connectionDrainTimeout"]);
  });
});
