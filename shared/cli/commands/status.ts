import { writeFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import type { BindingStatus } from '../../engine/status.js';
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
import { createCliRuntime } from '../runtime.js';
import { clusterFilter } from '../selector.js';
import { statusHtml } from '../status-html.js';
import { needsAttention, onlyBehind, statusJson, statusText } from '../status-view.js';

interface StatusOptions extends GlobalOptions {
  binding?: string[];
  cluster?: string[];
  selector?: string;
  behind?: boolean;
  all?: boolean;
  output: 'table' | 'json' | 'html';
  out?: string;
}

/** Targets that are neither current nor skipped by design, plus bindings whose store could not be read. */
function attentionCount(bindings: readonly BindingStatus[]): number {
  return bindings.reduce(
    (n, b) => n + b.targets.filter(needsAttention).length + (b.error === undefined ? 0 : 1),
    0,
  );
}

/**
 * `status`: which store version every target Secret holds, from our annotations (one
 * listing per cluster and namespace, nothing written). Exit 0 when every selected target is
 * current (or skipped by design), 1 otherwise, so it can gate a pipeline.
 */
export function register(program: Command, io: CliIo = processIo): void {
  withCommonOptions(program.command('status'))
    .description('show which store version each cluster holds, per binding, and why not (no writes)')
    .option('--binding <name>', 'only this binding (repeatable)', collect)
    .option('--cluster <name>', 'only this cluster (repeatable)', collect)
    .option(
      '--selector <labels>',
      'only clusters whose registry labels match, e.g. env=prod,region!=eu-west-1',
    )
    .option('--behind', 'only what is not current')
    .option('--all', 'table: every target, not just the exceptions')
    .addOption(
      new Option('--output <format>', 'table, json or html (html needs --out)')
        .choices(['table', 'json', 'html'])
        .default('table'),
    )
    .option('--out <file>', 'where --output html writes its page')
    .action(async (options: StatusOptions) => {
      if (options.output === 'html' && (options.out === undefined || options.out === ''))
        throw new CliExit(
          ExitCode.InvalidInput,
          '--output html needs --out <file> (the page is written there)',
        );
      const loaded = loadRegistryOrExit(options);
      const bindings = options.binding ?? [];
      checkBindings(loaded, bindings);
      const clusters = clusterFilter(loaded.registry.clusters, options.cluster, options.selector);
      const runtime = await createCliRuntime(loaded, options, io);
      const found = await runtime.propagator.status({
        ...(bindings.length > 0 ? { bindings } : {}),
        ...(clusters === undefined ? {} : { clusters }),
      });
      // A binding selecting none of the chosen clusters has nothing to say.
      const relevant = found.filter((b) => b.targets.length > 0 || b.error !== undefined);
      const shown = options.behind === true ? onlyBehind(relevant) : relevant;
      const now = new Date();
      if (options.output === 'json') io.out(statusJson(shown, now));
      else if (options.output === 'html') {
        await writeFile(options.out ?? '', statusHtml(shown, now));
        io.out(`wrote ${options.out ?? ''}`);
      } else io.out(statusText(shown, options.all === true));
      const attention = attentionCount(relevant);
      if (attention > 0)
        throw new CliExit(
          ExitCode.Failed,
          `${attention} target(s) or binding(s) not at the store's current version`,
        );
    });
}
