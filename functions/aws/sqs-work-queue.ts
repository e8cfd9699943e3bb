import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { InvalidEventError } from '../../shared/core/errors.js';
import type { WorkItem, WorkQueue } from '../../shared/engine/types.js';
import { toWorkItem } from '../../shared/engine/work-item.js';

/**
 * The fan-out queue on SQS. Messages carry a `WorkItem` as JSON: identifiers only, so the
 * queue never holds a secret value. Any entry SQS refuses fails the enqueue (and so the
 * coordinator's invocation), because a dropped work item would be a silently lost target.
 */
export function createSqsWorkQueue(options: { client: SQSClient; queueUrl: string }): WorkQueue {
  return {
    async enqueue(items) {
      for (let i = 0; i < items.length; i += 10) {
        const batch = items.slice(i, i + 10);
        const out = await options.client.send(
          new SendMessageBatchCommand({
            QueueUrl: options.queueUrl,
            Entries: batch.map((item, index) => ({ Id: String(index), MessageBody: JSON.stringify(item) })),
          }),
        );
        const failed = out.Failed ?? [];
        if (failed.length > 0) {
          throw new Error(
            `SQS refused ${failed.length} work item(s): ${failed.map((f) => f.Code ?? 'unknown').join(', ')}`,
          );
        }
      }
    },
  };
}

/** Parses one SQS message body back into a work item; `InvalidEventError` (never retried) on anything else. */
export function parseWorkItem(body: string): WorkItem {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new InvalidEventError('work item message is not JSON');
  }
  return toWorkItem(parsed, 'work item message');
}
