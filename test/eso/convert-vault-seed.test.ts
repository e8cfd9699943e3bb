import { convertEso, type Manifest } from '../../shared/eso/index.js';
import { crossCheck, registrySchema } from '../../shared/registry/index.js';

/**
 * The Vault shapes of the documents this product started from: a namespaced SecretStore
 * defined once in another namespace than its ExternalSecrets, KV v2 keys written with their
 * mount and `data/`, dynamic credentials read by path, and PKI through a VaultDynamicSecret.
 */

const doc = (file: string, d: Record<string, unknown>): Manifest => ({ file, doc: d });

function secretStore(namespace: string, provider: Record<string, unknown> = {}): Manifest {
  return doc(`store-${namespace}.yaml`, {
    apiVersion: 'external-secrets.io/v1beta1',
    kind: 'SecretStore',
    metadata: { name: 'vault-backend', namespace },
    spec: {
      provider: {
        vault: {
          server: 'https://vault.example:8200',
          auth: { tokenSecretRef: { name: 'vault-token', key: 'token' } },
          ...provider,
        },
      },
    },
  });
}

function externalSecret(name: string, spec: Record<string, unknown>, namespace = 'capi'): Manifest {
  return doc('es.yaml', {
    apiVersion: 'external-secrets.io/v1beta1',
    kind: 'ExternalSecret',
    metadata: { name, namespace },
    spec: { secretStoreRef: { name: 'vault-backend', kind: 'SecretStore' }, ...spec },
  });
}

const vsphere = externalSecret('vsphere-credentials', {
  refreshInterval: '1h',
  data: [
    { secretKey: 'username', remoteRef: { key: 'secret/data/providers/vsphere', property: 'username' } },
    { secretKey: 'password', remoteRef: { key: 'secret/data/providers/vsphere', property: 'password' } },
  ],
});

const database = externalSecret('db-readonly', {
  refreshInterval: '15m',
  data: [
    { secretKey: 'username', remoteRef: { key: 'database/creds/readonly', property: 'username' } },
    { secretKey: 'password', remoteRef: { key: 'database/creds/readonly', property: 'password' } },
  ],
});

const pkiGenerator = doc('generator.yaml', {
  apiVersion: 'generators.external-secrets.io/v1alpha1',
  kind: 'VaultDynamicSecret',
  metadata: { name: 'provider-tls', namespace: 'vault-system' },
  spec: {
    path: '/pki/issue/provider',
    method: 'POST',
    parameters: { common_name: 'provider.example', alt_names: 'a.example,b.example', ttl: '72h' },
    provider: { server: 'https://vault.example:8200', auth: { tokenSecretRef: { name: 't', key: 'token' } } },
  },
});

const pkiSecret = externalSecret('provider-tls', {
  refreshInterval: '24h',
  target: { name: 'provider-tls' },
  dataFrom: [
    {
      sourceRef: {
        generatorRef: {
          apiVersion: 'generators.external-secrets.io/v1alpha1',
          kind: 'VaultDynamicSecret',
          name: 'provider-tls',
        },
      },
    },
  ],
});

