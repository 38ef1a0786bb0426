/**
 * The playground: a local cluster with one real node, the chart installed with the locally built
 * operator image (the operator runs in pods, as users run it), three real MariaDB servers on this
 * machine and a MysqlFailoverGroup whose external sites point at them. Reads site commands from
 * the terminal; Ctrl-C (or `quit`) tears everything down. Started by `npm run playground`, which
 * installs and builds what is missing first.
 */
import { execFileSync } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { CacheServers } from "./env/cache-servers.js";
import { ControlPlane } from "./env/control-plane.js";
import { EnvDir } from "./env/env-dir.js";
import { MariaDbSites, TEST_USERS } from "./env/mariadb-sites.js";
import { machineAddress, Node } from "./env/node.js";
import { Partitions } from "./playground/partitions.js";
import { CacheClient } from "../operator/dragonfly/cache-client.js";
import { observeCache } from "../operator/dragonfly/cache-server.js";
import { CACHE_PASSWORD, installSample, MANAGED_EXAMPLE, SAMPLE } from "./playground/sample.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const OPERATOR_NAMESPACE = "bloodraven-system";
const GROUP_NAMESPACE = "default";

const HELP = `site commands (type at the prompt):
  sites                 list sites with address, pid and state
  kill <site>           kill -9 the server (a crash)
  pause <site>          SIGSTOP (a hung server)      resume <site>   SIGCONT
  restart <site>        start a stopped/killed server with the same datadir, read-only
  partition <site>      drop the pods' packets to the server (the operator loses it; replication does not)
  heal <site>           undo partition
  write <site>          commit one row as the admin account (an errant write on a replica)
  caches                list the session cache servers (redis-server, as Dragonfly) with their roles
  kill-cache <site>     kill -9 the site's cache server    restart-cache <site>   start it again, empty
  pods                  kubectl get pods -A
  quit                  tear everything down (same as Ctrl-C)`;

