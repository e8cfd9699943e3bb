import https from 'node:https';
import net from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import type { ControllerOptions, Fault, TokenGrant, WatchEvent } from './cluster.js';
import { ApiError, meta, REASONS, VirtualCluster } from './cluster.js';
import type { Json, JsonObject } from './patch.js';
import { isObject, jsonPatch, mergePatch, PatchError, strategicMergePatch } from './patch.js';
import type { ResourceType } from './resources.js';
import {
  apiGroupList,
  apiResourceList,
  apiVersions,
  openApiV3Document,
  openApiV3Root,
  resourceByPlural,
  toTable,
  VERSION_INFO,
} from './resources.js';
import { parseFieldSelector, parseLabelSelector, SelectorError } from './selectors.js';
import type { TlsMaterial } from './tls.js';
import { sharedTls } from './tls.js';
import { decodeProtobufObject, PROTOBUF_TYPE } from './protobuf.js';

export type { ControllerOptions, Fault, RequestRecord, TokenGrant } from './cluster.js';
export { VirtualCluster } from './cluster.js';

/** One virtual cluster's endpoint, as clients need it. */
export interface ClusterEndpoint {
  name: string;
  /** `https://127.0.0.1:<port>` */
  server: string;
  port: number;
  /** Base64 PEM of the CA that signed the server certificate. */
  caData: string;
  /** A bearer token with full access. */
  token: string;
}

export interface KubeFleetOptions {
  names: string[];
  /** Delay added to every request. @default 0 */
  latencyMs?: number;
  /** Fixed ports, one per name (dev:cluster); otherwise the OS picks. */
  ports?: number[];
  /** TLS material; @default one CA and certificate per process ({@link sharedTls}). */
  tls?: TlsMaterial;
  /** Keep every request in a log (tests). Counts by verb are always kept. @default true */
  recordRequests?: boolean;
  controller?: ControllerOptions;
}

export interface KubeFleet {
  endpoints: ClusterEndpoint[];
  cluster(name: string): VirtualCluster;
  /** Adds a token restricted to a namespace / verb / resource allowlist. */
  addToken(cluster: string, token: string, grant: TokenGrant): void;
  stop(): Promise<void>;
}

const JSON_TYPE = 'application/json';

function send(res: ServerResponse, code: number, body: Json): void {
  const payload = JSON.stringify(body);
  res.writeHead(code, {
    'Content-Type': JSON_TYPE,
    'Content-Length': Buffer.byteLength(payload),
    'Cache-Control': 'no-cache, private',
  });
  res.end(payload);
}

