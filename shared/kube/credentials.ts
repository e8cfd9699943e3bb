import type { Clock, ClusterCredentials } from '../core/ports.js';
import { systemClock } from '../core/ports.js';

/** Ask for fresh credentials this long before `expiresAt`. */
export const CREDENTIALS_REFRESH_MARGIN_MS = 60_000;

export interface CredentialsCache {
  /** Cached credentials, fetched again shortly before they expire. Concurrent callers share one fetch. */
  get(): Promise<ClusterCredentials>;
  /** Forgets the cached credentials (after a 401: the token was revoked or rotated). */
  invalidate(): void;
}

/**
 * Wraps a credentials provider. Credentials without `expiresAt` (static tokens, kubeconfig
 * certificates) are kept until invalidated; a failed fetch is not cached.
 */
export function createCredentialsCache(
  fetch: () => Promise<ClusterCredentials>,
  options: { clock?: Clock; refreshMarginMs?: number } = {},
): CredentialsCache {
  const clock = options.clock ?? systemClock;
  const margin = options.refreshMarginMs ?? CREDENTIALS_REFRESH_MARGIN_MS;
  let cached: { value: ClusterCredentials } | undefined;
  let pending: Promise<ClusterCredentials> | undefined;

  const fresh = (value: ClusterCredentials): boolean =>
    value.expiresAt === undefined || value.expiresAt.getTime() - margin > clock.now().getTime();

  return {
    get() {
      if (cached !== undefined && fresh(cached.value)) return Promise.resolve(cached.value);
      pending ??= fetch().then(
        (value) => {
          cached = { value };
          pending = undefined;
          return value;
        },
        (error: unknown) => {
          pending = undefined;
          throw error;
        },
      );
      return pending;
    },
    invalidate() {
      cached = undefined;
    },
  };
}
