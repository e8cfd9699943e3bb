import { sharedTls } from '../../dev/kube/tls.js';
import { convertEso, type Manifest } from '../../shared/eso/index.js';

/** A real CA bundle: the registry accepts only caData that decodes to a PEM certificate. */
const caBundle = sharedTls().caData;

/** Builders: a valid store and ExternalSecret, plus tweaks. */
function aStore(provider: Record<string, unknown>, meta: Record<string, unknown> = {}): Manifest {
  return {
    file: 'store.yaml',
    doc: {
      apiVersion: 'external-secrets.io/v1beta1',
      kind: 'ClusterSecretStore',
      metadata: { name: 'store', ...meta },
      spec: { provider },
    },
  };
}

function anExternalSecret(spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}): Manifest {
  return {
    file: 'es.yaml',
    doc: {
      apiVersion: 'external-secrets.io/v1beta1',
      kind: 'ExternalSecret',
      metadata: { name: 'app', namespace: 'team', ...meta },
      spec: {
        secretStoreRef: { name: 'store', kind: 'ClusterSecretStore' },
        data: [{ secretKey: 'password', remoteRef: { key: 'app/db', property: 'password' } }],
        ...spec,
      },
    },
  };
}

const vaultStore = (auth: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  aStore({ vault: { server: 'https://vault:8200', path: 'secret', version: 'v2', auth, ...extra } });

describe('convertEso', () => {
  it.each([
    ['token', { tokenSecretRef: { name: 't', key: 'token' } }, { type: 'token' }],
    [
      'kubernetes',
      { kubernetes: { mountPath: 'k8s', role: 'eso' } },
      { type: 'kubernetes', role: 'eso', mountPath: 'k8s' },
    ],
    [
      'appRole',
      { appRole: { path: 'approle', roleId: 'r-1', secretRef: { name: 's', key: 'id' } } },
      { type: 'approle', roleId: 'r-1', mountPath: 'approle' },
    ],
  ])('converts a vault store with %s auth', (_name, auth, expected) => {
    const { registry } = convertEso([vaultStore(auth, { caBundle, namespace: 'ns1' }), anExternalSecret()]);
    expect(registry.sources).toEqual([
      {
        name: 'store',
        provider: 'vault',
        address: 'https://vault:8200',
        mount: 'secret',
        namespace: 'ns1',
        caData: caBundle,
        auth: expected,
      },
    ]);
  });

  it('strips a leading mount and data/ from Vault keys, as ESO does', () => {
    const es = anExternalSecret({
      data: [
        { secretKey: 'a', remoteRef: { key: 'secret/data/app/db' } },
        { secretKey: 'b', remoteRef: { key: 'secret/app/db' } },
        { secretKey: 'c', remoteRef: { key: 'app/db' } },
      ],
    });
    const { registry } = convertEso([vaultStore({ tokenSecretRef: {} }), es]);
    expect(registry.bindings[0]?.data?.map((d) => d.remoteRef?.key)).toEqual(['app/db', 'app/db', 'app/db']);
  });

  it.each([
    ['vault KV v1', vaultStore({ tokenSecretRef: {} }, { version: 'v1' }), 'KV v1 is not supported'],
    ['vault jwt auth', vaultStore({ jwt: { path: 'jwt' } }), 'vault auth jwt is not supported'],
    [
      'aws ParameterStore',
      aStore({ aws: { service: 'ParameterStore', region: 'eu-west-1' } }),
      'only SecretsManager',
    ],
    ['an unknown provider', aStore({ doppler: {} }), 'provider "doppler" is not supported'],
  ])('reports %s and skips the ExternalSecrets using it', (_name, store, message) => {
    const { registry, problems } = convertEso([store, anExternalSecret()]);
    expect(registry.bindings).toEqual([]);
    expect(problems).toContainEqual(
      expect.objectContaining({ severity: 'skipped', message: expect.stringContaining(message) }),
    );
    expect(problems).toContainEqual(
      expect.objectContaining({ severity: 'skipped', resource: 'ExternalSecret team/app' }),
    );
  });

  it('strips the azure "secret/" prefix and refuses certificate objects', () => {
    const azure = aStore({ azurekv: { vaultUrl: 'https://kv.vault.azure.net' } });
    const ok = convertEso([
      azure,
      anExternalSecret({ data: [{ secretKey: 'p', remoteRef: { key: 'secret/db-pass' } }] }),
    ]);
    expect(ok.registry.bindings[0]?.data).toEqual([{ secretKey: 'p', remoteRef: { key: 'db-pass' } }]);
    const cert = convertEso([
      azure,
      anExternalSecret({ data: [{ secretKey: 'c', remoteRef: { key: 'cert/web' } }] }),
    ]);
    expect(cert.registry.bindings).toEqual([]);
    expect(cert.problems).toContainEqual(
      expect.objectContaining({ message: expect.stringContaining('certificate or key object') }),
    );
  });

  it('uses --clusters selection, keeps policies, and renames a binding whose name is taken', () => {
    // given
    const store = aStore({ gcpsm: { projectID: 'p' } });
    const first = anExternalSecret({
      target: { name: 'db', creationPolicy: 'Orphan', deletionPolicy: 'Delete' },
    });
    const second = anExternalSecret({}, { namespace: 'other' });
    // when
    const { registry, problems } = convertEso([store, first, second], { clusters: { names: ['prod-1'] } });
    // then
    expect(registry.bindings.map((b) => b.name)).toEqual(['app', 'app-other']);
    expect(registry.bindings[0]?.target).toEqual({
      name: 'db',
      namespace: 'team',
      clusters: { names: ['prod-1'] },
      creationPolicy: 'Orphan',
      deletionPolicy: 'Delete',
    });
    expect(problems).toContainEqual(
      expect.objectContaining({
        severity: 'note',
        message: 'binding name "app" is taken; named "app-other"',
      }),
    );
  });

  it.each([
    ['creationPolicy None', { target: { creationPolicy: 'None' } }, 'creationPolicy None'],
    [
      'templateFrom',
      { target: { template: { templateFrom: [{ configMap: { name: 'x' } }] } } },
      'templateFrom',
    ],
    [
      'engine v1 templates',
      { target: { template: { engineVersion: 'v1', data: { a: '{{ .a | toString }}' } } } },
      'engineVersion v1',
    ],
    ['a template that does not parse', { target: { template: { data: { a: '{{ .a ' } } } }, 'does not parse'],
    [
      'dataFrom.rewrite',
      { dataFrom: [{ extract: { key: 'k' }, rewrite: [{ regexp: { source: 'a', target: 'b' } }] }] },
      'dataFrom.rewrite',
    ],
    [
      'metadataPolicy Fetch',
      { data: [{ secretKey: 't', remoteRef: { key: 'k', metadataPolicy: 'Fetch' } }] },
      'metadataPolicy Fetch',
    ],
    [
      'a store that is not among the inputs',
      { secretStoreRef: { name: 'elsewhere' } },
      'is not among the inputs',
    ],
  ])('skips an ExternalSecret with %s, saying why', (_name, spec, message) => {
    const { registry, problems } = convertEso([
      aStore({ aws: { region: 'eu-west-1' } }),
      anExternalSecret(spec),
    ]);
    expect(registry.bindings).toEqual([]);
    expect(problems).toContainEqual(
      expect.objectContaining({
        severity: 'skipped',
        resource: 'ExternalSecret team/app',
        message: expect.stringContaining(message),
      }),
    );
  });

  it('skips a ClusterExternalSecret that only has a namespace selector', () => {
    const ces: Manifest = {
      file: 'ces.yaml',
      doc: {
        apiVersion: 'external-secrets.io/v1beta1',
        kind: 'ClusterExternalSecret',
        metadata: { name: 'shared' },
        spec: { namespaceSelector: { matchLabels: { team: 'a' } }, externalSecretSpec: {} },
      },
    };
    const { problems } = convertEso([ces]);
    expect(problems).toEqual([
      expect.objectContaining({
        severity: 'skipped',
        resource: 'ClusterExternalSecret shared',
        message: expect.stringContaining('spec.namespaces'),
      }),
    ]);
  });

  it('ignores other Kubernetes objects and reports unsupported external-secrets.io versions', () => {
    const { problems } = convertEso([
      { file: 'x.yaml', doc: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } } },
      {
        file: 'x.yaml',
        doc: {
          apiVersion: 'external-secrets.io/v1alpha1',
          kind: 'ExternalSecret',
          metadata: { name: 'old', namespace: 'n' },
        },
      },
    ]);
    expect(problems).toEqual([
      expect.objectContaining({
        resource: 'ExternalSecret n/old',
        message: expect.stringContaining('v1alpha1'),
      }),
    ]);
  });
});
