import type { SecretChange } from '../../shared/core/change.js';
import {
  ClusterRejectedError,
  ClusterUnavailableError,
  ConflictError,
  StoreError,
} from '../../shared/core/errors.js';
import { Annotation, MANAGED_BY_LABEL, RestartAnnotation } from '../../shared/engine/annotations.js';
import { SkipReason } from '../../shared/engine/decide.js';
import { createPropagator } from '../../shared/engine/propagator.js';
import type { WorkItem } from '../../shared/engine/types.js';
import type { Registry } from '../../shared/registry/schema.js';
import { createJsonLogger, createMemoryMetrics } from '../../shared/telemetry/index.js';
import { createMemorySource } from '../support/memory-source.js';
import { aBinding, aCluster, aRegistry } from './support/builders.js';
import { createMemoryCluster, type MemoryCluster } from './support/memory-cluster.js';
import { makeCert } from '../template/certs.js';
import { toClusterError } from '../../shared/kube/transport.js';

const CANARY = 'CANARY-7f3a9c-do-not-log';

function harness(registry: Registry, options: { queue?: WorkItem[][] } = {}) {
  const source = createMemorySource({ name: 'mem' });
  const clusters = new Map<string, MemoryCluster>(
    registry.clusters.map((c) => [c.name, createMemoryCluster(c.name)]),
  );
  const lines: string[] = [];
  const metrics = createMemoryMetrics();
  const queue = options.queue;
  const propagator = createPropagator({
    registry,
    sources: new Map([['mem', source]]),
    gateways: (c) => {
      const cluster = clusters.get(c.name);
      if (cluster === undefined) throw new Error(`no cluster ${c.name}`);
      return cluster;
    },
    logger: createJsonLogger({ write: (l) => lines.push(l), level: 'debug' }),
    metrics,
    backoff: { baseMs: 1, maxMs: 2 },
    ...(queue === undefined
      ? {}
      : {
          workQueue: {
            enqueue: (items: readonly WorkItem[]) => {
              queue.push([...items]);
              return Promise.resolve();
            },
          },
        }),
  });
  const cluster = (name: string) => {
    const c = clusters.get(name);
    if (c === undefined) throw new Error(name);
    return c;
  };
  const secretIn = (name: string, ns = 'payments', secret = 'db-credentials') =>
    cluster(name).secrets.get(`${ns}/${secret}`);
  const decoded = (name: string, key: string) =>
    Buffer.from(secretIn(name)?.data[key] ?? '', 'base64').toString();
  return { source, clusters, cluster, secretIn, decoded, lines, metrics, propagator };
}

function aChange(tweak: Partial<SecretChange> = {}): SecretChange {
  return {
    provider: 'local',
    secretRef: 'prod/database',
    kind: 'version-current',
    eventId: 'evt-1',
    time: '2026-01-01T00:00:00Z',
    ...tweak,
  };
}

const podUsing = (secret: string) => ({
  containers: [{ name: 'app', envFrom: [{ secretRef: { name: secret } }] }],
});

