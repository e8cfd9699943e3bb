/**
 * The servers the conformance suite runs against, through shared/kube's own transport:
 * the real kube-apiserver that globalSetup started, and dev/kube (our local server).
 */
import { readFileSync } from 'node:fs';
import { createKubeGateway } from '../../../shared/kube/index.js';
import { createKubeTransport } from '../../../shared/kube/transport.js';
import type { ClusterGateway } from '../../../shared/core/ports.js';
import { startLocalFleet } from '../../support/clusters.js';
import type { ControlPlaneEndpoint } from './control-plane.js';

/** The environment variable that names the file globalSetup wrote the endpoint to. */
export const STATE_ENV = 'SECRET_PROPAGATOR_CONFORMANCE_STATE';

/** Unprivileged token users of the real server: one per test file that binds a Role. */
export const CONTROL_PLANE_USERS = ['sp-product', 'sp-missing-verb', 'sp-restarts'] as const;

/** The running control plane; throws when the suite runs without its globalSetup. */
export function realServer(): ControlPlaneEndpoint {
  const file = process.env[STATE_ENV];
  if (file === undefined)
    throw new Error(`${STATE_ENV} is not set: run the suite with npm run test:conformance`);
  return JSON.parse(readFileSync(file, 'utf8')) as ControlPlaneEndpoint;
}

/** The token of one of {@link CONTROL_PLANE_USERS}. */
export function userToken(endpoint: ControlPlaneEndpoint, user: string): string {
  const found = endpoint.users.find((u) => u.user === user);
  if (found === undefined) throw new Error(`no token user "${user}" in the control plane`);
  return found.token;
}

/** One answer of {@link KubeClient.send}: the status and the parsed JSON body (undefined if none). */
export interface KubeAnswer {
  status: number;
  body: Record<string, unknown> & {
    metadata?: Record<string, unknown> & { resourceVersion?: string; generation?: number };
    reason?: string;
    message?: string;
  };
}

/** Plain REST calls over shared/kube's transport, for what the gateway does not expose. */
export interface KubeClient {
  send(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    body?: unknown,
    contentType?: string,
  ): Promise<KubeAnswer>;
  /** Creates a namespace (an existing one is fine). */
  namespace(name: string): Promise<void>;
  /** POSTs each object to its collection, or PUTs it over an existing one with its current resourceVersion. */
  apply(objects: Record<string, unknown>[]): Promise<void>;
  close(): void;
}

/** The collection path of a namespaced or cluster-scoped object (the kinds the suite uses). */
export function collectionPath(object: Record<string, unknown>): string {
  const apiVersion = String(object['apiVersion']);
  const kind = String(object['kind']);
  const namespace = (object['metadata'] as { namespace?: string } | undefined)?.namespace;
  const plural = `${kind.toLowerCase()}${kind.endsWith('s') ? 'es' : 's'}`;
  const base = apiVersion === 'v1' ? '/api/v1' : `/apis/${apiVersion}`;
  return namespace === undefined ? `${base}/${plural}` : `${base}/namespaces/${namespace}/${plural}`;
}

export function kubeClient(endpoint: { server: string; caData: string; token: string }): KubeClient {
  const transport = createKubeTransport({ timeoutMs: 15_000 });
  const credentials = { server: endpoint.server, caData: endpoint.caData, token: endpoint.token };
  const client: KubeClient = {
    async send(method, path, body, contentType) {
      const response = await transport.send(
        {
          method,
          path,
          ...(body === undefined ? {} : { body }),
          ...(contentType === undefined ? {} : { contentType }),
        },
        credentials,
        `${method} ${path}`,
      );
      const parsed: unknown = response.body === '' ? {} : JSON.parse(response.body);
      return { status: response.status, body: parsed as KubeAnswer['body'] };
    },
    async namespace(name) {
      const answer = await client.send('POST', '/api/v1/namespaces', {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name },
      });
      if (answer.status !== 201 && answer.status !== 409)
        throw new Error(`create namespace ${name}: HTTP ${answer.status} ${answer.body.message ?? ''}`);
    },
    async apply(objects) {
      for (const object of objects) {
        const collection = collectionPath(object);
        const name = (object['metadata'] as { name: string }).name;
        let answer = await client.send('POST', collection, object);
        if (answer.status === 409) {
          const current = await client.send('GET', `${collection}/${name}`);
          const metadata = {
            ...(object['metadata'] as object),
            resourceVersion: current.body.metadata?.resourceVersion,
          };
          answer = await client.send('PUT', `${collection}/${name}`, { ...object, metadata });
        }
        if (answer.status >= 300)
          throw new Error(`apply ${collection}/${name}: HTTP ${answer.status} ${answer.body.message ?? ''}`);
      }
    },
    close: () => transport.close(),
  };
  return client;
}

/** One server of the two-server contract suite, with an admin client and a gateway. */
export interface ContractServer {
  name: 'kube-apiserver' | 'dev/kube';
  admin: KubeClient;
  gateway: ClusterGateway & { close(): void };
  stop(): Promise<void>;
}

function gatewayFor(name: string, endpoint: { server: string; caData: string; token: string }) {
  return createKubeGateway({
    name,
    server: endpoint.server,
    caData: endpoint.caData,
    credentials: () => Promise.resolve({ token: endpoint.token }),
    timeoutMs: 15_000,
  });
}

/** The real server, as its admin. */
export function realContractServer(): ContractServer {
  const plane = realServer();
  const endpoint = { server: plane.server, caData: plane.caData, token: plane.adminToken };
  const admin = kubeClient(endpoint);
  const gateway = gatewayFor('kube-apiserver', endpoint);
  return {
    name: 'kube-apiserver',
    admin,
    gateway,
    stop: () => {
      admin.close();
      gateway.close();
      return Promise.resolve();
    },
  };
}

/** A fresh dev/kube cluster in this process, with its full-access token. */
export async function localContractServer(): Promise<ContractServer> {
  const fleet = await startLocalFleet({ names: ['contract'], rolloutDelayMs: 10 });
  const c = fleet.clusters[0];
  if (c === undefined) throw new Error('dev/kube started no cluster');
  const endpoint = { server: c.server, caData: c.caData, token: c.token };
  const admin = kubeClient(endpoint);
  const gateway = gatewayFor('dev/kube', endpoint);
  return {
    name: 'dev/kube',
    admin,
    gateway,
    stop: async () => {
      admin.close();
      gateway.close();
      await fleet.stop();
    },
  };
}