function sendError(res: ServerResponse, error: ApiError, extraHeaders: Record<string, string> = {}): void {
  for (const [k, v] of Object.entries(extraHeaders)) res.setHeader(k, v);
  send(res, error.code, error.toStatus());
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseJson(text: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch {
    throw new ApiError(400, 'BadRequest', 'the request body is not valid JSON');
  }
}

interface Route {
  type: ResourceType;
  namespace: string | undefined;
  name: string | undefined;
  subresource: string | undefined;
}

/** `/api/v1/...` and `/apis/apps/v1/...` resource paths. */
function route(path: string): Route | undefined {
  const parts = path
    .split('/')
    .filter((p) => p.length > 0)
    .map(decodeURIComponent);
  let group: string;
  let rest: string[];
  if (parts[0] === 'api' && parts[1] === 'v1') {
    group = '';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts[1] === 'apps' && parts[2] === 'v1') {
    group = 'apps';
    rest = parts.slice(3);
  } else {
    return undefined;
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural, name, subresource, ...extra] = rest;
  if (plural === undefined || extra.length > 0) return undefined;
  const type = resourceByPlural(group, plural);
  if (type === undefined) return undefined;
  if (!type.namespaced && namespace !== undefined) return undefined;
  return { type, namespace, name, subresource };
}

function verbOf(method: string, r: Route | undefined, query: URLSearchParams): string {
  const watch = query.get('watch') === 'true' || query.get('watch') === '1';
  switch (method) {
    case 'GET':
      if (watch) return 'watch';
      return r === undefined || r.name !== undefined ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return r?.name === undefined ? 'deletecollection' : 'delete';
    default:
      return method.toLowerCase();
  }
}

function forbidden(grant: TokenGrant, verb: string, r: Route): ApiError {
  const user = grant.user ?? 'test-user';
  const group = r.type.group === '' ? '""' : `"${r.type.group}"`;
  const target =
    r.name === undefined
      ? `${r.type.plural}`
      : `${r.type.plural}${r.type.group === '' ? '' : `.${r.type.group}`} "${r.name}"`;
  const scope =
    r.type.namespaced && r.namespace !== undefined
      ? ` in the namespace "${r.namespace}"`
      : ' at the cluster scope';
  return new ApiError(
    403,
    'Forbidden',
    `${target} is forbidden: User "${user}" cannot ${verb} resource "${r.type.plural}" in API group ${group}${scope}`,
    {
      ...(r.name === undefined ? {} : { name: r.name }),
      group: r.type.group,
      kind: r.type.plural,
    },
  );
}

function allowed(grant: TokenGrant, verb: string, r: Route): boolean {
  if (grant.verbs !== undefined && !grant.verbs.includes(verb)) return false;
  if (grant.resources !== undefined && !grant.resources.includes(r.type.plural)) return false;
  if (grant.namespaces !== undefined) {
    const ns = r.type.kind === 'Namespace' ? r.name : r.namespace;
    if (ns === undefined || !grant.namespaces.includes(ns)) return false;
  }
  return true;
}

function wantsTable(req: IncomingMessage): boolean {
  return (req.headers.accept ?? '').includes('as=Table');
}

function listOf(type: ResourceType, items: JsonObject[], rv: string): JsonObject {
  return { kind: `${type.kind}List`, apiVersion: type.apiVersion, metadata: { resourceVersion: rv }, items };
}

function applyPatch(contentType: string, current: JsonObject, patchText: string): JsonObject {
  const mime = contentType.split(';')[0]?.trim() ?? '';
  try {
    let result: Json;
    switch (mime) {
      case 'application/merge-patch+json':
        result = mergePatch(current, parseJson(patchText));
        break;
      case 'application/strategic-merge-patch+json':
        result = strategicMergePatch(current, parseJson(patchText));
        break;
      case 'application/json-patch+json':
        result = jsonPatch(current, parseJson(patchText));
        break;
      case 'application/apply-patch+yaml':
        result = strategicMergePatch(current, parseYaml(patchText) as Json);
        break;
      default:
        throw new ApiError(
          415,
          'UnsupportedMediaType',
          `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`,
        );
    }
    if (!isObject(result)) throw new ApiError(400, 'BadRequest', 'the patch did not produce an object');
    return result;
  } catch (error) {
    if (error instanceof PatchError)
      throw new ApiError(
        422,
        'Invalid',
        `the server rejected our request due to an error in our request: ${error.message}`,
      );
    throw error;
  }
}

function matchesWatch(
  event: WatchEvent,
  r: Route,
  labels: ReturnType<typeof parseLabelSelector>,
  fields: ReturnType<typeof parseFieldSelector>,
): boolean {
  if (event.plural !== r.type.plural) return false;
  const m = meta(event.object);
  if (r.namespace !== undefined && m.namespace !== r.namespace) return false;
  if (r.name !== undefined && m.name !== r.name) return false;
  const metadata = {
    name: typeof m.name === 'string' ? m.name : '',
    ...(typeof m.namespace === 'string' ? { namespace: m.namespace } : {}),
  };
  return labels(isObject(m.labels) ? (m.labels as Record<string, string>) : {}) && fields({ metadata });
}

function startWatch(
  cluster: VirtualCluster,
  req: IncomingMessage,
  res: ServerResponse,
  r: Route,
  query: URLSearchParams,
): void {
  const labels = parseLabelSelector(query.get('labelSelector'));
  const fields = parseFieldSelector(query.get('fieldSelector'));
  res.writeHead(200, {
    'Content-Type': JSON_TYPE,
    'Transfer-Encoding': 'chunked',
    'Cache-Control': 'no-cache, private',
  });
  // Headers go out at once, like the real server: clients block on them before reading events.
  res.flushHeaders();
  const write = (event: WatchEvent): void => {
    if (matchesWatch(event, r, labels, fields))
      res.write(`${JSON.stringify({ type: event.type, object: event.object })}\n`);
  };
  const since = query.get('resourceVersion');
  if (since === null || since === '' || since === '0') {
    for (const o of cluster.list(r.type, r.namespace)) {
      write({
        type: 'ADDED',
        object: o,
        plural: r.type.plural,
        resourceVersion: Number(meta(o).resourceVersion),
      });
    }
  } else {
    for (const event of cluster.history) if (event.resourceVersion > Number(since)) write(event);
  }
  cluster.watchers.add(write);
  const timeoutSeconds = Number(query.get('timeoutSeconds') ?? '0');
  const timer = timeoutSeconds > 0 ? setTimeout(() => res.end(), timeoutSeconds * 1000) : undefined;
  const stop = (): void => {
    cluster.watchers.delete(write);
    if (timer !== undefined) clearTimeout(timer);
  };
  res.on('close', stop);
  req.on('close', stop);
}

/** A create/update body: JSON, or protobuf from kubectl 1.32+ typed clients. */
function objectBody(req: IncomingMessage, raw: Buffer): JsonObject {
  let input: Json;
  if ((req.headers['content-type'] ?? '').startsWith(PROTOBUF_TYPE)) {
    try {
      input = decodeProtobufObject(raw);
    } catch (error) {
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        error instanceof Error ? error.message : 'unsupported protobuf body',
      );
    }
  } else {
    input = parseJson(raw.toString('utf8'));
  }
  if (!isObject(input)) throw new ApiError(400, 'BadRequest', 'the request body must be an object');
  return input;
}