describe('propagate', () => {
  it('creates the target in every selected cluster with labels and annotations, reading the store once', async () => {
    // given
    const h = harness(
      aRegistry({ clusters: [aCluster('c1'), aCluster('c2'), aCluster('dev', { labels: { env: 'dev' } })] }),
    );
    h.source.put('prod/database', { username: 'app', password: CANARY });
    // when
    const [report] = await h.propagator.propagate(aChange());
    // then
    expect(report?.counts).toMatchObject({ created: 2, failed: 0 });
    expect(h.decoded('c1', 'password')).toBe(CANARY);
    expect(h.secretIn('c2')?.labels[MANAGED_BY_LABEL]).toBe('secret-propagator');
    expect(h.secretIn('c2')?.annotations).toMatchObject({
      [Annotation.Binding]: 'payments-db',
      [Annotation.Source]: 'mem',
      [Annotation.Version]: 'v1',
    });
    expect(h.cluster('dev').calls).toEqual([]);
    expect(h.source.reads).toHaveLength(1);
  });

  it('reads a shared secret once for several bindings and targets', async () => {
    // given two bindings on the same store key
    const h = harness(
      aRegistry({ bindings: [aBinding(), aBinding({ name: 'second', target: { name: 'other' } })] }),
    );
    h.source.put('prod/database', { username: 'u', password: 'p' });
    // when
    const reports = await h.propagator.propagate(aChange());
    // then
    expect(reports.map((r) => r.counts.created)).toEqual([2, 2]);
    expect(h.source.reads).toHaveLength(1);
  });

  it('writes nothing and restarts nothing when the content is unchanged', async () => {
    // given an applied value and a dependent
    const h = harness(aRegistry({ bindings: [aBinding({ restart: { auto: true } })] }));
    h.source.put('prod/database', { username: 'u', password: 'p' });
    h.cluster('c1').seedWorkload('Deployment', 'payments', 'api', podUsing('db-credentials'));
    await h.propagator.propagate(aChange());
    h.cluster('c1').calls.length = 0;
    // when the same event is delivered again
    const [report] = await h.propagator.propagate(aChange());
    // then
    expect(report?.counts).toMatchObject({ unchanged: 2, created: 0, updated: 0 });
    expect(h.cluster('c1').calls).toEqual(['getSecret']);
  });

  it('updates on a real change and restarts explicit, selected and discovered dependents once', async () => {
    // given
    const h = harness(
      aRegistry({
        clusters: [aCluster('c1')],
        bindings: [
          aBinding({
            restart: {
              auto: true,
              workloads: [{ kind: 'StatefulSet', name: 'db-migrator' }],
              selector: { matchLabels: { tier: 'web' } },
            },
          }),
        ],
      }),
    );
    h.source.put('prod/database', { username: 'u', password: 'p1' });
    const c1 = h.cluster('c1');
    c1.seedWorkload('Deployment', 'payments', 'api', podUsing('db-credentials'));
    c1.seedWorkload('StatefulSet', 'payments', 'db-migrator', {});
    c1.seedWorkload('DaemonSet', 'payments', 'web', {}, { tier: 'web' });
    c1.seedWorkload('Deployment', 'payments', 'unrelated', podUsing('other'));
    await h.propagator.propagate(aChange());
    // when
    h.source.put('prod/database', { username: 'u', password: 'p2' });
    const [report] = await h.propagator.propagate(aChange({ eventId: 'evt-2' }));
    const [again] = await h.propagator.propagate(aChange({ eventId: 'evt-2' }));
    // then
    expect(report?.counts.updated).toBe(1);
    expect(report?.targets[0]?.restarts.map((r) => `${r.kind}/${r.name}`).sort()).toEqual([
      'DaemonSet/web',
      'Deployment/api',
      'StatefulSet/db-migrator',
    ]);
    expect(
      c1.workloads.get('Deployment/payments/api')?.templateAnnotations[RestartAnnotation.RestartedForHash],
    ).toBe(report?.targets[0]?.hash);
    expect(c1.workloads.get('Deployment/payments/unrelated')?.templateAnnotations).toEqual({});
    expect(again?.restarts).toBe(0);
    expect(h.metrics.counter('restarts')).toBe(3);
  });

  it('does not lose a failed restart: the retried event restarts what was missed, once', async () => {
    // given a value change whose restart patch keeps failing
    const h = harness(
      aRegistry({ clusters: [aCluster('c1')], bindings: [aBinding({ restart: { auto: true } })] }),
    );
    h.source.put('prod/database', { username: 'u', password: 'p1' });
    h.cluster('c1').seedWorkload('Deployment', 'payments', 'api', podUsing('db-credentials'));
    await h.propagator.propagate(aChange());
    h.source.put('prod/database', { username: 'u', password: 'p2' });
    h.cluster('c1').fail('patchTemplateAnnotations', new ClusterUnavailableError('503', { status: 503 }), 4);
    // when the event is handled, fails, and is delivered again
    const [failed] = await h.propagator.propagate(aChange({ eventId: 'evt-2' }));
    const [retried] = await h.propagator.propagate(aChange({ eventId: 'evt-2' }));
    const [duplicate] = await h.propagator.propagate(aChange({ eventId: 'evt-2' }));
    // then
    expect(failed?.targets[0]).toMatchObject({
      outcome: 'failed',
      reason: 'restart-failed: 503',
      errorCode: 'ClusterUnavailable',
      retryable: true,
    });
    expect(retried?.targets[0]).toMatchObject({
      outcome: 'updated',
      restarts: [{ kind: 'Deployment', name: 'api', outcome: 'restarted' }],
    });
    expect(duplicate?.targets[0]).toMatchObject({ outcome: 'unchanged', restarts: [] });
    expect(h.decoded('c1', 'password')).toBe('p2');
  });

  it('retries a 409 and converges', async () => {
    // given
    const h = harness(aRegistry({ clusters: [aCluster('c1')] }));
    h.source.put('prod/database', { username: 'u', password: 'p' });
    h.cluster('c1').fail('createSecret', new ConflictError('conflict', { status: 409 }), 2);
    // when
    const [report] = await h.propagator.propagate(aChange());
    // then
    expect(report?.targets[0]).toMatchObject({ outcome: 'created', attempts: 3 });
  });

  it('isolates a failing cluster and reports it with its code', async () => {
    // given c2 answers 503 forever and c3 refuses
    const h = harness(aRegistry({ clusters: [aCluster('c1'), aCluster('c2'), aCluster('c3')] }));
    h.source.put('prod/database', { username: 'u', password: 'p' });
    h.cluster('c2').fail('*', new ClusterUnavailableError('503', { status: 503 }), 100);
    h.cluster('c3').fail('*', new ClusterRejectedError('403', { status: 403 }), 100);
    // when
    const [report] = await h.propagator.propagate(aChange());
    // then
    const byCluster = Object.fromEntries((report?.targets ?? []).map((t) => [t.cluster, t]));
    expect(byCluster['c1']?.outcome).toBe('created');
    expect(byCluster['c2']).toMatchObject({
      outcome: 'failed',
      errorCode: 'ClusterUnavailable',
      retryable: true,
      attempts: 4,
    });
    expect(byCluster['c3']).toMatchObject({
      outcome: 'failed',
      errorCode: 'ClusterRejected',
      retryable: false,
      attempts: 1,
    });
  });

  it('times out a hanging cluster without holding up the others', async () => {
    // given
    const h = harness(
      aRegistry({
        clusters: [aCluster('c1'), aCluster('slow')],
        // 1s: the shortest timeout the registry accepts.
        settings: { targetTimeout: '1s', retries: 0 },
      }),
    );
    h.source.put('prod/database', { username: 'u', password: 'p' });
    h.cluster('slow').delay(10_000);
    // when
    const started = Date.now();
    const [report] = await h.propagator.propagate(aChange());
    // then
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(report?.targets.find((t) => t.cluster === 'slow')).toMatchObject({
      outcome: 'failed',
      errorCode: 'Timeout',
    });
    expect(report?.targets.find((t) => t.cluster === 'c1')?.outcome).toBe('created');
  });

  it('never writes an older version over a newer one', async () => {
    // given the target holds a version created later than the one the store now calls current
    const h = harness(aRegistry({ clusters: [aCluster('c1')] }));
    const older = h.source.put(
      'prod/database',
      { username: 'u', password: 'old' },
      { createdAt: new Date('2026-01-01T00:00:00Z') },
    );
    h.source.put(
      'prod/database',
      { username: 'u', password: 'new' },
      { createdAt: new Date('2026-01-02T00:00:00Z') },
    );
    await h.propagator.propagate(aChange());
    h.source.promote('prod/database', older);
    // when
    const [report] = await h.propagator.propagate(aChange({ eventId: 'late' }));
    // then
    expect(report?.targets[0]).toMatchObject({ outcome: 'skipped', reason: 'older-version' });
    expect(h.decoded('c1', 'password')).toBe('new');
  });

  it('leaves a foreign Secret untouched under Owner and keeps foreign keys under Merge', async () => {
    // given
    const h = harness(
      aRegistry({
        clusters: [aCluster('c1')],
        bindings: [
          aBinding(),
          aBinding({ name: 'merged', target: { name: 'shared', creationPolicy: 'Merge' } }),
        ],
      }),
    );
    h.source.put('prod/database', { username: 'u', password: 'p' });
    const foreign = { namespace: 'payments', type: 'Opaque', labels: {}, annotations: {} };
    h.cluster('c1').seedSecret({ ...foreign, name: 'db-credentials', data: { password: 'bWluZQ==' } });
    h.cluster('c1').seedSecret({ ...foreign, name: 'shared', data: { keep: 'a2VlcA==' } });
    // when
    const reports = await h.propagator.propagate(aChange());
    // then
    expect(reports[0]?.targets[0]).toMatchObject({ outcome: 'skipped', reason: 'foreign-secret' });
    expect(h.secretIn('c1')?.data).toEqual({ password: 'bWluZQ==' });
    expect(reports[1]?.targets[0]?.outcome).toBe('updated');
    expect(Object.keys(h.secretIn('c1', 'payments', 'shared')?.data ?? {}).sort()).toEqual([
      'keep',
      'password',
      'username',
    ]);
    expect(h.secretIn('c1', 'payments', 'shared')?.labels[MANAGED_BY_LABEL]).toBeUndefined();
  });

  it('writes nothing anywhere when the value cannot be rendered', async () => {
    // given the store value lacks a property the binding needs
    const h = harness(aRegistry());
    h.source.put('prod/database', { username: 'u' });
    // when
    const [report] = await h.propagator.propagate(aChange());
    // then
    expect(report?.error).toMatchObject({ code: 'RenderError', retryable: false });
    expect(report?.targets).toEqual([]);
    expect(h.cluster('c1').calls).toEqual([]);
  });

  it('reports a store failure on the binding as retryable', async () => {
    const h = harness(aRegistry());
    h.source.put('prod/database', { username: 'u', password: 'p' });
    h.source.failReads('prod/database', new StoreError('503 from store'));
    const [report] = await h.propagator.propagate(aChange());
    expect(report?.error).toMatchObject({ code: 'StoreError', retryable: true });
  });

  it('skips a namespace outside the cluster allowlist', async () => {
    const h = harness(aRegistry({ clusters: [aCluster('c1', { namespaces: ['jenkins'] }), aCluster('c2')] }));
    h.source.put('prod/database', { username: 'u', password: 'p' });
    const [report] = await h.propagator.propagate(aChange());
    expect(report?.targets.find((t) => t.cluster === 'c1')).toMatchObject({
      outcome: 'skipped',
      reason: 'namespace-not-allowed',
    });
  });

  it('ignores a change for a secret no binding uses', async () => {
    const h = harness(aRegistry());
    expect(await h.propagator.propagate(aChange({ secretRef: 'unknown' }))).toEqual([]);
    expect(await h.propagator.propagate(aChange({ provider: 'aws' }))).toEqual([]);
  });

  it('only warns on near-expiry and expired', async () => {
    const h = harness(aRegistry());
    h.source.put('prod/database', { username: 'u', password: 'p' });
    const [report] = await h.propagator.propagate(aChange({ kind: 'near-expiry' }));
    expect(report?.targets).toEqual([]);
    expect(h.source.reads).toHaveLength(0);
    expect(h.metrics.counter('expiry.warnings')).toBe(1);
  });

  it('follows the deletion policy when the source secret is gone', async () => {
    // given
    const h = harness(
      aRegistry({
        bindings: [
          aBinding(),
          aBinding({ name: 'kept', target: { name: 'kept', deletionPolicy: 'Retain' } }),
        ],
      }),
    );
    h.source.put('prod/database', { username: 'u', password: 'p' });
    await h.propagator.propagate(aChange());
    h.source.remove('prod/database');
    const registryDelete = harness(
      aRegistry({ bindings: [aBinding({ target: { deletionPolicy: 'Delete' } })] }),
    );
    registryDelete.source.put('prod/database', { username: 'u', password: 'p' });
    await registryDelete.propagator.propagate(aChange());
    registryDelete.source.remove('prod/database');
    // when
    await h.propagator.propagate(aChange({ kind: 'deleted' }));
    const [deleted] = await registryDelete.propagator.propagate(aChange({ kind: 'deleted' }));
    // then
    expect(h.secretIn('c1')).toBeDefined();
    expect(h.secretIn('c1', 'payments', 'kept')).toBeDefined();
    expect(deleted?.targets.map((t) => t.reason)).toEqual(['deleted', 'deleted']);
    expect(registryDelete.secretIn('c1')).toBeUndefined();
  });
});

