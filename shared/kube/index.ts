import type { V1ObjectMeta, V1Secret } from '@kubernetes/client-node';
import { ClusterRejectedError, ClusterUnavailableError } from '../core/errors.js';
import type {
  ClusterCredentials,
  ClusterGateway,
  KubeSecret,
  Workload,
  WorkloadKind,
} from '../core/ports.js';
import type { ConnectionBudget } from './connections.js';
import type { KubeRequest, KubeResponse, Permission } from './transport.js';
import { createKubeTransport, toClusterError } from './transport.js';
import { rolloutStatus } from './rollout-status.js';
import { atPath, readPath, WORKLOAD_RESOURCES } from './workloads.js';

export { createTokenAuthenticator, type ReadValue, type TokenAuth } from './auth/token.js';
export {
  createKubeconfigAuthenticator,
  kubeconfigCredentials,
  type KubeconfigAuth,
} from './auth/kubeconfig.js';
export {
  cachingAuthenticator,
  createCredentialsCache,
  CREDENTIALS_REFRESH_MARGIN_MS,
  type CredentialsCache,
} from './credentials.js';
export { toClusterError } from './transport.js';
export {
  autoIdleConnections,
  createConnectionBudget,
  memoryLimitBytes,
  type ConnectionBudget,
} from './connections.js';
export { WORKLOAD_RESOURCES, type WorkloadResource } from './workloads.js';

/**
 * Per-request deadline when the caller gives none. The runtime gives the registry's
 * `settings.targetTimeout`, so one request never outlives the attempt it belongs to.
 */
export const DEFAULT_REQUEST_TIMEOUT_MS = 20_000;

export interface KubeGatewayOptions {
  /** Registry name of the cluster (for errors and logs). */
  name: string;
  /** API server URL; the credentials may override it (eks, kubeconfig). */
  server?: string;
  /** Base64 PEM CA; the credentials may override it. */
  caData?: string;
  /**
   * Called for every request. The authenticator behind it owns the cache (and answers with the
   * same object while its credentials are cached); the gateway keeps none.
   */
  credentials: () => Promise<ClusterCredentials>;
  /** Called after a 401, before the one retry with fresh credentials. @default nothing to forget */
  invalidateCredentials?: () => void;
  /** Deadline of one HTTP request (the runtime passes `settings.targetTimeout`). @default 20000 */
  timeoutMs?: number;
  /** Concurrent connections to this cluster. @default 8 */
  maxSockets?: number;
  /** Shared by a runtime's gateways: which clusters keep their connections between requests. @default all keep them */
  budget?: ConnectionBudget;
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}

/**
 * A string map from parsed JSON: the object itself when every value is a string (the usual
 * case, and no copy for each of a listing's Secrets), else a copy of the string entries.
 */
function record(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
  const map = value as Record<string, unknown>;
  for (const k in map) {
    if (typeof map[k] !== 'string') {
      const out: Record<string, string> = {};
      for (const [key, v] of Object.entries(map)) if (typeof v === 'string') out[key] = v;
      return out;
    }
  }
  return map as Record<string, string>;
}

/**
 * Create bodies of frozen Secrets, serialized once: the engine hands every cluster of a fleet
 * the same frozen Secret to create. A Secret that is not frozen could change between calls,
 * so it is serialized every time.
 */
const createBodies = new WeakMap<KubeSecret, string>();

function createBody(secret: KubeSecret): string {
  let json = createBodies.get(secret);
  if (json === undefined) {
    const { resourceVersion: _ignored, ...fresh } = secret;
    json = JSON.stringify(toV1Secret(fresh));
    if (Object.isFrozen(secret)) createBodies.set(secret, json);
  }
  return json;
}

/** Wire Secret -> port Secret. */
export function fromV1Secret(secret: V1Secret): KubeSecret {
  const metadata: V1ObjectMeta = secret.metadata ?? {};
  return {
    namespace: metadata.namespace ?? '',
    name: metadata.name ?? '',
    type: secret.type ?? 'Opaque',
    data: record(secret.data),
    labels: record(metadata.labels),
    annotations: record(metadata.annotations),
    ...(metadata.resourceVersion === undefined ? {} : { resourceVersion: metadata.resourceVersion }),
  };
}

