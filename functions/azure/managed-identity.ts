// Type-only: the point of this module is that the bundle carries no @azure/identity (MSAL).
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import { systemClock, type Clock } from '../../shared/core/ports.js';
import { createExpiringCache } from '../../shared/core/expiring-cache.js';

/**
 * The Function App's managed identity as a TokenCredential, for the Key Vault SecretClients,
 * the Storage queue client and the AKS authenticator. It speaks the App Service / Functions
 * managed identity endpoint protocol (IDENTITY_ENDPOINT, IDENTITY_HEADER, api-version
 * 2019-08-01), the only way the deployed app ever authenticates (infra/azure), so the
 * bundle does without @azure/identity's DefaultAzureCredential and MSAL (about 300 KB).
 *
 * Tokens are cached per resource and fetched again `refreshBeforeMs` before they expire;
 * concurrent callers for one resource share one request. Errors name the resource and the
 * HTTP status, never the token or the identity header.
 */

/** App settings the platform (and infra/azure) set. */
export const IdentitySetting = {
  /** Local token endpoint of the managed identity (set by the platform when an identity is assigned). */
  Endpoint: 'IDENTITY_ENDPOINT',
  /** Per-instance secret the endpoint requires in `X-IDENTITY-HEADER` (set by the platform). */
  Header: 'IDENTITY_HEADER',
  /** Client id of a user-assigned identity; unset means the system-assigned identity. */
  ClientId: 'AZURE_CLIENT_ID',
} as const;

export const MANAGED_IDENTITY_API_VERSION = '2019-08-01';

/**
 * The credential cannot work here (no managed identity endpoint). Named like @azure/identity's
 * error for the same case, which callers (ChainedTokenCredential, the AKS authenticator)
 * treat as "retrying will not help".
 */
export class ManagedIdentityUnavailableError extends Error {
  override readonly name = 'CredentialUnavailableError';
}

/** The endpoint refused or failed a token request. `statusCode` is absent for network failures. */
export class ManagedIdentityTokenError extends Error {
  override readonly name = 'AuthenticationError';
  readonly statusCode: number | undefined;
  constructor(message: string, options: { statusCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.statusCode = options.statusCode;
  }
}

/** A TokenCredential that always answers with a token (or throws). */
export interface ManagedIdentityCredential extends TokenCredential {
  getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken>;
}

export interface ManagedIdentityCredentialOptions {
  /** Where IDENTITY_ENDPOINT, IDENTITY_HEADER and AZURE_CLIENT_ID are read. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Fetch a new token this long before the cached one expires. @default 300000 (5 min) */
  refreshBeforeMs?: number;
  /** Attempts per token request on network errors, 429 and 5xx. @default 3 */
  attempts?: number;
  /** Per attempt. @default 10000 */
  timeoutMs?: number;
  /** @default systemClock (also sleeps between attempts) */
  clock?: Clock;
}

interface CachedToken {
  token: string;
  expiresOnTimestamp: number;
}

/** Statuses worth another attempt: the endpoint is busy or restarting, not refusing. */
const TRANSIENT = (status: number) => status === 408 || status === 429 || status >= 500;

/** `https://vault.azure.net/.default` -> `https://vault.azure.net` (the endpoint takes a resource, not a scope). */
export function resourceOf(scopes: string | string[]): string {
  const list = Array.isArray(scopes) ? scopes : [scopes];
  const [scope] = list;
  if (list.length !== 1 || scope === undefined || scope.trim() === '') {
    // A caller's mistake, not a token failure (so not an AuthenticationError to retry).
    throw new RangeError(
      `managed identity: expected exactly one scope, received ${list.length}; a managed identity token is for one resource`,
    );
  }
  return scope.trim().replace(/\/\.default$/, '');
}

/** `expires_on` is epoch seconds as a string in 2019-08-01 (a number or a date in older agents). */
function expiryOf(body: Record<string, unknown>): number | undefined {
  const raw = body['expires_on'];
  if (typeof raw === 'number') return raw * 1000;
  if (typeof raw !== 'string' || raw === '') return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds)) return seconds * 1000;
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : date;
}