describe('reconciles repair what events missed', () => {
  it('deletes our Secrets on reconcile when the source is gone under Delete, reported as deleted', async () => {
    // given an applied binding whose delete event was missed
    const h = harness(aRegistry({ bindings: [aBinding({ target: { deletionPolicy: 'Delete' } })] }));
    h.source.put('prod/database', { username: 'u', password: CANARY });
    await h.propagator.propagate(aChange());
    h.source.remove('prod/database');
    // when
    const [report] = await h.propagator.reconcile();
    // then
    expect(report?.error).toBeUndefined();
    expect(report?.targets.map((t) => t.outcome)).toEqual(['deleted', 'deleted']);
    expect(report?.counts).toMatchObject({ deleted: 2, updated: 0, failed: 0 });
    expect(h.secretIn('c1')).toBeUndefined();
    expect(h.secretIn('c2')).toBeUndefined();
  });

  it('keeps the Secrets on reconcile under Retain and says so on each target and on the binding', async () => {
    // given
    const h = harness(aRegistry());
    h.source.put('prod/database', { username: 'u', password: CANARY });
    await h.propagator.propagate(aChange());
    h.source.remove('prod/database');
    h.cluster('c1').calls.length = 0;
    // when
    const [report] = await h.propagator.reconcile();
    // then
    expect(report?.error?.code).toBe('SecretNotFound');
    expect(report?.targets.map((t) => `${t.outcome}:${t.reason ?? ''}`)).toEqual([
      'skipped:source-deleted-retained',
      'skipped:source-deleted-retained',
    ]);
    expect(h.secretIn('c1')).toBeDefined();
    expect(h.cluster('c1').calls).toEqual([]);
  });

  it('records a new store version with the same content on the Secret, without restarting anything', async () => {
    // given an applied version 1 and a dependent
    const h = harness(aRegistry({ bindings: [aBinding({ restart: { auto: true } })] }));
    h.source.put('prod/database', { username: 'u', password: CANARY });
    h.cluster('c1').seedWorkload('Deployment', 'payments', 'api', podUsing('db-credentials'));
    await h.propagator.propagate(aChange());
    const before = h.secretIn('c1')?.annotations[Annotation.Version];
    // when version 2 holds the same content
    h.source.put('prod/database', { username: 'u', password: CANARY });
    const [report] = await h.propagator.propagate(aChange());
    const [again] = await h.propagator.propagate(aChange());
    // then
    expect(before).toBe('v1');
    expect(h.secretIn('c1')?.annotations[Annotation.Version]).toBe('v2');
    expect(report?.targets.map((t) => `${t.outcome}:${t.reason ?? ''}`)).toEqual([
      'updated:version-annotation-only',
      'updated:version-annotation-only',
    ]);
    expect(report?.restarts).toBe(0);
    expect(h.cluster('c1').calls).not.toContain('patchTemplateAnnotations');
    expect(again?.counts).toMatchObject({ unchanged: 2, updated: 0 });
  });
});

