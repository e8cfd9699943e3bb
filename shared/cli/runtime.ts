import type { LoadedRegistry } from '../registry/index.js';
import type { Runtime } from '../runtime/index.js';
import {
  cliLogger,
  loadCloudAuthenticators,
  loadSourceFactories,
  type CliIo,
  type GlobalOptions,
} from './context.js';

/** What the commands use of the runtime. */
export type CliRuntime = Pick<Runtime, 'propagator' | 'sources' | 'handle'>;

/**
 * The runtime a command works with: every source adapter and cloud authenticator the
 * registry uses, imported on demand (see `loadSourceFactories`).
 */
export async function createCliRuntime(
  loaded: LoadedRegistry,
  options: GlobalOptions,
  io: CliIo,
): Promise<CliRuntime> {
  // Imported here, not at the top: validate and rbac never load the engine or the Kubernetes client.
  const { createRuntime } = await import('../runtime/index.js');
  const [sources, authenticators] = await Promise.all([
    loadSourceFactories(loaded),
    loadCloudAuthenticators(loaded),
  ]);
  return createRuntime({ loaded, sources, authenticators, logger: cliLogger(options, io) });
}