describe('import-eso: the seed documents’ Vault ExternalSecrets', () => {
  it('uses the one SecretStore of that name defined in another namespace, with a warning', () => {
    const { registry, problems } = convertEso([secretStore('vault-system', { path: 'secret' }), vsphere]);
    expect(registry.bindings.map((b) => b.name)).toEqual(['vsphere-credentials']);
    expect(registry.sources).toEqual([expect.objectContaining({ name: 'vault-backend', mount: 'secret' })]);
    expect(registry.bindings[0]?.data?.map((d) => d.remoteRef?.key)).toEqual([
      'providers/vsphere',
      'providers/vsphere',
    ]);
    expect(problems).toContainEqual(
      expect.objectContaining({
        severity: 'note',
        resource: 'ExternalSecret capi/vsphere-credentials',
        message: expect.stringMatching(
          /defined in namespace vault-system, not capi.*would not resolve it across namespaces/,
        ),
      }),
    );
  });

  it('refuses when several namespaces define a SecretStore of that name, listing them', () => {
    const { registry, problems } = convertEso([
      secretStore('vault-system', { path: 'secret' }),
      secretStore('platform', { path: 'secret' }),
      vsphere,
    ]);
    expect(registry.bindings).toEqual([]);
    expect(problems).toContainEqual(
      expect.objectContaining({
        severity: 'skipped',
        message: expect.stringContaining('(vault-system, platform)'),
      }),
    );
  });

  it('prefers the store in the ExternalSecret’s own namespace, silently', () => {
    const { problems, registry } = convertEso([
      secretStore('vault-system', { path: 'secret' }),
      secretStore('capi', { path: 'secret' }),
      vsphere,
    ]);
    expect(registry.bindings).toHaveLength(1);
    expect(problems.filter((p) => p.message.includes('namespace'))).toEqual([]);
  });

  it('maps secret/data/<path> keys of a store without a path to that mount', () => {
    const { registry } = convertEso([secretStore('capi'), vsphere]);
    expect(registry.sources).toEqual([expect.objectContaining({ name: 'vault-backend', mount: 'secret' })]);
    expect(registry.bindings[0]?.data?.[0]?.remoteRef).toEqual({
      key: 'providers/vsphere',
      property: 'username',
    });
  });

  it('turns <mount>/creds/<role> keys into a dynamic binding renewed at the refreshInterval', () => {
    const { registry, problems } = convertEso([secretStore('capi'), database]);
    expect(registry.bindings).toEqual([
      expect.objectContaining({
        name: 'db-readonly',
        dynamic: { path: 'database/creds/readonly', renewAfter: '15m' },
        data: [
          { secretKey: 'username', property: 'username' },
          { secretKey: 'password', property: 'password' },
        ],
      }),
    ]);
    expect(problems).toContainEqual(
      expect.objectContaining({ message: expect.stringContaining('refreshInterval 15m is the renewal') }),
    );
    // The converted registry is well formed; the loader refuses it only because the engine does
    // not issue dynamic credentials yet (rather than accepting a binding it would never fill).
    const checked = crossCheck(registrySchema.parse(registry));
    expect(checked.filter((p) => !p.endsWith('selects no cluster'))).toEqual([
      'bindings[0].dynamic: issuing Vault dynamic credentials is not supported yet; such a binding cannot be propagated',
    ]);
  });

  it('turns a PKI VaultDynamicSecret into a pki binding with its names, ttl and renewal', () => {
    const { registry } = convertEso([pkiGenerator, pkiSecret]);
    expect(registry.sources).toEqual([
      expect.objectContaining({
        name: 'provider-tls',
        provider: 'vault',
        address: 'https://vault.example:8200',
      }),
    ]);
    expect(registry.bindings).toEqual([
      expect.objectContaining({
        name: 'provider-tls',
        source: 'provider-tls',
        pki: {
          path: 'pki/issue/provider',
          commonName: 'provider.example',
          altNames: ['a.example', 'b.example'],
          ttl: '72h',
          renewAfter: '24h',
        },
      }),
    ]);
    expect(registry.bindings[0]?.dataFrom).toBeUndefined();
  });

  it('refuses PKI read as a key (a read cannot issue) and a dynamic path mixed with stored keys', () => {
    const pkiByKey = externalSecret('tls', {
      data: [{ secretKey: 'crt', remoteRef: { key: 'pki/issue/provider', property: 'certificate' } }],
    });
    const mixed = externalSecret('mixed', {
      data: [
        { secretKey: 'user', remoteRef: { key: 'database/creds/readonly', property: 'username' } },
        { secretKey: 'host', remoteRef: { key: 'secret/data/db', property: 'host' } },
      ],
    });
    const { registry, problems } = convertEso([secretStore('capi'), pkiByKey, mixed]);
    expect(registry.bindings).toEqual([]);
    expect(problems).toContainEqual(
      expect.objectContaining({
        resource: 'ExternalSecret capi/tls',
        message: expect.stringContaining('VaultDynamicSecret'),
      }),
    );
    expect(problems).toContainEqual(
      expect.objectContaining({
        resource: 'ExternalSecret capi/mixed',
        message: expect.stringContaining('mixes'),
      }),
    );
  });
});
