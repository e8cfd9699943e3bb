import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { QueueClient } from '@azure/storage-queue';
import { createStorageWorkQueue, DEFAULT_WORK_QUEUE } from '../../functions/azure/work-queue.js';
import { startLocalFleet, type LocalFleet } from '../support/clusters.js';
import { startAzuriteQueue, type LocalAzurite } from './support/azurite.js';
import { createContextFactory, drainQueue, hostQueueSettings } from './support/functions-host.js';
import { startLocalKeyVault, type LocalKeyVault } from './support/key-vault-server.js';
import { aBinding, anAzureApp } from './support/scenario.js';

const CLUSTERS = ['aks-1', 'aks-2', 'aks-3'];
const event = (
  JSON.parse(
    readFileSync(
      join(import.meta.dirname, '..', 'fixtures', 'azure', 'valid', 'eventgrid-new-version-created.json'),
      'utf8',
    ),
  ) as unknown[]
)[0];

describe('fan-out over an Azure Storage queue (Azurite) consumed by the queue-triggered worker', () => {
  let azurite: LocalAzurite;
  let kv: LocalKeyVault;
  let fleet: LocalFleet;
  let cleanup = () => undefined as void;
  beforeAll(async () => {
    [azurite, kv, fleet] = await Promise.all([
      startAzuriteQueue(),
      startLocalKeyVault(),
      startLocalFleet({ names: CLUSTERS }),
    ]);
    for (const c of CLUSTERS) fleet.state.seedNamespace(c, 'payments');
  });
  afterAll(async () => {
    cleanup();
    await Promise.all([azurite.stop(), kv.stop(), fleet.stop()]);
  });

  it('processes every work item, retries the failing cluster until it is poisoned, and leaves the others done', async () => {
    // given
    const value = 'canary-fan-out-5e6f';
    kv.setSecret('newsecret', value);
    const queue = new QueueClient(azurite.connectionString, DEFAULT_WORK_QUEUE);
    const poison = new QueueClient(azurite.connectionString, `${DEFAULT_WORK_QUEUE}-poison`);
    await Promise.all([queue.createIfNotExists(), poison.createIfNotExists()]);
    const built = anAzureApp({
      kv,
      fleet,
      bindings: [aBinding()],
      settings: { fanOut: { batchSize: 1 } },
      workQueue: createStorageWorkQueue({ client: queue }),
    });
    cleanup = built.cleanup;
    const { app } = built;
    fleet.setFault('aks-3', { status: 503, times: 1000 });
    const host = createContextFactory();
    const { maxDequeueCount } = hostQueueSettings();

    // when: the Event Grid invocation splits the change into work items...
    await app.secretChanged(event, host.context('secretChanged'));
    const enqueued = (await queue.getProperties()).approximateMessagesCount;
    // ...and the queue listener runs the worker until the queue is empty
    const run = await drainQueue({
      queue,
      poison,
      maxDequeueCount,
      handler: (entry, context) => app.applyWorkItem(entry, context),
      context: (metadata) => host.context('applyWorkItem', metadata),
    });

    // then
    expect(enqueued).toBe(3);
    const attemptsFor = (cluster: string) =>
      run.invocations.filter((i) => (i.body as { clusters: string[] }).clusters.includes(cluster));
    expect(attemptsFor('aks-1').map((i) => i.ok)).toEqual([true]);
    expect(attemptsFor('aks-2').map((i) => i.ok)).toEqual([true]);
    expect(attemptsFor('aks-3').map((i) => i.dequeueCount)).toEqual(
      Array.from({ length: maxDequeueCount }, (_, i) => i + 1),
    );
    expect(attemptsFor('aks-3').every((i) => !i.ok)).toBe(true);
    expect(run.poisoned).toEqual([expect.objectContaining({ binding: 'payments-db', clusters: ['aks-3'] })]);
    const poisoned = (await poison.peekMessages({ numberOfMessages: 5 })).peekedMessageItems;
    expect(
      poisoned.map((m) => JSON.parse(Buffer.from(m.messageText, 'base64').toString('utf8')) as unknown),
    ).toEqual([expect.objectContaining({ clusters: ['aks-3'] })]);
    expect((await queue.peekMessages({ numberOfMessages: 1 })).peekedMessageItems).toEqual([]);
    for (const c of ['aks-1', 'aks-2']) {
      expect(
        (fleet.state.getSecret(c, 'payments', 'db-credentials')?.['data'] as Record<string, string>)[
          'password'
        ],
      ).toBe(Buffer.from(value).toString('base64'));
    }
    expect(fleet.state.getSecret('aks-3', 'payments', 'db-credentials')).toBeUndefined();
    const text = host.logs.map((l) => l.text).join('\n');
    expect(text).not.toContain(value);
    const failedClusters = host
      .lines()
      .filter((l) => l['message'] === 'applyWorkItem: failed; the platform will retry')
      .flatMap((l) => (l['failedTargets'] as { cluster: string }[]).map((t) => t.cluster));
    expect(failedClusters.length).toBeGreaterThan(0);
    expect(new Set(failedClusters)).toEqual(new Set(['aks-3']));
  });
});
