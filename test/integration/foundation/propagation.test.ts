/**
 * The foundation acceptance list, end to end over real HTTPS: the runtime composes the
 * engine, the `local` source (cluster tokens), an in-memory store for values, and the
 * shared/kube gateways talking to local API servers (test/support/clusters.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SecretChange } from '../../../shared/core/change.js';
import { Annotation, MANAGED_BY_LABEL, RestartAnnotation } from '../../../shared/engine/annotations.js';
import type { WorkItem, WorkQueue } from '../../../shared/engine/types.js';
import { parseRegistry } from '../../../shared/registry/load.js';
import type { RegistryInput } from '../../../shared/registry/schema.js';
import { createRuntime, type Runtime } from '../../../shared/runtime/index.js';
import { localSourceFactory } from '../../../shared/sources/local/index.js';
import { createJsonLogger, createMemoryMetrics } from '../../../shared/telemetry/index.js';
import {
  CLUSTER_TOKENS_SOURCE,
  registryClusters,
  startLocalFleet,
  tokenSecrets,
  type LocalFleet,
} from '../../support/clusters.js';
import { createMemorySource, type MemorySource } from '../../support/memory-source.js';

const CANARY = 'CANARY-b1e5-never-log-me';
const CANARY_B64 = Buffer.from(CANARY).toString('base64');
const NAMES = ['eu-1', 'eu-2', 'us-1'];

let fleet: LocalFleet;
let dir: string;
const logLines: string[] = [];
let counter = 0;
const runtimes: Runtime[] = [];

beforeAll(async () => {
  fleet = await startLocalFleet({ names: NAMES, rolloutDelayMs: 10 });
  dir = mkdtempSync(join(tmpdir(), 'sp-foundation-'));
  writeFileSync(join(dir, 'tokens.json'), JSON.stringify(tokenSecrets(fleet)));
});

afterAll(async () => {
  // Release the gateways' keep-alive sockets first, so the servers can close at once.
  for (const runtime of runtimes) runtime.close?.();
  await fleet.stop();
  rmSync(dir, { recursive: true, force: true });
  // A planted value never appears in any log line of this whole file's run.
  expect(logLines.length).toBeGreaterThan(0);
  for (const line of logLines) {
    expect(line).not.toContain(CANARY);
    expect(line).not.toContain(CANARY_B64);
  }
});

afterEach(() => {
  fleet.clearFaults();
  fleet.resetRequests();
});

type BindingInput = NonNullable<RegistryInput['bindings']>[number];

interface Scenario {
  runtime: Runtime;
  store: MemorySource;
  ns: string;
  metrics: ReturnType<typeof createMemoryMetrics>;
  change(tweak?: Partial<SecretChange>): SecretChange;
  secret(
    cluster: string,
    name?: string,
  ):
    | {
        data?: Record<string, string>;
        metadata: { labels?: Record<string, string>; annotations?: Record<string, string> };
      }
    | undefined;
  value(cluster: string, key: string, name?: string): string | undefined;
  templateAnnotations(
    cluster: string,
    kind: 'Deployment' | 'StatefulSet' | 'DaemonSet',
    name: string,
  ): Record<string, string>;
  writes(cluster?: string): string[];
}

/** A fresh namespace, store and runtime per test; clusters are shared. */
function scenario(
  binding: Partial<BindingInput> & { target?: Partial<BindingInput['target']> } = {},
  settings: RegistryInput['settings'] = {},
  workQueue?: WorkQueue,
): Scenario {
  counter++;
  const ns = `t${counter}`;
  const secretRef = `app/db-${counter}`;
  for (const name of NAMES) fleet.state.seedNamespace(name, ns);
  const store = createMemorySource({ name: 'mem' });
  const input: RegistryInput = {
    apiVersion: 'secret-propagator/v1',
    settings: { targetTimeout: '2s', ...settings },
    clusters: registryClusters(fleet, { labels: (name) => ({ env: 'prod', region: name.slice(0, 2) }) }),
    sources: [
      { name: CLUSTER_TOKENS_SOURCE, provider: 'local', path: 'tokens.json' },
      { name: 'mem', provider: 'local', path: 'unused' },
    ],
    bindings: [
      {
        name: 'payments-db',
        source: 'mem',
        remoteRef: { key: secretRef },
        data: [
          { secretKey: 'username', property: 'username' },
          { secretKey: 'password', property: 'password' },
        ],
        ...binding,
        target: {
          name: 'db-credentials',
          namespace: ns,
          clusters: { matchLabels: { env: 'prod' } },
          ...binding.target,
        },
      },
    ],
  };
  const loaded = parseRegistry(JSON.stringify(input), 'test', dir);
  const metrics = createMemoryMetrics();
  const runtime = createRuntime({
    loaded,
    sources: { local: (spec, ctx) => (spec.name === 'mem' ? store : localSourceFactory(spec, ctx)) },
    logger: createJsonLogger({ write: (line) => logLines.push(line), level: 'debug' }),
    metrics,
    backoff: { baseMs: 5, maxMs: 20 },
    ...(workQueue === undefined ? {} : { workQueue }),
  });
  runtimes.push(runtime);
  const secret = (cluster: string, name = 'db-credentials') =>
    fleet.state.getSecret(cluster, ns, name) as ReturnType<Scenario['secret']>;
  return {
    runtime,
    store,
    ns,
    metrics,
    change: (tweak = {}) => ({
      provider: 'local',
      secretRef,
      kind: 'version-current',
      eventId: `evt-${counter}`,
      time: new Date().toISOString(),
      ...tweak,
    }),
    secret,
    value: (cluster, key, name) => {
      const encoded = secret(cluster, name)?.data?.[key];
      return encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString();
    },
    templateAnnotations: (cluster, kind, name) => {
      const workload = fleet.state.getWorkload(cluster, kind, ns, name) as
        { spec?: { template?: { metadata?: { annotations?: Record<string, string> } } } } | undefined;
      return workload?.spec?.template?.metadata?.annotations ?? {};
    },
    writes: (cluster) =>
      fleet
        .requests(cluster)
        .filter(
          (r) =>
            ['create', 'update', 'patch', 'delete'].includes(r.verb) && r.path.includes(`/namespaces/${ns}/`),
        )
        .map((r) => `${r.cluster} ${r.verb} ${r.path.replace(/^.*\/namespaces\/[^/]+\//, '')}`),
  };
}

