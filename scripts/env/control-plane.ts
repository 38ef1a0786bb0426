import { execFileSync } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { cacheDir } from "./cache.js";
import { EnvDir } from "./env-dir.js";
import { freePort, waitFor } from "./ports.js";
import { ManagedProcesses } from "./processes.js";

/** Pinned Kubernetes release; scripts/control-plane/go.mod builds exactly this. */
export const KUBERNETES_VERSION = "v1.35.4";

const buildScript = fileURLToPath(new URL("../control-plane/build.sh", import.meta.url));

export function controlPlaneBinDir(): string {
  return process.env.BLOODRAVEN_K8S_BIN ?? cacheDir(`k8s-${KUBERNETES_VERSION}`);
}

/** Every binary scripts/control-plane/build.sh builds: the control plane's and the node's. */
const KUBE_BINARIES = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy"];

/** Builds the cluster's Kubernetes binaries with the machine's Go unless cached. */
export function ensureControlPlaneBinaries(): string {
  const dir = controlPlaneBinDir();
  if (KUBE_BINARIES.every((n) => existsSync(join(dir, n)))) return dir;
  execFileSync("bash", [buildScript], { stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, BLOODRAVEN_K8S_BIN: dir } });
  return dir;
}

/** GET with the admin token against the self-signed serving certificate. */
function get(url: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { Authorization: `Bearer ${token}` }, rejectUnauthorized: false, timeout: 2_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error("GET timed out")));
    req.on("error", reject);
    req.end();
  });
}

/**
 * Where the control plane serves. Without a node it listens on loopback only and no pod ever runs,
 * so the ServiceAccount admission plugin (which needs the token controller) is off. With a node
 * (scripts/env/node.ts), pods reach the API server through the `kubernetes` Service, which points
 * at the advertised address, and ServiceAccount tokens are signed and mounted for real.
 */
export interface ControlPlaneOptions {
  /** Start kube-controller-manager (default true). */
  controllerManager?: boolean;
  /** Serve a real node: the machine's address to advertise, every controller, the scheduler. */
  node?: { address: string };
}

/** ClusterIPs of Services; kube-proxy programs them on a node. */
export const SERVICE_CIDR = "10.0.0.0/24";

/**
 * A real etcd + kube-apiserver (+ kube-controller-manager running only the garbage-collector and
 * namespace controllers, or every controller and the scheduler for a node), started the way
 * envtest does it: self-signed serving certs, generated service-account keys, a static admin
 * token in system:masters, RBAC, loopback ports.
 */
export class ControlPlane {
  private readonly processes: ManagedProcesses;

  private constructor(
    readonly env: EnvDir,
    readonly apiServerUrl: string,
    readonly adminToken: string,
    readonly kubeconfigPath: string,
  ) {
    this.processes = new ManagedProcesses(env);
  }

