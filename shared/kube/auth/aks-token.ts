// Type-only: the function bundle must not carry @azure/identity (the caller brings the credential).
import type { TokenCredential } from '@azure/identity';
import { ClusterRejectedError, ClusterUnavailableError } from '../../core/errors.js';
import { createExpiringCache } from '../../core/expiring-cache.js';
import {
  systemClock,
  type ClusterAuthenticator,
  type ClusterCredentials,
  type Clock,
} from '../../core/ports.js';

/** The Entra ID application every AKS cluster with Entra ID integration accepts tokens for. */
export const AKS_SERVER_APP_SCOPE = '6dae42f8-4368-4678-94ff-3960e28e3630/.default';

/** The registry's `auth: { type: aks, scope? }`. */
export interface AksAuthSpec {
  type: 'aks';
  scope?: string;
}

export interface AksTokenAuthenticatorOptions {
  /**
   * Where tokens come from: the Function App's managed identity
   * (functions/azure/managed-identity.ts), or a DefaultAzureCredential for the CLI (./aks.ts).
   */
  credential: TokenCredential;
  /** Ask for a new token this long before the cached one expires. @default 120000 (2 min) */
  refreshBeforeMs?: number;
  /** @default systemClock */
  clock?: Clock;
}

interface CachedToken {
  token: string;
  expiresAt: Date;
  credentials: ClusterCredentials;
}

function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const status = (error as Record<string, unknown>)['statusCode'];
  return typeof status === 'number' ? status : undefined;
}

/**
 * Credential errors that retrying cannot fix (by name, the @azure/identity convention that
 * the Function App's managed identity credential follows too).
 */
const DEFINITIVE = new Set(['AuthenticationRequiredError', 'CredentialUnavailableError']);

function nameOf(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

/**
 * AKS (Entra ID) cluster authentication: a bearer token for the AKS server application
 * scope, from an injected TokenCredential. One token per scope is shared by
 * every cluster and cached until shortly before it expires; concurrent callers share one
 * request. The identity needs a Kubernetes role on each cluster (Azure RBAC for
 * Kubernetes, or a RoleBinding for its object id): see infra/azure/README.md.
 */
export function createAksTokenAuthenticator(
  options: AksTokenAuthenticatorOptions,
): ClusterAuthenticator<AksAuthSpec> {
  const { credential } = options;
  const clock = options.clock ?? systemClock;
  const refreshBeforeMs = options.refreshBeforeMs ?? 120_000;
  const tokens = createExpiringCache<string, CachedToken>({
    expiresAt: (token) => token.expiresAt.getTime(),
    refreshBeforeMs,
    clock,
  });

  const fetchToken = async (scope: string, cluster: string): Promise<CachedToken> => {
    let access;
    try {
      access = await credential.getToken(scope);
    } catch (error) {
      const status = statusOf(error);
      const detail = `${nameOf(error)}${status === undefined ? '' : ` (HTTP ${status})`}`;
      // A definitive refusal from Entra ID (bad client, no consent) or a credential that
      // cannot work here (no managed identity) will not pass by retrying.
      const refused =
        status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
      if (refused || DEFINITIVE.has(nameOf(error))) {
        throw new ClusterRejectedError(
          `aks auth for cluster "${cluster}": Entra ID refused a token for scope ${scope}: ${detail}`,
          status === undefined ? { cause: error } : { cause: error, status },
        );
      }
      throw new ClusterUnavailableError(
        `aks auth for cluster "${cluster}": could not get an Entra ID token for scope ${scope}: ${detail}`,
        { cause: error },
      );
    }
    if (access === null) {
      throw new ClusterRejectedError(
        `aks auth for cluster "${cluster}": the credential returned no token for scope ${scope}`,
      );
    }
    const expiresAt = new Date(access.expiresOnTimestamp);
    // The same credentials object while the token is cached; `expiresAt` says when to stop
    // using it (ahead of the real expiry by the refresh margin).
    const credentials = { token: access.token, expiresAt: new Date(expiresAt.getTime() - refreshBeforeMs) };
    return { token: access.token, expiresAt, credentials };
  };

  return {
    type: 'aks',
    async credentials(cluster): Promise<ClusterCredentials> {
      const scope = cluster.auth.scope ?? AKS_SERVER_APP_SCOPE;
      return (await tokens.get(scope, () => fetchToken(scope, cluster.name))).credentials;
    },
    invalidate(cluster) {
      // One token serves every cluster of the scope: a 401 from one drops it for all.
      tokens.invalidate(cluster.auth.scope ?? AKS_SERVER_APP_SCOPE);
    },
  };
}
