import { createExpiringCache } from '../core/expiring-cache.js';
import type { Clock, ClusterCredentials } from '../core/ports.js';

/** Ask for fresh credentials this long before `expiresAt`. */
export const CREDENTIALS_REFRESH_MARGIN_MS = 60_000;

export interface CredentialsCache {
  /** Cached credentials, fetched again shortly before they expire. Concurrent callers share one fetch. */
  get(): Promise<ClusterCredentials>;
  /** The cached credentials while they need no refresh, without a promise (the per-request path); else undefined. */
  current(): ClusterCredentials | undefined;
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
  const cache = createExpiringCache<'cluster', ClusterCredentials>({
    expiresAt: (value) => value.expiresAt?.getTime(),
    refreshBeforeMs: options.refreshMarginMs ?? CREDENTIALS_REFRESH_MARGIN_MS,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  return {
    get: () => cache.get('cluster', fetch),
    current: () => cache.fresh('cluster'),
    invalidate: () => cache.invalidate('cluster'),
  };
}
