import { Option, type Command } from 'commander';
import type { PlannedTarget } from '../../engine/types.js';
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
import { renderTable } from '../table.js';

interface PlanOptions extends GlobalOptions {
  binding?: string[];
  output: 'table' | 'json';
}

/** Sorts by cluster, namespace, secret so the plan reads per cluster. */
function byLocation(a: PlannedTarget, b: PlannedTarget): number {
  return (
    a.cluster.localeCompare(b.cluster) ||
    a.namespace.localeCompare(b.namespace) ||
    a.secret.localeCompare(b.secret)
  );
}

/** `plan`: what `sync` would do per cluster / namespace / Secret, without writing anything. */
export function register(program: Command, io: CliIo = processIo): void {
  withCommonOptions(program.command('plan'))
    .description('show what sync would change per cluster, namespace and Secret (no writes)')
    .option('--binding <name>', 'only this binding (repeatable)', collect)
    .addOption(new Option('--output <format>', 'table or json').choices(['table', 'json']).default('table'))
    .action(async (options: PlanOptions) => {
      const loaded = loadRegistryOrExit(options);
      const bindings = options.binding ?? [];
      checkBindings(loaded, bindings);
      const runtime = await createCliRuntime(loaded, options, io);
      const planned = (await runtime.propagator.plan(bindings.length > 0 ? { bindings } : {})).sort(
        byLocation,
      );
      // Skip reasons are kebab-case words; a planning failure reads `<code>: <message>`.
      const unplanned = planned.filter(
        (t) => t.action === 'skip' && t.reason?.includes(': ') === true,
      ).length;
      const fail = () => {
        if (unplanned > 0)
          throw new CliExit(ExitCode.Failed, `plan incomplete: ${unplanned} target(s) could not be planned`);
      };
      if (options.output === 'json') {
        io.out(JSON.stringify({ targets: planned }, null, 2));
        fail();
        return;
      }
      if (planned.length === 0) {
        io.out('no targets: no binding selects a cluster');
        return;
      }
      io.out(
        renderTable(
          ['CLUSTER', 'NAMESPACE', 'SECRET', 'BINDING', 'ACTION', 'KEYS', 'DEPENDENTS'],
          planned.map((t) => [
            t.cluster,
            t.namespace,
            t.secret,
            t.binding,
            t.action === 'skip' && t.reason !== undefined ? `skip (${t.reason})` : t.action,
            t.changedKeys.join(',') || '-',
            t.dependents.map((d) => `${d.kind}/${d.name}`).join(',') || '-',
          ]),
        ),
      );
      const count = (action: PlannedTarget['action']) => planned.filter((t) => t.action === action).length;
      io.out(
        `\n${planned.length} target(s): ${count('create')} to create, ${count('update')} to update, ${count('unchanged')} unchanged, ${count('skip')} skipped`,
      );
      fail();
    });
}
