import { errorCodeOf, InvalidEventError, isPropagatorError, isRetryable } from '../../shared/core/errors.js';
import type { Logger } from '../../shared/core/ports.js';
import type { ChangeReport } from '../../shared/engine/types.js';
import type { HandlerRuntime } from '../../shared/runtime/index.js';
import { decodeMessageJson, extractPubsubMessage } from '../../shared/events/gcp.js';
import { normalizeEvent } from '../../shared/events/index.js';
import { traceIdOf, withInvocation } from './logging.js';
import { parseWorkItem } from './work-queue.js';

/**
 * The Google Cloud handlers: parse the CloudEvent -> run the runtime -> report. An
 * invocation throws (so Pub/Sub / Eventarc redeliver) only for retryable failures; bad
 * input, unbound secrets and definitive failures are logged and acknowledged.
 */

/** What the handlers need of the runtime (see shared/runtime). */
export type GcpRuntime = HandlerRuntime;

export interface GcpHandlerDeps {
  /** The runtime, built once per cold start (called on every invocation; must cache). */
  runtime: () => GcpRuntime;
  logger: Logger;
}

/** The CloudEvent fields the handlers read (the framework's CloudEvent satisfies it). */
export interface IncomingCloudEvent {
  id: string;
  type?: string;
  data?: unknown;
  [extension: string]: unknown;
}

/** Thrown to make Pub/Sub redeliver; carries codes and counts only. */
export class RetryableInvocationError extends Error {
  override readonly name = 'RetryableInvocationError';
}

/** The `{ kind, bindings? }` body Cloud Scheduler publishes for the `scheduled` function. */
export interface ScheduledRequest {
  kind: 'reconcile' | 'rotate';
  bindings?: string[];
}

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
  const { logger } = deps;

  /** One summary line; one line per failed binding or target; throws when a retry can help. */
  const report = (
    runtime: GcpRuntime,
    what: string,
    reports: ChangeReport[],
    started: number,
    fields: Record<string, unknown>,
  ) => {
    const summary = runtime.summarize(reports);
    for (const r of reports.filter((x) => x.error !== undefined)) {
      logger.error(`${what}: binding failed`, {
        changeId: r.changeId,
        binding: r.binding,
        source: r.source,
        secretRef: r.secretRef,
        errorCode: r.error?.code ?? 'Internal',
        outcome: 'failed',
        reason: r.error?.message,
      });
    }
    for (const t of summary.failed) {
      logger.error(`${what}: target failed`, {
        binding: t.binding,
        cluster: t.cluster,
        namespace: t.namespace,
        secret: t.secret,
        errorCode: t.errorCode ?? 'Internal',
        retryable: t.retryable,
        outcome: 'failed',
      });
    }
    logger.info(`${what}: ${summary.ok ? 'done' : 'finished with failures'}`, {
      ...fields,
      outcome: summary.ok ? 'ok' : 'failed',
      bindings: reports.length,
      counts: summary.counts,
      durationMs: Date.now() - started,
    });
    if (!summary.ok && summary.retryable) {
      throw new RetryableInvocationError(
        `${what}: ${summary.failed.length} target(s) or binding(s) failed with retryable errors; Pub/Sub will redeliver`,
      );
    }
  };

  /** Runs `fn` in the invocation's log scope; acknowledges non-retryable failures, rethrows the rest. */
  const guard = (event: IncomingCloudEvent, what: string, fn: () => Promise<void>): Promise<void> => {
    const traceId = traceIdOf(event['traceparent']);
    return withInvocation(
      { eventId: eventIdOf(event), function: what, ...(traceId === undefined ? {} : { traceId }) },
      async () => {
        try {
          await fn();
        } catch (error) {
          if (error instanceof RetryableInvocationError) throw error;
          const fields = { errorCode: errorCodeOf(error), outcome: 'failed' };
          const reason = isPropagatorError(error)
            ? error.message
            : `unexpected ${error instanceof Error ? error.name : 'error'}`;
          if (isRetryable(error)) {
            logger.error(`${what}: retryable failure`, { ...fields, reason });
            throw new RetryableInvocationError(`${what}: ${fields.errorCode}; Pub/Sub will redeliver`);
          }
          logger.error(`${what}: rejected and acknowledged`, { ...fields, reason });
        }
      },
    );
  };

  return {
    /** Secret Manager notification (Eventarc Pub/Sub CloudEvent, or a converted push). */
    secretChanged: (event: IncomingCloudEvent): Promise<void> =>
      guard(event, 'secretChanged', async () => {
        const started = Date.now();
        const normalized = normalizeEvent('gcp', event);
        if ('ignored' in normalized) {
          logger.info('secretChanged: event ignored', { outcome: 'ignored', reason: normalized.ignored });
          return;
        }
        const runtime = deps.runtime();
        const reports: ChangeReport[] = [];
        for (const change of normalized.changes) {
          const changeReports = await runtime.handle(change);
          if (changeReports.length === 0) {
            // The engine already logs its one line for an unbound secret; this one is for debugging.
            logger.debug('secretChanged: no binding uses this secret; acknowledged', {
              changeId: change.eventId,
              secretRef: change.secretRef,
              ...(change.versionId === undefined ? {} : { version: change.versionId }),
              kind: change.kind,
              outcome: 'unbound',
            });
            continue;
          }
          reports.push(...changeReports);
        }
        if (reports.length === 0) return;
        const first = normalized.changes[0];
        report(runtime, 'secretChanged', reports, started, {
          changeId: first?.eventId,
          secretRef: first?.secretRef,
          version: first?.versionId,
          kind: first?.kind,
          origin: first?.origin,
        });
      }),

    /** Cloud Scheduler -> Pub/Sub: `{ "kind": "reconcile" | "rotate", "bindings"?: [...] }`. */
    scheduled: (event: IncomingCloudEvent): Promise<void> =>
      guard(event, 'scheduled', async () => {
        const started = Date.now();
        const request = parseScheduledRequest(decodeMessageJson(extractPubsubMessage(event)));
        const runtime = deps.runtime();
        const reports = await runtime.scheduled(request.kind, request.bindings);
        report(runtime, `scheduled ${request.kind}`, reports, started, {
          kind: request.kind,
          requested: request.bindings,
        });
      }),

    /** Fan-out worker: one WorkItem per message from the work topic. */
    applyWork: (event: IncomingCloudEvent): Promise<void> =>
      guard(event, 'applyWork', async () => {
        const started = Date.now();
        const item = parseWorkItem(decodeMessageJson(extractPubsubMessage(event)));
        const runtime = deps.runtime();
        const reports = await runtime.propagator.applyWorkItem(item);
        report(runtime, 'applyWork', reports, started, {
          changeId: item.changeId,
          binding: item.binding,
          clusters: item.clusters.length,
        });
      }),
  };
}
