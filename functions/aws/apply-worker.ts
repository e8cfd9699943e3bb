import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { isRetryable } from '../../shared/core/errors.js';
import type { AwsAppOptions } from './app.js';
import {
  createPowertools,
  describeError,
  lazyApp,
  reportOutcome,
  RetryableFailureError,
} from './invocation.js';
import { parseWorkItem } from './sqs-work-queue.js';

/**
 * SQS fan-out worker. Each record is one work item: parse, apply, report. A record whose
 * item failed with a retryable error is listed in `batchItemFailures`, so only it comes
 * back (and reaches the DLQ after maxReceiveCount); a malformed one is logged and dropped.
 */
export function createApplyWorkerHandler(overrides: Partial<AwsAppOptions> = {}) {
  const powertools = createPowertools();
  const app = lazyApp(powertools, overrides);

  const applyRecord = async (record: SQSRecord): Promise<boolean> => {
    const logger = app().logger.child({ messageId: record.messageId });
    try {
      const item = parseWorkItem(record.body);
      // The coordinator's event id: worker lines correlate with the change that fanned out.
      powertools.logger.setCorrelationId(item.changeId);
      await reportOutcome(app(), await app().runtime.propagator.applyWorkItem(item));
      return true;
    } catch (error) {
      if (error instanceof RetryableFailureError) return false;
      const retry = isRetryable(error);
      logger.error(retry ? 'work item failed; it will be retried' : 'work item dropped: it cannot succeed', {
        ...describeError(error),
        outcome: 'failed',
      });
      return !retry;
    }
  };

  const lambdaHandler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const failures: SQSBatchResponse['batchItemFailures'] = [];
    for (const record of event.Records) {
      powertools.logger.setCorrelationId(record.messageId);
      if (!(await applyRecord(record))) failures.push({ itemIdentifier: record.messageId });
    }
    return { batchItemFailures: failures };
  };
  return middy(lambdaHandler)
    .use(captureLambdaHandler(powertools.tracer))
    .use(injectLambdaContext(powertools.logger))
    .use(logMetrics(powertools.metrics, { captureColdStartMetric: true }));
}

export const handler = createApplyWorkerHandler();
