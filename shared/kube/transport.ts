import https from 'node:https';
import tls from 'node:tls';
import type { ClusterCredentials } from '../core/ports.js';
import type { ConnectionBudget, ConnectionHolder } from './connections.js';
import {
  ClusterRejectedError,
  ClusterUnavailableError,
  ConflictError,
  ThrottledError,
} from '../core/errors.js';
import type { PropagatorError } from '../core/errors.js';

/** One HTTP exchange with an API server; `body` is the raw response text (never put it in errors). */
export interface KubeResponse {
  status: number;
  body: string;
  /** A 429's or 503's `Retry-After`, in ms, when the server sent one. */
  retryAfterMs?: number;
}

/**
 * `Retry-After` in ms: delta-seconds or an HTTP date (RFC 9110); undefined when absent or
 * unreadable, and never negative.
 */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d{1,9}$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export interface KubeRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path and query, e.g. `/api/v1/namespaces/x/secrets`. */
  path: string;
  body?: unknown;
  /** The body already serialized (instead of `body`). */
  json?: string;
  contentType?: string;
  /**
   * Whether a successful (2xx) answer's body is wanted. A write or a restart only needs the
   * status: its body is drained unread and the response's `body` is empty. Failures always
   * keep theirs, for the error's reason. @default true
   */
  readBody?: boolean;
}

/** TLS verification errors: a wrong or missing CA is a configuration problem, not an outage. */
const TLS_ERRORS = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

class RequestTimeout extends Error {}
class RequestAborted extends Error {}

/** What one attempt on a connection came to: an answer, or an error (and whether the socket was a kept one). */
type Outcome = { response: KubeResponse } | { error: Error; reused: boolean };

/** The RBAC permission one request needs: what a 403 names, whatever the server's message. */
export interface Permission {
  verb: string;
  /** Plural resource with its API group when it has one: `secrets`, `deployments.apps`. */
  resource: string;
  namespace: string;
  /** Registry name of the cluster, for the `rbac` command that prints the Role. */
  cluster: string;
}

/** `needs "list" on secrets in namespace "x"; ...` for a 403 of a request needing `permission`. */
export function describePermission(permission: Permission): string {
  return (
    `needs "${permission.verb}" on ${permission.resource} in namespace "${permission.namespace}"; ` +
    `\`secret-propagator rbac --cluster ${permission.cluster}\` prints the Role that grants it`
  );
}

/**
 * Maps an HTTP status to the error hierarchy: 409 -> Conflict, 429 -> Throttled, 5xx ->
 * ClusterUnavailable, other 4xx -> ClusterRejected. Only the status and the Status body's
 * one-word `reason` are used: Kubernetes messages can quote submitted values. A 403 names the
 * permission the request needed (`permission`, from the request itself) and the authorizer's
 * own sentence when it has the usual shape.
 */
export function toClusterError(
  what: string,
  response: KubeResponse,
  permission?: Permission,
): PropagatorError {
  let reason = '';
  try {
    const parsed: unknown = JSON.parse(response.body);
    const r =
      typeof parsed === 'object' && parsed !== null ? (parsed as { reason?: unknown }).reason : undefined;
    if (typeof r === 'string' && /^[A-Za-z]{1,40}$/.test(r)) reason = ` ${r}`;
  } catch {
    // Not a Status object: the status code alone says enough.
  }
  const message = `${what}: HTTP ${response.status}${reason}`;
  const options =
    response.retryAfterMs === undefined
      ? { status: response.status }
      : { status: response.status, retryAfterMs: response.retryAfterMs };
  if (response.status === 409) return new ConflictError(message, options);
  if (response.status === 429) return new ThrottledError(message, options);
  if (response.status >= 500) return new ClusterUnavailableError(message, options);
  if (response.status === 401)
    return new ClusterRejectedError(`${message} (the credentials were refused)`, options);
  if (response.status === 403)
    return new ClusterRejectedError(
      permission === undefined
        ? `${message}${forbiddenDetail(response.body)} (RBAC does not allow this; see \`secret-propagator rbac\`)`
        : `${message}: ${describePermission(permission)}${forbiddenDetail(response.body, ' (server: ', ')')}`,
      options,
    );
  return new ClusterRejectedError(message, options);
}

/**
 * The permission a 403 names (`secrets "db" is forbidden: User "x" cannot update resource
 * "secrets" ...`). RBAC denials are built by the authorizer from identifiers only (verb,
 * resource, name, user, namespace), never from the submitted object, so they are safe to
 * report; any other message shape is left out.
 */