describe('rollout waves and fan-out', () => {
  it('halts later waves after a failed wave', async () => {
    // given
    const h = harness(
      aRegistry({
        clusters: [
          aCluster('stage', { labels: { env: 'prod', stage: 'yes' } }),
          aCluster('p1'),
          aCluster('p2'),
        ],
        bindings: [aBinding({ rollout: { waves: [{ matchLabels: { stage: 'yes' } }] } })],
        settings: { retries: 0 },
      }),
    );
    h.source.put('prod/database', { username: 'u', password: 'p' });
    h.cluster('stage').fail('*', new ClusterRejectedError('403'), 10);
    // when
    const [report] = await h.propagator.propagate(aChange());
    // then
    expect(report?.targets.map((t) => [t.cluster, t.outcome, t.reason ?? ''])).toEqual([
      ['stage', 'failed', '403'],
      ['p1', 'skipped', 'halted-after-failed-wave'],
      ['p2', 'skipped', 'halted-after-failed-wave'],
    ]);
    expect(h.cluster('p1').calls).toEqual([]);
  });

  it('enqueues work items of batchSize clusters and a worker applies one', async () => {
    // given
    const queue: WorkItem[][] = [];
    const h = harness(
      aRegistry({
        clusters: ['a', 'b', 'c', 'd', 'e'].map((n) => aCluster(n)),
        settings: { fanOut: { batchSize: 2 } },
      }),
      { queue },
    );
    h.source.put('prod/database', { username: 'u', password: 'p' });
    // when
    const [report] = await h.propagator.propagate(aChange());
    // then
    expect(report?.enqueued).toBe(5);
    expect(queue[0]?.map((i) => i.clusters)).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(h.cluster('a').calls).toEqual([]);
    // when a worker applies the first item
    const first = queue[0]?.[0];
    if (first === undefined) throw new Error('no item');
    const [applied] = await h.propagator.applyWorkItem(first);
    // then
    expect(applied?.counts.created).toBe(2);
    expect(h.secretIn('b')).toBeDefined();
    expect(h.secretIn('c')).toBeUndefined();
  });
});

