import { ConfigError } from './errors.js';

/** Milliseconds per unit of the duration grammar. */
const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * The duration grammar of the registry (Go-style, as ESO and Kubernetes write them, plus
 * days): one or more `<digits><unit>` with unit ms, s, m, h or d, nothing else.
 */
export const DURATION_PATTERN = /^(\d+(ms|s|m|h|d))+$/;

/**
 * Parses a duration (`20s`, `1m30s`, `500ms`, `7d`) to milliseconds. Anything outside the
 * grammar (`7 days`, `''`, `10`) throws a ConfigError naming `field`: a duration is never
 * silently read as 0.
 */
export function parseDuration(text: string, field = 'duration'): number {
  if (!DURATION_PATTERN.test(text)) {
    throw new ConfigError(`${field}: invalid duration "${text}" (expected e.g. 30s, 15m, 1h30m or 7d)`);
  }
  let total = 0;
  for (const match of text.matchAll(/(\d+)(ms|s|m|h|d)/g))
    total += Number(match[1]) * (UNIT_MS[match[2] ?? ''] ?? 0);
  return total;
}
