import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Logger } from '../../../shared/core/ports.js';
import type { WorkQueue } from '../../../shared/engine/types.js';
import { parseRegistry } from '../../../shared/registry/load.js';
import type { RegistryInput } from '../../../shared/registry/schema.js';
import { localSourceFactory } from '../../../shared/sources/local/index.js';
import { createAzureApp } from '../../../functions/azure/app.js';
import { createInvocationLogger } from '../../../functions/azure/telemetry.js';
import {
  CLUSTER_TOKENS_SOURCE,
  registryClusters,
  tokenSecrets,
  type LocalFleet,
} from '../../support/clusters.js';
import { aLocalAzureSourceFactory } from './builders.js';
import type { LocalKeyVault } from './key-vault-server.js';

type BindingInput = NonNullable<RegistryInput['bindings']>[number];

/** A binding reading `key` from the local Key Vault into `db-credentials` in `payments` on every cluster. */
export function aBinding(overrides: Partial<BindingInput> = {}): BindingInput {
  return {
    name: 'payments-db',
    source: 'kv-main',
    remoteRef: { key: 'newsecret' },
    data: [{ secretKey: 'password' }],
    target: { name: 'db-credentials', namespace: 'payments', clusters: { matchLabels: { env: 'prod' } } },
    ...overrides,
  };
}

/**
 * The Azure app exactly as index.ts builds it, except that the azure source factory points at
 * the local Key Vault (fixed token, local CA) and the registry comes from the test.
 */
export function anAzureApp(options: {
  kv: LocalKeyVault;
  fleet: LocalFleet;
  bindings: BindingInput[];
  settings?: RegistryInput['settings'];
  workQueue?: WorkQueue;
  logger?: Logger;
}) {
  const dir = mkdtempSync(join(tmpdir(), 'azure-registry-'));
  writeFileSync(join(dir, 'cluster-tokens.json'), JSON.stringify(tokenSecrets(options.fleet)));
  const registry: RegistryInput = {
    apiVersion: 'secret-propagator/v1',
    settings: { retries: 0, targetTimeout: '5s', ...options.settings },
    clusters: registryClusters(options.fleet, { labels: () => ({ env: 'prod' }) }),
    sources: [
      { name: 'kv-main', provider: 'azure', vaultUrl: options.kv.vaultUrl },
      { name: CLUSTER_TOKENS_SOURCE, provider: 'local', path: 'cluster-tokens.json' },
    ],
    bindings: options.bindings,
  };
  const loaded = parseRegistry(stringify(registry), 'test-registry', dir);
  const app = createAzureApp({
    loaded,
    sources: { azure: aLocalAzureSourceFactory(options.kv), local: localSourceFactory },
    authenticators: [],
    workQueue: options.workQueue ?? null,
    logger: options.logger ?? createInvocationLogger({ level: 'debug' }),
    runtime: { backoff: { baseMs: 1, maxMs: 5, random: () => 0 } },
    env: {},
  });
  return { app, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
