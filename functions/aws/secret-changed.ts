import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type { EventBridgeEvent } from 'aws-lambda';
import { normalizeEvent } from '../../shared/events/index.js';
import type { AwsAppOptions } from './app.js';
import {
  correlateWith,
  createPowertools,
  handleNormalized,
  lazyApp,
  parseOrIgnore,
  reportOutcome,
  type InvocationResult,
} from './invocation.js';

/**
 * EventBridge -> Secrets Manager change -> every target. Three steps: parse, runtime, report.
 * `overrides` exist for tests and the local demo (registry, env); Lambda uses the defaults.
 */
export function createSecretChangedHandler(overrides: Partial<AwsAppOptions> = {}) {
  const powertools = createPowertools();
  const app = lazyApp(powertools, overrides);
  const lambdaHandler = async (event: EventBridgeEvent<string, unknown>): Promise<InvocationResult> => {
    const normalized = parseOrIgnore(() => normalizeEvent('aws', event));
    const { reports, ignored } = await handleNormalized(app(), normalized);
    return reportOutcome(app(), reports, ignored);
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
