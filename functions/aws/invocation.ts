import type { MiddlewareObj } from '@middy/core';
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { Metrics as PowertoolsMetrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import type { NormalizedEvent, SecretChange } from '../../shared/core/change.js';
import { errorCodeOf, InvalidEventError, isPropagatorError } from '../../shared/core/errors.js';
import type { ChangeReport, TargetResult } from '../../shared/engine/types.js';
import { ignoredReasonCode } from '../../shared/events/aws.js';
import { createAwsApp, type AwsApp, type AwsAppOptions } from './app.js';

export const SERVICE_NAME = 'secret-propagator';

/** Powertools instances for one handler module (one per cold start). */
export interface Powertools {
  logger: PowertoolsLogger;
  metrics: PowertoolsMetrics;
  tracer: Tracer;
}

export function createPowertools(): Powertools {
  const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? SERVICE_NAME;
  return {
    logger: new PowertoolsLogger({ serviceName }),
    metrics: new PowertoolsMetrics({
      serviceName,
      namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'SecretPropagator',
    }),
    tracer: new Tracer({ serviceName }),
  };
}

/** Builds the app on first use and keeps it for the life of the execution environment. */
export function lazyApp(powertools: Powertools, overrides: Partial<AwsAppOptions> = {}): () => AwsApp {
  let app: AwsApp | undefined;
  return () => (app ??= createAwsApp({ ...powertools, ...overrides }));
}

/** Middy middleware: the platform's event id becomes the correlation id of every log line. */
export function correlateWith<E>(
  idOf: (event: E) => string | undefined,
  logger: PowertoolsLogger,
): MiddlewareObj<E> {
  return {
    before: (request) => {
      const id = idOf(request.event);
      if (id !== undefined) logger.setCorrelationId(id);
    },
  };
}

/** The parse step: a normalised event, or the reason it is acknowledged without work. */
export function parseOrIgnore(parse: () => NormalizedEvent): NormalizedEvent {
  try {
    return parse();
  } catch (error) {
    // A malformed event will be just as malformed on retry: acknowledge it loudly instead.
    if (error instanceof InvalidEventError) return { ignored: `invalid-event: ${error.message}` };
    throw error;
  }
}

/** The runtime step for a normalised event: every change through `runtime.handle`, or nothing. */
export async function handleNormalized(
  app: AwsApp,
  normalized: NormalizedEvent,
): Promise<{ reports: ChangeReport[]; ignored?: string }> {
  if ('ignored' in normalized) {
    app.logger.info('event acknowledged without changes', { outcome: 'ignored', reason: normalized.ignored });
    app.metrics.count('events.ignored', 1, { reason: ignoredReasonCode(normalized.ignored) });
    return { reports: [], ignored: normalized.ignored };
  }
  const reports: ChangeReport[] = [];
  for (const change of normalized.changes) reports.push(...(await handleChange(app, change)));
  return { reports };
}

async function handleChange(app: AwsApp, change: SecretChange): Promise<ChangeReport[]> {
  const reports = await app.runtime.handle(change);
  if (reports.length === 0) {
    app.logger.info('no binding uses this secret; acknowledged', {
      changeId: change.eventId,
      secretRef: change.secretRef,
      outcome: 'unbound',
    });
    app.metrics.count('events.ignored', 1, { reason: 'unbound' });
  }
  return reports;
}

/** What a handler returns (and logs): counts and failed target ids, never a value. */
export interface InvocationResult {
  ok: boolean;
  retryable: boolean;
  ignored?: string;
  bindings: number;
  counts: Record<string, number>;
  failed: Pick<TargetResult, 'binding' | 'cluster' | 'namespace' | 'secret' | 'errorCode'>[];
}

/** Thrown to fail the invocation so the platform retries: only for retryable failures. */
export class RetryableFailureError extends Error {
  override readonly name = 'RetryableFailureError';
}

/**
 * The report step: outcome events, one summary log line, metrics; then fail the invocation
 * only when something failed that a retry can fix.
 */
export async function reportOutcome(
  app: AwsApp,
  reports: readonly ChangeReport[],
  ignored?: string,
): Promise<InvocationResult> {
  await app.outcomes.publish(reports);
  const summary = app.runtime.summarize([...reports]);
  const result: InvocationResult = {
    ok: summary.ok,
    retryable: summary.retryable,
    bindings: reports.length,
    counts: { ...summary.counts },
    failed: summary.failed.map((t) => ({
      binding: t.binding,
      cluster: t.cluster,
      namespace: t.namespace,
      secret: t.secret,
      ...(t.errorCode === undefined ? {} : { errorCode: t.errorCode }),
    })),
    ...(ignored === undefined ? {} : { ignored }),
  };
  if (reports.length > 0)
    app.metrics.count('propagations', reports.length, { outcome: summary.ok ? 'ok' : 'failed' });
  const bindingErrors = reports
    .filter((r) => r.error !== undefined)
    .map((r) => ({ binding: r.binding, errorCode: r.error?.code }));
  app.logger[summary.ok ? 'info' : 'error']('invocation summary', {
    outcome: summary.ok ? 'ok' : 'failed',
    bindings: reports.length,
    counts: result.counts,
    failedTargets: result.failed,
    bindingErrors,
    retryable: summary.retryable,
  });
  if (!summary.ok && summary.retryable) {
    throw new RetryableFailureError(
      `${result.failed.length} target(s) and ${bindingErrors.length} binding(s) failed with retryable errors; the platform will retry`,
    );
  }
  return result;
}

/** A one-line description of an unexpected error for logs: its code and class, never its message. */
export function describeError(error: unknown): { errorCode: string; errorName: string } {
  return {
    errorCode: errorCodeOf(error),
    errorName: isPropagatorError(error) || error instanceof Error ? error.name : typeof error,
  };
}
