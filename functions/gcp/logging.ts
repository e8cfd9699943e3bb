import { AsyncLocalStorage } from 'node:async_hooks';
import type { LogFields, Logger } from '../../shared/core/ports.js';
import { createJsonLogger, type LogLevel } from '../../shared/telemetry/index.js';

/**
 * Cloud Logging structured logs: one JSON object per line on stdout, which the Cloud
 * Functions agent parses. `severity` and `message` are the special fields Cloud Logging
 * reads; `logging.googleapis.com/labels` become indexed labels and
 * `logging.googleapis.com/trace` links the line to the invocation's trace.
 */

const SEVERITY: Record<LogLevel, string> = { debug: 'DEBUG', info: 'INFO', warn: 'WARNING', error: 'ERROR' };

/** What one invocation adds to every line it logs. */
export interface InvocationScope {
  /** The CloudEvent / Pub/Sub message id: the correlation id of the invocation. */
  eventId: string;
  /** The function that runs (`secretChanged`, `scheduled`, `applyWork`). */
  function: string;
  /** W3C trace id from the CloudEvent's `traceparent`, when there is one. */
  traceId?: string;
}

const scope = new AsyncLocalStorage<InvocationScope>();

/** Runs `fn` with `invocation` attached to every line logged inside it (also from the engine). */
export function withInvocation<T>(invocation: InvocationScope, fn: () => Promise<T>): Promise<T> {
  return scope.run(invocation, fn);
}

/** The trace id of a W3C `traceparent` (`00-<trace>-<span>-<flags>`). */
export function traceIdOf(traceparent: unknown): string | undefined {
  if (typeof traceparent !== 'string') return undefined;
  const match = /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/.exec(traceparent);
  return match?.[1];
}

export interface CloudLoggerOptions {
  /** @default process.stdout, one line per entry */
  write?: (line: string) => void;
  /** Project for `logging.googleapis.com/trace`. @default env GOOGLE_CLOUD_PROJECT */
  project?: string;
  level?: LogLevel;
  base?: LogFields;
}

/**
 * A Logger (shared/telemetry's JSON logger, with its redaction guard) whose lines carry
 * `severity`, the invocation's `eventId` label and trace.
 */
export function createCloudLogger(options: CloudLoggerOptions = {}): Logger {
  const write = options.write ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const project = options.project ?? process.env['GOOGLE_CLOUD_PROJECT'];
  return createJsonLogger({
    ...(options.level === undefined ? {} : { level: options.level }),
    ...(options.base === undefined ? {} : { base: options.base }),
    write: (line) => {
      const entry = JSON.parse(line) as Record<string, unknown> & { level: LogLevel };
      const { level, ...rest } = entry;
      const invocation = scope.getStore();
      const out: Record<string, unknown> = { severity: SEVERITY[level], ...rest };
      if (invocation !== undefined) {
        out['eventId'] = invocation.eventId;
        out['logging.googleapis.com/labels'] = {
          eventId: invocation.eventId,
          function: invocation.function,
          ...(typeof rest['changeId'] === 'string' ? { changeId: rest['changeId'] } : {}),
          // The invocation policy's outcome line carries it: a log-based metric counts by it.
          ...(typeof rest['outcome'] === 'string' ? { outcome: rest['outcome'] } : {}),
        };
        if (invocation.traceId !== undefined && project !== undefined) {
          out['logging.googleapis.com/trace'] = `projects/${project}/traces/${invocation.traceId}`;
        }
      }
      write(JSON.stringify(out));
    },
  });
}
