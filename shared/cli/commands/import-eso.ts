import type { Command } from 'commander';

/**
 * Placeholder registered by the CLI until the templates engineer lands the real
 * `import-eso` (this file is theirs; the CLI never overwrites it).
 */
export function register(program: Command): void {
  program
    .command('import-eso')
    .description('convert ExternalSecret manifests into registry bindings (not available yet)')
    .allowUnknownOption()
    .action(() => {
      throw new Error('import-eso is not available yet');
    });
}
