import {
  ClusterUnavailableError,
  ConflictError,
  PropagatorError,
  ThrottledError,
  TimeoutError,
} from '../core/errors.js';
import type { Clock } from '../core/ports.js';

export interface RetryPolicy {
  /** Retries after the first attempt. */
  retries: number;
  /** First backoff ceiling in ms; doubles per retry up to `maxMs`. @default 200 */
  baseMs: number;
  /** @default 5000 */
  maxMs: number;
  clock: Clock;
  /** [0, 1) source for jitter. @default Math.random */
  random: () => number;
}

/** Errors worth another attempt against a cluster: 409, 429, 5xx / network, timeouts. */
export function isTransient(error: unknown): boolean {
  return (
    error instanceof ConflictError ||
    error instanceof ThrottledError ||
    error instanceof ClusterUnavailableError ||
    error instanceof TimeoutError
  );
}

/** "Full jitter" exponential backoff: uniform in [0, min(max, base * 2^retry)). */
export function backoffMs(retry: number, policy: Pick<RetryPolicy, 'baseMs' | 'maxMs' | 'random'>): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** retry);
  return Math.floor(policy.random() * ceiling);
}

/**
 * How long to wait before retry number `retry`: the jittered backoff, or longer when the
 * server asked for more with `Retry-After` (a 429 or 503), though never beyond `maxMs`, so a
 * server asking for minutes cannot hold a target past the retry budget.
 */
export function retryDelayMs(
  error: unknown,
  retry: number,
  policy: Pick<RetryPolicy, 'baseMs' | 'maxMs' | 'random'>,
): number {
  const backoff = backoffMs(retry, policy);
  const asked = error instanceof PropagatorError ? error.retryAfterMs : undefined;
  return asked === undefined ? backoff : Math.max(backoff, Math.min(asked, policy.maxMs));
}

/** Runs `operation` until it succeeds, fails with a non-transient error, or retries run out. */
export async function withRetry<T>(
  operation: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  attempts: { count: number } = { count: 0 },
): Promise<T> {
  for (let retry = 0; ; retry++) {
    attempts.count++;
    try {
      return await operation(attempts.count);
    } catch (error) {
      if (retry >= policy.retries || !isTransient(error)) throw error;
      await policy.clock.sleep(retryDelayMs(error, retry, policy));
    }
  }
}

/**
 * Runs `operation` with a signal that aborts after `ms`, and rejects with `TimeoutError` then.
 * The abort reaches the requests `operation` has in flight (the gateway passes the signal to
 * the transport, which destroys the request's socket), so a hung cluster holds no request
 * beyond the deadline. `what` names the operation in that error; as a function it is only
 * called then (a fleet run would otherwise build a label string per target and step that is
 * almost never read).
 */
export function withTimeout<T>(
  operation: (signal: AbortSignal) => Promise<T>,
  ms: number,
  what: string | (() => string),
): Promise<T> {
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      const error = new TimeoutError(
        `${typeof what === 'string' ? what : what()} did not finish within ${ms}ms`,
      );
      reject(error);
      controller.abort(error);
    }, ms);
    timer.unref();
    operation(controller.signal).then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
