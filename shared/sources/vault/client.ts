import { Agent, fetch, type Dispatcher } from 'undici';
import {
  AccessDeniedError,
  SecretNotFoundError,
  StoreError,
  ThrottledError,
  TimeoutError,
  type PropagatorError,
} from '../../core/errors.js';

/** How the client gets a Vault token. Secrets (token, secret id, JWT) are read lazily and never logged. */
export type VaultAuth =
  | { type: 'token'; token: () => Promise<string> }
  | { type: 'kubernetes'; role: string; mountPath: string; jwt: () => Promise<string> }
  | { type: 'approle'; roleId: string; secretId: () => Promise<string>; mountPath: string };

export interface VaultClientOptions {
  /** `https://vault.example:8200` (http only for loopback tests). */
  address: string;
  /** Enterprise namespace, sent as `X-Vault-Namespace`. */
  namespace?: string;
  /** Base64 PEM (or PEM) CA bundle; TLS is verified against it instead of the system roots. */
  caData?: string;
  auth: VaultAuth;
  /** Per-request deadline. @default 10000 */
  timeoutMs?: number;
}

export interface VaultResponse {
  status: number;
  body: unknown;
}

/**
 * A small Vault HTTP API client over undici: logs in (token, Kubernetes, AppRole),
 * caches the client token until shortly before its lease ends, re-logs in once on
 * 403, and maps failures to the project's typed errors with status codes only.
 */
export class VaultClient {
  private token: { value: string; expiresAt: number } | undefined;
  private readonly dispatcher: Dispatcher | undefined;
  private readonly base: string;

  constructor(private readonly options: VaultClientOptions) {
    this.base = options.address.replace(/\/+$/, '');
    if (options.caData !== undefined) {
      const ca = options.caData.includes('-----BEGIN')
        ? options.caData
        : Buffer.from(options.caData, 'base64').toString('utf8');
      this.dispatcher = new Agent({ connect: { ca, rejectUnauthorized: true } });
    }
  }

  /** Calls `method path` with the client token; `what` names the operation in errors. */
  async request(
    method: 'GET' | 'POST' | 'LIST',
    path: string,
    what: string,
    body?: unknown,
  ): Promise<VaultResponse> {
    const usesLogin = this.options.auth.type !== 'token';
    let response = await this.send(method, path, what, await this.clientToken(), body);
    if (response.status === 403 && usesLogin) {
      // The cached login token may have been revoked: log in again once.
      this.token = undefined;
      response = await this.send(method, path, what, await this.clientToken(), body);
    }
    return response;
  }

  /** Throws the typed error for a failed response. */
  fail(response: VaultResponse, what: string): never {
    throw toVaultError(response.status, what);
  }

  private async clientToken(): Promise<string> {
    const auth = this.options.auth;
    if (auth.type === 'token') return auth.token();
    if (this.token !== undefined && Date.now() < this.token.expiresAt) return this.token.value;
    const loginBody =
      auth.type === 'kubernetes'
        ? { role: auth.role, jwt: await auth.jwt() }
        : { role_id: auth.roleId, secret_id: await auth.secretId() };
    const what = `Vault ${auth.type} login at auth/${auth.mountPath}`;
    const response = await this.send('POST', `/v1/auth/${auth.mountPath}/login`, what, undefined, loginBody);
    if (response.status !== 200) throw toVaultError(response.status, what);
    const login = (response.body as { auth?: { client_token?: unknown; lease_duration?: unknown } } | null)
      ?.auth;
    if (typeof login?.client_token !== 'string')
      throw new StoreError(`${what}: the answer carried no client token`, { retryable: false });
    const lease =
      typeof login.lease_duration === 'number' && login.lease_duration > 0 ? login.lease_duration : 300;
    // Renew well before the lease ends so a request never carries an expired token.
    this.token = { value: login.client_token, expiresAt: Date.now() + lease * 800 };
    return login.client_token;
  }

  private async send(
    method: string,
    path: string,
    what: string,
    token: string | undefined,
    body?: unknown,
  ): Promise<VaultResponse> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token !== undefined) headers['x-vault-token'] = token;
    if (this.options.namespace !== undefined) headers['x-vault-namespace'] = this.options.namespace;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response;
    // A read is retried once on a network failure: a kept-alive socket the server has
    // just closed fails the first attempt and nothing else.
    const attempts = method === 'GET' ? 2 : 1;
    for (let attempt = 1; ; attempt++) {
      try {
        response = await fetch(`${this.base}${path}`, {
          method,
          headers,
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          ...(this.dispatcher === undefined ? {} : { dispatcher: this.dispatcher }),
          signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
        });
        break;
      } catch (error) {
        if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
          throw new TimeoutError(`${what}: Vault did not answer in time`);
        }
        if (attempt < attempts) continue;
        // Network and TLS failures: the cause is kept for debugging, the message names no value.
        throw new StoreError(
          `${what}: Vault could not be reached (${error instanceof Error ? error.name : 'error'})`,
          { cause: error },
        );
      }
    }
    const text = await response.text();
    let parsed: unknown = null;
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = null;
      }
    }
    return { status: response.status, body: parsed };
  }
}

/** Maps a Vault HTTP status to the typed error; never includes the response body. */
export function toVaultError(status: number, what: string): PropagatorError {
  if (status === 404) return new SecretNotFoundError(`${what}: not found in Vault (HTTP 404)`, { status });
  if (status === 401 || status === 403)
    return new AccessDeniedError(
      `${what}: Vault denied access (HTTP ${status}); check the policy of the auth role`,
      { status },
    );
  if (status === 429)
    return new ThrottledError(`${what}: Vault rate limited the request (HTTP 429)`, { status });
  if (status === 503 || status >= 500)
    return new StoreError(`${what}: Vault failed (HTTP ${status})`, { status });
  return new StoreError(`${what}: Vault refused the request (HTTP ${status})`, { status, retryable: false });
}
