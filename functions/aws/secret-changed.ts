import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type { EventBridgeEvent } from 'aws-lambda';
import { normalizeEvent } from '../../shared/events/index.js';
import { failIfRetryable, type InvocationResult } from '../../shared/runtime/invocation.js';
import type { AwsAppOptions } from './app.js';
import { awsInvocationPolicy, correlateWith, createPowertools } from './invocation.js';

/**
 * EventBridge -> Secrets Manager change -> every target: the platform's parse, the shared
 * invocation policy, and a thrown error only when the policy asks for a retry.
 * `overrides` exist for tests and the local demo (registry, env); Lambda uses the defaults.
 */
export function createSecretChangedHandler(overrides: Partial<AwsAppOptions> = {}) {
  const powertools = createPowertools();
  const policy = awsInvocationPolicy(powertools, overrides);
  const lambdaHandler = async (event: EventBridgeEvent<string, unknown>): Promise<InvocationResult> => {
    const result = await policy.event('secretChanged', () => normalizeEvent('aws', event));
    failIfRetryable('secretChanged', [result]);
    return result;
  };
  return middy(lambdaHandler)
    .use(captureLambdaHandler(powertools.tracer))
    .use(injectLambdaContext(powertools.logger))
    .use(
      correlateWith<EventBridgeEvent<string, unknown>>(
        (event) => (typeof event.id === 'string' ? event.id : undefined),
        powertools.logger,
      ),
    )
    .use(logMetrics(powertools.metrics, { captureColdStartMetric: true }));
}

export const handler = createSecretChangedHandler();