export function createManagedIdentityCredential(
  options: ManagedIdentityCredentialOptions = {},
): ManagedIdentityCredential {
  const env = options.env ?? process.env;
  const clock = options.clock ?? systemClock;
  const refreshBeforeMs = options.refreshBeforeMs ?? 300_000;
  const attempts = Math.max(1, options.attempts ?? 3);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const endpoint = env[IdentitySetting.Endpoint];
  const header = env[IdentitySetting.Header];
  const clientId = env[IdentitySetting.ClientId];
  const tokens = createExpiringCache<string, CachedToken>({
    expiresAt: (token) => token.expiresOnTimestamp,
    refreshBeforeMs,
    clock,
    keepOnFailedRefresh: true,
  });

  const requestOnce = async (resource: string): Promise<CachedToken> => {
    if (endpoint === undefined || endpoint === '' || header === undefined || header === '') {
      throw new ManagedIdentityUnavailableError(
        `managed identity: ${IdentitySetting.Endpoint} and ${IdentitySetting.Header} are not set; ` +
          "the function authenticates with the Function App's managed identity (infra/azure assigns one). " +
          'Outside Azure, run the CLI instead (it uses DefaultAzureCredential)',
      );
    }
    const url = new URL(endpoint);
    url.searchParams.set('api-version', MANAGED_IDENTITY_API_VERSION);
    url.searchParams.set('resource', resource);
    if (clientId !== undefined && clientId !== '') url.searchParams.set('client_id', clientId);
    let response: Response;
    try {
      response = await fetch(url, {
        headers: { 'X-IDENTITY-HEADER': header },
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      // The cause keeps the network error (code, address); it carries no header or token.
      throw new ManagedIdentityTokenError(
        `managed identity: token request for ${resource} failed: ${error instanceof Error ? error.name : 'network error'}`,
        { cause: error },
      );
    }
    const text = await response.text();
    if (!response.ok) {
      // The body is not repeated: it is the endpoint's, and errors end up in logs.
      const who =
        clientId === undefined || clientId === ''
          ? 'the system-assigned identity'
          : `${IdentitySetting.ClientId} ${clientId}`;
      throw new ManagedIdentityTokenError(
        `managed identity: token request for ${resource} failed with HTTP ${response.status}` +
          (TRANSIENT(response.status)
            ? ''
            : `; check that the Function App has ${who} and that it may get tokens for ${resource}`),
        { statusCode: response.status },
      );
    }
    let body: Record<string, unknown> = {};
    try {
      const parsed = JSON.parse(text) as unknown;
      if (typeof parsed === 'object' && parsed !== null) body = parsed as Record<string, unknown>;
    } catch {
      // handled below: no access_token
    }
    const token = body['access_token'];
    const expiresOnTimestamp = expiryOf(body);
    if (typeof token !== 'string' || token === '' || expiresOnTimestamp === undefined) {
      throw new ManagedIdentityTokenError(
        `managed identity: the token response for ${resource} has no access_token or expires_on`,
        { statusCode: response.status },
      );
    }
    return { token, expiresOnTimestamp };
  };

  // Shared by every caller waiting for this resource, so it follows no single caller's
  // abort signal; the per-attempt timeout bounds it.
  const request = async (resource: string): Promise<CachedToken> => {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await requestOnce(resource);
      } catch (error) {
        const retry =
          error instanceof ManagedIdentityTokenError &&
          (error.statusCode === undefined || TRANSIENT(error.statusCode)) &&
          attempt < attempts;
        if (!retry) throw error;
        await clock.sleep(200 * 2 ** (attempt - 1));
      }
    }
  };

  const toAccessToken = (entry: CachedToken): AccessToken => ({
    token: entry.token,
    expiresOnTimestamp: entry.expiresOnTimestamp,
    tokenType: 'Bearer',
  });

  return {
    async getToken(scopes: string | string[], _options?: GetTokenOptions): Promise<AccessToken> {
      const resource = resourceOf(scopes);
      // An early refresh that fails is no reason to drop a token that still works (keepOnFailedRefresh).
      return toAccessToken(await tokens.get(resource, () => request(resource)));
    },
  };
}
