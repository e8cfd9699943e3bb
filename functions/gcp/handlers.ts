import { InvalidEventError } from '../../shared/core/errors.js';
import type { Logger, Metrics } from '../../shared/core/ports.js';
import { decodeMessageJson, extractPubsubMessage } from '../../shared/events/gcp.js';
import { normalizeEvent } from '../../shared/events/index.js';
import {
  createInvocationPolicy,
  failIfRetryable,
  type InvocationResult,
  type InvocationRuntime,
  type ScheduledRequest,
} from '../../shared/runtime/invocation.js';
import { traceIdOf, withInvocation } from './logging.js';
import { parseWorkItem } from './work-queue.js';

/**
 * The Google Cloud handlers: the platform's parse (the CloudEvent, its Pub/Sub message), the
 * shared invocation policy, and the platform's report: a thrown error, so Pub/Sub / Eventarc
 * redeliver that one message, only when the policy asks for a retry. What fails and what is
 * acknowledged is decided in shared/runtime/invocation.ts.
 */

/** What the handlers need of the runtime (the real Runtime fits as it is). */
export type GcpRuntime = InvocationRuntime;

export interface GcpHandlerDeps {
  /** The runtime, built once per cold start (called on every invocation; must cache). */
  runtime: () => GcpRuntime;
  logger: Logger;
  /**
   * Without it, the outcome line is the metric: its `outcome` label feeds a log-based
   * metric in Cloud Logging.
   */
  metrics?: Metrics;
}

/** The CloudEvent fields the handlers read (the framework's CloudEvent satisfies it). */
export interface IncomingCloudEvent {
  id: string;
  type?: string;
  data?: unknown;
  [extension: string]: unknown;
}

export type { ScheduledRequest };

export function parseScheduledRequest(value: unknown): ScheduledRequest {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidEventError(
      'scheduled message data must be JSON {"kind": "reconcile"|"rotate", "bindings"?: [...]}',
    );
  }
  const { kind, bindings } = value as Record<string, unknown>;
  if (kind !== 'reconcile' && kind !== 'rotate')
    throw new InvalidEventError(
      `scheduled message kind ${JSON.stringify(kind)} is not "reconcile" or "rotate"`,
    );
  if (bindings === undefined) return { kind };
  if (!Array.isArray(bindings) || !bindings.every((b): b is string => typeof b === 'string' && b !== '')) {
    throw new InvalidEventError('scheduled message bindings must be a list of binding names');
  }
  return { kind, bindings };
}

/** The message id inside a Pub/Sub CloudEvent, else the CloudEvent id: the invocation's correlation id. */
function eventIdOf(event: IncomingCloudEvent): string {
  try {
    return extractPubsubMessage(event).messageId;
  } catch {
    return event.id;
  }
}

export function createGcpHandlers(deps: GcpHandlerDeps) {
  const policy = createInvocationPolicy(deps);

  /** Runs one message in its log scope and throws only when the policy asks for a redelivery. */
  const invoke = (
    event: IncomingCloudEvent,
    what: string,
    settle: () => Promise<InvocationResult>,
  ): Promise<void> => {
    const traceId = traceIdOf(event['traceparent']);
    return withInvocation(
      { eventId: eventIdOf(event), function: what, ...(traceId === undefined ? {} : { traceId }) },
      async () => failIfRetryable(what, [await settle()]),
    );
  };

  return {
    /** Secret Manager notification (Eventarc Pub/Sub CloudEvent, or a converted push): one message. */
    secretChanged: (event: IncomingCloudEvent): Promise<void> =>
      invoke(event, 'secretChanged', () => policy.event('secretChanged', () => normalizeEvent('gcp', event))),

    /** Cloud Scheduler -> Pub/Sub: `{ "kind": "reconcile" | "rotate", "bindings"?: [...] }`. */
    scheduled: (event: IncomingCloudEvent): Promise<void> =>
      invoke(event, 'scheduled', () =>
        policy.scheduled('scheduled', () =>
          parseScheduledRequest(decodeMessageJson(extractPubsubMessage(event))),
        ),
      ),

    /** Fan-out worker: one WorkItem per message from the work topic. */
    applyWork: (event: IncomingCloudEvent): Promise<void> =>
      invoke(event, 'applyWork', () =>
        policy.workItem('applyWork', () => parseWorkItem(decodeMessageJson(extractPubsubMessage(event)))),
      ),
  };
}
