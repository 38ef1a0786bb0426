import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import type { EnvDir } from "../env/env-dir.js";
import type { MariaDbSite, MariaDbSites } from "../env/mariadb-sites.js";
import { POD_NETWORK } from "../env/node.js";

/**
 * Cuts between the pods and a server: iptables rules on this machine, removed by heal, at
 * teardown, and by the folder's guardian if the playground dies.
 */
export class Partitions {
  private readonly cut = new Map<string, string[]>();

  constructor(private readonly env: EnvDir) {}

  private rule(site: MariaDbSite): string[] {
    return ["INPUT", "-s", POD_NETWORK.cidr, "-d", site.host, "-p", "tcp", "--dport", String(site.port), "-j", "DROP"];
  }

  private persist(): void {
    const lines = [...this.cut.values()].map((rule) => `iptables -w -D ${rule.join(" ")}`);
    writeFileSync(this.env.join("cleanup.sh"), `${lines.join("\n")}\n`);
  }

  partition(site: MariaDbSite): void {
    if (this.cut.has(site.name)) return;
    this.cut.set(site.name, this.rule(site));
    this.persist();
    execFileSync("iptables", ["-w", "-I", ...this.rule(site)]);
  }

  heal(site: MariaDbSite): void {
    const rule = this.cut.get(site.name);
    if (!rule) return;
    execFileSync("iptables", ["-w", "-D", ...rule]);
    this.cut.delete(site.name);
    this.persist();
  }

  isCut(site: MariaDbSite): boolean {
    return this.cut.has(site.name);
  }

  healAll(sites: MariaDbSites): void {
    for (const s of sites.sites) if (this.cut.has(s.name)) this.heal(s);
  }
}
