import { createExpiringCache } from '../core/expiring-cache.js';
import type { AuthenticatedCluster, Clock, ClusterAuthenticator, ClusterCredentials } from '../core/ports.js';

/** Ask for fresh credentials this long before `expiresAt`. */
export const CREDENTIALS_REFRESH_MARGIN_MS = 60_000;

export interface CredentialsCache {
  /** Cached credentials, fetched again shortly before they expire. Concurrent callers share one fetch. */
  get(): Promise<ClusterCredentials>;
  /** The cached credentials while they need no refresh, without a promise; else undefined. */
  current(): ClusterCredentials | undefined;
  /** Forgets the cached credentials (after a 401: the token was revoked or rotated). */
  invalidate(): void;
}

/**
 * One cluster's credentials, cached. Credentials without `expiresAt` (static tokens,
 * kubeconfig certificates) are kept until invalidated; a failed fetch is not cached.
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

/**
 * An authenticator whose `issue` is cached per cluster (per `keyOf`, default the cluster's
 * name and `auth` entry) with `createCredentialsCache`: what the token and kubeconfig auth types and EKS use.
 * `invalidate` drops that cluster's entry, so a 401 leads to a new `issue`.
 */
export function cachingAuthenticator<Spec>(
  type: string,
  issue: (cluster: AuthenticatedCluster<Spec>) => Promise<ClusterCredentials>,
  options: {
    keyOf?: (cluster: AuthenticatedCluster<Spec>) => string;
    clock?: Clock;
    refreshMarginMs?: number;
  } = {},
): ClusterAuthenticator<Spec> {
  const caches = new Map<string, CredentialsCache>();
  // A gateway asks with the same cluster object for every request: its key is worked out once.
  const keys = new WeakMap<AuthenticatedCluster<Spec>, string>();
  const keyOf = (cluster: AuthenticatedCluster<Spec>): string => {
    let key = keys.get(cluster);
    if (key === undefined) {
      key = options.keyOf?.(cluster) ?? `${cluster.name}\u0000${JSON.stringify(cluster.auth)}`;
      keys.set(cluster, key);
    }
    return key;
  };
  const cacheOf = (cluster: AuthenticatedCluster<Spec>): CredentialsCache => {
    const key = keyOf(cluster);
    let cache = caches.get(key);
    if (cache === undefined) {
      cache = createCredentialsCache(() => issue(cluster), {
        ...(options.clock === undefined ? {} : { clock: options.clock }),
        ...(options.refreshMarginMs === undefined ? {} : { refreshMarginMs: options.refreshMarginMs }),
      });
      caches.set(key, cache);
    }
    return cache;
  };
  return {
    type,
    credentials: (cluster) => cacheOf(cluster).get(),
    invalidate: (cluster) => caches.get(keyOf(cluster))?.invalidate(),
  };
}
