import type { MiddlewareObj } from '@middy/core';
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { Metrics as PowertoolsMetrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { createInvocationPolicy, type InvocationPolicy } from '../../shared/runtime/invocation.js';
import { createAwsApp, type AwsApp, type AwsAppOptions } from './app.js';
import { fromPowertoolsLogger, fromPowertoolsMetrics } from './telemetry.js';

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

/**
 * The shared invocation policy over the Lambda's Powertools. The app (registry, runtime) is
 * built inside the policy's work step, so a registry that fails to load is an acknowledged
 * `rejected` outcome rather than an error EventBridge would retry.
 */
export function awsInvocationPolicy(
  powertools: Powertools,
  overrides: Partial<AwsAppOptions> = {},
): InvocationPolicy {
  const app = lazyApp(powertools, overrides);
  return createInvocationPolicy({
    runtime: () => app().runtime,
    logger: fromPowertoolsLogger(powertools.logger),
    metrics: fromPowertoolsMetrics(powertools.metrics),
    publish: (reports) => app().outcomes.publish(reports),
  });
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