/** Port Secret -> wire Secret. */
export function toV1Secret(secret: KubeSecret): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: secret.name,
      namespace: secret.namespace,
      labels: secret.labels,
      annotations: secret.annotations,
      ...(secret.resourceVersion === undefined ? {} : { resourceVersion: secret.resourceVersion }),
    },
    type: secret.type,
    data: secret.data,
  };
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function toWorkload(kind: WorkloadKind, object: unknown): Workload {
  const resource = WORKLOAD_RESOURCES[kind];
  const metadata = readPath(object, ['metadata']);
  const template = readPath(object, resource.templatePath);
  return {
    kind,
    namespace: text(readPath(metadata, ['namespace'])),
    name: text(readPath(metadata, ['name'])),
    labels: record(readPath(metadata, ['labels'])),
    templateAnnotations: record(readPath(template, ['metadata', 'annotations'])),
    podSpec: readPath(template, ['spec']) ?? {},
    rollout: rolloutStatus(kind, object),
    ...(typeof readPath(metadata, ['resourceVersion']) === 'string'
      ? { resourceVersion: text(readPath(metadata, ['resourceVersion'])) }
      : {}),
  };
}

function parse(what: string, response: KubeResponse): unknown {
  try {
    return JSON.parse(response.body) as unknown;
  } catch {
    throw new ClusterUnavailableError(`${what}: HTTP ${response.status} with a body that is not JSON`, {
      status: response.status,
    });
  }
}

function items(what: string, response: KubeResponse): unknown[] {
  const list = readPath(parse(what, response), ['items']);
  return Array.isArray(list) ? list : [];
}

function query(params: Record<string, string | undefined>): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') search.set(k, v);
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

/**
 * The ClusterGateway over the Kubernetes REST API: Secrets and workloads, one request per
 * operation (GET, then PUT or POST per written Secret; one merge PATCH per restart), over a
 * keep-alive HTTPS connection verified against the cluster CA. Failures become the error
 * hierarchy by status code; response bodies never reach errors or logs.
 */
