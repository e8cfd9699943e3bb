import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

/**
 * A local server speaking the parts of Vault's HTTP API the vault source uses: KV v2
 * data and metadata reads, data writes, and token / Kubernetes / AppRole login. Every
 * request is logged (method, path, token) so tests can count calls and check tokens.
 */
export interface LocalVault {
  address: string;
  requests: { method: string; path: string; token: string | undefined; namespace: string | undefined }[];
  /** Writes a new version of `mount/path` and returns its number. */
  put(path: string, data: Record<string, unknown>, mount?: string): number;
  deleteLatest(path: string, mount?: string): void;
  /** Fails the next `times` requests with `status`. */
  fault(status: number, times?: number): void;
  revokeTokens(): void;
  stop(): Promise<void>;
}

export interface LocalVaultOptions {
  rootToken?: string;
  kubernetes?: { mountPath?: string; role: string; jwt: string };
  approle?: { mountPath?: string; roleId: string; secretId: string };
  leaseSeconds?: number;
  /** Serve HTTPS with this certificate and key (PEM). */
  tls?: { cert: string; key: string };
}

interface Version {
  data: Record<string, unknown>;
  created: string;
  deleted: boolean;
}

export async function startLocalVault(options: LocalVaultOptions = {}): Promise<LocalVault> {
  const rootToken = options.rootToken ?? 'root-token';
  const tokens = new Set([rootToken]);
  const secrets = new Map<string, Version[]>();
  const requests: LocalVault['requests'] = [];
  let faults: { status: number; times: number } | undefined;
  let issued = 0;

  const send = (res: ServerResponse, status: number, body?: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body === undefined ? '' : JSON.stringify(body));
  };

  const readBody = async (req: IncomingMessage): Promise<Record<string, unknown>> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    return text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
  };

  const login = () => {
    const token = `s.issued-${++issued}`;
    tokens.add(token);
    return {
      auth: {
        client_token: token,
        lease_duration: options.leaseSeconds ?? 3600,
        renewable: true,
        policies: ['default'],
      },
    };
  };

  const handler: RequestListener = (req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const token = req.headers['x-vault-token'] as string | undefined;
      requests.push({
        method: req.method ?? '',
        path: url.pathname + url.search,
        token,
        namespace: req.headers['x-vault-namespace'] as string | undefined,
      });
      if (faults !== undefined && faults.times > 0) {
        faults.times--;
        return send(res, faults.status, { errors: ['injected fault'] });
      }
      const body = req.method === 'POST' || req.method === 'PUT' ? await readBody(req) : {};
      const loginMatch = /^\/v1\/auth\/(.+)\/login$/.exec(url.pathname);
      if (loginMatch !== null && req.method === 'POST') {
        const mount = loginMatch[1];
        const k8s = options.kubernetes;
        const app = options.approle;
        if (k8s !== undefined && mount === (k8s.mountPath ?? 'kubernetes')) {
          return body['role'] === k8s.role && body['jwt'] === k8s.jwt
            ? send(res, 200, login())
            : send(res, 403, { errors: ['permission denied'] });
        }
        if (app !== undefined && mount === (app.mountPath ?? 'approle')) {
          return body['role_id'] === app.roleId && body['secret_id'] === app.secretId
            ? send(res, 200, login())
            : send(res, 400, { errors: ['invalid role or secret ID'] });
        }
        return send(res, 404, { errors: ['no handler for route'] });
      }
      if (token === undefined || !tokens.has(token)) return send(res, 403, { errors: ['permission denied'] });
      const kv = /^\/v1\/([^/]+)\/(data|metadata)\/(.+)$/.exec(url.pathname);
      if (kv === null) return send(res, 404, { errors: [] });
      const [, mount = '', kind, path = ''] = kv;
      const versions = secrets.get(`${mount}/${decodeURIComponent(path)}`);
      if (kind === 'metadata') {
        if (versions === undefined) return send(res, 404, { errors: [] });
        return send(res, 200, {
          data: {
            current_version: versions.length,
            oldest_version: 1,
            versions: Object.fromEntries(
              versions.map((v, i) => [
                String(i + 1),
                { created_time: v.created, deletion_time: v.deleted ? v.created : '', destroyed: false },
              ]),
            ),
          },
        });
      }
      if (req.method === 'POST' || req.method === 'PUT') {
        const version = vault.put(decodeURIComponent(path), body['data'] as Record<string, unknown>, mount);
        return send(res, 200, {
          data: { version, created_time: new Date().toISOString(), deletion_time: '', destroyed: false },
        });
      }
      if (versions === undefined) return send(res, 404, { errors: [] });
      const wanted = url.searchParams.get('version');
      const number = wanted === null || wanted === '0' ? versions.length : Number(wanted);
      const version = versions[number - 1];
      if (version === undefined) return send(res, 404, { errors: [] });
      const metadata = {
        created_time: version.created,
        custom_metadata: null,
        deletion_time: version.deleted ? version.created : '',
        destroyed: false,
        version: number,
      };
      if (version.deleted) return send(res, 404, { data: { data: null, metadata } });
      return send(res, 200, {
        request_id: 'r',
        lease_id: '',
        renewable: false,
        lease_duration: 0,
        data: { data: version.data, metadata },
      });
    })();
  };
  const server: Server =
    options.tls === undefined
      ? createServer(handler)
      : createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const vault: LocalVault = {
    address: `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`,
    requests,
    put(path, data, mount = 'secret') {
      const key = `${mount}/${path}`;
      const versions = secrets.get(key) ?? [];
      versions.push({
        data,
        created: new Date(Date.UTC(2026, 0, 1, 0, 0, versions.length)).toISOString(),
        deleted: false,
      });
      secrets.set(key, versions);
      return versions.length;
    },
    deleteLatest(path, mount = 'secret') {
      const versions = secrets.get(`${mount}/${path}`);
      const last = versions?.[versions.length - 1];
      if (last !== undefined) last.deleted = true;
    },
    fault(status, times = 1) {
      faults = { status, times };
    },
    revokeTokens() {
      for (const t of [...tokens]) if (t !== rootToken) tokens.delete(t);
    },
    stop: () =>
      new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
  return vault;
}
