import { systemClock, type Clock } from './ports.js';

export interface ExpiringCache<K, V> {
  /**
   * The cached value of `key` while it has more than `refreshBeforeMs` left, else the result of
   * `fetch` (concurrent callers of one key share one fetch; a failed fetch is not cached).
   */
  get(key: K, fetch: () => Promise<V>): Promise<V>;
  /** The cached value of `key` while `get` would answer with it without fetching, else undefined. */
  fresh(key: K): V | undefined;
  /** Forgets the value of `key` (a token the server refused). */
  invalidate(key: K): void;
}

/**
 * Credentials and tokens that expire, cached per key: the cluster gateways' credentials, the
 * AKS and GKE tokens, the Function App's managed-identity tokens. `expiresAt` gives a value's
 * expiry in epoch ms (`undefined`: never). With `keepOnFailedRefresh`, a refresh that fails
 * while the cached value has not expired yet answers with that value instead of the error.
 */
export function createExpiringCache<K, V>(options: {
  expiresAt: (value: V) => number | undefined;
  refreshBeforeMs: number;
  clock?: Clock;
  keepOnFailedRefresh?: boolean;
}): ExpiringCache<K, V> {
  const clock = options.clock ?? systemClock;
  const values = new Map<K, V>();
  const pending = new Map<K, Promise<V>>();
  const timeLeft = (value: V): number =>
    (options.expiresAt(value) ?? Number.POSITIVE_INFINITY) - clock.now().getTime();

  const fresh = (key: K): V | undefined => {
    const cached = values.get(key);
    return cached !== undefined && timeLeft(cached) > options.refreshBeforeMs ? cached : undefined;
  };

  return {
    fresh,
    async get(key, fetch) {
      const hit = fresh(key);
      if (hit !== undefined) return hit;
      const cached = values.get(key);
      let fetching = pending.get(key);
      if (fetching === undefined) {
        fetching = fetch()
          .then((value) => {
            values.set(key, value);
            return value;
          })
          .finally(() => pending.delete(key));
        pending.set(key, fetching);
      }
      try {
        return await fetching;
      } catch (error) {
        // An early refresh that fails is no reason to drop a value that still works.
        if (options.keepOnFailedRefresh === true && cached !== undefined && timeLeft(cached) > 0)
          return cached;
        throw error;
      }
    },
    invalidate(key) {
      values.delete(key);
    },
  };
}
