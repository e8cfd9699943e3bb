import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { startLocalFleet, type LocalFleet } from '../support/clusters.js';
import { aTimer, createContextFactory } from './support/functions-host.js';
import { startLocalKeyVault, type LocalKeyVault } from './support/key-vault-server.js';
import { createAzureApp } from '../../functions/azure/app.js';
import { createInvocationLogger } from '../../functions/azure/telemetry.js';
import { aBinding, anAzureApp } from './support/scenario.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'azure');
/** The first event of a documented delivery: what the Functions Event Grid trigger passes the handler. */
const docEvent = (file: string): Record<string, unknown> =>
  (JSON.parse(readFileSync(join(FIXTURES, 'valid', file), 'utf8')) as Record<string, unknown>[])[0] ?? {};
const CLUSTERS = ['aks-eu-1', 'aks-us-1'];
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const SCHEMAS = ['eventgrid', 'cloudevent'] as const;
/** Metrics reach Application Insights as structured lines too: the two kinds, apart. */
const isMetric = (l: Record<string, unknown>) => l['metric'] !== undefined;

describe('secretChanged end to end: Event Grid payload -> local Key Vault -> local clusters', () => {
  let kv: LocalKeyVault;
  let fleet: LocalFleet;
  const cleanups: (() => void)[] = [];
  beforeAll(async () => {
    [kv, fleet] = await Promise.all([startLocalKeyVault(), startLocalFleet({ names: CLUSTERS })]);
    for (const c of CLUSTERS) fleet.state.seedNamespace(c, 'payments');
  });
  afterAll(async () => {
    cleanups.forEach((f) => f());
    await Promise.all([kv.stop(), fleet.stop()]);
  });
  beforeEach(() => {
    fleet.clearFaults();
    fleet.resetRequests();
    kv.resetRequests();
  });

  const passwordIn = (cluster: string) =>
    (
      fleet.state.getSecret(cluster, 'payments', 'db-credentials')?.['data'] as
        Record<string, string> | undefined
    )?.['password'];

  it.each(SCHEMAS)(
    '%s schema: SecretNewVersionCreated converges every cluster to the current Key Vault value',
    async (schema) => {
      // given
      const value = `canary-${schema}-new-version-4b1e`;
      kv.setSecret('newsecret', value);
      const { app, cleanup } = anAzureApp({ kv, fleet, bindings: [aBinding()] });
      cleanups.push(cleanup);
      const host = createContextFactory();
      // when
      await app.secretChanged(docEvent(`${schema}-new-version-created.json`), host.context('secretChanged'));
      // then
      for (const c of CLUSTERS) expect(passwordIn(c)).toBe(b64(value));
      const summary = host.lines().find((l) => l['message'] === 'secretChanged: done');
      expect(summary).toMatchObject({
        outcome: 'ok',
        secretRef: 'sample-kv/newsecret',
        changeId: '00eccf70-95a7-4e7c-8299-2eb17ee9ad64',
      });
      expect(host.logs.every((l) => l.functionName === 'secretChanged')).toBe(true);
      expect(host.logs.map((l) => l.text).join('\n')).not.toContain(value);
    },
  );

  it.each(SCHEMAS)(
    '%s schema: SecretNearExpiry warns, counts, and writes a generated version for a binding that rotates',
    async (schema) => {
      // given
      const value = `canary-${schema}-near-expiry-9c2d`;
      kv.setSecret('newsecret', value);
      const before = kv.versions('newsecret').length;
      const binding = aBinding({
        rotation: { generator: { type: 'password', length: 24 } },
        schedule: { rotate: 'cron(0 2 ? * SUN *)' },
      });
      const { app, cleanup } = anAzureApp({ kv, fleet, bindings: [binding] });
      cleanups.push(cleanup);
      const host = createContextFactory();
      // when
      await app.secretChanged(docEvent(`${schema}-near-expiry.json`), host.context('secretChanged'));
      // then
      const lines = host.lines();
      expect(lines.filter((l) => l['outcome'] === 'near-expiry')).toEqual([
        expect.objectContaining({ level: 'warning', secretRef: 'sample-kv/newsecret' }),
      ]);
      expect(lines.filter((l) => l['metric'] === 'expiry.warnings')).toEqual([
        expect.objectContaining({ count: 1, kind: 'near-expiry' }),
      ]);
      const versions = kv.versions('newsecret');
      expect(versions).toHaveLength(before + 1);
      const generated = versions.at(-1)?.value ?? '';
      expect(generated).toHaveLength(24);
      expect(host.logs.map((l) => l.text).join('\n')).not.toContain(generated);
      // The generated version reaches the clusters through its own SecretNewVersionCreated event.
      expect(fleet.requests().filter((r) => r.verb !== 'get' && r.verb !== 'list')).toEqual([]);
    },
  );

  it.each(SCHEMAS)(
    '%s schema: SecretNearExpiry of a binding that does not rotate gives one line and one metric',
    async (schema) => {
      // given
      kv.setSecret('newsecret', `canary-${schema}-near-expiry-only-5e1f`);
      const { app, cleanup } = anAzureApp({ kv, fleet, bindings: [aBinding()] });
      cleanups.push(cleanup);
      const host = createContextFactory();
      // when
      await app.secretChanged(docEvent(`${schema}-near-expiry.json`), host.context('secretChanged'));
      // then
      const lines = host.lines();
      expect(lines.filter((l) => !isMetric(l))).toEqual([
        expect.objectContaining({
          level: 'warning',
          outcome: 'near-expiry',
          secretRef: 'sample-kv/newsecret',
        }),
      ]);
      expect(lines.filter(isMetric)).toEqual([
        expect.objectContaining({ metric: 'expiry.warnings', count: 1, kind: 'near-expiry' }),
      ]);
      expect(fleet.requests().filter((r) => r.verb !== 'get' && r.verb !== 'list')).toEqual([]);
    },
  );

  it.each(SCHEMAS)(
    '%s schema: SecretExpired logs a warning and a metric and writes nothing',
    async (schema) => {
      // given
      const value = `canary-${schema}-expired-77aa`;
      kv.setSecret('newsecret', value);
      const { app, cleanup } = anAzureApp({ kv, fleet, bindings: [aBinding()] });
      cleanups.push(cleanup);
      const host = createContextFactory();
      // when
      await app.secretChanged(docEvent(`${schema}-expired.json`), host.context('secretChanged'));
      // then
      const lines = host.lines();
      expect(lines.filter((l) => !isMetric(l))).toEqual([
        expect.objectContaining({ level: 'warning', outcome: 'expired', secretRef: 'sample-kv/newsecret' }),
      ]);
      expect(lines.filter(isMetric)).toEqual([
        expect.objectContaining({ metric: 'expiry.warnings', count: 1, kind: 'expired' }),
      ]);
      expect(fleet.requests().filter((r) => r.verb !== 'get' && r.verb !== 'list')).toEqual([]);
      expect(host.logs.map((l) => l.text).join('\n')).not.toContain(value);
    },
  );

  it.each(SCHEMAS)(
    '%s schema: an event for an unbound secret writes nothing and is acknowledged with one line and one metric',
    async (schema) => {
      // given
      const event = docEvent(`${schema}-new-version-created.json`);
      const unbound = {
        ...event,
        subject: 'othersecret',
        data: {
          ...(event['data'] as Record<string, unknown>),
          Id: 'https://sample-kv.vault.azure.net/secrets/othersecret/1f2e',
          ObjectName: 'othersecret',
          Version: '1f2e',
        },
      };
      const { app, cleanup } = anAzureApp({ kv, fleet, bindings: [aBinding()] });
      cleanups.push(cleanup);
      const host = createContextFactory();
      // when
      await app.secretChanged(unbound, host.context('secretChanged'));
      // then
      expect(fleet.requests().filter((r) => r.verb !== 'get' && r.verb !== 'list')).toEqual([]);
      expect(kv.requests()).toEqual([]);
      expect(host.lines().filter((l) => !isMetric(l))).toEqual([
        expect.objectContaining({ outcome: 'unbound', secretRef: 'sample-kv/othersecret' }),
      ]);
      expect(host.lines().filter(isMetric)).toEqual([
        expect.objectContaining({ metric: 'events.ignored', count: 1, reason: 'unbound' }),
      ]);
    },
  );

  it('fails the invocation when a cluster fails with a retryable error, so Event Grid redelivers', async () => {
    // given
    kv.setSecret('newsecret', 'canary-retry-31d0');
    fleet.setFault('aks-us-1', { status: 503, times: 100 });
    const { app, cleanup } = anAzureApp({ kv, fleet, bindings: [aBinding()] });
    cleanups.push(cleanup);
    const host = createContextFactory();
    // when
    const run = app.secretChanged(
      docEvent('eventgrid-new-version-created.json'),
      host.context('secretChanged'),
    );
    // then
    await expect(run).rejects.toThrow(/retryable/);
    expect(passwordIn('aks-eu-1')).toBe(b64('canary-retry-31d0'));
    // The engine logs each target; the invocation's outcome is one line of its own.
    expect(host.lines().filter((l) => String(l['message']).startsWith('secretChanged:'))).toEqual([
      expect.objectContaining({
        level: 'error',
        outcome: 'retry',
        failedTargets: [expect.objectContaining({ cluster: 'aks-us-1', errorCode: 'ClusterUnavailable' })],
      }),
    ]);
    expect(host.lines().filter((l) => l['metric'] === 'propagations')).toEqual([
      expect.objectContaining({ count: 1, outcome: 'retry' }),
    ]);
  });

  it('acknowledges a malformed event with an error line instead of failing (a retry cannot fix it)', async () => {
    // given
    const { app, cleanup } = anAzureApp({ kv, fleet, bindings: [aBinding()] });
    cleanups.push(cleanup);
    const host = createContextFactory();
    // when
    await app.secretChanged(
      { eventType: 'Microsoft.KeyVault.SecretNewVersionCreated', id: 'x', eventTime: '2024-01-01T00:00:00Z' },
      host.context('secretChanged'),
    );
    // then
    expect(host.lines().filter((l) => !isMetric(l))).toEqual([
      expect.objectContaining({ level: 'error', errorCode: 'InvalidEvent', outcome: 'invalid' }),
    ]);
    expect(host.lines().filter(isMetric)).toEqual([
      expect.objectContaining({ metric: 'events.ignored', count: 1, reason: 'invalid-event' }),
    ]);
    expect(fleet.requests()).toEqual([]);
  });

  it('settles each event of an Event Grid batch on its own: a hostile one never fails the valid one', async () => {
    // given: an id whose percent escape is malformed, then a valid event
    const value = 'canary-batch-valid-6f3a';
    kv.setSecret('newsecret', value);
    const valid = docEvent('eventgrid-new-version-created.json');
    const hostile = {
      ...valid,
      id: 'hostile-1',
      subject: 'new%secret',
      data: {
        ...(valid['data'] as Record<string, unknown>),
        Id: 'https://sample-kv.vault.azure.net/secrets/new%secret/1',
        ObjectName: 'new%secret',
        Version: '1',
      },
    };
    const { app, cleanup } = anAzureApp({ kv, fleet, bindings: [aBinding()] });
    cleanups.push(cleanup);
    const host = createContextFactory();
    // when
    await app.secretChanged([hostile, valid], host.context('secretChanged'));
    // then: the valid event converged, the hostile one is acknowledged with one line of its own
    for (const c of CLUSTERS) expect(passwordIn(c)).toBe(b64(value));
    const outcomes = host.lines().filter((l) => String(l['message']).startsWith('secretChanged:'));
    expect(outcomes).toEqual([
      expect.objectContaining({ level: 'error', outcome: expect.stringMatching(/^(invalid|failed)$/) }),
      expect.objectContaining({ outcome: 'ok', changeId: '00eccf70-95a7-4e7c-8299-2eb17ee9ad64' }),
    ]);
    expect(
      host.lines().filter((l) => ['propagations', 'events.ignored'].includes(String(l['metric']))),
    ).toHaveLength(2);
    expect(host.logs.map((l) => l.text).join('\n')).not.toContain(value);
  });

  it('acknowledges a configuration error with one line and one metric (a retry cannot fix it)', async () => {
    // given: no registry configured
    const app = createAzureApp({
      env: {},
      sources: {},
      authenticators: [],
      workQueue: null,
      logger: createInvocationLogger(),
    });
    const host = createContextFactory();
    // when
    await app.secretChanged(docEvent('eventgrid-new-version-created.json'), host.context('secretChanged'));
    // then
    expect(host.lines().filter((l) => !isMetric(l))).toEqual([
      expect.objectContaining({ level: 'error', outcome: 'rejected', errorCode: 'ConfigError' }),
    ]);
    expect(host.lines().filter(isMetric)).toEqual([
      expect.objectContaining({ metric: 'propagations', count: 1, outcome: 'rejected' }),
    ]);
  });

  it('scheduled timer: reconcile repairs a target that drifted from Key Vault', async () => {
    // given
    const value = 'canary-reconcile-0d9e';
    kv.setSecret('newsecret', value);
    const { app, cleanup } = anAzureApp({ kv, fleet, bindings: [aBinding()] });
    cleanups.push(cleanup);
    await app.secretChanged(
      docEvent('eventgrid-new-version-created.json'),
      createContextFactory().context('secretChanged'),
    );
    const drifted = fleet.state.getSecret('aks-us-1', 'payments', 'db-credentials');
    fleet.state.seedSecret('aks-us-1', { ...drifted, data: { password: b64('tampered') } });
    const host = createContextFactory();
    // when
    await app.scheduled(aTimer(), host.context('scheduled'));
    // then
    expect(passwordIn('aks-us-1')).toBe(b64(value));
    expect(host.lines().find((l) => l['message'] === 'scheduled reconcile: done')).toMatchObject({
      kind: 'reconcile',
      outcome: 'ok',
    });
  });

  it('scheduledRotate timer: writes a generated version for bindings with schedule.rotate', async () => {
    // given
    kv.setSecret('newsecret', '{"user":"app","password":"canary-rotate-77c1"}', {
      contentType: 'application/json',
    });
    const before = kv.versions('newsecret').length;
    const binding = aBinding({
      data: [{ secretKey: 'password', property: 'password' }],
      rotation: { generator: { type: 'password', length: 32, property: 'password' } },
      schedule: { rotate: 'cron(0 2 ? * SUN *)' },
    });
    const { app, cleanup } = anAzureApp({ kv, fleet, bindings: [binding] });
    cleanups.push(cleanup);
    const host = createContextFactory();
    // when
    await app.scheduledRotate(aTimer(), host.context('scheduledRotate'));
    // then
    const versions = kv.versions('newsecret');
    expect(versions).toHaveLength(before + 1);
    const written = JSON.parse(versions.at(-1)?.value ?? '{}') as { user: string; password: string };
    expect(written.user).toBe('app');
    expect(written.password).toHaveLength(32);
    expect(host.logs.map((l) => l.text).join('\n')).not.toContain(written.password);
  });
});
