import type { KubeSecret } from '../../shared/core/ports.js';
import { Annotation, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../../shared/engine/annotations.js';
import { decide, type Desired } from '../../shared/engine/decide.js';
import { referencedSecrets, referencesSecret } from '../../shared/engine/discovery.js';
import { contentHash } from '../../shared/engine/hash.js';
import { parseDuration } from '../../shared/core/duration.js';
import { backoffMs, retryDelayMs, withRetry } from '../../shared/engine/retry.js';
import { parseRetryAfter } from '../../shared/kube/transport.js';
import { toWaves } from '../../shared/engine/waves.js';
import { ClusterRejectedError, ConflictError, ThrottledError } from '../../shared/core/errors.js';
import { systemClock } from '../../shared/core/ports.js';
import { aCluster, aRegistry } from './support/builders.js';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('secret discovery in pod specs', () => {
  const cases: [string, unknown, string[]][] = [
    [
      'env secretKeyRef',
      { containers: [{ env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 's1', key: 'k' } } }] }] },
      ['s1'],
    ],
    [
      'envFrom secretRef',
      { containers: [{ envFrom: [{ secretRef: { name: 's2' } }, { configMapRef: { name: 'cm' } }] }] },
      ['s2'],
    ],
    ['secret volume', { containers: [], volumes: [{ name: 'v', secret: { secretName: 's3' } }] }, ['s3']],
    [
      'projected volume',
      {
        volumes: [
          { name: 'p', projected: { sources: [{ secret: { name: 's4' } }, { configMap: { name: 'cm' } }] } },
        ],
      },
      ['s4'],
    ],
    ['imagePullSecrets', { imagePullSecrets: [{ name: 'regcred' }] }, ['regcred']],
    ['init containers', { initContainers: [{ envFrom: [{ secretRef: { name: 's5' } }] }] }, ['s5']],
    [
      'ephemeral containers',
      { ephemeralContainers: [{ env: [{ valueFrom: { secretKeyRef: { name: 's6' } } }] }] },
      ['s6'],
    ],
    [
      'configMap only',
      {
        containers: [{ envFrom: [{ configMapRef: { name: 's1' } }] }],
        volumes: [{ configMap: { name: 's1' } }],
      },
      [],
    ],
    [
      'malformed shapes',
      { containers: 'nope', volumes: [null, 3, { secret: 'x' }], imagePullSecrets: {} },
      [],
    ],
    ['not an object', null, []],
  ];
  it.each(cases)('finds the Secrets referenced by %s', (_label, podSpec, expected) => {
    // given a pod spec / when discovering / then exactly the referenced names are found
    expect([...referencedSecrets(podSpec)].sort()).toEqual(expected);
  });

  it('answers whether one named Secret is referenced', () => {
    // given
    const spec = { containers: [{ env: [{ valueFrom: { secretKeyRef: { name: 'db' } } }] }] };
    // when / then
    expect(referencesSecret(spec, 'db')).toBe(true);
    expect(referencesSecret(spec, 'other')).toBe(false);
  });
});

describe('content hash', () => {
  const base = { type: 'Opaque', data: { a: bytes('1'), b: bytes('2') }, labels: {}, annotations: {} };
  it('ignores key order', () => {
    expect(contentHash(base)).toBe(contentHash({ ...base, data: { b: bytes('2'), a: bytes('1') } }));
  });
  it.each([
    ['a value', { data: { a: bytes('1'), b: bytes('3') } }],
    ['a key name', { data: { a: bytes('1'), c: bytes('2') } }],
    ['the type', { type: 'kubernetes.io/tls' }],
    ['a template label', { labels: { team: 'x' } }],
    ['a template annotation', { annotations: { note: 'x' } }],
    ['key/value boundaries', { data: { a: bytes('12'), b: bytes('') } }],
  ])('changes when %s changes', (_label, tweak) => {
    expect(contentHash({ ...base, ...tweak })).not.toBe(contentHash(base));
  });
  it('is a sha256 hex digest', () => {
    expect(contentHash(base)).toMatch(/^[0-9a-f]{64}$/);
  });
});

function aDesired(tweak: Partial<Desired> = {}): Desired {
  return {
    binding: 'b',
    source: 'mem',
    type: 'Opaque',
    data: { password: 'bmV3' },
    labels: {},
    annotations: {},
    hash: 'h2',
    version: 'v2',
    versionCreated: '2026-01-02T00:00:00.000Z',
    ...tweak,
  };
}