function handleResource(
  cluster: VirtualCluster,
  req: IncomingMessage,
  res: ServerResponse,
  r: Route,
  verb: string,
  query: URLSearchParams,
  raw: Buffer,
): void {
  const body = raw.toString('utf8');
  const dryRun = query.has('dryRun');
  const type = r.type;
  const statusOnly = r.subresource === 'status';
  if (r.subresource !== undefined && !(statusOnly && type.workload)) {
    throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  }
  switch (verb) {
    case 'watch':
      startWatch(cluster, req, res, r, query);
      return;
    case 'list': {
      const labels = parseLabelSelector(query.get('labelSelector'));
      const fields = parseFieldSelector(query.get('fieldSelector'));
      const items = cluster.list(type, r.namespace).filter((o) => {
        const m = meta(o);
        const metadata = {
          name: typeof m.name === 'string' ? m.name : '',
          ...(typeof m.namespace === 'string' ? { namespace: m.namespace } : {}),
        };
        return labels(isObject(m.labels) ? (m.labels as Record<string, string>) : {}) && fields({ metadata });
      });
      send(
        res,
        200,
        wantsTable(req)
          ? toTable(type, items, cluster.resourceVersion)
          : listOf(type, items, cluster.resourceVersion),
      );
      return;
    }
    case 'get': {
      const name = r.name ?? '';
      const found = cluster.get(type, r.namespace, name);
      send(res, 200, wantsTable(req) ? toTable(type, [found], cluster.resourceVersion) : found);
      return;
    }
    case 'create': {
      send(res, 201, cluster.create(type, r.namespace, objectBody(req, raw), { dryRun }));
      return;
    }
    case 'update': {
      send(
        res,
        200,
        cluster.update(type, r.namespace, r.name ?? '', objectBody(req, raw), { dryRun, statusOnly }),
      );
      return;
    }
    case 'patch': {
      const name = r.name ?? '';
      const contentType = req.headers['content-type'] ?? '';
      let current: JsonObject;
      try {
        current = cluster.get(type, r.namespace, name);
      } catch (error) {
        // Server-side apply creates what does not exist yet.
        if (
          error instanceof ApiError &&
          error.code === 404 &&
          contentType.startsWith('application/apply-patch+yaml')
        ) {
          const input = parseYaml(body) as Json;
          if (!isObject(input)) throw new ApiError(400, 'BadRequest', 'the request body must be an object');
          send(
            res,
            201,
            cluster.create(
              type,
              r.namespace,
              { ...input, metadata: { ...(isObject(input.metadata) ? input.metadata : {}), name } },
              { dryRun },
            ),
          );
          return;
        }
        throw error;
      }
      const patched = applyPatch(contentType, current, body);
      // A resourceVersion inside the patch is a precondition, exactly like on PUT.
      const patchedRv = meta(patched).resourceVersion;
      const rv = typeof patchedRv === 'string' ? patchedRv : undefined;
      const next = {
        ...patched,
        metadata: { ...meta(patched), resourceVersion: rv ?? meta(current).resourceVersion ?? '' },
      };
      if (statusOnly) send(res, 200, cluster.update(type, r.namespace, name, next, { dryRun, statusOnly }));
      else
        send(
          res,
          200,
          cluster.update(type, r.namespace, name, { ...next, status: current.status ?? null }, { dryRun }),
        );
      return;
    }
    case 'delete': {
      let preconditionRv: string | undefined;
      let preconditionUid: string | undefined;
      if (body.trim() !== '') {
        const options = parseJson(body);
        const preconditions =
          isObject(options) && isObject(options.preconditions) ? options.preconditions : {};
        if (typeof preconditions.resourceVersion === 'string') preconditionRv = preconditions.resourceVersion;
        if (typeof preconditions.uid === 'string') preconditionUid = preconditions.uid;
      }
      const deleted = cluster.delete(type, r.namespace, r.name ?? '', {
        dryRun,
        ...(preconditionRv === undefined ? {} : { preconditionRv }),
        ...(preconditionUid === undefined ? {} : { preconditionUid }),
      });
      send(res, 200, deleted);
      return;
    }
    default:
      throw new ApiError(
        405,
        'MethodNotAllowed',
        `the server does not allow this method on the requested resource`,
      );
  }
}

