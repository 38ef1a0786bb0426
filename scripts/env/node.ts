import { execFileSync } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureImages, IMAGES } from "../images/images.js";
import { controlPlaneBinDir, ensureControlPlaneBinaries, type ControlPlane } from "./control-plane.js";
import { cacheDir } from "./cache.js";
import { EnvDir } from "./env-dir.js";
import { waitFor } from "./ports.js";
import { ManagedProcesses } from "./processes.js";

/** Versions scripts/node/build.sh builds; it is the one place that builds them. */
const CONTAINERD_VERSION = "v2.2.9";
const RUNC_VERSION = "v1.4.4";
const COREDNS_VERSION = "v1.14.7";

export const NODE_NAME = "bloodraven-node";
/** The pod network: one bridge on the host, pods on a /24, CoreDNS on the bridge's address. */
export const POD_NETWORK = { bridge: "bloodraven0", cidr: "10.244.0.0/24", gateway: "10.244.0.1" } as const;
/** One node per machine: its ports, bridge, iptables chains and several host paths are global. */
const LOCK_FILE = "/run/bloodraven-node.lock";
/** Ports the kubelet and kube-proxy take on the host. */
const NODE_PORTS = [10250, 10248, 10249, 10256];

const repo = fileURLToPath(new URL("../..", import.meta.url));
const teardownScript = join(repo, "scripts/env/node-teardown.sh");

interface NodeBinaries {
  kubelet: string;
  kubeProxy: string;
  containerdDir: string;
  runc: string;
  coredns: string;
}

function ensureNodeBinaries(): NodeBinaries {
  ensureControlPlaneBinaries();
  const bins: NodeBinaries = {
    kubelet: join(controlPlaneBinDir(), "kubelet"),
    kubeProxy: join(controlPlaneBinDir(), "kube-proxy"),
    containerdDir: cacheDir(`containerd-${CONTAINERD_VERSION}`),
    runc: cacheDir(`runc-${RUNC_VERSION}`, "runc"),
    coredns: cacheDir(`coredns-${COREDNS_VERSION}`, "coredns"),
  };
  const needed = [join(bins.containerdDir, "containerd"), bins.runc, bins.coredns];
  if (!needed.every((b) => existsSync(b))) {
    execFileSync("bash", [join(repo, "scripts/node/build.sh")], { stdio: ["ignore", "inherit", "inherit"] });
  }
  return bins;
}

/** The machine's first global IPv4 address: the node's InternalIP and the API server's advertised address. */
export function machineAddress(): string {
  for (const [name, addresses] of Object.entries(networkInterfaces())) {
    if (name === POD_NETWORK.bridge || name === "lo") continue;
    const v4 = addresses?.find((a) => a.family === "IPv4" && !a.internal);
    if (v4) return v4.address;
  }
  throw new Error("the machine has no global IPv4 address for the node (ip -4 addr shows none besides loopback)");
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port, timeout: 500 });
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => (socket.destroy(), resolve(false)));
  });
}

/**
 * What the node needs from the machine, checked before anything starts, so a machine without it
 * fails with the missing piece named instead of a kubelet error deep in a log.
 */
