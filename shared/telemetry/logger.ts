import type { LogFields, Logger } from '../core/ports.js';
import { redactFields, truncate } from './redact.js';

export const LogLevel = { Debug: 'debug', Info: 'info', Warn: 'warn', Error: 'error' } as const;
export type LogLevel = (typeof LogLevel)[keyof typeof LogLevel];

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * The fixed keys (docs/architecture.md, "Logs"), written in this order after `time`, `level` and `message`,
 * so lines read the same in every console. Other fields follow in insertion order.
 */
export const FIXED_KEYS = [
  'changeId',
  'binding',
  'source',
  'secretRef',
  'version',
  'cluster',
  'namespace',
  'secret',
  'workload',
  'outcome',
  'reason',
  'errorCode',
  'durationMs',
] as const;

export interface JsonLoggerOptions {
  /** Where each line goes. @default process.stdout */
  write?: (line: string) => void;
  /** Lines below this level are dropped. @default "info", or env LOG_LEVEL */
  level?: LogLevel;
  /** Fields on every line (service name, cold start id...). */
  base?: LogFields;
  /** @default () => new Date() */
  now?: () => Date;
}

function parseLevel(text: string | undefined): LogLevel | undefined {
  const lower = text?.toLowerCase();
  return lower === 'debug' || lower === 'info' || lower === 'warn' || lower === 'error' ? lower : undefined;
}

/**
 * A Logger writing one JSON object per line: `{ time, level, message, <fixed keys>, ... }`.
 * Every line passes through the redaction guard (see `redact.ts`).
 */
export function createJsonLogger(options: JsonLoggerOptions = {}): Logger {
  const write = options.write ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const threshold = RANK[options.level ?? parseLevel(process.env['LOG_LEVEL']) ?? 'info'];
  const now = options.now ?? (() => new Date());

  const make = (base: LogFields): Logger => {
    const emit = (level: LogLevel, message: string, fields?: LogFields) => {
      if (RANK[level] < threshold) return;
      const safe = redactFields(fields === undefined ? base : { ...base, ...fields });
      const line: Record<string, unknown> = { time: now().toISOString(), level, message: truncate(message) };
      for (const key of FIXED_KEYS) {
        const value = safe[key];
        if (value !== undefined) line[key] = value;
      }
      for (const [key, value] of Object.entries(safe)) {
        if (value !== undefined && !(key in line)) line[key] = value;
      }
      write(JSON.stringify(line));
    };
    return {
      debug: (message, fields) => emit('debug', message, fields),
      info: (message, fields) => emit('info', message, fields),
      warn: (message, fields) => emit('warn', message, fields),
      error: (message, fields) => emit('error', message, fields),
      child: (fields) => make({ ...base, ...fields }),
    };
  };
  return make(options.base ?? {});
}

/** A Logger that drops everything. */
export const noopLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => noopLogger,
};
