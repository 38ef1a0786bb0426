import { Command } from "commander";
import { COMMIT, VERSION } from "../shared/version.js";
import { ConfigError, operatorFlagsHelp, parseOperatorConfig } from "./config.js";

/** Entry point of dist/bloodraven.mjs: the operator process (and later the per-site sidecar). */
const program = new Command("bloodraven").description("Bloodraven: keeps MySQL failover groups alive.");

program
  .command("version")
  .description("print the operator version")
  .action(() => {
    process.stdout.write(`bloodraven ${VERSION} (commit ${COMMIT}, node ${process.version})\n`);
  });

program
  .command("operator")
  .description("run the operator: watch MysqlFailoverGroups, poll their sites, report status")
  .helpOption("-h, --help", "show the operator's flags")
  .allowUnknownOption()
  .allowExcessArguments()
  .addHelpText("after", `\n${operatorFlagsHelp()}`)
  .action(async (_opts: unknown, command: Command) => {
    let config;
    try {
      config = parseOperatorConfig(command.args, process.env);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      process.stderr.write(`error: ${err.message}\n${operatorFlagsHelp()}\n`);
      process.exit(2);
    }
    const { OperatorApp } = await import("./app.js");
    const app = new OperatorApp(config);
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      void app.shutdown().then(() => process.exit(0));
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
    await app.start();
  });

await program.parseAsync(process.argv);
