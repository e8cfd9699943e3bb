import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvocationContext, type LogLevel, type Timer } from '@azure/functions';
import type { QueueClient } from '@azure/storage-queue';

/** One line the function logged through its InvocationContext. */
export interface CapturedLog {
  invocationId: string;
  functionName: string;
  level: LogLevel;
  text: string;
}

/** The timer payload the host passes to a timer-triggered function. */
export function aTimer(): Timer {
  return {
    isPastDue: false,
    schedule: { adjustForDST: false },
    scheduleStatus: { last: '', next: '', lastUpdated: '' },
  };
}

/** Builds InvocationContexts the way the Functions host does, capturing every log line. */
export function createContextFactory() {
  const logs: CapturedLog[] = [];
  return {
    logs,
    context(functionName: string, triggerMetadata: Record<string, unknown> = {}): InvocationContext {
      const invocationId = randomUUID();
      return new InvocationContext({
        invocationId,
        functionName,
        triggerMetadata,
        logHandler: (level, ...args) =>
          logs.push({ invocationId, functionName, level, text: args.map(String).join(' ') }),
      });
    },
    /** Parsed JSON lines of the logs (non-JSON lines skipped). */
    lines(): (Record<string, unknown> & { invocationId: string; level: LogLevel })[] {
      return logs.flatMap((l) => {
        try {
          return [
            {
              ...(JSON.parse(l.text) as Record<string, unknown>),
              invocationId: l.invocationId,
              level: l.level,
            },
          ];
        } catch {
          return [];
        }
      });
    },
  };
}

/** host.json's queue settings: the same file the Function App is deployed with. */
export function hostQueueSettings(): { maxDequeueCount: number } {
  const host = JSON.parse(
    readFileSync(join(import.meta.dirname, '..', '..', '..', 'functions', 'azure', 'host.json'), 'utf8'),
  ) as {
    extensions: { queues: { maxDequeueCount: number } };
  };
  return { maxDequeueCount: host.extensions.queues.maxDequeueCount };
}

export interface QueueRun {
  /** Invocations per decoded message body. */
  invocations: { body: unknown; dequeueCount: number; ok: boolean }[];
  poisoned: unknown[];
}

/**
 * Drives a queue-triggered function the way the Functions host's queue listener does:
 * receive (base64 decoded), invoke with a fresh InvocationContext, delete on success;
 * on failure leave the message to reappear (visibility 0 here instead of host.json's
 * visibilityTimeout, to keep the test fast) and, once it has been dequeued
 * `maxDequeueCount` times, move it to `<queue>-poison` and delete it.
 */
export async function drainQueue(options: {
  queue: QueueClient;
  poison: QueueClient;
  maxDequeueCount: number;
  handler: (entry: unknown, context: InvocationContext) => Promise<void>;
  context: (triggerMetadata: Record<string, unknown>) => InvocationContext;
  maxRounds?: number;
}): Promise<QueueRun> {
  const run: QueueRun = { invocations: [], poisoned: [] };
  for (let round = 0; round < (options.maxRounds ?? 50); round++) {
    const { receivedMessageItems } = await options.queue.receiveMessages({
      numberOfMessages: 16,
      visibilityTimeout: 30,
    });
    if (receivedMessageItems.length === 0) {
      const { peekedMessageItems } = await options.queue.peekMessages({ numberOfMessages: 1 });
      if (peekedMessageItems.length === 0) return run;
      continue;
    }
    await Promise.all(
      receivedMessageItems.map(async (message) => {
        const text = Buffer.from(message.messageText, 'base64').toString('utf8');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // The host passes non-JSON messages as strings.
        }
        const context = options.context({
          id: message.messageId,
          dequeueCount: message.dequeueCount,
          insertionTime: message.insertedOn,
        });
        let ok = true;
        try {
          await options.handler(body, context);
        } catch {
          ok = false;
        }
        run.invocations.push({ body, dequeueCount: message.dequeueCount, ok });
        if (ok) {
          await options.queue.deleteMessage(message.messageId, message.popReceipt);
        } else if (message.dequeueCount >= options.maxDequeueCount) {
          await options.poison.sendMessage(message.messageText);
          await options.queue.deleteMessage(message.messageId, message.popReceipt);
          run.poisoned.push(body);
        } else {
          await options.queue.updateMessage(message.messageId, message.popReceipt, undefined, 0);
        }
      }),
    );
  }
  throw new Error('queue did not drain');
}