async function checkMachine(): Promise<void> {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push("root (containers, mounts, bridges and iptables need it)");
  if (!readFileSync("/proc/filesystems", "utf8").includes("overlay")) missing.push("the overlay filesystem (modprobe overlay)");
  if (!existsSync("/sys/fs/cgroup/memory") && !existsSync("/sys/fs/cgroup/cgroup.controllers")) missing.push("a cgroup hierarchy with the memory controller under /sys/fs/cgroup");
  // Pod-to-Service traffic on one bridge reaches kube-proxy's rules only through br_netfilter.
  if (!existsSync("/proc/sys/net/bridge/bridge-nf-call-iptables")) missing.push("bridge netfilter (modprobe br_netfilter)");
  for (const [path, pkg] of [
    ["/usr/lib/cni/bridge", "containernetworking-plugins"],
    ["/usr/sbin/iptables", "iptables"],
    ["/usr/sbin/conntrack", "conntrack"],
  ] as const) {
    try {
      accessSync(path, constants.X_OK);
    } catch {
      missing.push(`${path} (apt-get install ${pkg}, or run scripts/setup/prerequisites.sh)`);
    }
  }
  for (const port of NODE_PORTS) {
    if (await portAnswers(port)) missing.push(`TCP port ${port} is taken (another kubelet or kube-proxy runs on this machine)`);
  }
  if (missing.length > 0) throw new Error(`cannot start a test node on this machine; missing:\n  - ${missing.join("\n  - ")}`);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Takes the machine's node lock. A lock left by a process that is gone is taken over after its
 * node's traces are removed; a live owner is an error naming it.
 */
export function takeLock(folder: string): void {
  if (existsSync(LOCK_FILE)) {
    const held = JSON.parse(readFileSync(LOCK_FILE, "utf8")) as { pid: number; folder: string };
    if (pidAlive(held.pid)) throw new Error(`another test node runs on this machine (pid ${held.pid}, ${held.folder}); one node per machine (${LOCK_FILE})`);
    execFileSync("bash", [teardownScript, held.folder, POD_NETWORK.bridge], { stdio: "ignore", timeout: 120_000 });
    rmSync(LOCK_FILE, { force: true });
  }
  writeFileSync(LOCK_FILE, JSON.stringify({ pid: process.pid, folder }), { flag: "wx" });
}

function containerdConfig(folder: string, bins: NodeBinaries): string {
  return `version = 3
root = "${folder}/containerd/root"
state = "${folder}/containerd/state"
[grpc]
  address = "${folder}/containerd.sock"
[plugins]
  [plugins.'io.containerd.internal.v1.opt']
    path = "${folder}/containerd/opt"
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = "overlayfs"
    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = "${IMAGES.pause}"
  [plugins.'io.containerd.cri.v1.runtime']
    # A VM without CAP_SYS_RESOURCE in its bounding set cannot lower oom_score_adj (the sandbox asks
    # for -998); restricted, containers keep the kubelet's score.
    restrict_oom_score_adj = true
    # Pod network namespaces are mounted below the node's folder, not in /var/run/netns.
    netns_mounts_under_state_dir = true
    enable_cdi = false
    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = ["/usr/lib/cni"]
      conf_dir = "${folder}/cni"
    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = "runc"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
          SystemdCgroup = false
          BinaryName = "${bins.runc}"
          Root = "${folder}/runc"
`;
}

function cniConfig(folder: string): string {
  return JSON.stringify({
    cniVersion: "0.4.0",
    name: "bloodraven",
    plugins: [
      {
        type: "bridge",
        bridge: POD_NETWORK.bridge,
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        ipam: { type: "host-local", dataDir: `${folder}/ipam`, ranges: [[{ subnet: POD_NETWORK.cidr, gateway: POD_NETWORK.gateway }]], routes: [{ dst: "0.0.0.0/0" }] },
      },
      { type: "portmap", capabilities: { portMappings: true } },
      { type: "loopback" },
    ],
  });
}

function kubeletConfig(folder: string): string {
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# Kubelet 1.35 refuses cgroup v1 unless told otherwise; machines that boot cgroup v2 ignore this.
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://${folder}/containerd.sock
imageServiceEndpoint: unix://${folder}/containerd.sock
address: 0.0.0.0
port: 10250
healthzPort: 10248
readOnlyPort: 0
# The API server proxies logs and exec without a kubelet client certificate.
authentication: {anonymous: {enabled: true}, webhook: {enabled: false}}
authorization: {mode: AlwaysAllow}
podLogsDir: ${folder}/pod-logs
staticPodPath: ${folder}/static-pods
clusterDNS: [${POD_NETWORK.gateway}]
clusterDomain: cluster.local
failSwapOn: false
# -999 needs CAP_SYS_RESOURCE, which some VMs lack.
oomScoreAdj: 0
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
serializeImagePulls: false
syncFrequency: 10s
nodeStatusUpdateFrequency: 10s
`;
}

function kubeProxyConfig(kubeconfig: string): string {
  return `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: ${kubeconfig}}
hostnameOverride: ${NODE_NAME}
mode: iptables
clusterCIDR: ${POD_NETWORK.cidr}
nodePortAddresses: [primary]
conntrack: {maxPerCore: 0}
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
`;
}

function corefile(kubeconfig: string): string {
  return `.:53 {
  bind ${POD_NETWORK.gateway}
  errors
  kubernetes cluster.local in-addr.arpa ip6.arpa {
    kubeconfig ${kubeconfig} bloodraven-test
    pods insecure
    fallthrough in-addr.arpa ip6.arpa
  }
  forward . /etc/resolv.conf
  cache 5
}
`;
}

/** The name of the cluster's default StorageClass: host directories, provisioned by the controller manager. */
export const STORAGE_CLASS = "standard";

function installStorageClass(kubeconfig: string): void {
  const storageClass = {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name: STORAGE_CLASS, annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
    provisioner: "kubernetes.io/host-path",
    reclaimPolicy: "Delete",
    volumeBindingMode: "Immediate",
  };
  execFileSync("kubectl", ["--kubeconfig", kubeconfig, "apply", "-f", "-"], { input: JSON.stringify(storageClass), stdio: ["pipe", "ignore", "pipe"], timeout: 30_000 });
}

interface NodeStatus {
  status?: { conditions?: { type: string; status: string }[] };
}

/**
 * A real Kubernetes node on this machine, registered with a ControlPlane started with
 * `node: { address }`: containerd (runc, bridge CNI), the kubelet, kube-proxy in iptables mode
 * and CoreDNS for `*.svc` names. The images of scripts/images are imported at start, so pods run
 * with imagePullPolicy Never and no registry. Everything it leaves on the machine is removed by
 * scripts/env/node-teardown.sh, on stop() or, if the owner dies, by the folder's guardian.
 */
export class Node {
  private constructor(
    readonly env: EnvDir,
    private readonly processes: ManagedProcesses,
    readonly address: string,
  ) {}

  /** The node's containerd client, on its socket. */
  ctr(...args: string[]): Buffer {
    return execFileSync(join(ensureNodeBinaries().containerdDir, "ctr"), ["--address", this.env.join("containerd.sock"), ...args], { stdio: "pipe" });
  }

  /** A second name for a loaded image: a pod of `target` runs the same content under a new reference. */
  tagImage(source: string, target: string): void {
    this.ctr("-n", "k8s.io", "images", "tag", "--force", source, target);
  }

  static async start(plane: ControlPlane, opts: { address: string; log?: (line: string) => void }): Promise<Node> {
    const log = opts.log ?? (() => {});
    const started = Date.now();
    const step = (what: string) => log(`node: ${what} after ${((Date.now() - started) / 1000).toFixed(1)}s`);
    const env = new EnvDir("node");
    const folder = env.path;
    // The guardian runs this if the owner dies; stop() runs it too.
    writeFileSync(env.join("cleanup.sh"), `exec bash ${teardownScript} ${folder} ${POD_NETWORK.bridge}\n`);
    try {
      takeLock(folder);
    } catch (err) {
      env.remove();
      throw err;
    }
    const processes = new ManagedProcesses(env);
    const node = new Node(env, processes, opts.address);
    try {
      await checkMachine();
      const bins = ensureNodeBinaries();
      const images = ensureImages(log);
      step("binaries and images ready");
      for (const dir of ["containerd", "cni", "ipam", "runc", "pod-logs", "static-pods", "kubelet"]) mkdirSync(env.join(dir), { recursive: true });
      writeFileSync(env.join("containerd.toml"), containerdConfig(folder, bins));
      writeFileSync(env.join("cni", "10-bloodraven.conflist"), cniConfig(folder));
      // The bridge exists before the first pod, so CoreDNS can bind to its address.
      execFileSync("ip", ["link", "add", POD_NETWORK.bridge, "type", "bridge"]);
      execFileSync("ip", ["addr", "add", `${POD_NETWORK.gateway}/24`, "dev", POD_NETWORK.bridge]);
      execFileSync("ip", ["link", "set", POD_NETWORK.bridge, "up"]);
      execFileSync("sysctl", ["-qw", "net.ipv4.ip_forward=1", "net.bridge.bridge-nf-call-iptables=1"]);
      // containerd finds its shim on PATH.
      processes.start("containerd", join(bins.containerdDir, "containerd"), ["--config", env.join("containerd.toml")], {
        PATH: `${bins.containerdDir}:${process.env.PATH ?? ""}`,
      });
      const ctr = (...args: string[]) => node.ctr(...args);
      await waitFor("containerd", async () => (ctr("version"), true), 30_000, 100);
      step("containerd up");
      for (const tarball of Object.values(images)) ctr("-n", "k8s.io", "images", "import", tarball);
      step("images imported");

      writeFileSync(env.join("kubelet.yaml"), kubeletConfig(folder));
      processes.start("kubelet", bins.kubelet, [
        `--config=${env.join("kubelet.yaml")}`,
        `--kubeconfig=${plane.kubeconfigPath}`,
        `--root-dir=${env.join("kubelet")}`,
        `--cert-dir=${env.join("kubelet", "pki")}`,
        `--hostname-override=${NODE_NAME}`,
        `--node-ip=${opts.address}`,
        "--v=1",
      ]);
      writeFileSync(env.join("kube-proxy.yaml"), kubeProxyConfig(plane.kubeconfigPath));
      processes.start("kube-proxy", bins.kubeProxy, [`--config=${env.join("kube-proxy.yaml")}`, "--v=1"]);
      writeFileSync(env.join("Corefile"), corefile(plane.kubeconfigPath));
      processes.start("coredns", bins.coredns, ["-conf", env.join("Corefile")]);

      await waitFor(
        `node ${NODE_NAME} Ready (kubelet log: ${env.join("kubelet.log")})`,
        async () => (await plane.getObject<NodeStatus>(`/api/v1/nodes/${NODE_NAME}`))?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
        90_000,
        200,
      );
      step("node Ready");
      // Pods are refused until the token controller has created the namespace's ServiceAccount.
      await waitFor("the default ServiceAccount", async () => plane.getObject("/api/v1/namespaces/default/serviceaccounts/default"), 60_000, 200);
      step("default ServiceAccount exists");
      installStorageClass(plane.kubeconfigPath);
    } catch (err) {
      await node.stop();
      throw err;
    }
    return node;
  }

  logTail(name: string, lines = 40): string {
    return this.processes.logTail(name, lines);
  }

  /** Stops the node's servers and removes every trace of it from the machine; throws naming any that remains. */
  async stop(): Promise<void> {
    await this.processes.stop(2_000);
    execFileSync("bash", [teardownScript, this.env.path, POD_NETWORK.bridge], { stdio: "ignore", timeout: 120_000 });
    this.env.remove();
    const left = nodeLeftovers(this.env.path);
    if (left.length > 0) throw new Error(`the test node left traces on the machine:\n  - ${left.join("\n  - ")}`);
  }
}

/** What a node leaves on the machine if its teardown missed something; empty after a clean stop. */
export function nodeLeftovers(folder: string): string[] {
  const left: string[] = [];
  if (existsSync(`/sys/class/net/${POD_NETWORK.bridge}`)) left.push(`network interface ${POD_NETWORK.bridge}`);
  for (const table of ["filter", "nat"]) {
    const chains = execFileSync("iptables", ["-w", "-t", table, "-S"], { encoding: "utf8" })
      .split("\n")
      .filter((l) => /^-N (KUBE|CNI)-/.test(l));
    if (chains.length > 0) left.push(`iptables ${table} chains ${chains.map((c) => c.slice(3)).join(", ")}`);
  }
  const cgroups = execFileSync("find", ["/sys/fs/cgroup", "-maxdepth", "2", "-name", "kubepods"], { encoding: "utf8" }).trim();
  if (cgroups) left.push(`cgroups ${cgroups.split("\n").join(", ")}`);
  for (const path of [folder, LOCK_FILE, "/tmp/hostpath_pv", "/var/lib/kubelet"]) if (existsSync(path)) left.push(path);
  if (readFileSync("/proc/self/mounts", "utf8").includes(folder)) left.push(`mounts below ${folder}`);
  return left;
}
