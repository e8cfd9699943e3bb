import { GoogleAuth } from 'google-auth-library';
import { ClusterRejectedError, ClusterUnavailableError } from '../../core/errors.js';
import { createExpiringCache } from '../../core/expiring-cache.js';
import {
  systemClock,
  type ClusterAuthenticator,
  type ClusterCredentials,
  type Clock,
} from '../../core/ports.js';

/** The OAuth scope GKE accepts for Kubernetes API access with Google credentials. */
export const GKE_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

/** The registry's `auth: { type: gke }`: server and caData come from the cluster entry. */
export interface GkeAuthSpec {
  type: 'gke';
}

/** What the authenticator needs from google-auth-library: an access token and its expiry. */
export interface AccessTokenClient {
  getAccessToken(): Promise<{ token?: string | null }>;
  credentials: { expiry_date?: number | null };
}

export interface GkeAuthenticatorOptions {
  /**
   * Where tokens come from. @default Application Default Credentials with the
   * cloud-platform scope (the function's service account on Cloud Functions), created on
   * first use.
   */
  auth?: { getClient(): Promise<AccessTokenClient> };
  /** Ask for a new token this long before the cached one expires. @default 300000 (5 min) */
  refreshBeforeMs?: number;
  /** Lifetime assumed when the credential reports no expiry. @default 300000 (5 min) */
  defaultLifetimeMs?: number;
  /** @default systemClock */
  clock?: Clock;
}

interface CachedToken {
  token: string;
  expiresAt: Date;
  credentials: ClusterCredentials;
}

function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const response = (error as Record<string, unknown>)['response'];
  const status =
    typeof response === 'object' && response !== null
      ? (response as Record<string, unknown>)['status']
      : undefined;
  return typeof status === 'number' ? status : undefined;
}

/**
 * GKE cluster authentication: an OAuth access token from Application Default Credentials
 * (google-auth-library), the same token `gke-gcloud-auth-plugin` hands kubectl. One token
 * serves every GKE cluster; it is cached until shortly before it expires and concurrent
 * callers share one request. The service account needs `roles/container.clusterViewer`
 * (to reach the endpoint) plus an in-cluster RBAC Role (`secret-propagator rbac`).
 */
export function createGkeAuthenticator(
  options: GkeAuthenticatorOptions = {},
): ClusterAuthenticator<GkeAuthSpec> {
  let auth = options.auth;
  const clock = options.clock ?? systemClock;
  const refreshBeforeMs = options.refreshBeforeMs ?? 300_000;
  const defaultLifetimeMs = options.defaultLifetimeMs ?? 300_000;
  const tokens = createExpiringCache<'gke', CachedToken>({
    expiresAt: (token) => token.expiresAt.getTime(),
    refreshBeforeMs,
    clock,
  });

  const fetchToken = async (cluster: string): Promise<CachedToken> => {
    auth ??= new GoogleAuth({ scopes: [GKE_SCOPE] });
    let token: string | null | undefined;
    let expiry: number | null | undefined;
    try {
      const client = await auth.getClient();
      ({ token } = await client.getAccessToken());
      expiry = client.credentials.expiry_date;
    } catch (error) {
      const status = httpStatusOf(error);
      const name = error instanceof Error ? error.name : typeof error;
      const detail = `${name}${status === undefined ? '' : ` (HTTP ${status})`}`;
      // invalid_grant / unauthorized_client: a broken identity will not heal by retrying.
      if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429) {
        throw new ClusterRejectedError(
          `gke auth for cluster "${cluster}": Google refused an access token: ${detail}`,
          { status },
        );
      }
      throw new ClusterUnavailableError(
        `gke auth for cluster "${cluster}": could not get a Google access token: ${detail}`,
      );
    }
    if (token === null || token === undefined || token === '') {
      throw new ClusterRejectedError(
        `gke auth for cluster "${cluster}": Application Default Credentials returned no access token`,
      );
    }
    const expiresAt = new Date(expiry ?? clock.now().getTime() + defaultLifetimeMs);
    // The same credentials object for as long as the token is cached.
    return { token, expiresAt, credentials: { token, expiresAt } };
  };

  return {
    type: 'gke',
    async credentials(cluster): Promise<ClusterCredentials> {
      return (await tokens.get('gke', () => fetchToken(cluster.name))).credentials;
    },
    invalidate() {
      // One token serves every GKE cluster: a 401 from one drops it for all.
      tokens.invalidate('gke');
    },
  };
}
