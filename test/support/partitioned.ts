import { EnvDir } from "../../scripts/env/env-dir.js";
import { MariaDbSites } from "../../scripts/env/mariadb-sites.js";
import { TestNetwork } from "../../scripts/env/test-network.js";

/**
 * Three MariaDB sites (iad primary, pdx, sfo), each in its own network namespace of a fresh test
 * network (scripts/env/test-network.ts); teardown() removes servers, namespaces and bridge.
 */
export async function partitionableSites(): Promise<{ net: TestNetwork; sites: MariaDbSites; teardown: () => Promise<void> }> {
  const env = new EnvDir("net");
  const net = TestNetwork.create(env);
  const sites = await MariaDbSites.start({ names: ["iad", "pdx", "sfo"], primary: "iad", network: net });
  return {
    net,
    sites,
    teardown: async () => {
      await sites.teardown();
      net.teardown();
      env.remove();
    },
  };
}