export function createKubeGateway(options: KubeGatewayOptions): ClusterGateway & { close(): void } {
  const cluster = options.name;
  const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const transport = createKubeTransport({
    timeoutMs,
    ...(options.maxSockets === undefined ? {} : { maxSockets: options.maxSockets }),
    ...(options.budget === undefined ? {} : { budget: options.budget }),
  });
  // The server and CA of the registry fill in what the credentials leave out. The merged object
  // is made again only when the authenticator answers with new credentials, so the transport
  // sees the same object for every request in between.
  let merged: { from: ClusterCredentials; to: ClusterCredentials } | undefined;
  const credentials = async (): Promise<ClusterCredentials> => {
    const c = await options.credentials();
    if (merged?.from !== c) {
      const to = {
        ...c,
        ...(c.server === undefined && options.server !== undefined ? { server: options.server } : {}),
        ...(c.caData === undefined && options.caData !== undefined ? { caData: options.caData } : {}),
      };
      merged = { from: c, to };
    }
    return merged.to;
  };

  /**
   * Sends one request. A 401 means the credentials went stale (revoked, rotated, expired
   * early): the authenticator forgets them and the request is sent once more with fresh ones.
   */
  async function send(request: KubeRequest, what: string, signal?: AbortSignal): Promise<KubeResponse> {
    const label = `cluster "${cluster}": ${what}`;
    let response = await transport.send(request, await credentials(), label, signal);
    if (response.status === 401) {
      options.invalidateCredentials?.();
      response = await transport.send(request, await credentials(), label, signal);
    }
    return response;
  }

  /** The permission a request of `verb` on `resource` in `namespace` needs, for its 403. */
  const needs = (verb: string, resource: string, namespace: string): Permission => ({
    verb,
    resource,
    namespace,
    cluster,
  });
  const workloadResource = (kind: WorkloadKind): string => {
    const r = WORKLOAD_RESOURCES[kind];
    const slash = r.apiVersion.indexOf('/');
    return slash < 0 ? r.plural : `${r.plural}.${r.apiVersion.slice(0, slash)}`;
  };

  async function expectOk(
    request: KubeRequest,
    what: string,
    permission: Permission,
    signal?: AbortSignal,
  ): Promise<KubeResponse> {
    const response = await send(request, what, signal);
    if (response.status < 200 || response.status >= 300)
      throw toClusterError(`cluster "${cluster}": ${what}`, response, permission);
    return response;
  }

  const secretPath = (namespace: string, name?: string): string =>
    `/api/v1/namespaces/${enc(namespace)}/secrets${name === undefined ? '' : `/${enc(name)}`}`;
  const workloadPath = (kind: WorkloadKind, namespace: string, name?: string): string => {
    const r = WORKLOAD_RESOURCES[kind];
    return `${r.basePath}/namespaces/${enc(namespace)}/${r.plural}${name === undefined ? '' : `/${enc(name)}`}`;
  };

  return {
    cluster,

    async getSecret(namespace, name, opts) {
      const what = `get secret ${namespace}/${name}`;
      const response = await send({ method: 'GET', path: secretPath(namespace, name) }, what, opts?.signal);
      if (response.status === 404) return undefined;
      if (response.status !== 200)
        throw toClusterError(`cluster "${cluster}": ${what}`, response, needs('get', 'secrets', namespace));
      return fromV1Secret(parse(what, response) as V1Secret);
    },

    async listSecrets(labelSelector, namespace, opts) {
      const what = `list secrets ${namespace} ${labelSelector}`;
      const path = `${secretPath(namespace)}${query({ labelSelector })}`;
      const response = await expectOk(
        { method: 'GET', path },
        what,
        needs('list', 'secrets', namespace),
        opts?.signal,
      );
      return items(what, response).map((s) => fromV1Secret(s as V1Secret));
    },

    async createSecret(secret, opts) {
      const what = `create secret ${secret.namespace}/${secret.name}`;
      await expectOk(
        { method: 'POST', path: secretPath(secret.namespace), json: createBody(secret), readBody: false },
        what,
        needs('create', 'secrets', secret.namespace),
        opts?.signal,
      );
    },

    async replaceSecret(secret, opts) {
      const what = `replace secret ${secret.namespace}/${secret.name}`;
      if (secret.resourceVersion === undefined) {
        // Without it the write would be unconditional and could overwrite a concurrent change.
        throw new ClusterRejectedError(
          `cluster "${cluster}": ${what}: resourceVersion is required (read the Secret first)`,
        );
      }
      // The answer (the Secret as stored) is drained unread: nothing needs it.
      await expectOk(
        {
          method: 'PUT',
          path: secretPath(secret.namespace, secret.name),
          body: toV1Secret(secret),
          readBody: false,
        },
        what,
        needs('update', 'secrets', secret.namespace),
        opts?.signal,
      );
    },

    async deleteSecret(namespace, name, opts) {
      const what = `delete secret ${namespace}/${name}`;
      const rv = opts?.resourceVersion;
      // A precondition makes the delete refuse (409) a Secret written since it was read.
      const body =
        rv === undefined
          ? undefined
          : { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { resourceVersion: rv } };
      const response = await send(
        { method: 'DELETE', path: secretPath(namespace, name), readBody: false, body },
        what,
        opts?.signal,
      );
      if (response.status === 404) return;
      if (response.status < 200 || response.status >= 300)
        throw toClusterError(
          `cluster "${cluster}": ${what}`,
          response,
          needs('delete', 'secrets', namespace),
        );
    },

    async getWorkload(kind, namespace, name, opts) {
      const what = `get ${kind} ${namespace}/${name}`;
      const response = await send(
        { method: 'GET', path: workloadPath(kind, namespace, name) },
        what,
        opts?.signal,
      );
      if (response.status === 404) return undefined;
      if (response.status !== 200)
        throw toClusterError(
          `cluster "${cluster}": ${what}`,
          response,
          needs('get', workloadResource(kind), namespace),
        );
      return toWorkload(kind, parse(what, response));
    },

    async listWorkloads(kind, namespace, labelSelector, opts) {
      const what = `list ${kind} ${namespace}${labelSelector === undefined ? '' : ` ${labelSelector}`}`;
      const response = await expectOk(
        { method: 'GET', path: `${workloadPath(kind, namespace)}${query({ labelSelector })}` },
        what,
        needs('list', workloadResource(kind), namespace),
        opts?.signal,
      );
      return items(what, response).map((w) => toWorkload(kind, w));
    },

    async patchTemplateAnnotations(kind, namespace, name, annotations, opts) {
      const what = `restart ${kind} ${namespace}/${name}`;
      const patch = atPath(WORKLOAD_RESOURCES[kind].templatePath, { metadata: { annotations } }) as object;
      // A resourceVersion in a merge patch is a precondition, as on PUT.
      const rv = opts?.resourceVersion;
      const body = rv === undefined ? patch : { ...patch, metadata: { resourceVersion: rv } };
      await expectOk(
        {
          method: 'PATCH',
          path: workloadPath(kind, namespace, name),
          body,
          contentType: 'application/merge-patch+json',
          readBody: false,
        },
        what,
        needs('patch', workloadResource(kind), namespace),
        opts?.signal,
      );
    },

    close() {
      transport.close();
    },
  };
}
