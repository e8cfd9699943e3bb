import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { AwsAppOptions } from './app.js';
import { awsInvocationPolicy, createPowertools } from './invocation.js';
import { parseWorkItem } from './sqs-work-queue.js';

/**
 * SQS fan-out worker. Each record is settled on its own by the shared invocation policy;
 * only records the policy wants retried are listed in `batchItemFailures` (the event source
 * has `reportBatchItemFailures`), so a malformed record never brings the others back, and a
 * retried one reaches the DLQ after maxReceiveCount.
 */
export function createApplyWorkerHandler(overrides: Partial<AwsAppOptions> = {}) {
  const powertools = createPowertools();
  const policy = awsInvocationPolicy(powertools, overrides);

  const lambdaHandler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const failures: SQSBatchResponse['batchItemFailures'] = [];
    for (const record of event.Records) {
      powertools.logger.setCorrelationId(record.messageId);
      const parse = () => {
        const item = parseWorkItem(record.body);
        // The coordinator's event id: worker lines correlate with the change that fanned out.
        powertools.logger.setCorrelationId(item.changeId);
        return item;
      };
      const result = await policy.workItem('applyWorkItem', parse, { messageId: record.messageId });
      if (result.retryable) failures.push({ itemIdentifier: record.messageId });
    }
    return { batchItemFailures: failures };
  };
  return middy(lambdaHandler)
    .use(captureLambdaHandler(powertools.tracer))
    .use(injectLambdaContext(powertools.logger))
    .use(logMetrics(powertools.metrics, { captureColdStartMetric: true }));
}

export const handler = createApplyWorkerHandler();