  static async start(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
    const bin = ensureControlPlaneBinaries();
    const env = new EnvDir("k8s");
    const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const token = randomBytes(24).toString("hex");
    const apiServerUrl = `https://127.0.0.1:${apiPort}`;
    const kubeconfigPath = env.join("kubeconfig");
    const plane = new ControlPlane(env, apiServerUrl, token, kubeconfigPath);
    try {
      const certDir = env.join("certs");
      mkdirSync(certDir, { recursive: true });
      const { publicKey, privateKey } = generateKeyPairSync("rsa", {
        modulusLength: 2048,
        publicKeyEncoding: { type: "spki", format: "pem" },
        privateKeyEncoding: { type: "pkcs8", format: "pem" },
      });
      writeFileSync(join(certDir, "sa.pub"), publicKey);
      writeFileSync(join(certDir, "sa.key"), privateKey, { mode: 0o600 });
      writeFileSync(join(certDir, "tokens.csv"), `${token},admin,admin,"system:masters"\n`, { mode: 0o600 });
      writeFileSync(kubeconfigPath, kubeconfig(apiServerUrl, token), { mode: 0o600 });

      const etcdUrl = `http://127.0.0.1:${etcdPort}`;
      const peerUrl = `http://127.0.0.1:${peerPort}`;
      plane.spawn("etcd", join(bin, "etcd"), [
        "--name=default",
        `--data-dir=${env.join("etcd")}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=default=${peerUrl}`,
        "--unsafe-no-fsync=true",
        "--log-level=warn",
      ]);
      plane.spawn("kube-apiserver", join(bin, "kube-apiserver"), [
        `--etcd-servers=${etcdUrl}`,
        `--cert-dir=${certDir}`,
        `--secure-port=${apiPort}`,
        ...(opts.node
          ? [
              "--bind-address=0.0.0.0",
              `--advertise-address=${opts.node.address}`,
              // The kubelet registers its InternalIP; without this `kubectl logs` looks up the node's name.
              "--kubelet-preferred-address-types=InternalIP,Hostname",
            ]
          : [
              "--bind-address=127.0.0.1",
              "--advertise-address=127.0.0.1",
              // No controller creates default ServiceAccounts here, so the admission plugin would refuse pods.
              "--disable-admission-plugins=ServiceAccount",
            ]),
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        "--allow-privileged=true",
        "--authorization-mode=RBAC",
        `--token-auth-file=${join(certDir, "tokens.csv")}`,
        `--service-account-issuer=${apiServerUrl}/`,
        `--service-account-key-file=${join(certDir, "sa.pub")}`,
        `--service-account-signing-key-file=${join(certDir, "sa.key")}`,
        "--v=1",
      ]);
      await waitFor("kube-apiserver /readyz", async () => (await get(`${apiServerUrl}/readyz`, token)).status === 200, 60_000, 100);
      if (opts.controllerManager ?? true) {
        plane.spawn("kube-controller-manager", join(bin, "kube-controller-manager"), [
          `--kubeconfig=${kubeconfigPath}`,
          ...(opts.node
            ? [
                "--controllers=*",
                `--service-account-private-key-file=${join(certDir, "sa.key")}`,
                `--root-ca-file=${join(certDir, "apiserver.crt")}`,
                // Dynamic PersistentVolumes as host directories (/tmp/hostpath_pv/<uid>, a path the
                // controller hard-codes): a single-node cluster needs no CSI driver.
                "--enable-hostpath-provisioner=true",
              ]
            : ["--controllers=garbage-collector-controller,namespace-controller"]),
          "--leader-elect=false",
          "--use-service-account-credentials=false",
          "--secure-port=0",
          "--v=1",
        ]);
      }
      if (opts.node) {
        plane.spawn("kube-scheduler", join(bin, "kube-scheduler"), [`--kubeconfig=${kubeconfigPath}`, "--leader-elect=false", "--secure-port=0", "--v=1"]);
      }
    } catch (err) {
      await plane.stop();
      throw err;
    }
    return plane;
  }

  private spawn(name: string, binary: string, args: string[]): void {
    this.processes.start(name, binary, args);
  }

  logTail(name: string, lines = 40): string {
    return this.processes.logTail(name, lines);
  }

  /** An object from the API server, or undefined when it does not exist (404). */
  async getObject<T>(path: string): Promise<T | undefined> {
    const { status, body } = await get(`${this.apiServerUrl}${path}`, this.adminToken);
    if (status === 404) return undefined;
    if (status !== 200) throw new Error(`GET ${path}: HTTP ${status}: ${body.slice(0, 200)}`);
    return JSON.parse(body) as T;
  }

  /** Stops the processes (scheduler, controller-manager and apiserver before etcd) and removes the folder. */
  async stop(): Promise<void> {
    await this.processes.stop();
    this.env.remove();
  }
}

function kubeconfig(server: string, token: string): string {
  // The serving certificate is self-signed at start, so there is no CA to pin ahead of time.
  return `apiVersion: v1
kind: Config
clusters:
- name: bloodraven-test
  cluster:
    server: ${server}
    insecure-skip-tls-verify: true
users:
- name: admin
  user:
    token: ${token}
contexts:
- name: bloodraven-test
  context:
    cluster: bloodraven-test
    user: admin
    namespace: default
current-context: bloodraven-test
`;
}
