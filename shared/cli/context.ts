import { existsSync } from 'node:fs';
import { Provider } from '../core/change.js';
import { ConfigError, isPropagatorError } from '../core/errors.js';
import type { ClusterAuthenticator, Logger, SecretSource } from '../core/ports.js';
import { loadRegistryFile, type LoadedRegistry, type SourceSpec } from '../registry/index.js';
import { createJsonLogger, type LogLevel } from '../telemetry/index.js';

/** Exit codes of every command (README "CLI"). */
export const ExitCode = { Ok: 0, Failed: 1, InvalidInput: 2 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Thrown by commands to stop with a one-line reason and an exit code. */
export class CliExit extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
    /** Extra lines printed after the reason (each registry problem, ...). */
    readonly details: readonly string[] = [],
  ) {
    super(message);
    this.name = 'CliExit';
  }
}

/** Where commands write; tests and `npm start` swap it. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Whether stdout is an interactive terminal (progress bars) or a pipe (plain lines). */
  isTTY: boolean;
}

export const processIo: CliIo = {
  out: (text) => void process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => void process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
  isTTY: process.stdout.isTTY && process.env['CI'] !== 'true',
};

export interface GlobalOptions {
  registry?: string;
  logLevel?: LogLevel;
}

/** `--registry`, else `REGISTRY_FILE`, else `./registry.yaml`. */
export function registryPath(options: GlobalOptions, env: NodeJS.ProcessEnv = process.env): string {
  if (options.registry !== undefined && options.registry !== '') return options.registry;
  const fromEnv = env['REGISTRY_FILE'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return 'registry.yaml';
}

/** Loads the registry or stops with exit 2 and every problem as `path: reason`. */
export function loadRegistryOrExit(options: GlobalOptions): LoadedRegistry {
  const path = registryPath(options);
  if (!existsSync(path)) {
    throw new CliExit(
      ExitCode.InvalidInput,
      `registry file ${path} not found (pass --registry <file> or set REGISTRY_FILE)`,
    );
  }
  try {
    return loadRegistryFile(path);
  } catch (error) {
    if (error instanceof ConfigError) {
      const headline = error.message.split('\n')[0] ?? error.message;
      throw new CliExit(ExitCode.InvalidInput, headline, error.issues);
    }
    throw error;
  }
}

/** Checks `--binding` names against the registry (exit 2 naming the known ones). */
export function checkBindings(loaded: LoadedRegistry, names: readonly string[]): void {
  const known = loaded.registry.bindings.map((b) => b.name);
  for (const name of names) {
    if (!known.includes(name)) {
      throw new CliExit(
        ExitCode.InvalidInput,
        `unknown binding "${name}" (known: ${known.join(', ') || 'none'})`,
      );
    }
  }
}

/** The CLI's logger: JSON lines on stderr, warnings and errors only unless `--log-level` says otherwise. */
export function cliLogger(options: GlobalOptions, io: CliIo): Logger {
  return createJsonLogger({
    write: (line) => io.err(line),
    level: options.logLevel ?? 'warn',
    base: { service: 'secret-propagator-cli' },
  });
}

type AnyFactory = (spec: SourceSpec, ctx: { baseDir: string; logger: Logger }) => SecretSource;

/**
 * Imports the source adapters the registry uses, and only those, so a slow or broken
 * cloud SDK never touches a registry that does not use it. Each adapter module exports
 * `<provider>SourceFactory` (contracts: Sources).
 */
export async function loadSourceFactories(
  loaded: LoadedRegistry,
): Promise<Partial<Record<Provider, AnyFactory>>> {
  const used = new Set(loaded.registry.sources.map((s) => s.provider));
  const factories: Partial<Record<Provider, AnyFactory>> = {};
  for (const provider of Object.values(Provider)) {
    if (!used.has(provider)) continue;
    let module: Record<string, unknown>;
    try {
      module = (await import(`../sources/${provider}/index.js`)) as Record<string, unknown>;
    } catch (error) {
      throw new CliExit(
        ExitCode.InvalidInput,
        `the ${provider} source adapter cannot be loaded: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
      );
    }
    const factory = module[`${provider}SourceFactory`];
    if (typeof factory !== 'function') {
      throw new CliExit(
        ExitCode.InvalidInput,
        `the ${provider} source adapter does not export ${provider}SourceFactory`,
      );
    }
    factories[provider] = factory as AnyFactory;
  }
  return factories;
}

/**
 * Cloud cluster authenticators (eks, aks, gke) for the auth types the registry uses,
 * imported lazily like the sources. Each module exports a factory named
 * `create<Type>Authenticator` taking no required options. `token` and `kubeconfig`
 * are built by the runtime from the registry's sources.
 */
export async function loadCloudAuthenticators(loaded: LoadedRegistry): Promise<ClusterAuthenticator[]> {
  const types = new Set(
    loaded.registry.clusters.map((c) => c.auth.type).filter((t) => t === 'eks' || t === 'aks' || t === 'gke'),
  );
  const out: ClusterAuthenticator[] = [];
  for (const type of types) {
    const exportName = `create${type.charAt(0).toUpperCase()}${type.slice(1)}Authenticator`;
    let module: Record<string, unknown>;
    try {
      module = (await import(`../kube/auth/${type}.js`)) as Record<string, unknown>;
    } catch (error) {
      throw new CliExit(
        ExitCode.InvalidInput,
        `the ${type} cluster authenticator cannot be loaded: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
      );
    }
    const create = module[exportName];
    if (typeof create !== 'function')
      throw new CliExit(ExitCode.InvalidInput, `shared/kube/auth/${type}.ts does not export ${exportName}`);
    out.push((create as (options: Record<string, never>) => ClusterAuthenticator)({}));
  }
  return out;
}

/** One line for any failure: the reason, never a stack and never a value. */
export function describeFailure(error: unknown): {
  exitCode: ExitCode;
  message: string;
  details: readonly string[];
} {
  if (error instanceof CliExit)
    return { exitCode: error.exitCode, message: error.message, details: error.details };
  if (error instanceof ConfigError) {
    return {
      exitCode: ExitCode.InvalidInput,
      message: error.message.split('\n')[0] ?? error.message,
      details: error.issues,
    };
  }
  if (isPropagatorError(error))
    return {
      exitCode: ExitCode.Failed,
      message: `${error.code}: ${error.message.split('\n')[0] ?? ''}`,
      details: [],
    };
  const message = error instanceof Error ? (error.message.split('\n')[0] ?? error.name) : String(error);
  return { exitCode: ExitCode.Failed, message, details: [] };
}
