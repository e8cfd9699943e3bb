import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  ChangeMessageVisibilityBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';

/** A Lambda context good enough for Powertools (request id, function name, remaining time). */
export function aLambdaContext(functionName = 'secret-propagator-test'): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:eu-west-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: `req-${Math.random().toString(16).slice(2)}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => 300_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/**
 * One poll of Lambda's SQS event source mapping: receive up to `batchSize` messages, invoke
 * the handler with them as an SQSEvent, delete those not listed in `batchItemFailures`, and
 * make the failed ones visible again at once (Lambda waits for the visibility timeout).
 * Returns how many messages were delivered and which failed.
 */
export async function pollQueueOnce(
  client: SQSClient,
  queueUrl: string,
  handler: SqsHandler,
  options: { batchSize?: number; waitSeconds?: number } = {},
): Promise<{ delivered: number; failed: string[] }> {
  const out = await client.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: options.batchSize ?? 10,
      WaitTimeSeconds: options.waitSeconds ?? 0,
      MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
    }),
  );
  const messages = out.Messages ?? [];
  if (messages.length === 0) return { delivered: 0, failed: [] };
  const event: SQSEvent = {
    Records: messages.map((m) => ({
      messageId: m.MessageId ?? '',
      receiptHandle: m.ReceiptHandle ?? '',
      body: m.Body ?? '',
      attributes: {
        ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? '1',
        SentTimestamp: m.Attributes?.SentTimestamp ?? String(Date.now()),
        SenderId: 'local',
        ApproximateFirstReceiveTimestamp: String(Date.now()),
      },
      messageAttributes: {},
      md5OfBody: m.MD5OfBody ?? '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:work',
      awsRegion: 'eu-west-1',
    })),
  };
  const response = await handler(event, aLambdaContext('apply-worker'));
  const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
  const done = messages.filter((m) => !failed.has(m.MessageId ?? ''));
  const retry = messages.filter((m) => failed.has(m.MessageId ?? ''));
  if (done.length > 0) {
    await client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
      }),
    );
  }
  if (retry.length > 0) {
    await client.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: retry.map((m, i) => ({
          Id: String(i),
          ReceiptHandle: m.ReceiptHandle ?? '',
          VisibilityTimeout: 0,
        })),
      }),
    );
  }
  return { delivered: messages.length, failed: [...failed] };
}

/** Captures everything written to stdout and stderr (Powertools logs and EMF) while `run` executes. */
export async function captureOutput<T>(run: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const lines: string[] = [];
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((s) => s.write.bind(s));
  for (const stream of streams) {
    stream.write = (chunk: string | Uint8Array) => {
      lines.push(
        ...(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'))
          .split('\n')
          .filter((l) => l !== ''),
      );
      return true;
    };
  }
  try {
    const result = await run();
    return { result, lines };
  } finally {
    streams.forEach((stream, i) => {
      const original = originals[i];
      if (original !== undefined) stream.write = original;
    });
  }
}
