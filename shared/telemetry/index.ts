export { createJsonLogger, noopLogger, FIXED_KEYS, LogLevel, type JsonLoggerOptions } from './logger.js';
export { redactFields, isSensitiveKey, truncate, MAX_STRING, MAX_DEPTH } from './redact.js';
export { createMemoryMetrics, noopMetrics, MetricName, type MemoryMetrics } from './metrics.js';
