import type { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { Metrics as PowertoolsMetrics } from '@aws-lambda-powertools/metrics';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { ClusterAuthenticator, Logger, Metrics } from '../../shared/core/ports.js';
import { createEksAuthenticator } from '../../shared/kube/auth/eks.js';
import { loadRegistryFromEnv, type LoadedRegistry } from '../../shared/registry/load.js';
import { createRuntime, type Runtime } from '../../shared/runtime/index.js';
import { awsSourceFactory } from '../../shared/sources/aws/index.js';
import { localSourceFactory } from '../../shared/sources/local/index.js';
import { createOutcomePublisher, type OutcomePublisher } from './outcomes.js';
import { createSqsWorkQueue } from './sqs-work-queue.js';
import { fromPowertoolsLogger, fromPowertoolsMetrics } from './telemetry.js';

/** Everything a handler needs, built once per cold start. */
export interface AwsApp {
  runtime: Runtime;
  logger: Logger;
  metrics: Metrics;
  outcomes: OutcomePublisher;
}

export interface AwsAppOptions {
  logger: PowertoolsLogger;
  metrics: PowertoolsMetrics;
  tracer?: Tracer;
  /** @default process.env */
  env?: NodeJS.ProcessEnv;
  /** @default loadRegistryFromEnv(env) */
  loaded?: LoadedRegistry;
}

/**
 * Composes the AWS runtime: the registry from REGISTRY_FILE / REGISTRY, only the `aws` and
 * `local` source factories, the eks authenticator (token and kubeconfig are built in), the SQS work queue
 * (WORK_QUEUE_URL) and the EventBridge outcome publisher. SDK clients honour
 * AWS_ENDPOINT_URL_* for VPC endpoints and local emulators.
 */
export function createAwsApp(options: AwsAppOptions): AwsApp {
  const env = options.env ?? process.env;
  const loaded = options.loaded ?? loadRegistryFromEnv(env);
  const logger = fromPowertoolsLogger(options.logger);
  const metrics = fromPowertoolsMetrics(options.metrics);
  const trace = <C extends object>(client: C): C =>
    options.tracer === undefined ? client : options.tracer.captureAWSv3Client(client);

  // token and kubeconfig authenticators are built into the runtime (they read through its sources).
  const authenticators: ClusterAuthenticator[] = [createEksAuthenticator()];

  const queueUrl = env['WORK_QUEUE_URL'];
  const settings = loaded.registry.settings;
  const runtime: Runtime = createRuntime({
    loaded,
    sources: { aws: awsSourceFactory, local: localSourceFactory },
    authenticators,
    logger,
    metrics,
    ...(queueUrl === undefined || queueUrl === ''
      ? {}
      : { workQueue: createSqsWorkQueue({ client: trace(new SQSClient({})), queueUrl }) }),
  });
  const outcomes: OutcomePublisher = settings.outcomes.enabled
    ? createOutcomePublisher({
        client: trace(new EventBridgeClient({})),
        eventBus: settings.outcomes.eventBus,
        logger,
      })
    : { publish: () => Promise.resolve() };
  return { runtime, logger, metrics, outcomes };
}