describe('fanned-out reconcile', () => {
  it('enqueues cluster-major items carrying every binding, and a worker lists each cluster once for all of them', async () => {
    // given 3 clusters, batchSize 2, bindings a and b on every cluster and c only on c3
    const queue: WorkItem[][] = [];
    const h = harness(
      aRegistry({
        clusters: ['c1', 'c2', 'c3'].map((n) => aCluster(n, { labels: { env: 'prod', zone: n } })),
        bindings: [
          aBinding({ name: 'a', target: { name: 'a' } }),
          aBinding({ name: 'b', target: { name: 'b' } }),
          aBinding({ name: 'c', target: { name: 'c', clusters: { matchLabels: { zone: 'c3' } } } }),
        ],
        settings: { fanOut: { batchSize: 2 } },
      }),
      { queue },
    );
    h.source.put('prod/database', { username: 'u', password: 'p' });
    // when
    const reports = await h.propagator.reconcile();
    // then a and b fan out (3 clusters > 2) in two items over the same clusters; c (1 cluster) is applied at once
    expect(reports.map((r) => [r.binding, r.enqueued, r.counts.created])).toEqual([
      ['a', 3, 0],
      ['b', 3, 0],
      ['c', 0, 1],
    ]);
    expect(queue.flat().map((i) => ({ bindings: i.bindings, clusters: i.clusters }))).toEqual([
      { bindings: ['a', 'b'], clusters: ['c1', 'c2'] },
      { bindings: ['a', 'b'], clusters: ['c3'] },
    ]);
    expect(JSON.stringify(queue)).not.toContain('"p"');
    // when the workers apply both items
    h.cluster('c3').calls.length = 0;
    const applied = (await Promise.all(queue.flat().map((item) => h.propagator.applyWorkItem(item)))).flat();
    // then one report per binding and item, every target created, one listing per cluster
    expect(applied.map((r) => [r.binding, r.counts.created])).toEqual([
      ['a', 2],
      ['b', 2],
      ['a', 1],
      ['b', 1],
    ]);
    for (const name of ['c1', 'c2', 'c3']) {
      expect(h.cluster(name).calls.filter((c) => c === 'listSecrets')).toHaveLength(1);
      expect(h.cluster(name).calls.filter((c) => c === 'getSecret')).toHaveLength(0);
      expect(h.secretIn(name, 'payments', 'a')).toBeDefined();
      expect(h.secretIn(name, 'payments', 'b')).toBeDefined();
    }
  });

  it('reports a cluster of a cluster-major item that none of its bindings selects any more as skipped by each', async () => {
    // given
    const h = harness(
      aRegistry({
        clusters: [aCluster('c1')],
        bindings: ['a', 'b'].map((n) => aBinding({ name: n, target: { name: n } })),
      }),
    );
    h.source.put('prod/database', { username: 'u', password: 'p' });
    // when
    const reports = await h.propagator.applyWorkItem({
      changeId: 'r-2',
      kind: 'reconcile',
      binding: 'a',
      bindings: ['a', 'b'],
      clusters: ['c1', 'decommissioned'],
    });
    // then
    expect(reports.map((r) => [r.binding, r.counts.created, r.counts.skipped])).toEqual([
      ['a', 1, 1],
      ['b', 1, 1],
    ]);
    expect(
      reports.flatMap((r) =>
        r.targets.filter((t) => t.outcome === 'skipped').map((t) => [t.cluster, t.reason]),
      ),
    ).toEqual([
      ['decommissioned', 'cluster-not-selected'],
      ['decommissioned', 'cluster-not-selected'],
    ]);
  });

  it('reports a binding the registry no longer has, and applies the others', async () => {
    // given
    const h = harness(
      aRegistry({ clusters: [aCluster('c1')], bindings: [aBinding({ name: 'a', target: { name: 'a' } })] }),
    );
    h.source.put('prod/database', { username: 'u', password: 'p' });
    // when
    const reports = await h.propagator.applyWorkItem({
      changeId: 'r-1',
      kind: 'reconcile',
      binding: 'a',
      bindings: ['a', 'gone'],
      clusters: ['c1'],
    });
    // then
    expect(reports.map((r) => [r.binding, r.counts.created, r.error?.code])).toEqual([
      ['a', 1, undefined],
      ['gone', 0, 'ConfigError'],
    ]);
  });
});

