import type { SecretChange } from '../../shared/core/change.js';
import { ConfigError } from '../../shared/core/errors.js';
import { parseRegistry } from '../../shared/registry/load.js';
import type { RegistryInput } from '../../shared/registry/schema.js';
import { createRuntime, generatePassword, summarizeReports } from '../../shared/runtime/index.js';
import type { ChangeReport } from '../../shared/engine/types.js';
import { createJsonLogger } from '../../shared/telemetry/index.js';
import { createMemorySource, type MemorySource } from '../support/memory-source.js';
import { aBinding, aCluster } from './support/builders.js';
import { createMemoryCluster } from './support/memory-cluster.js';

type BindingInput = NonNullable<RegistryInput['bindings']>[number];

function setup(
  bindings: BindingInput[],
  sources: RegistryInput['sources'] = [{ name: 'mem', provider: 'local', path: 'x' }],
) {
  const loaded = parseRegistry(
    JSON.stringify({ apiVersion: 'secret-propagator/v1', clusters: [aCluster('c1')], sources, bindings }),
    'test',
  );
  const store = createMemorySource({ name: 'mem' });
  const cluster = createMemoryCluster('c1');
  const lines: string[] = [];
  const runtime = createRuntime({
    loaded,
    sources: { local: () => store },
    logger: createJsonLogger({ write: (l) => lines.push(l) }),
    gatewayFor: () => cluster,
  });
  return { runtime, store, cluster, lines };
}

const change = (tweak: Partial<SecretChange> = {}): SecretChange => ({
  provider: 'local',
  secretRef: 'prod/database',
  kind: 'version-current',
  eventId: 'e1',
  time: '2026-01-01T00:00:00Z',
  ...tweak,
});

const currentJson = (store: MemorySource) =>
  store
    .read('prod/database')
    .then((v) => JSON.parse(new TextDecoder().decode(v.bytes)) as Record<string, string>);

describe('runtime composition', () => {
  it('refuses a registry source whose provider has no factory, naming it', () => {
    const loaded = parseRegistry(
      JSON.stringify({
        apiVersion: 'secret-propagator/v1',
        sources: [{ name: 'vault-main', provider: 'azure', vaultUrl: 'https://v.vault.azure.net' }],
      }),
      'test',
    );
    expect(() =>
      createRuntime({ loaded, sources: {}, logger: createJsonLogger({ write: () => undefined }) }),
    ).toThrow(ConfigError);
    expect(() =>
      createRuntime({ loaded, sources: {}, logger: createJsonLogger({ write: () => undefined }) }),
    ).toThrow(/source "vault-main" uses provider "azure"/);
  });

  it('propagates a change through the engine with cached gateways', async () => {
    const { runtime, store, cluster } = setup([aBinding()]);
    store.put('prod/database', { username: 'u', password: 'p' });
    const reports = await runtime.handle(change());
    expect(runtime.summarize(reports)).toMatchObject({ ok: true, retryable: false, counts: { created: 1 } });
    expect(cluster.secrets.size).toBe(1);
  });

  it('rotates with a generator, keeping the other JSON properties', async () => {
    // given
    const { runtime, store } = setup([
      aBinding({
        rotation: { generator: { type: 'password', length: 24, property: 'password' } },
        schedule: { rotate: 'rate(7 days)' },
      }),
    ]);
    store.put('prod/database', { username: 'u', password: 'old' });
    // when
    const [report] = await runtime.scheduled('rotate');
    // then
    const value = await currentJson(store);
    expect(report?.error).toBeUndefined();
    expect(value['username']).toBe('u');
    expect(value['password']).toHaveLength(24);
    expect(value['password']).not.toBe('old');
  });

  it('asks the store to rotate when the binding has no generator', async () => {
    const { runtime, store } = setup([aBinding({ schedule: { rotate: 'rate(7 days)' } })]);
    await runtime.scheduled('rotate');
    expect(store.rotations).toEqual(['prod/database']);
  });

  it('rotates on a near-expiry event when the binding has rotation configured', async () => {
    const { runtime, store, cluster } = setup([
      aBinding({ rotation: { generator: { type: 'password', length: 16 } } }),
    ]);
    store.put('prod/database', 'old');
    const reports = await runtime.handle(change({ kind: 'near-expiry' }));
    expect(reports.map((r) => r.kind)).toEqual(['near-expiry', 'rotate-requested']);
    expect(new TextDecoder().decode((await store.read('prod/database')).bytes)).toHaveLength(16);
    expect(cluster.secrets.size).toBe(0);
  });

  it('reconciles on schedule', async () => {
    const { runtime, store, cluster } = setup([aBinding()]);
    store.put('prod/database', { username: 'u', password: 'p' });
    const reports = await runtime.scheduled('reconcile');
    expect(reports[0]?.counts.created).toBe(1);
    expect(cluster.secrets.size).toBe(1);
  });
});

describe('summaries', () => {
  const report = (tweak: Partial<ChangeReport>): ChangeReport => ({
    changeId: 'c',
    kind: 'version-current',
    binding: 'b',
    source: 's',
    secretRef: 'r',
    targets: [],
    counts: { created: 0, updated: 0, unchanged: 0, skipped: 0, failed: 0, deleted: 0 },
    restarts: 0,
    enqueued: 0,
    durationMs: 0,
    ...tweak,
  });
  const failed = (retryable: boolean) => ({
    binding: 'b',
    cluster: 'c',
    namespace: 'n',
    secret: 's',
    outcome: 'failed' as const,
    retryable,
    restarts: [],
    attempts: 1,
    durationMs: 1,
  });

  it.each([
    [
      'all fine',
      [report({ counts: { created: 1, updated: 0, unchanged: 0, skipped: 0, failed: 0, deleted: 0 } })],
      true,
      false,
    ],
    ['non-retryable failure', [report({ targets: [failed(false)] })], false, false],
    [
      'retryable failure',
      [report({ targets: [failed(false)] }), report({ targets: [failed(true)] })],
      false,
      true,
    ],
    [
      'retryable binding error',
      [report({ error: { code: 'StoreError', message: 'x', retryable: true } })],
      false,
      true,
    ],
  ])('%s', (_label, reports, ok, retryable) => {
    expect(summarizeReports(reports)).toMatchObject({ ok, retryable });
  });

  it('generates passwords of the requested length and alphabet', () => {
    expect(generatePassword(40, false)).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(generatePassword(8, true)).toMatch(/[!#%+\-.:=@^_~]/);
  });
});
