import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { InvalidEventError } from '../../shared/core/errors.js';
import type { WorkItem } from '../../shared/engine/types.js';
import { createSqsWorkQueue, parseWorkItem } from '../../functions/aws/sqs-work-queue.js';
import { startMoto, type Moto } from './support/moto.js';

let moto: Moto;
let sqs: SQSClient;

beforeAll(async () => {
  moto = await startMoto();
  sqs = new SQSClient({ region: moto.region, endpoint: moto.endpoint });
});
afterAll(async () => {
  sqs.destroy();
  await moto.stop();
});

const aWorkItem = (tweak: Partial<WorkItem> = {}): WorkItem => ({
  changeId: 'evt-1',
  kind: 'version-current',
  binding: 'db',
  version: 'v1',
  clusters: ['c1'],
  ...tweak,
});

describe('SQS work queue (moto)', () => {
  it('sends every work item, in batches of at most 10, as JSON the worker parses back', async () => {
    // given
    const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'work-items' }))).QueueUrl ?? '';
    const queue = createSqsWorkQueue({ client: sqs, queueUrl });
    const items = Array.from({ length: 23 }, (_, i) => aWorkItem({ clusters: [`c${i}`] }));
    moto.resetCalls();

    // when
    await queue.enqueue(items);

    // then
    expect(moto.calls('AmazonSQS.SendMessageBatch')).toHaveLength(3);
    const received: WorkItem[] = [];
    for (let i = 0; i < 10 && received.length < 23; i++) {
      const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }));
      for (const m of out.Messages ?? []) received.push(parseWorkItem(m.Body ?? ''));
    }
    expect(received.map((r) => r.clusters[0]).sort()).toEqual(items.map((r) => r.clusters[0]).sort());
  });

  it.each([
    ['not json'],
    ['[]'],
    ['{"changeId":"x","kind":"version-current","binding":"db"}'],
    ['{"changeId":"x","kind":"k","binding":"db","clusters":[1]}'],
  ])('rejects %s as an invalid work item (never retried)', (body) => {
    // given / when / then
    expect(() => parseWorkItem(body)).toThrow(InvalidEventError);
  });
});