function anExisting(tweak: Partial<KubeSecret> = {}, annotations: Record<string, string> = {}): KubeSecret {
  return {
    namespace: 'ns',
    name: 's',
    type: 'Opaque',
    data: { password: 'b2xk' },
    labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
    annotations: {
      [Annotation.Binding]: 'b',
      [Annotation.Source]: 'mem',
      [Annotation.ContentHash]: 'h1',
      [Annotation.VersionCreated]: '2026-01-01T00:00:00.000Z',
      ...annotations,
    },
    resourceVersion: '7',
    ...tweak,
  };
}

describe('deciding what to do with one target', () => {
  const target = (creationPolicy: 'Owner' | 'Merge' | 'Orphan') => ({
    namespace: 'ns',
    name: 's',
    creationPolicy,
  });
  const cases: [
    string,
    KubeSecret | undefined,
    Desired,
    'Owner' | 'Merge' | 'Orphan',
    string,
    string | undefined,
  ][] = [
    ['missing under Owner', undefined, aDesired(), 'Owner', 'create', undefined],
    ['missing under Orphan', undefined, aDesired(), 'Orphan', 'create', undefined],
    ['missing under Merge', undefined, aDesired(), 'Merge', 'skip', 'merge-target-missing'],
    ['ours, older content', anExisting(), aDesired(), 'Owner', 'update', undefined],
    [
      'ours, same hash and data',
      anExisting(
        { data: { password: 'bmV3' } },
        { [Annotation.ContentHash]: 'h2', [Annotation.Version]: 'v2' },
      ),
      aDesired(),
      'Owner',
      'unchanged',
      undefined,
    ],
    [
      'ours, same hash and data, a newer store version (the annotation follows)',
      anExisting(
        { data: { password: 'bmV3' } },
        { [Annotation.ContentHash]: 'h2', [Annotation.Version]: 'v1' },
      ),
      aDesired(),
      'Owner',
      'update',
      undefined,
    ],
    [
      'ours, same hash and data, an older store version (never regresses the annotation)',
      anExisting(
        { data: { password: 'bmV3' } },
        {
          [Annotation.ContentHash]: 'h2',
          [Annotation.Version]: 'v3',
          [Annotation.VersionCreated]: '2026-01-03T00:00:00.000Z',
        },
      ),
      aDesired(),
      'Owner',
      'unchanged',
      undefined,
    ],
    [
      'ours, same hash but drifted data',
      anExisting({}, { [Annotation.ContentHash]: 'h2' }),
      aDesired(),
      'Owner',
      'update',
      undefined,
    ],
    [
      'ours, newer version in target',
      anExisting({}, { [Annotation.VersionCreated]: '2026-02-01T00:00:00.000Z' }),
      aDesired(),
      'Owner',
      'skip',
      'older-version',
    ],
    [
      'newer version from another source',
      anExisting(
        {},
        { [Annotation.Source]: 'other', [Annotation.VersionCreated]: '2026-02-01T00:00:00.000Z' },
      ),
      aDesired(),
      'Owner',
      'update',
      undefined,
    ],
    [
      'ours, same hash and data, restarts still pending',
      anExisting(
        { data: { password: 'bmV3' } },
        { [Annotation.ContentHash]: 'h2', [Annotation.RestartPending]: 'h2' },
      ),
      aDesired(),
      'Owner',
      'restart',
      undefined,
    ],
    ['foreign under Owner', anExisting({ labels: {} }), aDesired(), 'Owner', 'skip', 'foreign-secret'],
    [
      'ours but another binding',
      anExisting({}, { [Annotation.Binding]: 'other' }),
      aDesired(),
      'Owner',
      'skip',
      'owned-by-other-binding',
    ],
    [
      'foreign under Merge',
      anExisting({ labels: {}, annotations: {} }),
      aDesired(),
      'Merge',
      'update',
      undefined,
    ],
    [
      'foreign under Orphan',
      anExisting({ labels: {}, annotations: {} }),
      aDesired(),
      'Orphan',
      'update',
      undefined,
    ],
  ];
  it.each(cases)('%s', (_label, existing, desired, policy, action, reason) => {
    // given the cluster state / when deciding / then
    const decision = decide(existing, desired, target(policy));
    expect(decision.action).toBe(action);
    expect(decision.action === 'skip' ? decision.reason : undefined).toBe(reason);
  });

  it('Owner creates with the managed-by label and every annotation', () => {
    const decision = decide(undefined, aDesired(), target('Owner'));
    if (decision.action !== 'create') throw new Error('expected create');
    expect(decision.secret.labels[MANAGED_BY_LABEL]).toBe(MANAGED_BY_VALUE);
    expect(decision.secret.annotations).toMatchObject({
      [Annotation.Binding]: 'b',
      [Annotation.Source]: 'mem',
      [Annotation.Version]: 'v2',
      [Annotation.VersionCreated]: '2026-01-02T00:00:00.000Z',
      [Annotation.ContentHash]: 'h2',
    });
  });

  it('an update of a restarting binding records, in the same write, that its restarts are pending', () => {
    const withRestarts = decide(anExisting(), aDesired({ restarts: true }), target('Owner'));
    const without = decide(
      anExisting({}, { [Annotation.RestartPending]: 'h1' }),
      aDesired(),
      target('Owner'),
    );
    const created = decide(undefined, aDesired({ restarts: true }), target('Owner'));
    if (withRestarts.action !== 'update' || without.action !== 'update' || created.action !== 'create')
      throw new Error('expected updates and a create');
    expect(withRestarts.secret.annotations[Annotation.RestartPending]).toBe('h2');
    expect(without.secret.annotations[Annotation.RestartPending]).toBeUndefined();
    // a created Secret restarts nothing: its pods were waiting for it
    expect(created.secret.annotations[Annotation.RestartPending]).toBeUndefined();
  });

  it('every cluster creating one target gets the same frozen Secret, and another target its own', () => {
    const desired = aDesired();
    const [first, second] = [
      decide(undefined, desired, target('Owner')),
      decide(undefined, desired, target('Owner')),
    ];
    const elsewhere = decide(undefined, desired, { ...target('Owner'), name: 'other' });
    if (first.action !== 'create' || second.action !== 'create' || elsewhere.action !== 'create')
      throw new Error('expected creates');
    expect(second.secret).toBe(first.secret);
    expect(
      Object.isFrozen(first.secret) &&
        Object.isFrozen(first.secret.data) &&
        Object.isFrozen(first.secret.annotations),
    ).toBe(true);
    expect(() => {
      first.secret.data['password'] = 'changed';
    }).toThrow(TypeError);
    expect(elsewhere.secret).not.toBe(first.secret);
    expect(elsewhere.secret.name).toBe('other');
  });

  it('Merge keeps foreign keys, labels and type and takes no ownership', () => {
    const existing = anExisting({
      type: 'custom',
      labels: { team: 'x' },
      data: { other: 'Zm9v', password: 'b2xk' },
    });
    const decision = decide(existing, aDesired(), target('Merge'));
    if (decision.action !== 'update') throw new Error('expected update');
    expect(decision.secret.data).toEqual({ other: 'Zm9v', password: 'bmV3' });
    expect(decision.secret.type).toBe('custom');
    expect(decision.secret.labels).toEqual({ team: 'x' });
    expect(decision.secret.resourceVersion).toBe('7');
    expect(decision.changedKeys).toEqual(['password']);
  });

  it('Orphan replaces the data but adds no managed-by label', () => {
    const existing = anExisting({ labels: { team: 'x' }, data: { other: 'Zm9v' } });
    const decision = decide(existing, aDesired(), target('Orphan'));
    if (decision.action !== 'update') throw new Error('expected update');
    expect(decision.secret.data).toEqual({ password: 'bmV3' });
    expect(decision.secret.labels).toEqual({ team: 'x' });
    expect(decision.changedKeys).toEqual(['other', 'password']);
  });
});

