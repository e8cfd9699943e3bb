import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../shared/core/errors.js';
import { loadRegistryFromEnv, parseRegistry } from '../../shared/registry/index.js';
import { aRegistry, binding, problemsOf, type Tweak } from './a-registry.js';

describe('registry validation', () => {
  it('accepts the valid builder registry and applies documented defaults', () => {
    // given / when
    const { registry } = parseRegistry(aRegistry());
    // then
    expect(registry.bindings[0]?.target.creationPolicy).toBe('Owner');
    expect(registry.bindings[0]?.target.deletionPolicy).toBe('Retain');
    expect(registry.settings.concurrency).toBe(64);
    expect(registry.settings.fanOut.batchSize).toBe(200);
    expect(registry.settings.outcomes.eventBus).toBe('default');
  });

  it.each<[string, Tweak, string]>([
    [
      'a missing target namespace',
      (r) => void delete binding(r)['target']?.['namespace'],
      'bindings[0].target.namespace: required (expected string)',
    ],
    [
      'a misspelt key',
      (r) => void Object.assign(binding(r)['target'] ?? {}, { namepsace: 'x' }),
      'bindings[0].target: unknown key "namepsace" (check the spelling against the registry reference)',
    ],
    [
      'an unknown provider',
      (r) => void Object.assign(r.sources[0] ?? {}, { provider: 'keepass' }),
      "sources[0].provider: Invalid discriminator value. Expected 'aws' | 'azure' | 'gcp' | 'vault' | 'local'",
    ],
    [
      'an http server URL',
      (r) => void Object.assign(r.clusters[0] ?? {}, { server: 'http://127.0.0.1:6443' }),
      'clusters[0].server: must be an https:// URL (TLS is always verified)',
    ],
    [
      'an invalid creationPolicy',
      (r) => void Object.assign(binding(r)['target'] ?? {}, { creationPolicy: 'Owned' }),
      'bindings[0].target.creationPolicy: must be one of "Owner", "Merge", "Orphan"',
    ],
    [
      'a bad duration',
      (r) => void Object.assign(binding(r), { validate: { tls: { minValidity: 'one day' } } }),
      'bindings[0].validate.tls.minValidity: must be a duration such as 30s, 15m, 24h or 7d',
    ],
    [
      'an unknown source',
      (r) => void Object.assign(binding(r), { source: 'vault-x' }),
      'bindings[0].source: unknown source "vault-x" (known: store)',
    ],
    [
      'an unknown cluster name',
      (r) => void Object.assign(binding(r)['target'] ?? {}, { clusters: { names: ['prod-eu-1', 'ghost'] } }),
      'bindings[0].target.clusters.names[1]: unknown cluster "ghost"',
    ],
    [
      'a duplicate cluster name',
      (r) => void r.clusters.push({ ...(r.clusters[0] ?? {}) }),
      'clusters[2].name: duplicate name "prod-eu-1"',
    ],
    [
      'a namespace outside the allowlist',
      (r) => void Object.assign(binding(r)['target'] ?? {}, { namespace: 'jenkins' }),
      'bindings[0].target.namespace: "jenkins" is not in the namespaces allowlist of cluster "staging-1" (payments)',
    ],
    [
      'kube-system without explicit listing',
      (r) =>
        void Object.assign(binding(r)['target'] ?? {}, {
          namespace: 'kube-system',
          clusters: { names: ['prod-eu-1'] },
        }),
      'bindings[0].target.namespace: kube-system must be listed explicitly in clusters[name=prod-eu-1].namespaces',
    ],
    [
      'two bindings writing one Secret',
      (r) => void r.bindings.push({ ...binding(r), name: 'payments-db-copy' }),
      'bindings[1].target: Secret payments/db-credentials in cluster "prod-eu-1" is already written by binding "payments-db"',
    ],
    [
      'a selector matching nothing',
      (r) => void Object.assign(binding(r)['target'] ?? {}, { clusters: { matchLabels: { env: 'qa' } } }),
      'bindings[0].target.clusters: selects no cluster',
    ],
    [
      'a template with an unknown function',
      (r) =>
        void Object.assign(binding(r)['target'] ?? {}, {
          template: { data: { url: '{{ .username | frobnicate }}' } },
        }),
      'bindings[0].target.template: binding "payments-db": template key "url": function "frobnicate" is not supported',
    ],
    [
      'a token held by an unknown source',
      (r) =>
        void Object.assign(r.clusters[0] ?? {}, {
          auth: { type: 'token', tokenFrom: { source: 'nope', key: 'k' } },
        }),
      'clusters[0].auth.tokenFrom.source: unknown source "nope" (define it under sources)',
    ],
  ])('rejects %s with the exact path and reason', (_case, tweak, expected) => {
    // given
    const text = aRegistry(tweak);
    // when
    const problems = problemsOf(text);
    // then
    expect(problems).toContain(expected);
  });

  it('reports every problem at once, not only the first', () => {
    // given
    const text = aRegistry(
      (r) => void Object.assign(binding(r), { source: 'missing' }),
      (r) => void Object.assign(binding(r)['target'] ?? {}, { clusters: { names: ['ghost'] } }),
    );
    // when
    const problems = problemsOf(text);
    // then
    expect(problems.length).toBeGreaterThanOrEqual(2);
  });

  it('rejects YAML syntax errors and duplicate keys as ConfigError', () => {
    // given
    const text = 'apiVersion: secret-propagator/v1\nclusters: [\n';
    const duplicated = 'apiVersion: secret-propagator/v1\napiVersion: secret-propagator/v1\n';
    // when / then
    expect(() => parseRegistry(text)).toThrow(ConfigError);
    expect(() => parseRegistry(duplicated)).toThrow(/not valid YAML/);
  });
});

describe('registry location', () => {
  it('prefers REGISTRY_FILE and resolves relative paths against its folder', () => {
    // given
    const dir = mkdtempSync(join(tmpdir(), 'sp-registry-'));
    const file = join(dir, 'registry.yaml');
    writeFileSync(file, aRegistry());
    // when
    const loaded = loadRegistryFromEnv({ REGISTRY_FILE: file, REGISTRY: 'not: used' });
    // then
    expect(loaded.origin).toBe(file);
    expect(loaded.baseDir).toBe(dir);
  });

  it('reads inline YAML from REGISTRY', () => {
    // given / when
    const loaded = loadRegistryFromEnv({ REGISTRY: aRegistry() });
    // then
    expect(loaded.origin).toBe('REGISTRY (inline)');
    expect(loaded.registry.bindings.map((b) => b.name)).toEqual(['payments-db']);
  });

  it('says how to configure it when neither variable is set', () => {
    expect(() => loadRegistryFromEnv({})).toThrow(
      'no registry configured: set REGISTRY_FILE to a path or REGISTRY to inline YAML',
    );
  });

  it('names the file and the errno when the file cannot be read', () => {
    expect(() => loadRegistryFromEnv({ REGISTRY_FILE: '/nonexistent/registry.yaml' })).toThrow(
      'cannot read registry file /nonexistent/registry.yaml: ENOENT',
    );
  });
});