const podUsing = (secret: string) => ({
  containers: [
    {
      name: 'app',
      image: 'app:1',
      env: [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: secret, key: 'password' } } }],
    },
  ],
});

describe('propagation over HTTPS to local clusters', () => {
  it('creates the target Secret in every cluster with the managed-by label and annotations', async () => {
    // given
    const s = scenario();
    const version = s.store.put(`app/db-${counter}`, { username: 'app', password: CANARY });
    // when
    const reports = await s.runtime.handle(s.change());
    // then
    expect(s.runtime.summarize(reports)).toMatchObject({ ok: true, counts: { created: 3 } });
    for (const cluster of NAMES) {
      expect(s.value(cluster, 'password')).toBe(CANARY);
      expect(s.secret(cluster)?.metadata.labels?.[MANAGED_BY_LABEL]).toBe('secret-propagator');
      expect(s.secret(cluster)?.metadata.annotations).toMatchObject({
        [Annotation.Version]: version,
        [Annotation.Source]: 'mem',
        [Annotation.Binding]: 'payments-db',
      });
    }
    expect(s.store.reads).toHaveLength(1);
  });

  it('updates only when the content changes, and restarts nothing when it does not', async () => {
    // given an applied value and an auto-discovered dependent
    const s = scenario({ restart: { auto: true } });
    s.store.put(`app/db-${counter}`, { username: 'app', password: 'one' });
    fleet.state.seedWorkload('eu-1', 'Deployment', s.ns, 'api', { podSpec: podUsing('db-credentials') });
    await s.runtime.handle(s.change());
    fleet.resetRequests();
    // when the same event arrives again
    const again = await s.runtime.handle(s.change());
    // then nothing is written and nothing restarted
    expect(s.runtime.summarize(again).counts).toMatchObject({ unchanged: 3, updated: 0, restarts: 0 });
    expect(s.writes()).toEqual([]);
    expect(s.templateAnnotations('eu-1', 'Deployment', 'api')[RestartAnnotation.RestartedAt]).toBeUndefined();
    // when the value really changes
    s.store.put(`app/db-${counter}`, { username: 'app', password: 'two' });
    const changed = await s.runtime.handle(s.change({ eventId: 'evt-changed' }));
    // then every target is updated and the dependent restarted once
    expect(s.runtime.summarize(changed).counts).toMatchObject({ updated: 3, restarts: 1 });
    expect(s.value('us-1', 'password')).toBe('two');
    expect(s.writes('eu-1').filter((w) => w.includes('deployments'))).toEqual(['eu-1 patch deployments/api']);
  });

  it('restarts explicit, selected and auto-discovered workloads, and leaves others alone', async () => {
    // given
    const s = scenario({
      restart: {
        auto: true,
        workloads: [{ kind: 'StatefulSet', name: 'migrator' }],
        selector: { matchLabels: { tier: 'web' } },
      },
    });
    s.store.put(`app/db-${counter}`, { username: 'app', password: 'one' });
    await s.runtime.handle(s.change());
    fleet.state.seedWorkload('eu-2', 'Deployment', s.ns, 'api', {
      podSpec: {
        containers: [{ name: 'a', image: 'a', envFrom: [{ secretRef: { name: 'db-credentials' } }] }],
      },
    });
    fleet.state.seedWorkload('eu-2', 'StatefulSet', s.ns, 'migrator');
    fleet.state.seedWorkload('eu-2', 'DaemonSet', s.ns, 'edge', { labels: { tier: 'web' } });
    fleet.state.seedWorkload('eu-2', 'Deployment', s.ns, 'projected', {
      podSpec: {
        containers: [{ name: 'a', image: 'a' }],
        volumes: [{ name: 'v', projected: { sources: [{ secret: { name: 'db-credentials' } }] } }],
      },
    });
    fleet.state.seedWorkload('eu-2', 'Deployment', s.ns, 'unrelated', {
      podSpec: podUsing('something-else'),
    });
    // when
    s.store.put(`app/db-${counter}`, { username: 'app', password: 'two' });
    const reports = await s.runtime.handle(s.change());
    // then
    const target = reports[0]?.targets.find((t) => t.cluster === 'eu-2');
    expect(target?.restarts.map((r) => `${r.kind}/${r.name}`).sort()).toEqual([
      'DaemonSet/edge',
      'Deployment/api',
      'Deployment/projected',
      'StatefulSet/migrator',
    ]);
    for (const [kind, name] of [
      ['Deployment', 'api'],
      ['StatefulSet', 'migrator'],
      ['DaemonSet', 'edge'],
      ['Deployment', 'projected'],
    ] as const) {
      const annotations = s.templateAnnotations('eu-2', kind, name);
      expect(annotations[RestartAnnotation.RestartedForHash]).toBe(target?.hash);
      expect(Date.parse(annotations[RestartAnnotation.RestartedAt] ?? '')).not.toBeNaN();
    }
    expect(s.templateAnnotations('eu-2', 'Deployment', 'unrelated')).toEqual({});
  });

  it('restarts an explicit workload with one read and one conditional PATCH and treats a missing one as nothing to restart', async () => {
    // given the api Deployment exists in eu-1 only, and version one is applied
    const s = scenario({ restart: { workloads: [{ kind: 'Deployment', name: 'api' }] } });
    s.store.put(`app/db-${counter}`, { username: 'app', password: 'one' });
    await s.runtime.handle(s.change());
    fleet.state.seedWorkload('eu-1', 'Deployment', s.ns, 'api', { podSpec: podUsing('db-credentials') });
    // The local controller writes the new Deployment's status 10 ms after its creation, which
    // moves its resourceVersion: let that happen first, or it may land between the restart's read
    // and its conditional PATCH (a 409, then a second read and PATCH: correct, but not this count).
    await new Promise((resolve) => setTimeout(resolve, 100));
    fleet.resetRequests();
    // when
    s.store.put(`app/db-${counter}`, { username: 'app', password: 'two' });
    const reports = await s.runtime.handle(s.change());
    // then one read and one write of the Secret (with the restart-pending marker), one read and
    // one PATCH (conditional on that read) for the restart, then the marker is cleared
    expect(s.runtime.summarize(reports)).toMatchObject({ ok: true, counts: { updated: 3, restarts: 1 } });
    expect(
      fleet
        .requests('eu-1')
        .map((r) => `${r.verb} ${r.path.split('?')[0]?.split('/').slice(-2, -1)[0] ?? ''}`),
    ).toEqual([
      'get secrets',
      'update secrets',
      'get deployments',
      'patch deployments',
      'get secrets',
      'update secrets',
    ]);
    expect(s.templateAnnotations('eu-1', 'Deployment', 'api')[RestartAnnotation.RestartedForHash]).toBe(
      reports[0]?.targets[0]?.hash,
    );
  });

  it('retries a 409 on write and converges', async () => {
    // given the next update to eu-1 loses an optimistic-concurrency race
    const s = scenario();
    s.store.put(`app/db-${counter}`, { username: 'app', password: 'one' });
    await s.runtime.handle(s.change());
    s.store.put(`app/db-${counter}`, { username: 'app', password: 'two' });
    fleet.setFault('eu-1', { status: 409, times: 2, verb: 'update' });
    // when
    const reports = await s.runtime.handle(s.change());
    // then
    expect(reports[0]?.targets.find((t) => t.cluster === 'eu-1')).toMatchObject({
      outcome: 'updated',
      attempts: 3,
    });
    expect(s.value('eu-1', 'password')).toBe('two');
  });

  it('leaves a foreign Secret untouched under Owner', async () => {
    // given a Secret of the same name that someone else created
    const s = scenario();
    fleet.state.seedSecret('eu-1', {
      metadata: { name: 'db-credentials', namespace: s.ns },
      type: 'Opaque',
      data: { password: Buffer.from('theirs').toString('base64') },
    });
    s.store.put(`app/db-${counter}`, { username: 'app', password: 'ours' });
    // when
    const reports = await s.runtime.handle(s.change());
    // then
    expect(reports[0]?.targets.find((t) => t.cluster === 'eu-1')).toMatchObject({
      outcome: 'skipped',
      reason: 'foreign-secret',
    });
    expect(s.value('eu-1', 'password')).toBe('theirs');
    expect(s.secret('eu-1')?.metadata.annotations?.[Annotation.ContentHash]).toBeUndefined();
    expect(s.value('eu-2', 'password')).toBe('ours');
  });

  it('keeps foreign keys under Merge and never creates', async () => {
    // given an existing Secret in eu-1 only
    const s = scenario({ target: { creationPolicy: 'Merge' } as BindingInput['target'] });
    fleet.state.seedSecret('eu-1', {
      metadata: { name: 'db-credentials', namespace: s.ns, labels: { team: 'db' } },
      type: 'Opaque',
      data: { extra: Buffer.from('keep').toString('base64') },
    });
    s.store.put(`app/db-${counter}`, { username: 'app', password: 'merged' });
    // when
    const reports = await s.runtime.handle(s.change());
    // then
    expect(s.value('eu-1', 'extra')).toBe('keep');
    expect(s.value('eu-1', 'password')).toBe('merged');
    expect(s.secret('eu-1')?.metadata.labels).toEqual({ team: 'db' });
    expect(reports[0]?.targets.find((t) => t.cluster === 'eu-2')).toMatchObject({
      outcome: 'skipped',
      reason: 'merge-target-missing',
    });
    expect(s.secret('eu-2')).toBeUndefined();
  });

  it('does not let one failing cluster stop the others, and reports it', async () => {
    // given eu-2 answers 503 to everything and us-1 answers far too late
    // (latency rather than `hang`, so the server can still shut down when the file ends)
    // 1s: the shortest timeout the registry accepts; us-1 answers after 3s, so both its attempts time out.
    const s = scenario({}, { targetTimeout: '1s', retries: 1 });
    s.store.put(`app/db-${counter}`, { username: 'app', password: 'one' });
    fleet.setFault('eu-2', { status: 503 });
    fleet.setFault('us-1', { latencyMs: 3_000 });
    // when
    const started = Date.now();
    const reports = await s.runtime.handle(s.change());
    // then
    const summary = s.runtime.summarize(reports);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(summary).toMatchObject({ ok: false, retryable: true, counts: { created: 1, failed: 2 } });
    expect(summary.failed.map((t) => [t.cluster, t.errorCode, t.retryable]).sort()).toEqual([
      ['eu-2', 'ClusterUnavailable', true],
      ['us-1', 'Timeout', true],
    ]);
    expect(s.value('eu-1', 'password')).toBe('one');
    const warned = logLines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l['outcome'] === 'failed' && l['namespace'] === s.ns);
    expect(warned.map((l) => l['cluster']).sort()).toEqual(['eu-2', 'us-1']);
  });

  it('converges duplicated and reordered events to the latest value with exactly one restart per real change', async () => {
    // given a dependent in every cluster and version one applied
    const s = scenario({ restart: { auto: true } });
    const key = `app/db-${counter}`;
    for (const c of NAMES)
      fleet.state.seedWorkload(c, 'Deployment', s.ns, 'api', { podSpec: podUsing('db-credentials') });
    const v1 = s.store.put(key, { username: 'app', password: 'v1' });
    await s.runtime.handle(s.change({ versionId: v1 }));
    fleet.resetRequests();
    // when two real changes happen and their events arrive duplicated, out of order and concurrently
    const v2 = s.store.put(key, { username: 'app', password: 'v2' });
    await Promise.all(
      [v2, v1, v2, v1].map((versionId, i) => s.runtime.handle(s.change({ versionId, eventId: `a${i}` }))),
    );
    const v3 = s.store.put(key, { username: 'app', password: CANARY });
    const deliveries = [v3, v2, v3, v1, v3];
    for (const versionId of deliveries)
      await s.runtime.handle(s.change({ versionId, eventId: `b-${versionId}` }));
    await Promise.all(
      deliveries.map((versionId, i) => s.runtime.handle(s.change({ versionId, eventId: `c${i}` }))),
    );
    // then every cluster holds the latest value and restarted exactly twice (v2, v3): racing
    // workers may send more patches, but each is conditional and only two are applied
    for (const c of NAMES) {
      expect(s.value(c, 'password')).toBe(CANARY);
      const applied = fleet
        .requests(c)
        .filter(
          (r) =>
            r.verb === 'patch' && r.path.endsWith(`/namespaces/${s.ns}/deployments/api`) && r.status < 300,
        );
      expect(applied).toHaveLength(2);
      expect(fleet.state.getWorkload(c, 'Deployment', s.ns, 'api')?.metadata.generation).toBe(3);
    }
  });

  it('never puts a value in a report, error or metric', async () => {
    // given a value that cannot be rendered because it is not JSON
    const s = scenario();
    s.store.put(`app/db-${counter}`, CANARY);
    // when
    const reports = await s.runtime.handle(s.change());
    // then
    expect(reports[0]?.error?.code).toBe('RenderError');
    expect(JSON.stringify(reports)).not.toContain(CANARY);
    expect(JSON.stringify(s.metrics.points)).not.toContain(CANARY);
  });
});

