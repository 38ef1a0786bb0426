import { Command } from "commander";
import { COMMIT, VERSION } from "../shared/version.js";
import { agentFlagsHelp, parseAgentConfig } from "./agent/config.js";
import { installAgent, installFlagsHelp, parseInstallConfig } from "./agent/install.js";
import {
  backupJobFlagsHelp,
  deleteJobFlagsHelp,
  parseBackupJobConfig,
  parseDeleteJobConfig,
  parseReplayJobConfig,
  parseRestoreJobConfig,
  parseStageRestoreJobConfig,
  parseTriggerConfig,
  parseVerificationTriggerConfig,
  parseVerifyJobConfig,
  replayJobFlagsHelp,
  restoreJobFlagsHelp,
  stageRestoreJobFlagsHelp,
  loadRestoreJobFlagsHelp,
  parseLoadRestoreJobConfig,
  triggerFlagsHelp,
  verificationTriggerFlagsHelp,
  verifyJobFlagsHelp,
} from "./backup/job-config.js";
import { ConfigError, operatorFlagsHelp, parseOperatorConfig } from "./config.js";

/** Entry point of dist/bloodraven.mjs: the operator process, and the per-site agent (the sidecar). */
const program = new Command("bloodraven").description("Bloodraven: keeps MySQL failover groups alive.");

program
  .command("version")
  .description("print the operator version")
  .action(() => {
    process.stdout.write(`bloodraven ${VERSION} (commit ${COMMIT}, node ${process.version})\n`);
  });

type Parse<C> = (argv: string[], env: NodeJS.ProcessEnv) => C;

/** A subcommand with its own flag parser: bad flags print the error and the flag list and exit 2. */
function subcommand<C>(name: string, description: string, help: () => string, parse: Parse<C>, action: (config: C) => Promise<void>): void {
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
      await action(config);
    });
}

/** A long-running subcommand: SIGTERM and SIGINT stop the service once, then the process exits 0. */
function service<C>(name: string, description: string, help: () => string, parse: Parse<C>, run: (config: C) => Promise<{ start(): Promise<unknown>; stop(): Promise<void>; finished?(): Promise<void> }>): void {
  subcommand(name, description, help, parse, async (config) => {
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

/**
 * A one-shot subcommand (what a Job runs): the run's exit code is the process's. SIGTERM and
 * SIGINT abort the run, which still writes its result before the process exits.
 */
function task<C>(name: string, description: string, help: () => string, parse: Parse<C>, run: (config: C, signal: AbortSignal) => Promise<number>): void {
  subcommand(name, description, help, parse, async (config) => {
    const abort = new AbortController();
    const stop = (signal: NodeJS.Signals) => abort.abort(new Error(`${signal} received`));
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
    const code = await run(config, abort.signal);
    // Sockets or timers the run left open must not hold the pod past its result.
    process.exit(code);
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

task("install-agent", "copy Node.js and this bundle into a folder, for a managed site's sidecar (its init container runs this)", installFlagsHelp, parseInstallConfig, async (config) => {
  await installAgent(config.target);
  return 0;
});

task("backup", "take one backup of a group's site into the store (what a backup Job runs)", backupJobFlagsHelp, parseBackupJobConfig, async (config, signal) => {
  const { runBackupJob } = await import("./backup/job.js");
  return runBackupJob(config, signal);
});

task("restore", "restore one backup from the store into an empty folder (what a restore Job runs)", restoreJobFlagsHelp, parseRestoreJobConfig, async (config, signal) => {
  const { runRestoreJob } = await import("./backup/job.js");
  return runRestoreJob(config, signal);
});

task("stage-restore", "restore one backup, to a point in time, beside a site's datadir for its next start (what a group's initFromBackup Job runs)", stageRestoreJobFlagsHelp, parseStageRestoreJobConfig, async (config, signal) => {
  const { runStageRestoreJob } = await import("./backup/job.js");
  return runStageRestoreJob(config, signal);
});

task("load-restore", "load one MySQL site's dump, to a point in time, into the site's running, fenced server (what a MySQL site's restore Job runs)", loadRestoreJobFlagsHelp, parseLoadRestoreJobConfig, async (config, signal) => {
  const { runLoadRestoreJob } = await import("./backup/job.js");
  return runLoadRestoreJob(config, signal);
});

task("delete-backup", "delete one backup's artifact from the store, its manifest first (what a cleanup Job runs)", deleteJobFlagsHelp, parseDeleteJobConfig, async (config, signal) => {
  const { runDeleteJob } = await import("./backup/job.js");
  return runDeleteJob(config, signal);
});

task("replay", "replay the archived binary logs onto a server started on a restored backup, up to a time (point-in-time recovery)", replayJobFlagsHelp, parseReplayJobConfig, async (config, signal) => {
  const { runReplayJob } = await import("./backup/job.js");
  return runReplayJob(config, signal);
});

task("verify", "prove one backup restorable: restore it, start a server on it, optionally replay the archive, run a sanity query (what a verification Job runs)", verifyJobFlagsHelp, parseVerifyJobConfig, async (config, signal) => {
  const { runVerifyJob } = await import("./backup/job.js");
  return runVerifyJob(config, signal);
});

task("trigger-verification", "create the MysqlBackupVerification of one run of a profile's verification schedule (what its CronJob runs)", verificationTriggerFlagsHelp, parseVerificationTriggerConfig, async (config, signal) => {
  const { runVerificationTrigger } = await import("./backup/trigger.js");
  return runVerificationTrigger(config, signal);
});

task("trigger-backup", "create the MysqlBackup of one run of a backup schedule (what its CronJob runs)", triggerFlagsHelp, parseTriggerConfig, async (config, signal) => {
  const { runTrigger } = await import("./backup/trigger.js");
  return runTrigger(config, signal);
});

await program.parseAsync(process.argv);
