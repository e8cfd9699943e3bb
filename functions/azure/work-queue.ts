import type { QueueClient } from '@azure/storage-queue';
import { InvalidEventError } from '../../shared/core/errors.js';
import { ChangeKind } from '../../shared/core/change.js';
import type { WorkItem, WorkQueue } from '../../shared/engine/types.js';

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

const KINDS = new Set<string>(Object.values(ChangeKind));

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
  if (typeof value !== 'object' || value === null)
    throw new InvalidEventError('queue message is not a work item object');
  const v = value as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof v['changeId'] !== 'string') problems.push('changeId must be a string');
  if (typeof v['binding'] !== 'string') problems.push('binding must be a string');
  if (typeof v['kind'] !== 'string' || !KINDS.has(v['kind'])) problems.push('kind must be a change kind');
  if (!Array.isArray(v['clusters']) || !v['clusters'].every((c) => typeof c === 'string'))
    problems.push('clusters must be a list of names');
  if (v['version'] !== undefined && typeof v['version'] !== 'string')
    problems.push('version must be a string');
  if (v['attempt'] !== undefined && typeof v['attempt'] !== 'number')
    problems.push('attempt must be a number');
  if (problems.length > 0)
    throw new InvalidEventError(`queue message is not a valid work item: ${problems.join('; ')}`);
  const item: WorkItem = {
    changeId: v['changeId'] as string,
    kind: v['kind'] as WorkItem['kind'],
    binding: v['binding'] as string,
    clusters: v['clusters'] as string[],
  };
  if (typeof v['version'] === 'string') item.version = v['version'];
  if (typeof v['attempt'] === 'number') item.attempt = v['attempt'];
  return item;
}