function forbiddenDetail(body: string, before = ': ', after = ''): string {
  try {
    const parsed: unknown = JSON.parse(body);
    const m =
      typeof parsed === 'object' && parsed !== null ? (parsed as { message?: unknown }).message : undefined;
    if (
      typeof m === 'string' &&
      m.length <= 400 &&
      /^[^\n]* is forbidden: User "[^"\n]*" cannot [a-z]+ /.test(m)
    )
      return `${before}${m}${after}`;
  } catch {
    // Not a Status object.
  }
  return '';
}

/** An API server URL taken apart once: host without IPv6 brackets, port, path prefix without a trailing slash. */
interface Endpoint {
  hostname: string;
  port: number;
  basePath: string;
}

export interface KubeTransport {
  /**
   * Sends one request. `signal` cancels it: the request is destroyed (with its socket) and
   * the call rejects with the signal's reason.
   */
  send(
    request: KubeRequest,
    credentials: ClusterCredentials,
    what: string,
    signal?: AbortSignal,
  ): Promise<KubeResponse>;
  close(): void;
}

/**
 * TLS contexts shared by every cluster with the same CA and client identity. Building one
 * parses the CA bundle (about a millisecond of CPU); a fleet behind one CA needs it once,
 * not once per cluster. Keyed by the base64 material itself, so a changed CA gets a new one.
 */
const secureContexts = new Map<string, tls.SecureContext>();

function secureContextFor(key: string, credentials: ClusterCredentials): tls.SecureContext {
  let context = secureContexts.get(key);
  if (context === undefined) {
    context = tls.createSecureContext({
      ...(credentials.caData === undefined ? {} : { ca: Buffer.from(credentials.caData, 'base64') }),
      ...(credentials.clientCertData === undefined
        ? {}
        : { cert: Buffer.from(credentials.clientCertData, 'base64') }),
      ...(credentials.clientKeyData === undefined
        ? {}
        : { key: Buffer.from(credentials.clientKeyData, 'base64') }),
    });
    secureContexts.set(key, context);
  }
  return context;
}

/**
 * HTTPS with one keep-alive agent per cluster, so a fleet run opens one TLS connection per
 * cluster and reuses it. (@kubernetes/client-node 2.x builds a new undici Agent for every
 * request, which costs a TLS handshake per call at fleet scale.) The agent is rebuilt only
 * when the CA or client certificate changes. TLS is always verified against the CA. With a
 * `budget`, the connections are closed once idle unless the budget lets this cluster keep them.
 */
