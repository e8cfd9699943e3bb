import type { Topic } from '@google-cloud/pubsub';
import { ChangeKind } from '../../shared/core/change.js';
import { InvalidEventError } from '../../shared/core/errors.js';
import type { WorkItem, WorkQueue } from '../../shared/engine/types.js';

/**
 * Fan-out over a Pub/Sub work topic: one message per WorkItem (identifiers only, never a
 * value), consumed by the `applyWork` function. Pub/Sub redelivers what the worker does
 * not acknowledge; the engine's content-hash idempotency makes redelivery harmless.
 */
export function createPubsubWorkQueue(topic: Pick<Topic, 'publishMessage'>): WorkQueue {
  return {
    async enqueue(items) {
      await Promise.all(
        items.map((item) =>
          topic.publishMessage({
            json: item,
            attributes: { changeId: item.changeId, binding: item.binding, kind: item.kind },
          }),
        ),
      );
    },
  };
}

/**
 * A work topic whose client is loaded on first publish. @google-cloud/pubsub takes about
 * 240 ms to import, and most invocations never fan out: only changes with more targets
 * than `settings.fanOut.batchSize` pay for it, once per instance.
 */
export function lazyWorkTopic(name: string): Pick<Topic, 'publishMessage'> {
  let topic: Promise<Topic> | undefined;
  const publishMessage = async (message: Parameters<Topic['publishMessage']>[0]): Promise<string> => {
    topic ??= import('@google-cloud/pubsub').then(({ PubSub }) => new PubSub().topic(name));
    return (await topic).publishMessage(message);
  };
  return { publishMessage };
}

const KINDS: readonly string[] = Object.values(ChangeKind);

/** Validates a WorkItem decoded from a work message; throws InvalidEventError naming the field. */
export function parseWorkItem(value: unknown): WorkItem {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new InvalidEventError('work message is not a JSON object');
  const v = value as Record<string, unknown>;
  const str = (key: string): string => {
    const s = v[key];
    if (typeof s !== 'string' || s === '')
      throw new InvalidEventError(`work message field ${key} must be a non-empty string`);
    return s;
  };
  const changeId = str('changeId');
  const binding = str('binding');
  const kind = str('kind');
  if (!KINDS.includes(kind))
    throw new InvalidEventError(`work message kind "${kind}" is not one of ${KINDS.join(', ')}`);
  const clusters = v['clusters'];
  if (
    !Array.isArray(clusters) ||
    clusters.length === 0 ||
    !clusters.every((c): c is string => typeof c === 'string' && c !== '')
  ) {
    throw new InvalidEventError('work message field clusters must be a non-empty list of cluster names');
  }
  const version = v['version'];
  const attempt = v['attempt'];
  return {
    changeId,
    kind: kind as WorkItem['kind'],
    binding,
    clusters,
    ...(typeof version === 'string' ? { version } : {}),
    ...(typeof attempt === 'number' ? { attempt } : {}),
  };
}
