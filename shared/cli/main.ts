import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { ExitCode, describeFailure, processIo, type CliIo } from './context.js';
import { register as registerImportEso } from './commands/import-eso.js';
import { register as registerPlan } from './commands/plan.js';
import { register as registerPoll } from './commands/poll.js';
import { register as registerPublish } from './commands/publish.js';
import { register as registerRbac } from './commands/rbac.js';
import { register as registerRestart } from './commands/restart.js';
import { register as registerStatus } from './commands/status.js';
import { register as registerSync } from './commands/sync.js';
import { register as registerValidate } from './commands/validate.js';

/** The `secret-propagator` program with every command registered. */
export function buildProgram(io: CliIo = processIo): Command {
  const program = new Command('secret-propagator')
    .description(
      'Push secret changes from secret stores into the Kubernetes Secrets of a fleet, and restart what depends on them.',
    )
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .exitOverride();
  registerValidate(program, io);
  registerPlan(program, io);
  registerSync(program, io);
  registerRestart(program, io);
  registerStatus(program, io);
  registerPoll(program, io);
  registerRbac(program, io);
  registerImportEso(program, io);
  registerPublish(program, io);
  for (const command of program.commands) {
    command.exitOverride().configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
  }
  return program;
}

/**
 * Runs the CLI and resolves to its exit code: 0 ok, 1 failed targets, 2 invalid input
 * (bad registry, unknown binding, bad arguments). Failures print one line on stderr
 * (plus each registry problem as `path: reason`); never a stack trace or a value.
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ExitCode.Ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are "errors" to commander; usage mistakes are invalid input.
      return error.exitCode === 0 ? ExitCode.Ok : ExitCode.InvalidInput;
    }
    const failure = describeFailure(error);
    io.err(`secret-propagator: ${failure.message}`);
    for (const detail of failure.details) io.err(`  ${detail}`);
    return failure.exitCode;
  }
}

// `tsx shared/cli/main.ts ...` (npm run cli); bin/secret-propagator.js calls runCli itself.
const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  process.exitCode = await runCli(process.argv.slice(2));
}
