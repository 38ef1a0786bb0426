import { Command } from "commander";
import { COMMIT, VERSION } from "../shared/version.js";
import { agentFlagsHelp, parseAgentConfig } from "./agent/config.js";
import { ConfigError, operatorFlagsHelp, parseOperatorConfig } from "./config.js";

/** Entry point of dist/bloodraven.mjs: the operator process, and the per-site agent (the sidecar). */
const program = new Command("bloodraven").description("Bloodraven: keeps MySQL failover groups alive.");

program
  .command("version")
  .description("print the operator version")
  .action(() => {
    process.stdout.write(`bloodraven ${VERSION} (commit ${COMMIT}, node ${process.version})\n`);
  });

/**
 * A long-running subcommand with its own flag parser: bad flags print the error and the flag list
 * and exit 2; SIGTERM and SIGINT stop the service once, then the process exits 0.
 */
function service<C>(name: string, description: string, help: () => string, parse: (argv: string[], env: NodeJS.ProcessEnv) => C, run: (config: C) => Promise<{ start(): Promise<unknown>; stop(): Promise<void>; finished?(): Promise<void> }>): void {
  program
    .command(name)
    .description(description)
    .helpOption("-h, --help", `show the ${name}'s flags`)
    .allowUnknownOption()
    .allowExcessArguments()
    .addHelpText("after", `\n${help()}`)
    .action(async (_opts: unknown, command: Command) => {
      let config: C;
      try {
        config = parse(command.args, process.env);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        process.stderr.write(`error: ${err.message}\n${help()}\n`);
        process.exit(2);
      }
      const svc = await run(config);
      let stopping = false;
      const stop = () => {
        if (stopping) return;
        stopping = true;
        void svc.stop().then(() => process.exit(0));
      };
      process.on("SIGTERM", stop);
      process.on("SIGINT", stop);
      await svc.start();
      await svc.finished?.();
    });
}

service("operator", "run the operator: watch MysqlFailoverGroups, poll their sites, report status", operatorFlagsHelp, parseOperatorConfig, async (config) => {
  const { OperatorApp } = await import("./app.js");
  const app = new OperatorApp(config);
  return { start: () => app.start(), stop: () => app.shutdown() };
});

service("agent", "run the per-site agent beside one server: startup safety net, self-fencing, peer view", agentFlagsHelp, parseAgentConfig, async (config) => {
  const [{ Agent }, { createLogger }] = await Promise.all([import("./agent/agent.js"), import("./log.js")]);
  return new Agent(config, createLogger({ level: config.logLevel }));
});

await program.parseAsync(process.argv);