describe('rollout waves', () => {
  const registry = aRegistry({
    clusters: [
      aCluster('s1', { labels: { env: 'staging' } }),
      aCluster('p1'),
      aCluster('dev1', { labels: { env: 'dev' } }),
      aCluster('p2'),
      aCluster('s2', { labels: { env: 'staging' } }),
    ],
  });
  const names = (waves: { name: string }[][]) => waves.map((w) => w.map((c) => c.name));

  it.each([
    ['no waves: one wave of all', undefined, [['s1', 'p1', 'dev1', 'p2', 's2']]],
    [
      'by labels, unmatched last',
      [{ matchLabels: { env: 'staging' } }, { matchLabels: { env: 'prod' } }],
      [['s1', 's2'], ['p1', 'p2'], ['dev1']],
    ],
    [
      'first matching wave wins',
      [{ names: ['p1'] }, { matchLabels: { env: 'prod' } }],
      [['p1'], ['p2'], ['s1', 'dev1', 's2']],
    ],
    [
      'empty waves dropped',
      [{ names: ['nope'] }, { matchLabels: { env: 'dev' } }],
      [['dev1'], ['s1', 'p1', 'p2', 's2']],
    ],
  ])('%s', (_label, waves, expected) => {
    expect(names(toWaves(registry.clusters, waves))).toEqual(expected);
  });
});