describe('deletion, plan, waves and fan-out over HTTPS', () => {
  it('deletes the Secrets it owns when the source is deleted under deletionPolicy Delete', async () => {
    // given
    const s = scenario({ target: { deletionPolicy: 'Delete' } as BindingInput['target'] });
    s.store.put(`app/db-${counter}`, { username: 'app', password: 'one' });
    await s.runtime.handle(s.change());
    s.store.remove(`app/db-${counter}`);
    // when
    const reports = await s.runtime.handle(s.change({ kind: 'deleted' }));
    // then
    expect(reports[0]?.targets.map((t) => t.reason)).toEqual(['deleted', 'deleted', 'deleted']);
    for (const c of NAMES) expect(s.secret(c)).toBeUndefined();
  });

  it('plans without writing', async () => {
    // given
    const s = scenario({ restart: { auto: true } });
    s.store.put(`app/db-${counter}`, { username: 'app', password: 'one' });
    await s.runtime.handle(s.change());
    fleet.state.seedWorkload('eu-1', 'Deployment', s.ns, 'api', { podSpec: podUsing('db-credentials') });
    s.store.put(`app/db-${counter}`, { username: 'app', password: 'two' });
    fleet.resetRequests();
    // when
    const plan = await s.runtime.propagator.plan();
    // then
    expect(plan.map((p) => [p.cluster, p.action, p.changedKeys])).toEqual(
      NAMES.map((c) => [c, 'update', ['password']]),
    );
    expect(plan[0]?.dependents).toEqual([{ kind: 'Deployment', name: 'api' }]);
    expect(s.writes()).toEqual([]);
    expect(s.value('eu-1', 'password')).toBe('one');
  });

  it('applies rollout waves in order and halts after a failed wave', async () => {
    // given us-1 is the first wave and refuses writes
    const s = scenario({
      rollout: { waves: [{ names: ['us-1'] }, { names: ['eu-1'] }], haltOnFailure: true },
    });
    s.store.put(`app/db-${counter}`, { username: 'app', password: 'one' });
    fleet.setFault('us-1', { status: 403, verb: 'create' });
    // when
    const reports = await s.runtime.handle(s.change());
    // then
    expect(reports[0]?.targets.map((t) => [t.cluster, t.outcome, t.reason ?? t.errorCode])).toEqual([
      // a failed target carries its cause, not only its code
      [
        'us-1',
        'failed',
        expect.stringMatching(/create secret [a-z0-9-]+\/db-credentials: HTTP 403 Forbidden/),
      ],
      ['eu-1', 'skipped', 'halted-after-failed-wave'],
      ['eu-2', 'skipped', 'halted-after-failed-wave'],
    ]);
    expect(s.secret('eu-1')).toBeUndefined();
  });

  it('fans out to work items that a worker applies, reading the value itself', async () => {
    // given a batch size below the number of clusters and an in-process queue
    const queued: WorkItem[] = [];
    const s = scenario(
      {},
      { fanOut: { batchSize: 2 } },
      { enqueue: (items) => Promise.resolve(void queued.push(...items)) },
    );
    s.store.put(`app/db-${counter}`, { username: 'app', password: 'fan' });
    // when the coordinator handles the change
    const [coordinated] = await s.runtime.handle(s.change());
    // then nothing is written yet and the items carry identifiers only
    expect(coordinated?.enqueued).toBe(3);
    expect(queued.map((i) => i.clusters)).toEqual([['eu-1', 'eu-2'], ['us-1']]);
    expect(JSON.stringify(queued)).not.toContain('fan');
    expect(s.secret('eu-1')).toBeUndefined();
    // when a worker applies every item
    const applied = (
      await Promise.all(queued.map((item) => s.runtime.propagator.applyWorkItem(item)))
    ).flat();
    // then
    expect(s.runtime.summarize(applied).counts.created).toBe(3);
    for (const c of NAMES) expect(s.value(c, 'password')).toBe('fan');
  });
});
