import type { Command } from 'commander';
import { withCommonOptions } from '../options.js';
import { loadRegistryOrExit, processIo, registryPath, type CliIo, type GlobalOptions } from '../context.js';

/**
 * `validate`: schema and cross-checks of the registry. Each problem is printed as
 * `path: reason`; exit 2 when there is any.
 */
export function register(program: Command, io: CliIo = processIo): void {
  withCommonOptions(program.command('validate'))
    .description('check the registry: schema, references, namespaces, duplicate targets (exit 2 on problems)')
    .action((options: GlobalOptions) => {
      const loaded = loadRegistryOrExit(options);
      const { clusters, sources, bindings } = loaded.registry;
      io.out(
        `registry ${registryPath(options)} is valid: ${clusters.length} cluster(s), ${sources.length} source(s), ${bindings.length} binding(s)`,
      );
    });
}
