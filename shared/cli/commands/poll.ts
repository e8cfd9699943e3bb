import type { Command } from 'commander';
import {
  CliExit,
  ExitCode,
  loadRegistryOrExit,
  processIo,
  type CliIo,
  type GlobalOptions,
} from '../context.js';
import { withCommonOptions } from '../options.js';
import { hasFailures, targetsTable, totalsLine, totalsOf } from '../report.js';
import { createCliRuntime } from '../runtime.js';

interface PollOptions extends GlobalOptions {
  state?: string;
}

/**
 * `poll`: the scheduled Vault poll (open-source Vault sends no events). Reads version
 * metadata once per bound secret and propagates only the secrets whose current version
 * moved since the last poll; the last seen versions live in a small JSON state file.
 * Run it from cron or a CI schedule.
 */
export function register(program: Command, io: CliIo = processIo): void {
  withCommonOptions(program.command('poll'))
    .description('poll Vault sources for new versions and propagate what changed')
    .option(
      '--state <file>',
      'where the last seen versions are kept (default: VAULT_POLL_STATE_FILE or /tmp/secret-propagator/vault-poll-state.json)',
    )
    .action(async (options: PollOptions) => {
      const started = Date.now();
      const loaded = loadRegistryOrExit(options);
      const runtime = await createCliRuntime(loaded, options, io);
      const { createFilePollState, pollRegistryVaults } = await import('../../sources/vault/poll.js');
      const changes = await pollRegistryVaults({
        registry: loaded.registry,
        sources: runtime.sources,
        state: createFilePollState(options.state),
      });
      const reports = [];
      for (const change of changes) reports.push(...(await runtime.handle(change)));
      const totals = totalsOf(reports);
      if (reports.length > 0) {
        io.out(targetsTable(reports));
        io.out('');
      }
      io.out(`${changes.length} changed secret(s). ${totalsLine(totals, Date.now() - started)}`);
      if (reports.some((r) => r.error !== undefined) || hasFailures(totals)) {
        throw new CliExit(ExitCode.Failed, `poll incomplete: ${totals.counts.failed} target(s) failed`);
      }
    });
}