/** Discovery and version endpoints kubectl needs before it talks to resources. */
function discovery(path: string, port: number): Json | undefined {
  switch (path.replace(/\/+$/, '')) {
    case '/version':
      return VERSION_INFO;
    case '/api':
      return apiVersions(`127.0.0.1:${port}`);
    case '/apis':
      return apiGroupList();
    case '/api/v1':
      return apiResourceList('');
    case '/apis/apps/v1':
      return apiResourceList('apps');
    case '/apis/apps':
      return apiGroupList().groups instanceof Array ? ((apiGroupList().groups as Json[])[0] ?? null) : null;
    case '/openapi/v3':
      return openApiV3Root();
    case '/openapi/v3/api/v1':
      return openApiV3Document('');
    case '/openapi/v3/apis/apps/v1':
      return openApiV3Document('apps');
    case '/healthz':
    case '/readyz':
    case '/livez':
      return 'ok';
    default:
      return undefined;
  }
}

function delay(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}

async function handle(
  cluster: VirtualCluster,
  port: number,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'https://127.0.0.1');
  const method = req.method ?? 'GET';
  const r = route(url.pathname);
  const verb = verbOf(method, r, url.searchParams);
  res.on('finish', () =>
    cluster.record({ cluster: cluster.name, verb, method, path: url.pathname, status: res.statusCode }),
  );
  const body = await readBody(req);
  await delay(cluster.latencyMs);

  const auth = req.headers.authorization ?? '';
  const token = auth.startsWith('Bearer ') ? auth.slice('Bearer '.length).trim() : undefined;
  const grant = token === undefined ? undefined : cluster.tokens.get(token);
  if (grant === undefined) {
    sendError(res, new ApiError(401, 'Unauthorized', 'Unauthorized'));
    return;
  }
  const doc = method === 'GET' ? discovery(url.pathname, port) : undefined;
  if (doc !== undefined) {
    send(res, 200, doc);
    return;
  }
  if (r === undefined) {
    sendError(res, new ApiError(404, 'NotFound', 'the server could not find the requested resource'));
    return;
  }
  if (!allowed(grant, verb, r)) {
    sendError(res, forbidden(grant, verb, r));
    return;
  }
  const fault = cluster.takeFault(verb);
  if (fault !== undefined) {
    await delay(fault.latencyMs ?? 0);
    if (fault.hang === true) return; // never answered: the client's timeout must fire
    if (fault.status !== undefined) {
      const reason = REASONS[fault.status] ?? 'InternalError';
      const message =
        fault.status === 409
          ? `Operation cannot be fulfilled on ${r.type.plural} "${r.name ?? ''}": the object has been modified; please apply your changes to the latest version and try again`
          : `injected fault: ${reason}`;
      sendError(
        res,
        new ApiError(fault.status, reason, message, {
          ...(r.name === undefined ? {} : { name: r.name }),
          kind: r.type.plural,
          ...(fault.status === 429 ? { retryAfterSeconds: 1 } : {}),
        }),
        fault.status === 429 ? { 'Retry-After': '1' } : {},
      );
      return;
    }
  }
  try {
    handleResource(cluster, req, res, r, verb, url.searchParams, body);
  } catch (error) {
    if (error instanceof ApiError) sendError(res, error);
    else if (error instanceof SelectorError) sendError(res, new ApiError(400, 'BadRequest', error.message));
    else
      sendError(
        res,
        new ApiError(500, 'InternalError', error instanceof Error ? error.message : 'internal error'),
      );
  }
}

