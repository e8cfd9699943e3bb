import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import { sharedTls } from '../../../dev/kube/tls.js';

/**
 * A local HTTPS server speaking the Key Vault secrets REST protocol (the subset the
 * SecretClient uses: get, get version, list versions, set), including the 401 bearer
 * challenge the SDK's challenge-based authentication expects. Not a mock: the real
 * SecretClient talks to it over TLS.
 */

export const TEST_TENANT = '72f988bf-0000-4000-8000-00000000c0de';
export const TEST_TOKEN = 'kv-local-access-token';

interface StoredVersion {
  version: string;
  value: string;
  contentType?: string;
  enabled: boolean;
  /** Unix seconds. */
  created: number;
  nbf?: number;
  exp?: number;
}

export interface SeedOptions {
  contentType?: string;
  enabled?: boolean;
  /** Expiry as a Date. */
  expiresOn?: Date;
  notBefore?: Date;
  /** Creation time; defaults to now (plus a tie-breaker so order is stable). */
  createdOn?: Date;
}

export interface KeyVaultRequest {
  method: string;
  path: string;
  authorized: boolean;
}

export interface LocalKeyVault {
  /** https://127.0.0.1:<port> */
  vaultUrl: string;
  caPem: string;
  /** Adds a version and returns its id. */
  setSecret(name: string, value: string, options?: SeedOptions): string;
  /** Enables/disables one version. */
  setEnabled(name: string, version: string, enabled: boolean): void;
  /** Versions of a secret, oldest first (for assertions). */
  versions(
    name: string,
  ): readonly { version: string; value: string; enabled: boolean; contentType?: string }[];
  requests(): readonly KeyVaultRequest[];
  resetRequests(): void;
  /** The next `times` authorised requests answer `status` with a Key Vault error body. */
  setFault(fault: { status: number; code?: string; times?: number }): void;
  stop(): Promise<void>;
}

/** A TokenCredential that returns a fixed token without any network (never IMDS). */
export class StaticTokenCredential implements TokenCredential {
  readonly calls: { scopes: string[]; tenantId?: string }[] = [];
  constructor(private readonly token = TEST_TOKEN) {}
  getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken> {
    const call: { scopes: string[]; tenantId?: string } = {
      scopes: Array.isArray(scopes) ? scopes : [scopes],
    };
    if (options?.tenantId !== undefined) call.tenantId = options.tenantId;
    this.calls.push(call);
    return Promise.resolve({ token: this.token, expiresOnTimestamp: Date.now() + 3600_000 });
  }
}

const CHALLENGE = `Bearer authorization="https://login.microsoftonline.com/${TEST_TENANT}", resource="https://vault.azure.net"`;

