import { Command } from "commander";
import { COMMIT, VERSION } from "../shared/version.js";

/** Entry point of dist/bloodraven.mjs: the operator process (and later the per-site sidecar). */
const program = new Command("bloodraven").description("Bloodraven: keeps MySQL failover groups alive.");

program
  .command("version")
  .description("print the operator version")
  .action(() => {
    process.stdout.write(`bloodraven ${VERSION} (commit ${COMMIT}, node ${process.version})\n`);
  });

await program.parseAsync(process.argv);
