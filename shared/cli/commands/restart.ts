import type { Command } from 'commander';
import {
  CliExit,
  ExitCode,
  checkBindings,
  loadRegistryOrExit,
  processIo,
  type CliIo,
  type GlobalOptions,
} from '../context.js';
import { withCommonOptions } from '../options.js';
import { hasFailures, targetsTable, totalsLine, totalsOf } from '../report.js';
import { createCliRuntime } from '../runtime.js';

interface RestartOptions extends GlobalOptions {
  binding: string;
}

/** `restart`: `kubectl rollout restart` of one binding's dependents in every target cluster. */
export function register(program: Command, io: CliIo = processIo): void {
  withCommonOptions(program.command('restart'))
    .description("rollout restart of a binding's dependent workloads in every target cluster")
    .requiredOption('--binding <name>', 'the binding whose dependents restart')
    .action(async (options: RestartOptions) => {
      const started = Date.now();
      const loaded = loadRegistryOrExit(options);
      checkBindings(loaded, [options.binding]);
      const runtime = await createCliRuntime(loaded, options, io);
      const report = await runtime.propagator.restart(options.binding);
      const totals = totalsOf([report]);
      io.out(targetsTable([report]));
      io.out('');
      io.out(totalsLine(totals, Date.now() - started));
      if (report.error !== undefined)
        throw new CliExit(ExitCode.Failed, `${report.error.code}: ${report.error.message}`);
      if (hasFailures(totals))
        throw new CliExit(
          ExitCode.Failed,
          `restart incomplete: ${totals.failedRestarts} restart(s) and ${totals.counts.failed} target(s) failed`,
        );
    });
}
