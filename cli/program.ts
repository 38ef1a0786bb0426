import { Command, Option } from "commander";
import { COMMIT, VERSION } from "../shared/version.js";
import { registerBackupCommand } from "./commands/backup.js";
import { registerCompletionCommand } from "./commands/completion.js";
import { registerFailoverCommand } from "./commands/failover.js";
import { registerGtidCommands } from "./commands/gtid.js";
import { registerLogsCommand } from "./commands/logs.js";
import { registerReportCommand } from "./commands/report.js";
import { registerRestoreCommand } from "./commands/restore.js";
import { registerMaintenanceCommand } from "./commands/maintenance.js";
import { registerRecloneCommand } from "./commands/reclone.js";
import { registerRunbookCommand } from "./commands/runbook.js";
import { registerStatusCommand } from "./commands/status.js";
import { registerVerifyBackupCommand } from "./commands/verify-backup.js";
import { connectionSettings } from "./kube-context.js";

/** A repeatable flag's values, in order. */
const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/**
 * Builds the kubectl-bloodraven command tree. Commands that talk to the API server import the
 * Kubernetes client lazily, so `--help`, `version` and `gtid` start fast.
 */
export function buildProgram(): Command {
  // Named as users type it: kubectl finds the plugin as kubectl-bloodraven on PATH.
  const program = new Command("kubectl bloodraven")
    .usage("[command] [flags]")
    .description("Operate Bloodraven MySQL failover groups from kubectl.")
    .optionsGroup("Global flags (kubectl's, with kubectl's meaning; accepted before or after the command):")
    .addOption(new Option("--kubeconfig <path>", "path to the kubeconfig file ($KUBECONFIG may list several, merged as kubectl merges them)").env("KUBECONFIG"))
    .addOption(new Option("--context <name>", "the kubeconfig context to use"))
    .addOption(new Option("-n, --namespace <namespace>", "namespace of the failover group (default: the context's)"))
    .addOption(new Option("--server <url>", "the API server's address, in place of the context's cluster's"))
    .addOption(new Option("--certificate-authority <path>", "CA file to verify the API server's certificate with"))
    .addOption(new Option("--insecure-skip-tls-verify", "do not verify the API server's certificate (insecure)"))
    .addOption(new Option("--token <token>", "bearer token, in place of the context user's credentials"))
    .addOption(new Option("--as <user>", "user to impersonate for every request"))
    .addOption(new Option("--as-group <group>", "group to impersonate; repeat for several (needs --as)").argParser(collect))
    .addOption(new Option("--as-uid <uid>", "UID to impersonate (needs --as)"))
    .addOption(new Option("--request-timeout <duration>", "deadline for each API request: seconds or a duration, 0 for none").default("30s"))
    .addOption(new Option("-v, --v <level>", "log level; 6 and up prints each API request to stderr"))
    .showHelpAfterError("(run with --help for usage)")
    .enablePositionalOptions(false)
    .configureHelp({ sortSubcommands: true, showGlobalOptions: true })
    // Before any subcommand exists: commander copies this to subcommands as they are created,
    // so usage errors anywhere reach main() and exit 2 instead of process.exit(1).
    .exitOverride()
    // kubectl refuses a bad global flag whatever the command; so does the plugin, before it acts.
    .hook("preAction", (_program, action) => void connectionSettings(action));

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
  registerRestoreCommand(program);
  registerRecloneCommand(program);
  registerMaintenanceCommand(program);
  registerBackupCommand(program);
  registerVerifyBackupCommand(program);
  registerLogsCommand(program);
  registerReportCommand(program);
  registerRunbookCommand(program);
  registerCompletionCommand(program);
  return program;
}
