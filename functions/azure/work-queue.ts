import type { QueueClient } from '@azure/storage-queue';
import { InvalidEventError } from '../../shared/core/errors.js';
import type { WorkItem, WorkQueue } from '../../shared/engine/types.js';
import { toWorkItem } from '../../shared/engine/work-item.js';

/** The fan-out queue's name unless app setting WORK_QUEUE_NAME says otherwise (infra/azure creates it). */
export const DEFAULT_WORK_QUEUE = 'secret-propagator-work';

/**
 * Fan-out over an Azure Storage queue. Messages are base64 JSON, the encoding the
 * Functions queue trigger decodes by default (host.json `extensions.queues.messageEncoding`).
 * Work items carry identifiers only, never values.
 */
export function createStorageWorkQueue(options: { client: QueueClient }): WorkQueue {
  const { client } = options;
  return {
    async enqueue(items) {
      // Storage queues take one message per request; send them concurrently.
      await Promise.all(items.map((item) => client.sendMessage(encodeWorkItem(item))));
    },
  };
}

export function encodeWorkItem(item: WorkItem): string {
  return Buffer.from(JSON.stringify(item), 'utf8').toString('base64');
}

/**
 * The queue trigger hands the function the decoded message: an object when it is JSON,
 * else a string. Accepts both (and base64 text, for hand-sent messages) and checks the shape.
 */
export function parseWorkItem(entry: unknown): WorkItem {
  let value = entry;
  if (typeof value === 'string') {
    const textValue = value.trim().startsWith('{') ? value : Buffer.from(value, 'base64').toString('utf8');
    try {
      value = JSON.parse(textValue) as unknown;
    } catch {
      throw new InvalidEventError('queue message is not a JSON work item');
    }
  }
  return toWorkItem(value, 'queue message');
}