function listen(server: net.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port, backlog: 511 }, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
}

/**
 * Starts one virtual cluster per name in this process. All clusters share one TLS server
 * (one certificate, one TLS context) behind one loopback listener per cluster; a
 * connection's local port tells which cluster it talks to. Cheap enough for 1,500 clusters.
 */
export async function startKubeFleet(options: KubeFleetOptions): Promise<KubeFleet> {
  const tls = options.tls ?? sharedTls();
  const byPort = new Map<number, VirtualCluster>();
  const byName = new Map<string, VirtualCluster>();
  const sockets = new Set<net.Socket>();
  const tlsServer = https.createServer(
    {
      key: tls.keyPem,
      cert: tls.certPem,
      keepAliveTimeout: 30_000,
      requestTimeout: 0,
      headersTimeout: 60_000,
    },
    (req, res) => {
      const port = req.socket.localPort ?? 0;
      const cluster = byPort.get(port);
      if (cluster === undefined) {
        res.destroy();
        return;
      }
      handle(cluster, port, req, res).catch(() => {
        if (!res.headersSent) sendError(res, new ApiError(500, 'InternalError', 'internal error'));
        else res.destroy();
      });
    },
  );
  tlsServer.on('tlsClientError', () => undefined);
  const listeners: net.Server[] = [];
  const endpoints: ClusterEndpoint[] = [];
  try {
    for (const [index, name] of options.names.entries()) {
      if (byName.has(name)) throw new Error(`duplicate cluster name ${name}`);
      const token = randomBytes(18).toString('base64url');
      const cluster = new VirtualCluster(name, token, {
        ...(options.latencyMs === undefined ? {} : { latencyMs: options.latencyMs }),
        ...(options.recordRequests === undefined ? {} : { recordRequests: options.recordRequests }),
      });
      if (options.controller !== undefined)
        cluster.controller = { ...cluster.controller, ...options.controller };
      const listener = net.createServer((socket) => {
        cluster.connections += 1;
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => undefined);
        tlsServer.emit('connection', socket);
      });
      const port = await listen(listener, options.ports?.[index] ?? 0);
      listeners.push(listener);
      byPort.set(port, cluster);
      byName.set(name, cluster);
      endpoints.push({ name, server: `https://127.0.0.1:${port}`, port, caData: tls.caData, token });
    }
  } catch (error) {
    for (const l of listeners) l.close();
    throw error;
  }
  return {
    endpoints,
    cluster(name) {
      const c = byName.get(name);
      if (c === undefined) throw new Error(`no local cluster named ${name}`);
      return c;
    },
    addToken(cluster, token, grant) {
      const c = byName.get(cluster);
      if (c === undefined) throw new Error(`no local cluster named ${cluster}`);
      c.tokens.set(token, grant);
    },
    async stop() {
      for (const c of byName.values()) c.stop();
      await Promise.all(listeners.map((l) => new Promise<void>((resolve) => l.close(() => resolve()))));
      for (const s of sockets) s.destroy();
      tlsServer.closeAllConnections();
    },
  };
}

export type { Fault as KubeFault };
