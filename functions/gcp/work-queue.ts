import type { Topic } from '@google-cloud/pubsub';
import type { WorkItem, WorkQueue } from '../../shared/engine/types.js';
import { toWorkItem } from '../../shared/engine/work-item.js';

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

/** Validates a WorkItem decoded from a work message; throws InvalidEventError naming the fields. */
export function parseWorkItem(value: unknown): WorkItem {
  return toWorkItem(value, 'work message');
}
