import { stringify } from 'yaml';
import type { RegistryInput } from '../../shared/registry/index.js';

type Binding = NonNullable<RegistryInput['bindings']>[number];

/** A valid binding reading `prod/database` from the local source into every cluster; tweak with overrides. */
export function aBinding(overrides: Partial<Binding> = {}): Binding {
  return {
    name: 'payments-db',
    source: 'local-store',
    remoteRef: { key: 'prod/database' },
    dataFrom: [{ extract: {} }],
    target: { name: 'db-credentials', namespace: 'payments', clusters: { matchLabels: {} } },
    restart: { auto: true },
    ...overrides,
  };
}

/** A valid registry with one token-auth cluster per entry and a local source at `store.yaml`. */
export function aRegistry(overrides: Partial<RegistryInput> = {}): RegistryInput {
  return {
    apiVersion: 'secret-propagator/v1',
    clusters: [
      {
        name: 'dev-1',
        labels: { env: 'dev' },
        server: 'https://127.0.0.1:6443',
        auth: { type: 'token', tokenFrom: { source: 'local-store', key: 'cluster-tokens/dev-1' } },
      },
    ],
    sources: [{ name: 'local-store', provider: 'local', path: 'store.yaml' }],
    bindings: [aBinding()],
    ...overrides,
  };
}

export const toYaml = (registry: unknown): string => stringify(registry);