export function createKubeTransport(options: {
  timeoutMs: number;
  maxSockets?: number;
  budget?: ConnectionBudget;
}): KubeTransport {
  let agent: { key: string; agent: https.Agent } | undefined;
  let inFlight = 0;
  const budget = options.budget;
  const holder: ConnectionHolder = {
    openConnections() {
      if (agent === undefined) return 0;
      let open = 0;
      for (const list of Object.values(agent.agent.sockets)) open += list?.length ?? 0;
      for (const list of Object.values(agent.agent.freeSockets)) open += list?.length ?? 0;
      return open;
    },
  };
  const closeAgent = () => {
    agent?.agent.destroy();
    agent = undefined;
    budget?.release(holder);
  };
  /** Once idle, keeps the connections if the budget allows, else closes them. */
  const settle = () => {
    if (inFlight === 0 && agent !== undefined && budget?.keep(holder) === false) closeAgent();
  };

  // The credentials object is cached by the gateway, so most requests bring the same one:
  // its agent key and server URL are worked out once per object, not per request.
  let last: { credentials: ClusterCredentials; key: string; server: Endpoint } | undefined;
  const prepared = (credentials: ClusterCredentials, server: string) => {
    if (last?.credentials !== credentials) {
      const key = `${credentials.caData ?? ''}|${credentials.clientCertData ?? ''}|${credentials.clientKeyData ?? ''}`;
      const url = new URL(server);
      last = {
        credentials,
        key,
        server: {
          hostname: url.hostname.replace(/^\[|\]$/g, ''),
          port: url.port === '' ? 443 : Number(url.port),
          basePath: url.pathname.replace(/\/$/, ''),
        },
      };
    }
    return last;
  };

  const agentFor = (credentials: ClusterCredentials, key: string): https.Agent => {
    if (agent?.key === key) return agent.agent;
    closeAgent();
    const created = new https.Agent({
      keepAlive: true,
      keepAliveMsecs: 15_000,
      maxSockets: options.maxSockets ?? 8,
      maxFreeSockets: options.maxSockets ?? 8,
      scheduling: 'lifo',
      // Passed through to tls.connect; its typings omit it.
      ...({ secureContext: secureContextFor(key, credentials) } as https.AgentOptions),
      rejectUnauthorized: true,
    });
    agent = { key, agent: created };
    return created;
  };

  const once = (
    request: KubeRequest,
    credentials: ClusterCredentials,
    server: Endpoint,
    key: string,
    signal: AbortSignal | undefined,
  ): Promise<Outcome> =>
    new Promise((resolve) => {
      // The first request on a connection stays reachable for as long as the connection is
      // kept (Node's agent keeps the callback that created the socket, and with it this request
      // and its listeners). So the listeners reach the outcome only through `settle`, which is
      // dropped once used, and the body's chunks are let go once decoded: otherwise every kept
      // connection would hold its first answer (a whole listing, in a reconcile) in memory.
      let settle: ((outcome: Outcome) => void) | undefined = resolve;
      const finish = (outcome: Outcome) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', abort);
        const done = settle;
        settle = undefined;
        done?.(outcome);
      };
      const payload = request.json ?? (request.body === undefined ? undefined : JSON.stringify(request.body));
      const headers: Record<string, string | number> = {
        accept: 'application/json',
        'user-agent': 'secret-propagator',
      };
      if (credentials.token !== undefined) headers['authorization'] = `Bearer ${credentials.token}`;
      if (payload !== undefined) {
        headers['content-type'] = request.contentType ?? 'application/json';
        headers['content-length'] = Buffer.byteLength(payload);
      }
      const readBody = request.readBody !== false;
      const req = https.request(
        {
          protocol: 'https:',
          hostname: server.hostname,
          port: server.port,
          path: `${server.basePath}${request.path}`,
          method: request.method,
          agent: agentFor(credentials, key),
          headers,
        },
        (res) => {
          const status = res.statusCode ?? 0;
          let chunks: Buffer[] = [];
          if (!readBody && status >= 200 && status < 300) res.resume();
          else res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            // Most answers arrive in one chunk: decode it without copying it first.
            const body =
              chunks.length === 0
                ? ''
                : chunks.length === 1
                  ? (chunks[0] as Buffer).toString('utf8')
                  : Buffer.concat(chunks).toString('utf8');
            chunks = [];
            const retryAfterMs =
              status === 429 || status === 503 ? parseRetryAfter(res.headers['retry-after']) : undefined;
            finish({
              response: retryAfterMs === undefined ? { status, body } : { status, body, retryAfterMs },
            });
          });
          res.on('error', (error) => finish({ error, reused: false }));
        },
      );
      const timer = setTimeout(() => req.destroy(new RequestTimeout()), options.timeoutMs);
      // Destroying the request closes its socket: a cancelled request holds nothing open.
      // (An agent hands a request's socket back to its pool when the request is destroyed
      // before using it; a cancelled request's socket is closed instead.)
      const abort = () => {
        const socket = req.socket;
        req.destroy(new RequestAborted());
        if (socket !== null) socket.destroy();
        else req.once('socket', (late) => late.destroy());
      };
      signal?.addEventListener('abort', abort, { once: true });
      req.on('error', (error) => finish({ error, reused: req.reusedSocket }));
      req.end(payload);
    });

  return {
    async send(request, credentials, what, signal) {
      signal?.throwIfAborted();
      if (credentials.server === undefined)
        throw new ClusterRejectedError(`${what}: no API server URL (set clusters[].server)`);
      const { server, key } = prepared(credentials, credentials.server);
      inFlight += 1;
      let outcome;
      try {
        outcome = await once(request, credentials, server, key, signal);
        // A keep-alive socket the server closed while idle fails at once: the request never
        // reached the server, so it goes once more on a fresh socket (not a POST). This is not
        // a retry of an answer; those are the engine's (docs/architecture.md, "Retries").
        if (
          signal?.aborted !== true &&
          'error' in outcome &&
          outcome.reused &&
          request.method !== 'POST' &&
          (outcome.error as NodeJS.ErrnoException).code === 'ECONNRESET'
        ) {
          outcome = await once(request, credentials, server, key, signal);
        }
      } finally {
        inFlight -= 1;
        // Idle means no request for a turn of the event loop: a cluster's next request usually
        // follows at once (the same target's write, the next binding's target). A cluster the
        // budget keeps already has nothing to settle.
        if (inFlight === 0 && budget !== undefined && !budget.holds(holder)) setImmediate(settle);
      }
      if ('response' in outcome) return outcome.response;
      const error = outcome.error;
      if (error instanceof RequestAborted) {
        const reason: unknown = signal?.reason;
        throw reason instanceof Error ? reason : new ClusterUnavailableError(`${what}: cancelled`);
      }
      if (error instanceof RequestTimeout)
        throw new ClusterUnavailableError(`${what}: no answer within ${options.timeoutMs} ms`);
      const code = (error as NodeJS.ErrnoException).code ?? 'network error';
      if (TLS_ERRORS.has(code)) {
        throw new ClusterRejectedError(
          `${what}: TLS verification failed (${code}); check the cluster's caData and server name`,
        );
      }
      throw new ClusterUnavailableError(`${what}: ${code}`);
    },
    close: closeAgent,
  };
}
