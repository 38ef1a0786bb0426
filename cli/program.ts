import { Command, Option } from "commander";
import { COMMIT, VERSION } from "../shared/version.js";
import { registerCompletionCommand } from "./commands/completion.js";
import { registerFailoverCommand } from "./commands/failover.js";
import { registerGtidCommands } from "./commands/gtid.js";
import { registerMaintenanceCommand } from "./commands/maintenance.js";
import { registerRecloneCommand } from "./commands/reclone.js";
import { registerRunbookCommand } from "./commands/runbook.js";
import { registerStatusCommand } from "./commands/status.js";

/**
 * Builds the kubectl-bloodraven command tree. Commands that talk to the API server import the
 * Kubernetes client lazily, so `--help`, `version` and `gtid` start fast.
 */
export function buildProgram(): Command {
  // Named as users type it: kubectl finds the plugin as kubectl-bloodraven on PATH.
  const program = new Command("kubectl bloodraven")
    .usage("[command] [flags]")
    .description("Operate Bloodraven MySQL failover groups from kubectl.")
    .addOption(new Option("--kubeconfig <path>", "path to the kubeconfig file").env("KUBECONFIG"))
    .addOption(new Option("--context <name>", "the kubeconfig context to use"))
    .addOption(new Option("-n, --namespace <namespace>", "namespace of the failover group (default: the context's)"))
    .addOption(new Option("--request-timeout <duration>", "deadline for each API request").default("30s"))
    .showHelpAfterError("(run with --help for usage)")
    .enablePositionalOptions(false)
    .configureHelp({ sortSubcommands: true, showGlobalOptions: true })
    // Before any subcommand exists: commander copies this to subcommands as they are created,
    // so usage errors anywhere reach main() and exit 2 instead of process.exit(1).
    .exitOverride();

  program
    .command("version")
    .description("print the plugin version")
    .option("--short", "print only the version number")
    .action((opts: { short?: boolean }) => {
      process.stdout.write(opts.short ? `${VERSION}\n` : `kubectl-bloodraven ${VERSION} (commit ${COMMIT}, node ${process.version})\n`);
    });

  registerGtidCommands(program);
  registerStatusCommand(program);
  registerFailoverCommand(program);
  registerRecloneCommand(program);
  registerMaintenanceCommand(program);
  registerRunbookCommand(program);
  registerCompletionCommand(program);
  return program;
}