describe('retries and durations', () => {
  it.each([
    ['20s', 20_000],
    ['1m30s', 90_000],
    ['500ms', 500],
    ['2h', 7_200_000],
    ['7d', 604_800_000],
  ])('parses %s', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it('backs off exponentially with full jitter up to the cap', () => {
    const policy = { baseMs: 100, maxMs: 1000, random: () => 0.999 };
    expect([0, 1, 2, 3, 4, 5].map((r) => backoffMs(r, policy))).toEqual([99, 199, 399, 799, 999, 999]);
    expect(backoffMs(3, { ...policy, random: () => 0 })).toBe(0);
  });

  it('waits as long as Retry-After asks when that is longer than the backoff, up to maxMs', () => {
    const policy = { baseMs: 100, maxMs: 5000, random: () => 0.5 };
    const asking = (ms: number) => new ThrottledError('slow down', { status: 429, retryAfterMs: ms });
    expect(retryDelayMs(asking(2000), 0, policy)).toBe(2000);
    expect(retryDelayMs(asking(10), 3, policy)).toBe(400); // the backoff is longer
    expect(retryDelayMs(asking(600_000), 0, policy)).toBe(5000); // capped
    expect(retryDelayMs(new ThrottledError('no header'), 0, policy)).toBe(50);
  });

  it('sleeps for the Retry-After the failed attempt carried', async () => {
    const slept: number[] = [];
    const clock = { ...systemClock, sleep: (ms: number) => (slept.push(ms), Promise.resolve()) };
    const policy = { retries: 2, baseMs: 1, maxMs: 5000, random: () => 0, clock };
    let calls = 0;
    const value = await withRetry(
      () =>
        ++calls === 1
          ? Promise.reject(new ThrottledError('t', { status: 429, retryAfterMs: 1500 }))
          : Promise.resolve('ok'),
      policy,
    );
    expect(value).toBe('ok');
    expect(slept).toEqual([1500]);
  });

  it.each([
    ['2', 2000],
    [' 0 ', 0],
    ['Sat, 05 Dec 2026 19:00:03 GMT', 3000],
    ['Sat, 05 Dec 2026 18:59:00 GMT', 0],
    ['soon', undefined],
    [undefined, undefined],
  ])('reads Retry-After %p as %p ms', (header, ms) => {
    expect(parseRetryAfter(header, Date.parse('2026-12-05T19:00:00Z'))).toBe(ms);
  });

  const fast = { retries: 3, baseMs: 1, maxMs: 2, random: () => 0.5, clock: systemClock };
  it.each([
    ['409', new ConflictError('c')],
    ['429', new ThrottledError('t')],
  ])('retries %s and then succeeds', async (_label, error) => {
    let calls = 0;
    const value = await withRetry(() => (++calls < 3 ? Promise.reject(error) : Promise.resolve('ok')), fast);
    expect(value).toBe('ok');
    expect(calls).toBe(3);
  });

  it('does not retry a definitive refusal', async () => {
    const attempts = { count: 0 };
    await expect(
      withRetry(() => Promise.reject(new ClusterRejectedError('no')), fast, attempts),
    ).rejects.toThrow(ClusterRejectedError);
    expect(attempts.count).toBe(1);
  });

  it('gives up after the configured retries', async () => {
    const attempts = { count: 0 };
    await expect(withRetry(() => Promise.reject(new ConflictError('c')), fast, attempts)).rejects.toThrow(
      ConflictError,
    );
    expect(attempts.count).toBe(4);
  });
});
