import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import pLimit from 'p-limit';
import type { ChangeReport } from '../../engine/types.js';
import {
  CliExit,
  ExitCode,
  checkBindings,
  loadRegistryOrExit,
  processIo,
  type CliIo,
  type GlobalOptions,
} from '../context.js';
import { collect, withCommonOptions } from '../options.js';
import { hasFailures, targetsTable, totalsLine, totalsOf } from '../report.js';
import { createCliRuntime } from '../runtime.js';
import { formatMs } from '../table.js';

interface SyncOptions extends GlobalOptions {
  binding?: string[];
  progress?: boolean;
}

/** Bindings reconciled at once; each binding already applies its own targets concurrently. */
const BINDING_CONCURRENCY = 4;

function bindingLine(report: ChangeReport): string {
  const c = report.counts;
  if (report.error !== undefined) return `${report.binding}: ${report.error.code}: ${report.error.message}`;
  return (
    `${report.binding}: ${report.targets.length} target(s), ${c.created} created, ${c.updated} updated, ${c.unchanged} unchanged, ` +
    `${c.skipped} skipped, ${c.failed} failed, ${report.restarts} restart(s) (${formatMs(report.durationMs)})`
  );
}

/** `sync`: converge bindings to their sources' current values now, then print a summary table. */
export function register(program: Command, io: CliIo = processIo): void {
  withCommonOptions(program.command('sync'))
    .description('apply now: converge one binding (--binding) or all to the current source values')
    .option('--binding <name>', 'only this binding (repeatable)', collect)
    .option('--no-progress', 'plain lines even on a terminal')
    .action(async (options: SyncOptions) => {
      const started = Date.now();
      const loaded = loadRegistryOrExit(options);
      const names = options.binding ?? loaded.registry.bindings.map((b) => b.name);
      checkBindings(loaded, names);
      // While the progress bar owns the terminal, log lines wait and are printed after it.
      const heldLogs: string[] = [];
      let holdLogs = io.isTTY && options.progress !== false;
      const logIo: CliIo = { ...io, err: (text) => (holdLogs ? heldLogs.push(text) : io.err(text)) };
      const runtime = await createCliRuntime(loaded, options, logIo);

      const bar =
        io.isTTY && options.progress !== false
          ? new SingleBar({
              format: 'sync [{bar}] {value}/{total} bindings | {targets} targets | {failed} failed',
              hideCursor: true,
              clearOnComplete: true,
              stream: process.stdout,
            })
          : undefined;
      let targets = 0;
      let failed = 0;
      bar?.start(names.length, 0, { targets, failed });
      const limit = pLimit(BINDING_CONCURRENCY);
      const reports = (
        await Promise.all(
          names.map((name) =>
            limit(async () => {
              const done = await runtime.propagator.reconcile({ bindings: [name] });
              for (const report of done) {
                targets += report.targets.length;
                failed += report.counts.failed + (report.error === undefined ? 0 : 1);
                if (bar === undefined) io.out(bindingLine(report));
              }
              bar?.increment(1, { targets, failed });
              return done;
            }),
          ),
        )
      ).flat();
      bar?.stop();
      holdLogs = false;
      for (const line of heldLogs) io.err(line);
      if (bar !== undefined) for (const report of reports) io.out(bindingLine(report));

      const totals = totalsOf(reports);
      io.out('');
      io.out(targetsTable(reports));
      io.out('');
      io.out(totalsLine(totals, Date.now() - started));
      if (hasFailures(totals)) {
        const failedTargets = totals.counts.failed;
        const reason =
          failedTargets > 0
            ? `${failedTargets} target(s) failed`
            : totals.bindingErrors.length > 0
              ? `${totals.bindingErrors.length} binding(s) failed`
              : `${totals.failedRestarts} restart(s) failed`;
        throw new CliExit(ExitCode.Failed, `sync incomplete: ${reason}`);
      }
    });
}
