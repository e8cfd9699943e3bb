import type { TokenCredential } from '@azure/identity';
import { QueueClient, QueueServiceClient } from '@azure/storage-queue';
import type { ClusterAuthenticator, Logger, Metrics } from '../../shared/core/ports.js';
import type { WorkQueue } from '../../shared/engine/types.js';
import { createAksTokenAuthenticator } from '../../shared/kube/auth/aks-token.js';
import { loadRegistryFromEnv, type LoadedRegistry } from '../../shared/registry/load.js';
import { createRuntime, type Runtime, type SourceFactories } from '../../shared/runtime/index.js';
import { createAzureSourceFactory } from '../../shared/sources/azure/key-vault.js';
import { localSourceFactory } from '../../shared/sources/local/index.js';
import { createAzureHandlers, type AzureHandlers } from './handlers.js';
import { createManagedIdentityCredential } from './managed-identity.js';
import { createInvocationLogger, createLogMetrics } from './telemetry.js';
import { createStorageWorkQueue, DEFAULT_WORK_QUEUE } from './work-queue.js';

export { DEFAULT_WORK_QUEUE };

/** App settings the function reads (set by infra/azure). */
export const Setting = {
  /** Queue for fan-out work items. @default "secret-propagator-work" */
  WorkQueueName: 'WORK_QUEUE_NAME',
  /** Storage connection (the Functions host's own); or `AzureWebJobsStorage__queueServiceUri` with managed identity. */
  Storage: 'AzureWebJobsStorage',
  StorageQueueUri: 'AzureWebJobsStorage__queueServiceUri',
} as const;

/** The work queue from app settings: a connection string (Azurite, classic) or the identity-based queue URI. */
export function workQueueFromEnv(
  env: NodeJS.ProcessEnv,
  credential: () => TokenCredential,
): WorkQueue | undefined {
  const queueName = env[Setting.WorkQueueName] ?? DEFAULT_WORK_QUEUE;
  const connection = env[Setting.Storage];
  const serviceUri = env[Setting.StorageQueueUri];
  let client: QueueClient | undefined;
  if (connection !== undefined && connection !== '') client = new QueueClient(connection, queueName);
  else if (serviceUri !== undefined && serviceUri !== '')
    client = new QueueServiceClient(serviceUri, credential()).getQueueClient(queueName);
  return client === undefined ? undefined : createStorageWorkQueue({ client });
}

export interface AzureAppOptions {
  /** @default loadRegistryFromEnv() (REGISTRY_FILE or REGISTRY) */
  loaded?: LoadedRegistry;
  /**
   * How Key Vault, the Storage queue (identity-based connection) and AKS authenticate.
   * @default the Function App's managed identity (IDENTITY_ENDPOINT / IDENTITY_HEADER from `env`; AZURE_CLIENT_ID for a user-assigned one)
   */
  credential?: TokenCredential;
  /** @default azure (the credential) + local */
  sources?: SourceFactories;
  /** @default aks with the credential (token and kubeconfig are built into the runtime) */
  authenticators?: ClusterAuthenticator[];
  /** @default from app settings; `null` disables fan-out */
  workQueue?: WorkQueue | null;
  logger?: Logger;
  metrics?: Metrics;
  /** Extra runtime options (tests: backoff, gateways). */
  runtime?: Partial<Parameters<typeof createRuntime>[0]>;
  env?: NodeJS.ProcessEnv;
}

/**
 * Builds the handlers and, on first use, the runtime (once per cold start). Only the
 * azure and local source factories and the aks/token/kubeconfig authenticators are
 * included, so the bundle carries no other cloud's SDK.
 */
export function createAzureApp(options: AzureAppOptions = {}): AzureHandlers & { runtime(): Runtime } {
  const logger = options.logger ?? createInvocationLogger();
  const metrics = options.metrics ?? createLogMetrics(logger);
  const env = options.env ?? process.env;
  let credential = options.credential;
  // One credential (one token cache) for every client; nothing is read before first use.
  const sharedCredential = () => (credential ??= createManagedIdentityCredential({ env }));
  let runtime: Runtime | undefined;

  const getRuntime = (): Runtime => {
    if (runtime !== undefined) return runtime;
    const workQueue =
      options.workQueue === undefined
        ? workQueueFromEnv(env, sharedCredential)
        : (options.workQueue ?? undefined);
    runtime = createRuntime({
      loaded: options.loaded ?? loadRegistryFromEnv(env),
      sources: options.sources ?? {
        azure: createAzureSourceFactory({ credential: sharedCredential() }),
        local: localSourceFactory,
      },
      authenticators: options.authenticators ?? [
        createAksTokenAuthenticator({ credential: sharedCredential() }),
      ],
      logger,
      metrics,
      ...(workQueue === undefined ? {} : { workQueue }),
      ...options.runtime,
    });
    return runtime;
  };

  return { ...createAzureHandlers({ runtime: getRuntime, logger, metrics }), runtime: getRuntime };
}
