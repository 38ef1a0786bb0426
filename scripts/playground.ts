/**
 * The playground: a local control plane, three real MariaDB sites and a MysqlFailoverGroup whose
 * external-endpoint sites point at them. Reads site commands from the terminal; Ctrl-C (or `quit`)
 * tears everything down. Started by `npm run playground`, which installs what is missing first.
 */
import { execFileSync, spawn } from "node:child_process";
import { createWriteStream, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { ControlPlane } from "./env/control-plane.js";
import { MariaDbSites, TEST_USERS, type MariaDbSite } from "./env/mariadb-sites.js";
import { freePort } from "./env/ports.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const GROUP = "orders";
const NAMESPACE = "default";

function groupManifest(sites: MariaDbSites): string {
  const [iad, pdx, sfo] = ["iad", "pdx", "sfo"].map((n) => sites.site(n));
  const site = (s: MariaDbSite | undefined, role: string) => `    - name: ${s?.name}\n      role: ${role}\n      endpoint: {host: 127.0.0.1, port: ${s?.port}}\n`;
  return `apiVersion: v1
kind: Secret
metadata: {name: ${GROUP}-operator, namespace: ${NAMESPACE}}
stringData: {username: ${TEST_USERS.operator.user}, password: ${TEST_USERS.operator.password}}
---
apiVersion: v1
kind: Secret
metadata: {name: ${GROUP}-replication, namespace: ${NAMESPACE}}
stringData: {username: ${TEST_USERS.replication.user}, password: ${TEST_USERS.replication.password}}
---
apiVersion: shipstream.io/v1alpha1
kind: MysqlFailoverGroup
metadata: {name: ${GROUP}, namespace: ${NAMESPACE}}
spec:
  credentials:
    operator: {secretName: ${GROUP}-operator}
    replication: {secretName: ${GROUP}-replication}
  sites:
${site(iad, "primary-candidate")}${site(pdx, "primary-candidate")}${site(sfo, "read-only")}`;
}

const HELP = `site commands (type at the prompt):
  sites                 list sites with port, pid and state
  kill <site>           kill -9 the server (a crash)
  pause <site>          SIGSTOP (a hung server)      resume <site>   SIGCONT
  restart <site>        start a stopped/killed server with the same datadir, read-only
  write <site>          commit one row as the admin account (an errant write on a replica)
  quit                  tear everything down (same as Ctrl-C)`;

async function main(): Promise<void> {
  const started = Date.now();
  console.log("starting the control plane and three MariaDB sites ...");
  const [plane, sites] = await Promise.all([ControlPlane.start(), MariaDbSites.start({ names: ["iad", "pdx", "sfo"], primary: "iad" })]);
  const [metricsPort, healthPort, statusPort] = [await freePort(), await freePort(), await freePort()];
  const operatorLog = plane.env.join("operator.log");
  const operator = spawn(
    process.execPath,
    [`${root}dist/bloodraven.mjs`, "operator", `--kubeconfig=${plane.kubeconfigPath}`, "--bind-address=127.0.0.1", `--metrics-port=${metricsPort}`, `--health-port=${healthPort}`, `--status-port=${statusPort}`, "--identity=playground"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  // The control plane's guardian kills the operator too if the playground dies.
  writeFileSync(plane.env.join("operator.pid"), String(operator.pid));
  const logStream = createWriteStream(operatorLog);
  operator.stdout.pipe(logStream);
  operator.stderr.pipe(logStream);
  let closing = false;
  const teardown = async () => {
    if (closing) return;
    closing = true;
    console.log("\ntearing down ...");
    const exited = new Promise((resolve) => operator.once("exit", resolve));
    operator.kill("SIGTERM");
    await exited;
    await Promise.all([sites.teardown(), plane.stop()]);
    process.exit(0);
  };
  process.on("SIGINT", () => void teardown());
  process.on("SIGTERM", () => void teardown());

  const kubectl = (args: string[], input?: string) =>
    execFileSync("kubectl", args, { env: { ...process.env, KUBECONFIG: plane.kubeconfigPath }, input, encoding: "utf8", timeout: 60_000 });
  kubectl(["apply", "--server-side", "-f", `${root}crds`]);
  kubectl(["wait", "--for=condition=Established", "--timeout=30s", "crd", "--all"]);
  kubectl(["apply", "-f", "-"], groupManifest(sites));

  console.log(`\nplayground ready in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
  console.log(`  export KUBECONFIG=${plane.kubeconfigPath}`);
  console.log(`  export PATH=${root}dist:$PATH`);
  console.log(`  kubectl get mfg ${GROUP}`);
  console.log(`  kubectl get mfg ${GROUP} -o yaml`);
  console.log(`  kubectl get events --field-selector involvedObject.name=${GROUP}`);
  console.log(`\n  operator (pid ${operator.pid}), JSON log: ${operatorLog}`);
  console.log(`  curl -s http://127.0.0.1:${statusPort}/status`);
  console.log(`  curl -s "http://127.0.0.1:${statusPort}/active-site?namespace=${NAMESPACE}&group=${GROUP}"`);
  console.log(`  curl -s http://127.0.0.1:${metricsPort}/metrics | grep ^bloodraven_`);
  console.log(`  node -e 'new (require("ws"))("ws://127.0.0.1:${statusPort}/ws/status").on("message", (m) => console.log(String(m)))'`);
  console.log(`\n  MySQL admin: mariadb -h127.0.0.1 -P<port> -u${TEST_USERS.admin.user} -p${TEST_USERS.admin.password}`);
  console.log(`  app account (fenced by read_only): -u${TEST_USERS.app.user} -p${TEST_USERS.app.password}\n`);
  console.log(HELP);

  const rl = createInterface({ input: process.stdin, output: process.stdout, prompt: "playground> " });
  rl.on("close", () => void teardown());
  rl.prompt();
  for await (const line of rl) {
    const [command, name] = line.trim().split(/\s+/);
    try {
      await runCommand(sites, command ?? "", name);
    } catch (err) {
      console.log(`error: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (command === "quit") break;
    rl.prompt();
  }
}

async function runCommand(sites: MariaDbSites, command: string, name: string | undefined): Promise<void> {
  const site = () => {
    if (!name) throw new Error(`${command} needs a site name: ${sites.sites.map((s) => s.name).join(", ")}`);
    return sites.site(name);
  };
  switch (command) {
    case "":
      return;
    case "help":
      console.log(HELP);
      return;
    case "sites":
      for (const s of sites.sites) {
        const readOnly = s.running ? await s.isReadOnly().catch(() => undefined) : undefined;
        const state = !s.running ? "down" : readOnly === undefined ? "no answer" : readOnly ? "read-only" : "writable";
        console.log(`  ${s.name.padEnd(6)} 127.0.0.1:${s.port}  pid=${s.running ? s.pid : "-"}  ${state}`);
      }
      return;
    case "kill":
      await site().kill9();
      return;
    case "pause":
      await site().pause();
      return;
    case "resume":
      site().resume();
      return;
    case "restart":
      await site().restart({ readOnly: true });
      return;
    case "write":
      console.log(`  gtid_binlog_pos now ${await site().injectWrite("playground write")}`);
      return;
    case "quit":
      return;
    default:
      throw new Error(`unknown command ${JSON.stringify(command)}; type help`);
  }
}

await main();
