import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local App Service / Functions managed identity endpoint (the one the platform exposes
 * as IDENTITY_ENDPOINT): GET ?api-version=2019-08-01&resource=<resource>[&client_id=<id>]
 * with the per-instance secret in `X-IDENTITY-HEADER`, answering
 * `{ access_token, expires_on, resource, token_type, client_id }` (expires_on: epoch seconds
 * as a string). Plain HTTP on 127.0.0.1, as on the platform (a local agent).
 */

export interface IdentityTokenRequest {
  resource: string;
  apiVersion: string;
  clientId?: string;
  /** Whether X-IDENTITY-HEADER carried the right secret. */
  headerOk: boolean;
  /** The token answered, if any. */
  token?: string;
}

export interface LocalIdentityEndpoint {
  /** IDENTITY_ENDPOINT */
  endpoint: string;
  /** IDENTITY_HEADER (contains "canary-": it must never reach a log line). */
  header: string;
  /** The env the platform gives the function, plus `extra`. */
  env(extra?: Record<string, string>): NodeJS.ProcessEnv;
  requests(): readonly IdentityTokenRequest[];
  resetRequests(): void;
  /** Issues exactly this token for `resource` (instead of a fresh canary token per request). */
  setToken(resource: string, token: string): void;
  /** Tokens issued from now on live this long. @default 86400 (the platform's 24 h) */
  setLifetime(seconds: number): void;
  /** The next `times` token requests answer `status` (with the platform's error body). */
  setFault(fault: { status: number; times?: number }): void;
  /** Holds token responses until release() (to line up concurrent callers). */
  hold(): { release(): void };
  stop(): Promise<void>;
}

export const API_VERSION = '2019-08-01';

export async function startLocalIdentityEndpoint(
  options: { userAssignedClientIds?: readonly string[] } = {},
): Promise<LocalIdentityEndpoint> {
  const header = `canary-identity-header-${randomBytes(6).toString('hex')}`;
  const log: IdentityTokenRequest[] = [];
  const fixed = new Map<string, string>();
  let lifetime = 86_400;
  let fault: { status: number; remaining: number } | undefined;
  let held: Promise<void> | undefined;
  let issued = 0;

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const entry: IdentityTokenRequest = {
      resource: url.searchParams.get('resource') ?? '',
      apiVersion: url.searchParams.get('api-version') ?? '',
      headerOk: req.headers['x-identity-header'] === header,
    };
    const clientId = url.searchParams.get('client_id');
    if (clientId !== null) entry.clientId = clientId;
    log.push(entry);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(body));
    };
    const refuse = (status: number, message: string) =>
      json(status, { statusCode: status, message, correlationId: randomBytes(8).toString('hex') });
    void (async () => {
      await held;
      if (req.method !== 'GET' || url.pathname !== '/msi/token') return refuse(404, 'Not found');
      if (!entry.headerOk) return refuse(401, 'Missing or invalid X-IDENTITY-HEADER');
      if (entry.apiVersion !== API_VERSION) return refuse(400, 'Unsupported api-version');
      if (entry.resource === '') return refuse(400, 'resource is required');
      if (fault !== undefined && fault.remaining > 0) {
        fault.remaining -= 1;
        return refuse(fault.status, 'Injected failure');
      }
      if (clientId !== null && !(options.userAssignedClientIds ?? []).includes(clientId)) {
        return refuse(400, 'Unable to load the proper Managed Identity.');
      }
      issued += 1;
      const token =
        fixed.get(entry.resource) ?? `canary-mi-token-${issued}-${randomBytes(4).toString('hex')}`;
      entry.token = token;
      json(200, {
        access_token: token,
        expires_on: String(Math.floor(Date.now() / 1000) + lifetime),
        resource: entry.resource,
        token_type: 'Bearer',
        client_id: clientId ?? 'system-assigned-client-id',
      });
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/msi/token`;

  return {
    endpoint,
    header,
    env: (extra = {}) => ({ IDENTITY_ENDPOINT: endpoint, IDENTITY_HEADER: header, ...extra }),
    requests: () => log,
    resetRequests: () => {
      log.length = 0;
    },
    setToken: (resource, token) => void fixed.set(resource, token),
    setLifetime: (seconds) => {
      lifetime = seconds;
    },
    setFault: (f) => {
      fault = { status: f.status, remaining: f.times ?? 1 };
    },
    hold: () => {
      let release = () => undefined as void;
      held = new Promise<void>((resolve) => {
        release = () => {
          held = undefined;
          resolve();
        };
      });
      return { release };
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
