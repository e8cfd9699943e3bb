import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { InvalidEventError } from '../../shared/core/errors.js';
import type { AwsAppOptions } from './app.js';
import { failIfRetryable, type InvocationResult } from '../../shared/runtime/invocation.js';
import { awsInvocationPolicy, correlateWith, createPowertools } from './invocation.js';

/** The input the schedule rules send (see infra/aws: one rule per kind and expression). */
export interface ScheduledInput {
  kind: 'reconcile' | 'rotate';
  bindings?: string[];
  /** Set by EventBridge Scheduler / direct invokes that pass an id. */
  id?: string;
}

export function parseScheduledInput(raw: unknown): ScheduledInput {
  if (typeof raw !== 'object' || raw === null)
    throw new InvalidEventError('scheduled input must be an object { kind, bindings? }');
  const input = raw as Record<string, unknown>;
  if (input.kind !== 'reconcile' && input.kind !== 'rotate') {
    throw new InvalidEventError(
      `scheduled input kind must be "reconcile" or "rotate", got ${JSON.stringify(input.kind)}`,
    );
  }
  const bindings = input.bindings;
  if (bindings !== undefined && !(Array.isArray(bindings) && bindings.every((b) => typeof b === 'string'))) {
    throw new InvalidEventError('scheduled input bindings must be a list of binding names');
  }
  return {
    kind: input.kind,
    ...(bindings === undefined ? {} : { bindings: bindings }),
    ...(typeof input.id === 'string' ? { id: input.id } : {}),
  };
}

/** Schedule -> reconcile (every binding, or the listed ones) or rotation, through the shared policy. */
export function createScheduledHandler(overrides: Partial<AwsAppOptions> = {}) {
  const powertools = createPowertools();
  const policy = awsInvocationPolicy(powertools, overrides);
  const lambdaHandler = async (event: unknown): Promise<InvocationResult> => {
    const result = await policy.scheduled('scheduled', () => parseScheduledInput(event));
    failIfRetryable('scheduled', [result]);
    return result;
  };
  return middy(lambdaHandler)
    .use(captureLambdaHandler(powertools.tracer))
    .use(injectLambdaContext(powertools.logger))
    .use(
      correlateWith<unknown>(
        (event) =>
          typeof event === 'object' && event !== null && 'id' in event && typeof event.id === 'string'
            ? event.id
            : undefined,
        powertools.logger,
      ),
    )
    .use(logMetrics(powertools.metrics, { captureColdStartMetric: true }));
}

export const handler = createScheduledHandler();
