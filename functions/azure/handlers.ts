import type { InvocationContext, Timer } from '@azure/functions';
import { ChangeKind } from '../../shared/core/change.js';
import { errorCodeOf, isPropagatorError, isRetryable } from '../../shared/core/errors.js';
import type { LogFields, Logger, Metrics } from '../../shared/core/ports.js';
import type { ChangeReport } from '../../shared/engine/types.js';
import type { HandlerRuntime } from '../../shared/runtime/index.js';
import { normalizeEvent } from '../../shared/events/index.js';
import { withInvocation } from './telemetry.js';
import { parseWorkItem } from './work-queue.js';

/**
 * The three Azure handlers: parse the platform payload -> run the runtime -> report.
 * An invocation fails (so Event Grid / the queue retries) only for retryable failures;
 * bad input and definitive failures are logged and acknowledged.
 */

/** What the handlers need of the runtime (see shared/runtime). */
export type AzureRuntime = HandlerRuntime;

export interface AzureHandlerDeps {
  /** The runtime, built once per cold start (called on every invocation; must cache). */
  runtime: () => AzureRuntime;
  logger: Logger;
  metrics: Metrics;
}

/** Thrown to make the platform retry; carries codes and counts only. */
export class RetryableInvocationError extends Error {
  override readonly name = 'RetryableInvocationError';
}

/** Drops undefined fields (LogFields keys are optional, not undefined-valued). */
function defined(fields: Record<string, unknown>): LogFields {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
}

export const MetricNames = {
  NearExpiry: 'KeyVaultSecretNearExpiry',
  Expired: 'KeyVaultSecretExpired',
} as const;

export function createAzureHandlers(deps: AzureHandlerDeps) {
  const { logger, metrics } = deps;

  /** One summary line; one line per failed target; throws when a retry can help. */
  const report = (
    runtime: AzureRuntime,
    what: string,
    reports: ChangeReport[],
    started: number,
    fields: Record<string, unknown>,
  ) => {
    const summary = runtime.summarize(reports);
    const bindingErrors = reports.filter((r) => r.error !== undefined);
    for (const r of bindingErrors) {
      logger.error(
        `${what}: binding failed`,
        defined({
          changeId: r.changeId,
          binding: r.binding,
          source: r.source,
          secretRef: r.secretRef,
          errorCode: r.error?.code,
          outcome: 'failed',
          reason: r.error?.message,
        }),
      );
    }
    for (const t of summary.failed) {
      logger.error(
        `${what}: target failed`,
        defined({
          binding: t.binding,
          cluster: t.cluster,
          namespace: t.namespace,
          secret: t.secret,
          errorCode: t.errorCode,
          retryable: t.retryable,
          outcome: 'failed',
        }),
      );
    }
    const enqueued = reports.reduce((n, r) => n + r.enqueued, 0);
    logger.info(
      `${what}: ${summary.ok ? 'done' : 'finished with failures'}`,
      defined({
        ...fields,
        outcome: summary.ok ? 'ok' : 'failed',
        bindings: reports.length,
        counts: summary.counts,
        enqueued,
        durationMs: Date.now() - started,
      }),
    );
    if (!summary.ok && summary.retryable) {
      throw new RetryableInvocationError(
        `${what}: ${summary.failed.length} target(s) or binding(s) failed with retryable errors; the platform will retry`,
      );
    }
  };

  /** Runs `fn` in the invocation's log scope and turns non-retryable errors into an acknowledged failure. */
  const guard = (context: InvocationContext, what: string, fn: () => Promise<void>): Promise<void> =>
    withInvocation(context, async () => {
      try {
        await fn();
      } catch (error) {
        if (error instanceof RetryableInvocationError) throw error;
        const fields = { errorCode: errorCodeOf(error), outcome: 'failed' };
        const message = isPropagatorError(error)
          ? error.message
          : `unexpected ${error instanceof Error ? error.name : 'error'}`;
        if (isRetryable(error)) {
          logger.error(`${what}: retryable failure`, { ...fields, reason: message });
          throw new RetryableInvocationError(`${what}: ${fields.errorCode}; the platform will retry`);
        }
        logger.error(`${what}: rejected`, { ...fields, reason: message });
      }
    });

  return {
    /** Event Grid trigger: one Key Vault event (either schema), or a batch. */
    secretChanged(event: unknown, context: InvocationContext): Promise<void> {
      return guard(context, 'secretChanged', async () => {
        const started = Date.now();
        const normalized = normalizeEvent('azure', event);
        if ('ignored' in normalized) {
          logger.info('secretChanged: event ignored', { outcome: 'ignored', reason: normalized.ignored });
          return;
        }
        const runtime = deps.runtime();
        const reports: ChangeReport[] = [];
        for (const change of normalized.changes) {
          const fields = defined({
            changeId: change.eventId,
            secretRef: change.secretRef,
            version: change.versionId,
          });
          if (change.kind === ChangeKind.NearExpiry) {
            logger.warn('Key Vault secret is near expiry', fields);
            metrics.count(MetricNames.NearExpiry, 1, { secretRef: change.secretRef });
          } else if (change.kind === ChangeKind.Expired) {
            logger.error('Key Vault secret has expired', { ...fields, outcome: 'expired' });
            metrics.count(MetricNames.Expired, 1, { secretRef: change.secretRef });
          }
          // Unbound secrets: the engine acknowledges them with one log line and returns no report.
          // Near expiry / expired: the runtime also writes a generated version for bindings that rotate.
          reports.push(...(await runtime.handle(change)));
        }
        if (reports.length === 0) return;
        const first = normalized.changes[0];
        report(runtime, 'secretChanged', reports, started, {
          changeId: first?.eventId,
          secretRef: first?.secretRef,
          events: normalized.changes.length,
        });
      });
    },

    /** Timer: reconcile every binding (repairs drift and missed events). */
    scheduled(_timer: Timer, context: InvocationContext): Promise<void> {
      return guard(context, 'scheduled', async () => {
        const started = Date.now();
        const runtime = deps.runtime();
        report(runtime, 'scheduled reconcile', await runtime.scheduled('reconcile'), started, {
          kind: 'reconcile',
        });
      });
    },

    /** Timer: rotate the bindings that schedule rotation (generated versions; the event path propagates them). */
    scheduledRotate(_timer: Timer, context: InvocationContext): Promise<void> {
      return guard(context, 'scheduledRotate', async () => {
        const started = Date.now();
        const runtime = deps.runtime();
        report(runtime, 'scheduled rotate', await runtime.scheduled('rotate'), started, { kind: 'rotate' });
      });
    },

    /** Storage queue trigger: one fan-out work item. Throwing leaves the message for a retry, then the poison queue. */
    applyWorkItem(entry: unknown, context: InvocationContext): Promise<void> {
      return guard(context, 'applyWorkItem', async () => {
        const started = Date.now();
        const item = parseWorkItem(entry);
        const runtime = deps.runtime();
        const dequeueCount = context.triggerMetadata?.['dequeueCount'];
        const reports = await runtime.propagator.applyWorkItem(item);
        report(runtime, 'applyWorkItem', reports, started, {
          changeId: item.changeId,
          binding: item.binding,
          clusters: item.clusters.length,
          dequeueCount,
        });
      });
    },
  };
}

export type AzureHandlers = ReturnType<typeof createAzureHandlers>;
