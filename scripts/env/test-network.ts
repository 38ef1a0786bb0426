import { execFileSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import type { EnvDir } from "./env-dir.js";
import { ensureDebianPackages } from "./prerequisites.js";

/**
 * A private network for fault-injection tests: one Linux bridge in the host's namespace and one
 * network namespace per database site, each with its own address. The host side holds three
 * addresses, one per kind of client, so that a site can drop one kind and keep the others:
 * - operator: the host's first address, the source of every connection that does not choose one
 *   (the operator process);
 * - app: applications (the test's writers bind to it);
 * - observer: the test's own checks (bind to it; never cut unless a test says so).
 * Cuts are iptables rules inside the site's namespace, so traffic between other pairs is untouched.
 * Only addresses inside this bridge's subnet are ever used. Needs root.
 */
export const CLIENTS = ["operator", "app", "observer"] as const;
export type Client = (typeof CLIENTS)[number];

const SUBNET = "10.213.0";
const HOST_ADDRESSES: Record<Client, string> = { operator: `${SUBNET}.1`, app: `${SUBNET}.2`, observer: `${SUBNET}.3` };

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 10_000 });
}

/** Runs a command inside a site's namespace. */
function inNamespace(netns: string, cmd: string, args: string[]): string {
  return run("ip", ["netns", "exec", netns, cmd, ...args]);
}

export interface SiteNet {
  readonly site: string;
  readonly netns: string;
  readonly address: string;
}

export class TestNetwork {
  private readonly sites = new Map<string, SiteNet>();
  private readonly bridge: string;

  private constructor(
    private readonly env: EnvDir,
    private readonly prefix: string,
  ) {
    this.bridge = `${prefix}br`;
  }

  static create(env: EnvDir): TestNetwork {
    if (process.getuid?.() !== 0) throw new Error("the fault-injection tier needs root (network namespaces and iptables)");
    ensureDebianPackages(["/usr/sbin/iptables", "/usr/sbin/ip"], ["iptables", "iproute2"]);
    TestNetwork.removeStale();
    const net = new TestNetwork(env, TestNetwork.freePrefix());
    writeFileSync(env.join("cleanup.sh"), net.cleanupScript());
    run("ip", ["link", "add", net.bridge, "type", "bridge"]);
    for (const address of Object.values(HOST_ADDRESSES)) run("ip", ["addr", "add", `${address}/24`, "dev", net.bridge]);
    run("ip", ["link", "set", net.bridge, "up"]);
    // br_netfilter, where loaded, sends bridged frames through the host's FORWARD chain.
    return net;
  }

  /**
   * `brv<pid>x<n>` with the first n whose names are all free. Interface names have at most 15
   * characters; the pid keeps concurrent runs apart. The n is found on the host, not counted in
   * the process: test files of one tier share a process but not module state, and a deleted
   * namespace frees its veth names a moment later.
   */
  private static freePrefix(): string {
    const taken = [
      ...run("ip", ["-o", "link", "show"]).split("\n").map((line) => line.split(": ")[1]?.split("@")[0] ?? ""),
      ...run("ip", ["netns", "list"]).split("\n").map((line) => line.split(" ")[0] ?? ""),
    ];
    const pid = process.pid % 100_000;
    for (let n = 0; n < 100; n++) {
      const prefix = `brv${pid}x${n}`;
      const used = new RegExp(`^${prefix}(br|h\\d+|-)`);
      if (!taken.some((name) => used.test(name))) return prefix;
    }
    throw new Error(`no free test network name brv${pid}x0..99: remove the leftovers listed by 'ip -o link' and 'ip netns list'`);
  }

  /** Namespaces and bridges of earlier runs whose process is gone (a killed run's guardian may not have finished). */
  private static removeStale(): void {
    const alive = (pid: string): boolean => existsSync(`/proc/${pid}`);
    for (const line of run("ip", ["netns", "list"]).split("\n")) {
      const name = line.split(" ")[0] ?? "";
      const m = /^brv(\d+)x\d+-/.exec(name);
      if (m && !alive(m[1]!)) run("ip", ["netns", "delete", name]);
    }
    for (const line of run("ip", ["-o", "link", "show", "type", "bridge"]).split("\n")) {
      const m = /^\d+: (brv(\d+)x\d+br)[:@]/.exec(line);
      if (m && !alive(m[2]!)) run("ip", ["link", "delete", m[1]!]);
    }
  }

  address(client: Client): string {
    return HOST_ADDRESSES[client];
  }

  site(name: string): SiteNet {
    const s = this.sites.get(name);
    if (!s) throw new Error(`no namespace for site ${name}`);
    return s;
  }

  /** A namespace for one site, wired to the bridge, loopback up. */
  addSite(name: string): SiteNet {
    const i = this.sites.size + 1;
    const netns = `${this.prefix}-${name}`;
    const host = `${this.prefix}h${i}`;
    const address = `${SUBNET}.${10 + i}`;
    run("ip", ["netns", "add", netns]);
    run("ip", ["link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", netns]);
    run("ip", ["link", "set", host, "master", this.bridge]);
    run("ip", ["link", "set", host, "up"]);
    inNamespace(netns, "ip", ["addr", "add", `${address}/24`, "dev", "eth0"]);
    inNamespace(netns, "ip", ["link", "set", "eth0", "up"]);
    inNamespace(netns, "ip", ["link", "set", "lo", "up"]);
    const s = { site: name, netns, address };
    this.sites.set(name, s);
    writeFileSync(this.env.join("cleanup.sh"), this.cleanupScript());
    return s;
  }

  /** Drops every packet between `site` and each of `peers` (sites or host-side clients), both ways, silently (no RST). */
  cut(site: string, peers: readonly string[]): void {
    this.dropRules("-I", site, peers);
  }

  /** Cuts `site` from every other site and host-side client but the observer. */
  isolate(site: string): void {
    this.cut(site, [...[...this.sites.keys()].filter((n) => n !== site), "operator", "app"]);
  }

  /** Removes the cuts between `site` and each of `peers`. */
  reconnect(site: string, peers: readonly string[]): void {
    this.dropRules("-D", site, peers);
  }

  /** Inserts (-I) or deletes (-D) the pair of DROP rules for each peer. */
  private dropRules(op: "-I" | "-D", site: string, peers: readonly string[]): void {
    const s = this.site(site);
    for (const peer of peers) {
      const ip = this.peerAddress(peer);
      inNamespace(s.netns, "iptables", [op, "INPUT", "-s", ip, "-j", "DROP"]);
      inNamespace(s.netns, "iptables", [op, "OUTPUT", "-d", ip, "-j", "DROP"]);
    }
  }

  /** Removes every cut of `site` (all sites when omitted). */
  heal(site?: string): void {
    for (const s of site === undefined ? [...this.sites.values()] : [this.site(site)]) {
      inNamespace(s.netns, "iptables", ["-F", "INPUT"]);
      inNamespace(s.netns, "iptables", ["-F", "OUTPUT"]);
    }
  }

  teardown(): void {
    run("bash", [this.env.join("cleanup.sh")]);
  }

  private peerAddress(peer: string): string {
    if ((CLIENTS as readonly string[]).includes(peer)) return HOST_ADDRESSES[peer as Client];
    return this.site(peer).address;
  }

  private cleanupScript(): string {
    const lines = [...this.sites.values()].map((s) => `ip netns delete ${s.netns} 2>/dev/null`);
    return ["#!/usr/bin/env bash", ...lines, `ip link delete ${this.bridge} 2>/dev/null`, "true", ""].join("\n");
  }
}
