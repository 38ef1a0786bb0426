import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { EnvDir } from "./env-dir.js";
import { freePort, waitFor } from "./ports.js";

/** Pinned Kubernetes release; scripts/control-plane/go.mod builds exactly this. */
export const KUBERNETES_VERSION = "v1.35.4";

const buildScript = fileURLToPath(new URL("../control-plane/build.sh", import.meta.url));

export function controlPlaneBinDir(): string {
  return process.env.BLOODRAVEN_K8S_BIN ?? join(homedir(), ".cache", "bloodraven", `k8s-${KUBERNETES_VERSION}`);
}

/** Builds etcd, kube-apiserver and kube-controller-manager with the machine's Go unless cached. */
export function ensureControlPlaneBinaries(): string {
  const dir = controlPlaneBinDir();
  const names = ["etcd", "kube-apiserver", "kube-controller-manager"];
  if (names.every((n) => existsSync(join(dir, n)))) return dir;
  execFileSync("bash", [buildScript], { stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, BLOODRAVEN_K8S_BIN: dir } });
  return dir;
}

/** GET with the admin token against the self-signed serving certificate; resolves the status code. */
function probe(url: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { Authorization: `Bearer ${token}` }, rejectUnauthorized: false, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("timeout", () => req.destroy(new Error("probe timed out")));
    req.on("error", reject);
    req.end();
  });
}

/**
 * A real etcd + kube-apiserver (+ kube-controller-manager running only the garbage-collector and
 * namespace controllers), started the way envtest does it: self-signed serving certs, generated
 * service-account keys, a static admin token in system:masters, RBAC, loopback ports.
 */
export class ControlPlane {
  private readonly children: ChildProcess[] = [];

  private constructor(
    readonly env: EnvDir,
    readonly apiServerUrl: string,
    readonly adminToken: string,
    readonly kubeconfigPath: string,
  ) {}

  static async start(opts: { controllerManager?: boolean } = {}): Promise<ControlPlane> {
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
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        "--service-cluster-ip-range=10.0.0.0/24",
        "--allow-privileged=true",
        // No controller creates default ServiceAccounts here, so the admission plugin would refuse pods.
        "--disable-admission-plugins=ServiceAccount",
        "--authorization-mode=RBAC",
        `--token-auth-file=${join(certDir, "tokens.csv")}`,
        `--service-account-issuer=${apiServerUrl}/`,
        `--service-account-key-file=${join(certDir, "sa.pub")}`,
        `--service-account-signing-key-file=${join(certDir, "sa.key")}`,
        "--v=1",
      ]);
      await waitFor("kube-apiserver /readyz", async () => (await probe(`${apiServerUrl}/readyz`, token)) === 200, 60_000, 100);
      if (opts.controllerManager ?? true) {
        plane.spawn("kube-controller-manager", join(bin, "kube-controller-manager"), [
          `--kubeconfig=${kubeconfigPath}`,
          "--controllers=garbage-collector-controller,namespace-controller",
          "--leader-elect=false",
          "--use-service-account-credentials=false",
          "--secure-port=0",
          "--v=1",
        ]);
      }
    } catch (err) {
      await plane.stop();
      throw err;
    }
    return plane;
  }

  private spawn(name: string, binary: string, args: string[]): void {
    const log = openSync(this.env.join(`${name}.log`), "a");
    // Every command line names a path inside the env folder, which the guardian checks before killing.
    const child = spawn(binary, args, { stdio: ["ignore", log, log] });
    if (child.pid === undefined) throw new Error(`could not start ${name}`);
    writeFileSync(this.env.join(`${name}.pid`), String(child.pid));
    child.once("exit", (code, signal) => {
      if (!this.stopping) process.stderr.write(`${name} exited unexpectedly (code ${code}, signal ${signal}); log: ${this.env.join(`${name}.log`)}\n`);
    });
    this.children.push(child);
  }

  private stopping = false;

  logTail(name: string, lines = 40): string {
    try {
      return readFileSync(this.env.join(`${name}.log`), "utf8").split("\n").slice(-lines).join("\n");
    } catch {
      return "";
    }
  }

  /** Stops the processes (controller-manager and apiserver before etcd) and removes the folder. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const child of [...this.children].reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
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