export async function startLocalKeyVault(options: { token?: string } = {}): Promise<LocalKeyVault> {
  const token = options.token ?? TEST_TOKEN;
  const tls = sharedTls();
  const secrets = new Map<string, StoredVersion[]>();
  const log: KeyVaultRequest[] = [];
  let fault: { status: number; code: string; remaining: number } | undefined;
  let vaultUrl = '';
  let tick = 0;

  const bundle = (name: string, v: StoredVersion, withValue: boolean): Record<string, unknown> => {
    const attributes: Record<string, unknown> = {
      enabled: v.enabled,
      created: v.created,
      updated: v.created,
      recoveryLevel: 'Recoverable+Purgeable',
      recoverableDays: 90,
    };
    if (v.nbf !== undefined) attributes['nbf'] = v.nbf;
    if (v.exp !== undefined) attributes['exp'] = v.exp;
    const out: Record<string, unknown> = {
      id: `${vaultUrl}/secrets/${name}/${v.version}`,
      attributes,
      tags: {},
    };
    if (v.contentType !== undefined) out['contentType'] = v.contentType;
    if (withValue) out['value'] = v.value;
    return out;
  };

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'x-ms-request-id': randomBytes(8).toString('hex'),
      ...headers,
    });
    res.end(body === undefined ? '' : JSON.stringify(body));
  };
  const error = (
    res: ServerResponse,
    status: number,
    code: string,
    message: string,
    headers: Record<string, string> = {},
  ) => send(res, status, { error: { code, message } }, headers);

  const add = (name: string, value: string, o: SeedOptions = {}): string => {
    const version = randomBytes(16).toString('hex');
    const createdMs = o.createdOn?.getTime() ?? Date.now();
    // Key Vault timestamps are whole seconds; keep later seeds strictly later.
    const created = Math.floor(createdMs / 1000) + (o.createdOn === undefined ? tick++ : 0);
    const v: StoredVersion = { version, value, enabled: o.enabled ?? true, created };
    if (o.contentType !== undefined) v.contentType = o.contentType;
    if (o.expiresOn !== undefined) v.exp = Math.floor(o.expiresOn.getTime() / 1000);
    if (o.notBefore !== undefined) v.nbf = Math.floor(o.notBefore.getTime() / 1000);
    const list = secrets.get(name.toLowerCase()) ?? [];
    list.push(v);
    secrets.set(name.toLowerCase(), list);
    return version;
  };

  const handle = (req: IncomingMessage, res: ServerResponse, body: string) => {
    const url = new URL(req.url ?? '/', vaultUrl);
    const method = req.method ?? 'GET';
    const authorized = req.headers.authorization === `Bearer ${token}`;
    log.push({ method, path: url.pathname, authorized });
    if (url.searchParams.get('api-version') === null) {
      error(res, 400, 'BadParameter', 'The api-version query parameter is missing.');
      return;
    }
    if (!authorized) {
      error(res, 401, 'Unauthorized', 'AKV10000: Request is missing a Bearer or PoP token.', {
        'www-authenticate': CHALLENGE,
      });
      return;
    }
    if (fault !== undefined && fault.remaining > 0) {
      fault.remaining -= 1;
      const headers: Record<string, string> = fault.status === 429 ? { 'retry-after': '0' } : {};
      error(res, fault.status, fault.code, `Injected fault ${fault.status}.`, headers);
      return;
    }
    const parts = url.pathname.split('/').filter((p) => p !== '');
    if (parts[0] !== 'secrets' || parts[1] === undefined) {
      error(res, 404, 'NotFound', 'No such route.');
      return;
    }
    const name = decodeURIComponent(parts[1]);
    const list = secrets.get(name.toLowerCase());
    if (method === 'PUT' && parts.length === 2) {
      const parsed = JSON.parse(body) as { value?: unknown; contentType?: unknown };
      if (typeof parsed.value !== 'string') {
        error(res, 400, 'BadParameter', 'Property value is required.');
        return;
      }
      const o: SeedOptions =
        typeof parsed.contentType === 'string' ? { contentType: parsed.contentType } : {};
      const version = add(name, parsed.value, o);
      const stored = secrets.get(name.toLowerCase())?.find((v) => v.version === version);
      if (stored !== undefined) send(res, 200, bundle(name, stored, true));
      return;
    }
    if (list === undefined || list.length === 0) {
      error(res, 404, 'SecretNotFound', `A secret with (name/id) ${name} was not found in this key vault.`);
      return;
    }
    if (method !== 'GET') {
      error(res, 405, 'MethodNotAllowed', 'Not supported by the local server.');
      return;
    }
    if (parts[2] === 'versions') {
      const maxresults = Number(url.searchParams.get('maxresults') ?? '25');
      const page = list.slice(0, Number.isFinite(maxresults) ? maxresults : 25);
      send(res, 200, { value: page.map((v) => bundle(name, v, false)), nextLink: null });
      return;
    }
    const wanted = parts[2];
    const found =
      wanted === undefined || wanted === '' ? list[list.length - 1] : list.find((v) => v.version === wanted);
    if (found === undefined) {
      error(
        res,
        404,
        'SecretNotFound',
        `A secret with (name/id) ${name}/${wanted ?? ''} was not found in this key vault.`,
      );
      return;
    }
    if (!found.enabled) {
      error(res, 403, 'Forbidden', 'Operation get is not allowed on a disabled secret.');
      return;
    }
    send(res, 200, bundle(name, found, true));
  };

  const server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  vaultUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    vaultUrl,
    caPem: tls.caPem,
    setSecret: add,
    setEnabled(name, version, enabled) {
      const v = secrets.get(name.toLowerCase())?.find((x) => x.version === version);
      if (v === undefined) throw new Error(`no version ${version} of ${name}`);
      v.enabled = enabled;
    },
    versions(name) {
      return (secrets.get(name.toLowerCase()) ?? []).map((v) => {
        const out: { version: string; value: string; enabled: boolean; contentType?: string } = {
          version: v.version,
          value: v.value,
          enabled: v.enabled,
        };
        if (v.contentType !== undefined) out.contentType = v.contentType;
        return out;
      });
    },
    requests: () => [...log],
    resetRequests: () => {
      log.length = 0;
    },
    setFault(f) {
      fault = {
        status: f.status,
        code: f.code ?? (f.status === 429 ? 'Throttled' : 'Forbidden'),
        remaining: f.times ?? 1,
      };
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