describe('reconcile, plan and restart', () => {
  it('reconciles several bindings with one Secret listing per cluster', async () => {
    // given
    const h = harness(
      aRegistry({
        clusters: [aCluster('c1')],
        bindings: ['a', 'b', 'c'].map((n) => aBinding({ name: n, target: { name: n } })),
      }),
    );
    h.source.put('prod/database', { username: 'u', password: 'p' });
    await h.propagator.reconcile();
    h.cluster('c1').calls.length = 0;
    // when
    const reports = await h.propagator.reconcile();
    // then
    expect(reports.map((r) => r.counts.unchanged)).toEqual([1, 1, 1]);
    expect(h.cluster('c1').calls).toEqual(['listSecrets']);
  });

  it('reconciles cluster by cluster: each cluster once, all its bindings together, at most `concurrency` targets at once', async () => {
    // given 4 clusters x 3 bindings, two targets at a time
    const names = ['c1', 'c2', 'c3', 'c4'];
    const h = harness(
      aRegistry({
        settings: { concurrency: 2 },
        clusters: names.map((n) => aCluster(n)),
        bindings: ['a', 'b', 'c'].map((n) => aBinding({ name: n, target: { name: n } })),
      }),
    );
    h.source.put('prod/database', { username: 'u', password: 'p' });
    const order: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    for (const name of names) {
      const cluster = h.cluster(name);
      const create = cluster.createSecret.bind(cluster);
      cluster.createSecret = async (secret) => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        order.push(`${name}/${secret.name}`);
        await new Promise((resolve) => setTimeout(resolve, 2));
        inFlight -= 1;
        return create(secret);
      };
    }
    // when
    const reports = await h.propagator.reconcile();
    // then every report lists its targets in registry order of the clusters
    expect(reports.map((r) => r.targets.map((t) => `${t.cluster}:${t.outcome}`))).toEqual(
      ['a', 'b', 'c'].map(() => names.map((n) => `${n}:created`)),
    );
    // two clusters at a time, one lane each, each cluster's targets back to back in binding order
    expect(maxInFlight).toBe(2);
    expect(
      order
        .filter((o) => o.startsWith('c1/') || o.startsWith('c2/'))
        .slice(0, 6)
        .sort(),
    ).toEqual(['c1/a', 'c1/b', 'c1/c', 'c2/a', 'c2/b', 'c2/c']);
    expect(order.filter((o) => o.startsWith('c3/'))).toEqual(['c3/a', 'c3/b', 'c3/c']);
    for (const name of names)
      expect(h.cluster(name).calls.filter((c) => c === 'listSecrets')).toHaveLength(1);
  });

  it('settles the targets of a one-lane cluster from its listing: unchanged and not-ours ones without a request, drifted ones written', async () => {
    // given two clusters, one target at a time (so one lane per cluster), four bindings created once
    const h = harness(
      aRegistry({
        settings: { concurrency: 1 },
        clusters: [aCluster('c1'), aCluster('c2')],
        bindings: ['a', 'b', 'c', 'd'].map((n) => aBinding({ name: n, target: { name: n } })),
      }),
    );
    h.source.put('prod/database', { username: 'u', password: 'p' });
    await h.propagator.reconcile();
    // then on c1 someone edits b's value and hands c to another binding
    const b = h.secretIn('c1', 'payments', 'b');
    const c = h.secretIn('c1', 'payments', 'c');
    if (b === undefined || c === undefined) throw new Error('first reconcile did not create b and c');
    h.cluster('c1').seedSecret({ ...b, data: { ...b.data, password: 'ZWRpdGVk' } });
    h.cluster('c1').seedSecret({
      ...c,
      annotations: { ...c.annotations, [Annotation.Binding]: 'someone-else' },
    });
    for (const name of ['c1', 'c2']) h.cluster(name).calls.length = 0;
    // when
    const reports = await h.propagator.reconcile();
    // then
    expect(reports.map((r) => r.targets.map((t) => `${t.cluster}:${t.outcome}:${t.attempts}`))).toEqual([
      ['c1:unchanged:1', 'c2:unchanged:1'],
      ['c1:updated:1', 'c2:unchanged:1'],
      ['c1:skipped:1', 'c2:unchanged:1'],
      ['c1:unchanged:1', 'c2:unchanged:1'],
    ]);
    expect(reports[2]?.targets[0]?.reason).toBe(SkipReason.OtherBinding);
    expect(reports[0]?.targets[0]).toMatchObject({
      version: reports[1]?.targets[0]?.version,
      hash: reports[1]?.targets[0]?.hash,
    });
    expect(h.secretIn('c1', 'payments', 'b')?.data['password']).toBe(Buffer.from('p').toString('base64'));
    expect(h.cluster('c1').calls).toEqual(['listSecrets', 'replaceSecret']);
    expect(h.cluster('c2').calls).toEqual(['listSecrets']);
  });

  it('gives a cluster several lanes when there are fewer clusters than the concurrency', async () => {
    // given one cluster, 6 bindings, concurrency 3
    const h = harness(
      aRegistry({
        settings: { concurrency: 3 },
        clusters: [aCluster('c1')],
        bindings: ['a', 'b', 'c', 'd', 'e', 'f'].map((n) => aBinding({ name: n, target: { name: n } })),
      }),
    );
    h.source.put('prod/database', { username: 'u', password: 'p' });
    const cluster = h.cluster('c1');
    const create = cluster.createSecret.bind(cluster);
    let inFlight = 0;
    let maxInFlight = 0;
    cluster.createSecret = async (secret) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 2));
      inFlight -= 1;
      return create(secret);
    };
    // when
    const reports = await h.propagator.reconcile();
    // then
    expect(reports.map((r) => r.counts.created)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(maxInFlight).toBe(3);
    expect(cluster.calls.filter((c) => c === 'listSecrets')).toHaveLength(1);
  });

  it('creates unlisted Owner targets without reading them first, and still never overwrites a foreign Secret', async () => {
    // given two bindings on one cluster: target "a" exists but is not ours, target "b" is absent
    const h = harness(
      aRegistry({
        clusters: [aCluster('c1')],
        bindings: ['a', 'b'].map((n) => aBinding({ name: n, target: { name: n } })),
      }),
    );
    h.source.put('prod/database', { username: 'u', password: 'p' });
    h.cluster('c1').seedSecret({
      namespace: 'payments',
      name: 'a',
      type: 'Opaque',
      labels: {},
      annotations: {},
      data: { password: 'bWluZQ==' },
    });
    // when
    const reports = await h.propagator.reconcile();
    // then "b" cost one create; "a" answered 409, was read, and was left alone
    expect(reports.map((r) => r.targets[0]?.outcome)).toEqual(['skipped', 'created']);
    expect(reports[0]?.targets[0]?.reason).toBe('foreign-secret');
    expect(h.secretIn('c1', 'payments', 'a')?.data).toEqual({ password: 'bWluZQ==' });
    expect(h.cluster('c1').calls.filter((c) => c === 'getSecret')).toHaveLength(1);
    expect(h.cluster('c1').calls.filter((c) => c === 'createSecret')).toHaveLength(2);
  });

  it('lists managed Secrets once per (cluster, namespace), never cluster-wide', async () => {
    // given two bindings in "payments" and one in "billing", on two clusters
    const h = harness(
      aRegistry({
        clusters: [aCluster('c1'), aCluster('c2')],
        bindings: [
          aBinding({ name: 'a', target: { name: 'a' } }),
          aBinding({ name: 'b', target: { name: 'b' } }),
          aBinding({ name: 'c', target: { name: 'c', namespace: 'billing' } }),
        ],
      }),
    );
    h.source.put('prod/database', { username: 'u', password: 'p' });
    await h.propagator.reconcile();
    const listed: string[] = [];
    for (const name of ['c1', 'c2']) {
      const cluster = h.cluster(name);
      const list = cluster.listSecrets.bind(cluster);
      cluster.listSecrets = (selector, namespace, options) => {
        listed.push(`${name} ${String(namespace)} ${selector}`);
        return list(selector, namespace, options);
      };
      cluster.calls.length = 0;
    }
    // when
    const reports = await h.propagator.reconcile();
    // then
    expect(reports.map((r) => r.counts.unchanged)).toEqual([2, 2, 2]);
    expect(listed.sort()).toEqual([
      'c1 billing app.kubernetes.io/managed-by=secret-propagator',
      'c1 payments app.kubernetes.io/managed-by=secret-propagator',
      'c2 billing app.kubernetes.io/managed-by=secret-propagator',
      'c2 payments app.kubernetes.io/managed-by=secret-propagator',
    ]);
    for (const name of ['c1', 'c2']) expect(h.cluster(name).calls).toEqual(['listSecrets', 'listSecrets']);
  });

  it('fails the targets of a namespace whose listing is refused, naming the permission, without one GET each', async () => {
    // given the cluster refuses `list` on Secrets in "payments" (a Role without it)
    const h = harness(
      aRegistry({
        clusters: [aCluster('c1')],
        bindings: ['a', 'b'].map((n) => aBinding({ name: n, target: { name: n } })),
      }),
    );
    h.source.put('prod/database', { username: 'u', password: 'p' });
    const refusal = toClusterError(
      'cluster "c1": list secrets payments',
      { status: 403, body: JSON.stringify({ kind: 'Status', reason: 'Forbidden' }) },
      { verb: 'list', resource: 'secrets', namespace: 'payments', cluster: 'c1' },
    );
    h.cluster('c1').fail('listSecrets', refusal);
    // when
    const reports = await h.propagator.reconcile();
    // then both targets failed with the refusal, once listed, nothing read or written
    for (const report of reports)
      expect(report.targets[0]).toMatchObject({
        outcome: 'failed',
        errorCode: 'ClusterRejected',
        retryable: false,
        reason: expect.stringMatching(
          /needs "list" on secrets in namespace "payments".*`secret-propagator rbac --cluster c1`/,
        ),
      });
    expect(h.cluster('c1').calls).toEqual(['listSecrets']);
  });

  it('falls back to one GET per target when a listing fails for a passing reason (an outage)', async () => {
    // given
    const h = harness(
      aRegistry({
        clusters: [aCluster('c1')],
        bindings: ['a', 'b'].map((n) => aBinding({ name: n, target: { name: n } })),
      }),
    );
    h.source.put('prod/database', { username: 'u', password: 'p' });
    h.cluster('c1').fail('listSecrets', new ClusterUnavailableError('HTTP 503', { status: 503 }));
    // when
    const reports = await h.propagator.reconcile();
    // then
    expect(reports.map((r) => r.counts.created)).toEqual([1, 1]);
    expect(h.cluster('c1').calls.filter((c) => c === 'getSecret')).toHaveLength(2);
  });

  it('warns on a scheduled reconcile about a certificate expiring within the window, without its content', async () => {
    // given a TLS binding whose certificate expires in 10 days, and a 30-day window
    const now = Date.now();
    const leaf = makeCert({
      cn: 'api.example.test',
      notBefore: new Date(now - 86_400_000),
      notAfter: new Date(now + 10 * 86_400_000),
    });
    const h = harness(
      aRegistry({
        clusters: [aCluster('c1')],
        settings: { certificateExpiryWindow: '30d' },
        bindings: [
          aBinding({
            data: [
              { secretKey: 'tls.crt', property: 'crt' },
              { secretKey: 'tls.key', property: 'key' },
            ],
            target: { template: { type: 'kubernetes.io/tls' } },
          }),
        ],
      }),
    );
    h.source.put('prod/database', { crt: leaf.cert, key: leaf.key });
    // when
    const reports = await h.propagator.reconcile();
    // then the Secret is still written, and one warning names the key, subject and date only
    expect(reports[0]?.counts.created).toBe(1);
    const warnings = h.lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l['message'] === 'certificate expires within the window');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      binding: 'payments-db',
      key: 'tls.crt',
      subject: 'CN=api.example.test',
    });
    expect(h.metrics.counter('certificates.expiring', { binding: 'payments-db' })).toBe(1);
    const keyBody = leaf.key.split('\n')[1] ?? 'missing';
    for (const line of h.lines) expect(line).not.toContain(keyBody);
  });

  it('repairs drift on reconcile', async () => {
    const h = harness(aRegistry({ clusters: [aCluster('c1')] }));
    h.source.put('prod/database', { username: 'u', password: 'p' });
    await h.propagator.reconcile();
    const secret = h.secretIn('c1');
    if (secret === undefined) throw new Error('missing');
    secret.data['password'] = 'ZHJpZnQ=';
    const [report] = await h.propagator.reconcile();
    expect(report?.counts.updated).toBe(1);
    expect(h.decoded('c1', 'password')).toBe('p');
  });

  it('plans without writing, naming changed keys and dependents', async () => {
    // given
    const h = harness(
      aRegistry({
        clusters: [aCluster('c1'), aCluster('c2')],
        bindings: [aBinding({ restart: { auto: true } })],
      }),
    );
    h.source.put('prod/database', { username: 'u', password: 'p1' });
    await h.propagator.propagate(aChange());
    h.source.put('prod/database', { username: 'u', password: 'p2' });
    h.cluster('c1').seedWorkload('Deployment', 'payments', 'api', podUsing('db-credentials'));
    h.cluster('c2').secrets.clear();
    // when
    const plan = await h.propagator.plan();
    // then
    expect(plan.map((p) => [p.cluster, p.action, p.changedKeys, p.dependents])).toEqual([
      ['c1', 'update', ['password'], [{ kind: 'Deployment', name: 'api' }]],
      ['c2', 'create', ['password', 'username'], []],
    ]);
    expect(h.decoded('c1', 'password')).toBe('p1');
    expect(h.cluster('c2').secrets.size).toBe(0);
  });

  it('restarts dependents on demand', async () => {
    const h = harness(
      aRegistry({
        clusters: [aCluster('c1')],
        bindings: [aBinding({ restart: { workloads: [{ kind: 'Deployment', name: 'api' }] } })],
      }),
    );
    h.cluster('c1').seedWorkload('Deployment', 'payments', 'api', {});
    const report = await h.propagator.restart('payments-db');
    expect(report.restarts).toBe(1);
    expect(
      h.cluster('c1').workloads.get('Deployment/payments/api')?.templateAnnotations[
        RestartAnnotation.RestartedAt
      ],
    ).toBeDefined();
  });

  it('rejects an unknown binding name', async () => {
    const h = harness(aRegistry());
    await expect(h.propagator.reconcile({ bindings: ['nope'] })).rejects.toThrow(/unknown binding "nope"/);
  });
});

describe('logging', () => {
  it('logs one line per non-unchanged target plus a summary, and never a value', async () => {
    // given
    const h = harness(aRegistry({ clusters: [aCluster('c1'), aCluster('c2')] }));
    h.source.put('prod/database', { username: 'u', password: CANARY });
    h.cluster('c2').fail('*', new ClusterRejectedError('403'), 10);
    // when
    await h.propagator.propagate(aChange());
    await h.propagator.propagate(aChange());
    // then
    const parsed = h.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed.filter((l) => l['cluster'] === 'c1')).toHaveLength(1);
    expect(parsed.filter((l) => l['cluster'] === 'c2')).toHaveLength(2);
    expect(parsed.filter((l) => String(l['message']).startsWith('binding'))).toHaveLength(2);
    expect(h.lines.join('\n')).not.toContain(CANARY);
    expect(h.lines.join('\n')).not.toContain(Buffer.from(CANARY).toString('base64'));
  });
});
