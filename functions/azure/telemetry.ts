import { AsyncLocalStorage } from 'node:async_hooks';
import type { InvocationContext } from '@azure/functions';
import type { Logger, Metrics } from '../../shared/core/ports.js';
import { createJsonLogger, type LogLevel } from '../../shared/telemetry/index.js';

/**
 * Logging for Azure Functions. The runtime is built once per cold start, but its log lines
 * must land on the invocation that caused them (Application Insights ties a trace to its
 * invocation id only when it is written through that invocation's context). So the
 * Logger writes to the InvocationContext of the current async call chain, found with
 * AsyncLocalStorage; concurrent invocations in one worker never mix.
 *
 * Each line is the house JSON (fixed keys, redaction guard) so KQL can
 * `parse_json(message)`; the level maps to context.debug/info/warn/error (severity).
 */
const current = new AsyncLocalStorage<InvocationContext>();

/** Runs `fn` with `context` as the target of every log line written inside it. */
export function withInvocation<T>(context: InvocationContext, fn: () => Promise<T>): Promise<T> {
  return current.run(context, fn);
}

function levelOf(line: string): LogLevel {
  // The JSON logger writes `{"time":...,"level":"<level>",...}`.
  const match = /"level":"(debug|info|warn|error)"/.exec(line);
  return (match?.[1] as LogLevel | undefined) ?? 'info';
}

/** The Logger port over the current InvocationContext (console outside an invocation, e.g. cold start). */
export function createInvocationLogger(options: { level?: LogLevel } = {}): Logger {
  return createJsonLogger({
    ...(options.level === undefined ? {} : { level: options.level }),
    base: { service: 'secret-propagator', cloud: 'azure' },
    write: (line) => {
      const level = levelOf(line);
      const context = current.getStore();
      if (context === undefined) {
        console[level](line);
        return;
      }
      context[level](line);
    },
  });
}

/**
 * Metrics as structured log lines (`metric`, `value`, dimensions): Application Insights
 * charts them from `traces` without another SDK in the bundle.
 */
export function createLogMetrics(logger: Logger): Metrics {
  return {
    count: (name, value = 1, dimensions = {}) =>
      logger.info(`metric ${name}`, { metric: name, count: value, ...dimensions }),
    timing: (name, ms, dimensions = {}) =>
      logger.info(`metric ${name}`, { metric: name, durationMs: ms, ...dimensions }),
  };
}