async function main(): Promise<void> {
  const started = Date.now();
  const address = machineAddress();
  console.log(`starting the cluster (control plane + one node at ${address}), three MariaDB servers and two cache servers ...`);
  const [plane, sites, caches] = await Promise.all([
    ControlPlane.start({ node: { address } }),
    // Listening on the machine's address: the operator's pods reach it, loopback they would not.
    MariaDbSites.start({ names: ["iad", "pdx", "sfo"], primary: "iad", listenAddress: address }),
    CacheServers.start(["iad", "pdx"], { password: CACHE_PASSWORD, address }),
  ]);
  const env = new EnvDir("playground");
  const partitions = new Partitions(env);
  let node: Node | undefined;
  let closing = false;
  const teardown = async (code = 0) => {
    if (closing) return;
    closing = true;
    console.log("\ntearing down ...");
    partitions.healAll(sites);
    await node?.stop().catch((err: unknown) => console.log(String(err)));
    await Promise.all([sites.teardown(), caches.stop(), plane.stop()]);
    env.remove();
    process.exit(code);
  };
  process.on("SIGINT", () => void teardown());
  process.on("SIGTERM", () => void teardown());

  const kubectl = (args: string[]) => execFileSync("kubectl", args, { env: { ...process.env, KUBECONFIG: plane.kubeconfigPath }, encoding: "utf8", timeout: 60_000 });
  try {
    node = await Node.start(plane, { address, log: (line) => console.log(`  ${line}`) });
    kubectl(["apply", "--server-side", "-f", `${root}crds`]);
    kubectl(["wait", "--for=condition=Established", "--timeout=30s", "crd", "--all"]);
    console.log("installing the chart with the locally built operator image ...");
    await installSample({ kubeconfig: plane.kubeconfigPath, sites, caches, operatorNamespace: OPERATOR_NAMESPACE, groupNamespace: GROUP_NAMESPACE });
  } catch (err) {
    console.log(`error: ${err instanceof Error ? err.message : String(err)}`);
    await teardown(1);
    return;
  }

  console.log(`\nplayground ready in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
  console.log(`  export KUBECONFIG=${plane.kubeconfigPath}`);
  console.log(`  export PATH=${root}dist:$PATH`);
  console.log("  kubectl get pods -A");
  console.log(`  kubectl bloodraven status ${SAMPLE.group}`);
  console.log(`  kubectl get mfg ${SAMPLE.group} -o yaml`);
  console.log(`  kubectl get events --field-selector involvedObject.name=${SAMPLE.group}`);
  console.log(`  kubectl logs -n ${OPERATOR_NAMESPACE} -l app.kubernetes.io/instance=${SAMPLE.release} --prefix -f`);
  console.log(`  kubectl get lease -n ${OPERATOR_NAMESPACE}        # which pod leads`);
  console.log(`  kubectl bloodraven failover ${SAMPLE.group} pdx --wait   # the session cache master follows (see \`caches\`)`);
  console.log(`\n  a managed group (the operator runs its servers on the node):`);
  console.log(`  kubectl apply -f ${MANAGED_EXAMPLE.file}`);
  console.log(`  kubectl get pods,pvc,svc -l shipstream.io/failover-group=${MANAGED_EXAMPLE.group}`);
  console.log(`  kubectl bloodraven status ${MANAGED_EXAMPLE.group}`);
  console.log(`  kubectl bloodraven failover ${MANAGED_EXAMPLE.group} pdx --wait`);
  console.log(`  curl -s http://<leader pod IP>:8082/status     (pod IPs: kubectl get pods -n ${OPERATOR_NAMESPACE} -o wide)`);
  console.log(`\n  MySQL: mariadb -h${address} -P<port> -u${TEST_USERS.operator.user} -p${TEST_USERS.operator.password}`);
  console.log(`  app account (fenced by read_only): -u${TEST_USERS.app.user} -p${TEST_USERS.app.password}\n`);
  console.log(HELP);

  const rl = createInterface({ input: process.stdin, output: process.stdout, prompt: "playground> " });
  // Ctrl-C at the prompt, Ctrl-D and `quit` all end the loop below; the teardown follows the last command.
  rl.on("SIGINT", () => rl.close());
  rl.prompt();
  for await (const line of rl) {
    const [command, name] = line.trim().split(/\s+/);
    try {
      await runCommand({ sites, caches, partitions, kubectl }, command ?? "", name);
    } catch (err) {
      console.log(`error: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (command === "quit") break;
    rl.prompt();
  }
  await teardown();
}

interface Playground {
  sites: MariaDbSites;
  caches: CacheServers;
  partitions: Partitions;
  kubectl: (args: string[]) => string;
}

async function runCommand({ sites, caches, partitions, kubectl }: Playground, command: string, name: string | undefined): Promise<void> {
  const site = () => {
    if (!name) throw new Error(`${command} needs a site name: ${sites.sites.map((s) => s.name).join(", ")}`);
    return sites.site(name);
  };
  const cacheSite = (): string => {
    if (!name || !caches.servers.some((c) => c.name === name)) throw new Error(`${command} needs a site with a cache server: ${caches.servers.map((c) => c.name).join(", ")}`);
    return name;
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
        console.log(`  ${s.name.padEnd(6)} ${s.host}:${s.port}  pid=${s.running ? s.pid : "-"}  ${state}${partitions.isCut(s) ? "  (partitioned from the pods)" : ""}`);
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
    case "partition":
      partitions.partition(site());
      return;
    case "heal":
      partitions.heal(site());
      return;
    case "write":
      console.log(`  gtid_binlog_pos now ${await site().injectWrite("playground write")}`);
      return;
    case "pods":
      console.log(kubectl(["get", "pods", "-A", "-o", "wide"]));
      return;
    case "caches":
      for (const c of caches.servers) {
        const client = new CacheClient({ host: c.host, port: c.port }, { password: CACHE_PASSWORD, timeoutMs: 1_000 });
        const seen = await observeCache(client).then(
          (o) => `${o.role}${o.role === "replica" ? ` of :${o.masterPort ?? "?"} (link ${o.linkUp ? "up" : "down"})` : ""}, ${o.keys} keys`,
          (err: unknown) => `no answer (${err instanceof Error ? err.message : String(err)})`,
        );
        client.close();
        console.log(`  ${c.name.padEnd(6)} ${c.host}:${c.port}  ${seen}`);
      }
      return;
    case "kill-cache":
      await caches.get(cacheSite()).kill();
      return;
    case "restart-cache":
      await caches.get(cacheSite()).restart();
      return;
    case "quit":
      return;
    default:
      throw new Error(`unknown command ${JSON.stringify(command)}; type help`);
  }
}

await main();
