import { stringify } from 'yaml';
import { ConfigError } from '../../shared/core/errors.js';
import { parseRegistry } from '../../shared/registry/index.js';

// Builders: a valid registry, and tweaks applied on top of it.
type Loose = {
  apiVersion: string;
  clusters: object[];
  sources: object[];
  bindings: Record<string, unknown>[];
};
export type Tweak = (r: Loose) => void;

export function aRegistry(...tweaks: Tweak[]): string {
  const registry: Loose = {
    apiVersion: 'secret-propagator/v1',
    clusters: [
      {
        name: 'prod-eu-1',
        labels: { env: 'prod' },
        server: 'https://127.0.0.1:6443',
        auth: { type: 'token', tokenFrom: { source: 'store', key: 'tokens/prod-eu-1' } },
      },
      {
        name: 'staging-1',
        labels: { env: 'staging' },
        server: 'https://127.0.0.1:6444',
        namespaces: ['payments'],
        auth: { type: 'token', tokenFrom: { source: 'store', key: 'tokens/staging-1' } },
      },
    ],
    sources: [{ name: 'store', provider: 'local', path: './store.json' }],
    bindings: [
      {
        name: 'payments-db',
        source: 'store',
        remoteRef: { key: 'prod/database' },
        data: [{ secretKey: 'username', property: 'username' }],
        target: { name: 'db-credentials', namespace: 'payments', clusters: { matchLabels: {} } },
      },
    ],
  };
  for (const tweak of tweaks) tweak(registry);
  return stringify(registry);
}

export function problemsOf(text: string): readonly string[] {
  try {
    parseRegistry(text);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  return [];
}

export const binding = (r: Parameters<Tweak>[0]) => r.bindings[0] as Record<string, Record<string, unknown>>;
