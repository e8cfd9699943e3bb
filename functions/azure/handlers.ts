import type { InvocationContext, Timer } from '@azure/functions';
import type { Logger, Metrics } from '../../shared/core/ports.js';
import { normalizeEvent } from '../../shared/events/index.js';
import {
  createInvocationPolicy,
  failIfRetryable,
  type InvocationResult,
  type InvocationRuntime,
} from '../../shared/runtime/invocation.js';
import { withInvocation } from './telemetry.js';
import { parseWorkItem } from './work-queue.js';

/**
 * The Azure handlers: the platform's parse, the shared invocation policy, and the platform's
 * report (a thrown error when the policy asks for a retry, so Event Grid or the queue
 * redelivers). What fails and what is acknowledged is decided in shared/runtime/invocation.ts.
 */

/** What the handlers need of the runtime (the real Runtime fits as it is). */
export type AzureRuntime = InvocationRuntime;

export interface AzureHandlerDeps {
  /** The runtime, built once per cold start (called on every invocation; must cache). */
  runtime: () => AzureRuntime;
  logger: Logger;
  metrics: Metrics;
}

export function createAzureHandlers(deps: AzureHandlerDeps) {
  const policy = createInvocationPolicy(deps);

  /** Runs one invocation in its log scope and fails it only when the policy asks for a retry. */
  const invoke = (
    context: InvocationContext,
    what: string,
    settle: () => Promise<InvocationResult[]>,
  ): Promise<void> =>
    withInvocation(context, async () => {
      failIfRetryable(what, await settle());
    });

  return {
    /**
     * Event Grid trigger: one Key Vault event (either schema), or a batch. Each event of a
     * batch is parsed and settled on its own, so a malformed one never fails the others;
     * the invocation fails only when some event needs a redelivery (which the others, being
     * idempotent, survive).
     */
    secretChanged(event: unknown, context: InvocationContext): Promise<void> {
      const events = Array.isArray(event) && event.length > 0 ? (event as unknown[]) : [event];
      return invoke(context, 'secretChanged', async () => {
        const results: InvocationResult[] = [];
        for (const one of events)
          results.push(await policy.event('secretChanged', () => normalizeEvent('azure', one)));
        return results;
      });
    },

    /** Timer: reconcile every binding (repairs drift and missed events). */
    scheduled(_timer: Timer, context: InvocationContext): Promise<void> {
      return invoke(context, 'scheduled', async () => [
        await policy.scheduled('scheduled', () => ({ kind: 'reconcile' })),
      ]);
    },

    /** Timer: rotate the bindings that schedule rotation (generated versions; the event path propagates them). */
    scheduledRotate(_timer: Timer, context: InvocationContext): Promise<void> {
      return invoke(context, 'scheduledRotate', async () => [
        await policy.scheduled('scheduledRotate', () => ({ kind: 'rotate' })),
      ]);
    },

    /** Storage queue trigger: one fan-out work item. Throwing leaves the message for a retry, then the poison queue. */
    applyWorkItem(entry: unknown, context: InvocationContext): Promise<void> {
      const dequeueCount = context.triggerMetadata?.['dequeueCount'];
      return invoke(context, 'applyWorkItem', async () => [
        await policy.workItem(
          'applyWorkItem',
          () => parseWorkItem(entry),
          dequeueCount === undefined ? {} : { dequeueCount },
        ),
      ]);
    },
  };
}

export type AzureHandlers = ReturnType<typeof createAzureHandlers>;
