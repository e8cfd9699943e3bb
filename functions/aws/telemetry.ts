import type { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics as PowertoolsMetrics } from '@aws-lambda-powertools/metrics';
import type { LogFields, Logger, Metrics } from '../../shared/core/ports.js';
import { redactFields } from '../../shared/telemetry/index.js';

/**
 * The Logger port over Powertools Logger: CloudWatch gets Powertools' JSON (with
 * `correlation_id`, cold start, request id) plus our fixed keys, after the redaction guard.
 */
export function fromPowertoolsLogger(logger: PowertoolsLogger, base: LogFields = {}): Logger {
  const emit = (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: LogFields) => {
    logger[level](message, redactFields({ ...base, ...fields }));
  };
  return {
    debug: (message, fields) => emit('debug', message, fields),
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
    child: (fields) => fromPowertoolsLogger(logger, { ...base, ...fields }),
  };
}

/**
 * The Metrics port over Powertools Metrics (CloudWatch EMF). Metrics with their own
 * dimensions (`targets` by `outcome`) are published as single metrics so each point
 * keeps its dimensions; the rest are batched and flushed by the middleware.
 */
export function fromPowertoolsMetrics(metrics: PowertoolsMetrics): Metrics {
  const add = (
    name: string,
    unit: (typeof MetricUnit)[keyof typeof MetricUnit],
    value: number,
    dimensions: Record<string, string> | undefined,
  ) => {
    if (dimensions === undefined || Object.keys(dimensions).length === 0) {
      metrics.addMetric(name, unit, value);
      return;
    }
    const single = metrics.singleMetric();
    single.addDimensions(dimensions);
    single.addMetric(name, unit, value);
  };
  return {
    count: (name, value = 1, dimensions) => add(name, MetricUnit.Count, value, dimensions),
    timing: (name, ms, dimensions) => add(name, MetricUnit.Milliseconds, ms, dimensions),
  };
}
