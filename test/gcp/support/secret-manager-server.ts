import { crc32c } from '@aws-crypto/crc32c';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local server speaking the Secret Manager v1 REST protocol (the subset the adapter
 * uses: versions.access, versions.get, versions.list, secrets.addVersion), for driving
 * the real `@google-cloud/secret-manager` client in its REST fallback mode.
 * Responses name resources by project number, as the real service does.
 */

export type VersionState = 'ENABLED' | 'DISABLED' | 'DESTROYED';
const STATE_NUMBER: Record<VersionState, number> = { ENABLED: 1, DISABLED: 2, DESTROYED: 3 };

interface StoredVersion {
  id: number;
  state: VersionState;
  data: Buffer;
  createTime: string;
}

export interface FakeFault {
  /** Canonical status name, e.g. PERMISSION_DENIED. */
  status: string;
  httpStatus: number;
  times?: number;
}

export interface FakeSecretManager {
  /** `http://127.0.0.1:<port>`, for the registry source `endpoint`. */
  endpoint: string;
  port: number;
  project: string;
  projectNumber: string;
  /** Adds a version (ENABLED) and returns its number. */
  addVersion(secret: string, value: string | Uint8Array): number;
  setState(secret: string, version: number, state: VersionState): void;
  deleteSecret(secret: string): void;
  versions(secret: string): { id: number; state: VersionState; value: string }[];
  /** Fails the next requests with the given status. */
  setFault(fault: FakeFault): void;
  /** Sends a wrong CRC32C with the next access responses. */
  corruptChecksums(on: boolean): void;
  requests(): { method: string; path: string }[];
  resetRequests(): void;
  stop(): Promise<void>;
}

const HTTP_STATUS: Record<string, number> = {
  NOT_FOUND: 404,
  FAILED_PRECONDITION: 400,
  INVALID_ARGUMENT: 400,
  PERMISSION_DENIED: 403,
  RESOURCE_EXHAUSTED: 429,
};

export async function startFakeSecretManager(
  options: {
    project?: string;
    projectNumber?: string;
    /** Called after a client added a version over REST (as Secret Manager then notifies). */
    onVersionAdded?: (secret: string, version: number) => void;
  } = {},
): Promise<FakeSecretManager> {
  const project = options.project ?? 'demo-project';
  const projectNumber = options.projectNumber ?? '123456789012';
  const secrets = new Map<string, StoredVersion[]>();
  const log: { method: string; path: string }[] = [];
  let fault: FakeFault | undefined;
  let corrupt = false;
  let clock = Date.parse('2026-01-01T00:00:00Z');

  const fail = (res: ServerResponse, status: string, message: string) => {
    res.statusCode = HTTP_STATUS[status] ?? 500;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ error: { code: res.statusCode, message, status } }));
  };
  const ok = (res: ServerResponse, body: unknown) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(body));
  };
  const versionJson = (secret: string, v: StoredVersion) => ({
    name: `projects/${projectNumber}/secrets/${secret}/versions/${v.id}`,
    createTime: v.createTime,
    state: STATE_NUMBER[v.state],
    etag: `"${v.id}"`,
  });
  const resolve = (secret: string, ref: string): StoredVersion | undefined => {
    const list = secrets.get(secret) ?? [];
    return ref === 'latest' ? list[list.length - 1] : list.find((v) => String(v.id) === ref);
  };

  const handle = (req: IncomingMessage, res: ServerResponse, body: string) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = decodeURIComponent(url.pathname);
    log.push({ method: req.method ?? 'GET', path });
    if (fault !== undefined) {
      const current = fault;
      if (current.times !== undefined && --current.times <= 0) fault = undefined;
      res.statusCode = current.httpStatus;
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({ error: { code: current.httpStatus, message: 'injected', status: current.status } }),
      );
      return;
    }
    const m =
      /^\/v1\/projects\/([^/]+)\/secrets\/([^/:]+)(?:\/versions\/([^/:]+)|\/versions)?(:access|:addVersion)?$/.exec(
        path,
      );
    if (m === null || (m[1] !== project && m[1] !== projectNumber)) {
      fail(res, 'NOT_FOUND', `unknown resource ${path}`);
      return;
    }
    const [, , secret = '', versionRef, verb] = m;
    if (!secrets.has(secret)) {
      fail(
        res,
        'NOT_FOUND',
        `Secret [projects/${projectNumber}/secrets/${secret}] not found or has no versions.`,
      );
      return;
    }
    if (verb === ':addVersion' && req.method === 'POST') {
      const parsed = JSON.parse(body) as { payload?: { data?: string; dataCrc32c?: string } };
      const data = Buffer.from(parsed.payload?.data ?? '', 'base64');
      if (parsed.payload?.dataCrc32c !== undefined && parsed.payload.dataCrc32c !== String(crc32c(data))) {
        fail(res, 'INVALID_ARGUMENT', 'Checksum mismatch');
        return;
      }
      const id = addVersion(secret, data);
      ok(res, versionJson(secret, resolve(secret, String(id)) as StoredVersion));
      options.onVersionAdded?.(secret, id);
      return;
    }
    if (versionRef === undefined && path.endsWith('/versions') && req.method === 'GET') {
      const filter = url.searchParams.get('filter');
      const all = [...(secrets.get(secret) ?? [])].reverse();
      const wanted = filter === null ? all : all.filter((v) => filter === `state:${v.state}`);
      ok(res, { versions: wanted.map((v) => versionJson(secret, v)), totalSize: wanted.length });
      return;
    }
    const version = versionRef === undefined ? undefined : resolve(secret, versionRef);
    if (version === undefined) {
      fail(
        res,
        'NOT_FOUND',
        `Secret Version [projects/${projectNumber}/secrets/${secret}/versions/${versionRef ?? ''}] not found.`,
      );
      return;
    }
    if (verb === ':access') {
      if (version.state !== 'ENABLED') {
        fail(
          res,
          'FAILED_PRECONDITION',
          `Secret Version [projects/${projectNumber}/secrets/${secret}/versions/${version.id}] is in ${version.state} state.`,
        );
        return;
      }
      const checksum = crc32c(version.data);
      ok(res, {
        name: `projects/${projectNumber}/secrets/${secret}/versions/${version.id}`,
        payload: {
          data: version.data.toString('base64'),
          dataCrc32c: String(corrupt ? (checksum + 1) % 2 ** 32 : checksum),
        },
      });
      return;
    }
    ok(res, versionJson(secret, version));
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.address() as AddressInfo).port;

  function addVersion(secret: string, value: string | Uint8Array): number {
    const list = secrets.get(secret) ?? [];
    secrets.set(secret, list);
    const id = (list[list.length - 1]?.id ?? 0) + 1;
    clock += 1000;
    list.push({ id, state: 'ENABLED', data: Buffer.from(value), createTime: new Date(clock).toISOString() });
    return id;
  }

  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    project,
    projectNumber,
    addVersion,
    setState(secret, version, state) {
      const v = resolve(secret, String(version));
      if (v === undefined) throw new Error(`no version ${version} of ${secret}`);
      v.state = state;
      if (state === 'DESTROYED') v.data = Buffer.alloc(0);
    },
    deleteSecret(secret) {
      secrets.delete(secret);
    },
    versions(secret) {
      return (secrets.get(secret) ?? []).map((v) => ({
        id: v.id,
        state: v.state,
        value: v.data.toString('utf8'),
      }));
    },
    setFault(next) {
      fault = { ...next };
    },
    corruptChecksums(on) {
      corrupt = on;
    },
    requests: () => [...log],
    resetRequests() {
      log.length = 0;
    },
    stop: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
