import {
  Duration,
  aws_cloudwatch as cloudwatch,
  type aws_lambda as lambda,
  type aws_sqs as sqs,
} from 'aws-cdk-lib';
import type { Construct } from 'constructs';

export interface MonitoringProps {
  functions: lambda.IFunction[];
  deadLetterQueues: sqs.IQueue[];
  /** EMF namespace of the handlers' metrics. */
  namespace: string;
  /** Powertools service dimension. */
  service: string;
}

/**
 * Alarms (function errors and throttles, anything in a DLQ, failed targets) and one
 * dashboard: propagations, targets by outcome, latency, restarts.
 */
export function createMonitoring(
  scope: Construct,
  props: MonitoringProps,
): { alarms: cloudwatch.Alarm[]; dashboard: cloudwatch.Dashboard } {
  const period = Duration.minutes(5);
  const custom = (metricName: string, dimensions: Record<string, string> = {}, statistic = 'Sum') =>
    new cloudwatch.Metric({
      namespace: props.namespace,
      metricName,
      dimensionsMap: { service: props.service, ...dimensions },
      statistic,
      period,
    });

  const alarms: cloudwatch.Alarm[] = [];
  const alarm = (id: string, metric: cloudwatch.IMetric, description: string) => {
    const created = new cloudwatch.Alarm(scope, id, {
      metric,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: description,
    });
    alarms.push(created);
    return created;
  };

  for (const [index, fn] of props.functions.entries()) {
    alarm(
      `FunctionErrorsAlarm${index}`,
      fn.metricErrors({ period }),
      `Errors in ${fn.node.id}: a retryable failure or a crash`,
    );
    alarm(
      `FunctionThrottlesAlarm${index}`,
      fn.metricThrottles({ period }),
      `Throttles in ${fn.node.id}: raise reserved concurrency or the account limit`,
    );
  }
  for (const [index, queue] of props.deadLetterQueues.entries()) {
    alarm(
      `DeadLetterAlarm${index}`,
      queue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
      `Messages in ${queue.node.id}: changes or work items that failed every retry`,
    );
  }
  alarm(
    'FailedTargetsAlarm',
    custom('targets', { outcome: 'failed' }),
    'Targets that failed to converge (see the "Secret Propagation Failed" events)',
  );

  const outcomes = ['created', 'updated', 'unchanged', 'skipped', 'failed'];
  const dashboard = new cloudwatch.Dashboard(scope, 'Dashboard', {
    defaultInterval: Duration.hours(3),
    widgets: [
      [
        new cloudwatch.GraphWidget({
          title: 'Propagations',
          left: [
            custom('propagations', { outcome: 'ok' }),
            custom('propagations', { outcome: 'failed' }),
            custom('events.ignored'),
          ],
          width: 12,
        }),
        new cloudwatch.GraphWidget({
          title: 'Targets by outcome',
          left: outcomes.map((outcome) => custom('targets', { outcome })),
          stacked: true,
          width: 12,
        }),
      ],
      [
        new cloudwatch.GraphWidget({
          title: 'Latency (ms)',
          left: [
            custom('change.duration', {}, 'p50'),
            custom('change.duration', {}, 'p95'),
            custom('target.duration', {}, 'p95'),
          ],
          right: props.functions.map((fn) => fn.metricDuration({ period, statistic: 'p95' })),
          width: 12,
        }),
        new cloudwatch.GraphWidget({
          title: 'Restarts',
          left: [custom('restarts'), custom('restart.failures')],
          width: 12,
        }),
      ],
      [
        new cloudwatch.GraphWidget({
          title: 'Errors and throttles',
          left: props.functions.flatMap((fn) => [
            fn.metricErrors({ period }),
            fn.metricThrottles({ period }),
          ]),
          width: 12,
        }),
        new cloudwatch.GraphWidget({
          title: 'Dead-letter queues',
          left: props.deadLetterQueues.map((q) =>
            q.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
          ),
          width: 12,
        }),
      ],
    ],
  });
  return { alarms, dashboard };
}
