import { Option, type Command } from 'commander';

/** Options every command takes: where the registry is and how chatty the JSON logs on stderr are. */
export function withCommonOptions(command: Command): Command {
  return command
    .option('--registry <file>', 'registry YAML (default: $REGISTRY_FILE, then ./registry.yaml)')
    .addOption(
      new Option('--log-level <level>', 'JSON log lines on stderr at or above this level')
        .choices(['debug', 'info', 'warn', 'error'])
        .default('warn'),
    );
}

/** Repeated `--binding` values collect into a list. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
