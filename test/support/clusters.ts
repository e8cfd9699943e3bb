/**
 * Local Kubernetes clusters for tests: real HTTPS API servers on 127.0.0.1 (dev/kube),
 * one port per virtual cluster, all in this process. See the cross-team contract.
 *
 * ```ts
 * const fleet = await startLocalFleet({ names: ['eu-1', 'us-1'] });
 * fleet.state.seedNamespace('eu-1', 'payments');
 * // ... registryClusters(fleet) + a local source named "cluster-tokens" holding tokenSecrets(fleet)
 * await fleet.stop();
 * ```
 */
import type {
  ControllerOptions,
  Fault,
  KubeFleet,
  RequestRecord,
  TokenGrant,
} from '../../dev/kube/server.js';
import { startKubeFleet } from '../../dev/kube/server.js';
import { writeKubeconfig } from '../../dev/kube/kubeconfig.js';
import type { TlsMaterial } from '../../dev/kube/tls.js';
import type { JsonObject } from '../../dev/kube/patch.js';

export type { Fault, RequestRecord, TokenGrant } from '../../dev/kube/server.js';

/** The name of the local source that {@link registryClusters} points `tokenFrom` at. */
export const CLUSTER_TOKENS_SOURCE = 'cluster-tokens';

export interface LocalCluster {
  name: string;
  /** `https://127.0.0.1:<port>` */
  server: string;
  /** Base64 PEM of the CA (the registry's `caData`). */
  caData: string;
  /** Bearer token with full access. */
  token: string;
}

export type WorkloadKindName = 'Deployment' | 'StatefulSet' | 'DaemonSet';

/** A plain Kubernetes JSON object (as the API server returns it). */
export type KubeObject = JsonObject & { metadata: JsonObject };

export interface FleetState {
  /** Creates the namespace if it does not exist. */
  seedNamespace(cluster: string, namespace: string): void;
  /** Creates or replaces a Secret from a manifest (`metadata.namespace` defaults to "default", created if missing). */
  seedSecret(cluster: string, secretManifest: JsonObject): KubeObject;
  /** Creates or replaces a workload with a one-container pod template unless `podSpec` is given. */
  seedWorkload(
    cluster: string,
    kind: WorkloadKindName,
    namespace: string,
    name: string,
    options?: {
      labels?: Record<string, string>;
      podSpec?: JsonObject;
      templateAnnotations?: Record<string, string>;
    },
  ): KubeObject;
  getSecret(cluster: string, namespace: string, name: string): KubeObject | undefined;
  getWorkload(
    cluster: string,
    kind: WorkloadKindName,
    namespace: string,
    name: string,
  ): KubeObject | undefined;
  /** Every stored object of one plural (`secrets`, `deployments`...) in a namespace, or all namespaces. */
  list(cluster: string, plural: string, namespace?: string): KubeObject[];
  /** Deletes an object directly (no auth, no faults); false when it did not exist. */
  remove(cluster: string, plural: string, namespace: string | undefined, name: string): boolean;
}

export interface LocalFleet {
  clusters: LocalCluster[];
  state: FleetState;
  /** Requests served (every cluster, or one), oldest first. `verb` is the Kubernetes verb (get, list, create, update, patch, delete, watch). */
  requests(cluster?: string): RequestRecord[];
  /** Clears the request log, the counts and the connection counter. */
  resetRequests(): void;
  /** TCP connections accepted by one cluster since the last reset (keep-alive reuse keeps this low). */
  connections(cluster: string): number;
  /** Injects a fault into the next resource requests of `cluster` (discovery is never faulted). Faults stack in order. */
  setFault(cluster: string, fault: Fault): void;
  clearFaults(): void;
  /** Adds a bearer token limited to namespaces / verbs / resources (403 outside them). */
  addToken(cluster: string, token: string, grant: TokenGrant): void;
  /** Stops accepting a bearer token (401 from then on), as a revoked or rotated one. */
  revokeToken(cluster: string, token: string): void;
  /** Rollout timing and readiness of the workload controller (per cluster, or all). */
  setController(options: ControllerOptions, cluster?: string): void;
  /** Writes a kubeconfig with one context per cluster (current: the first, or `current`) and returns its path. */
  kubeconfig(current?: string): string;
  stop(): Promise<void>;
}

export interface StartLocalFleetOptions {
  names: string[];
  /** Delay added to every request. @default 0 */
  latencyMs?: number;
  /** Delay before a rollout reports done. @default 50 */
  rolloutDelayMs?: number;
  /** A different CA than the process-wide one (TLS failure tests). */
  tls?: TlsMaterial;
}

const PLURALS: Record<WorkloadKindName, string> = {
  Deployment: 'deployments',
  StatefulSet: 'statefulsets',
  DaemonSet: 'daemonsets',
};

function asKube(o: JsonObject | undefined): KubeObject | undefined {
  return o === undefined ? undefined : (structuredClone(o) as KubeObject);
}

function stateOf(fleet: KubeFleet): FleetState {
  const find = (
    cluster: string,
    plural: string,
    namespace: string | undefined,
    name: string,
  ): JsonObject | undefined => fleet.cluster(cluster).objects.get(`${plural}/${namespace ?? ''}/${name}`);
  return {
    seedNamespace(cluster, namespace) {
      if (find(cluster, 'namespaces', undefined, namespace) === undefined)
        fleet.cluster(cluster).seed('namespaces', { metadata: { name: namespace } });
    },
    seedSecret(cluster, manifest) {
      return asKube(fleet.cluster(cluster).seed('secrets', manifest)) as KubeObject;
    },
    seedWorkload(cluster, kind, namespace, name, options = {}) {
      const labels = options.labels ?? { app: name };
      const podSpec = options.podSpec ?? { containers: [{ name: 'app', image: 'registry.local/app:1' }] };
      const manifest: JsonObject = {
        metadata: { name, namespace, labels },
        spec: {
          ...(kind === 'DaemonSet' ? {} : { replicas: 1 }),
          ...(kind === 'StatefulSet' ? { serviceName: name } : {}),
          selector: { matchLabels: labels },
          template: {
            metadata: {
              labels,
              ...(options.templateAnnotations === undefined
                ? {}
                : { annotations: options.templateAnnotations }),
            },
            spec: podSpec,
          },
        },
      };
      return asKube(fleet.cluster(cluster).seed(PLURALS[kind], manifest)) as KubeObject;
    },
    getSecret(cluster, namespace, name) {
      return asKube(find(cluster, 'secrets', namespace, name));
    },
    getWorkload(cluster, kind, namespace, name) {
      return asKube(find(cluster, PLURALS[kind], namespace, name));
    },
    list(cluster, plural, namespace) {
      const prefix = namespace === undefined ? `${plural}/` : `${plural}/${namespace}/`;
      return [...fleet.cluster(cluster).objects.entries()]
        .filter(([k]) => k.startsWith(prefix))
        .map(([, v]) => structuredClone(v) as KubeObject);
    },
    remove(cluster, plural, namespace, name) {
      return fleet.cluster(cluster).objects.delete(`${plural}/${namespace ?? ''}/${name}`);
    },
  };
}

/** Starts one local HTTPS API server per name; stop it in `afterAll`. */
export async function startLocalFleet(options: StartLocalFleetOptions): Promise<LocalFleet> {
  const fleet = await startKubeFleet({
    names: options.names,
    ...(options.latencyMs === undefined ? {} : { latencyMs: options.latencyMs }),
    ...(options.tls === undefined ? {} : { tls: options.tls }),
    controller: { rolloutDelayMs: options.rolloutDelayMs ?? 50 },
  });
  const clusters = fleet.endpoints.map(({ name, server, caData, token }) => ({
    name,
    server,
    caData,
    token,
  }));
  const all = (): ReturnType<KubeFleet['cluster']>[] => clusters.map((c) => fleet.cluster(c.name));
  return {
    clusters,
    state: stateOf(fleet),
    requests(cluster) {
      return (cluster === undefined ? all() : [fleet.cluster(cluster)]).flatMap((c) =>
        c.requestLog.map((r) => ({ ...r })),
      );
    },
    resetRequests() {
      for (const c of all()) {
        c.requestLog.length = 0;
        c.counts.clear();
        c.connections = 0;
      }
    },
    connections(cluster) {
      return fleet.cluster(cluster).connections;
    },
    setFault(cluster, fault) {
      fleet.cluster(cluster).faults.push({ ...fault });
    },
    clearFaults() {
      for (const c of all()) c.faults = [];
    },
    addToken(cluster, token, grant) {
      fleet.addToken(cluster, token, grant);
    },
    revokeToken(cluster, token) {
      fleet.cluster(cluster).tokens.delete(token);
    },
    setController(controller, cluster) {
      for (const c of cluster === undefined ? all() : [fleet.cluster(cluster)])
        c.controller = { ...c.controller, ...controller };
    },
    kubeconfig(current) {
      return writeKubeconfig(fleet.endpoints, current);
    },
    stop: () => fleet.stop(),
  };
}

/** The key under which {@link tokenSecrets} stores a cluster's token. */
export function tokenKey(cluster: string): string {
  return `kube-token-${cluster}`;
}

/**
 * Registry `clusters:` entries for the fleet: token auth, tokens read from the local
 * source {@link CLUSTER_TOKENS_SOURCE}, CA pinned.
 */
export function registryClusters(
  fleet: Pick<LocalFleet, 'clusters'>,
  extra: { labels?: (name: string, index: number) => Record<string, string>; namespaces?: string[] } = {},
): {
  name: string;
  labels: Record<string, string>;
  server: string;
  caData: string;
  auth: { type: 'token'; tokenFrom: { source: string; key: string } };
  namespaces?: string[];
}[] {
  return fleet.clusters.map((c, index) => ({
    name: c.name,
    labels: extra.labels?.(c.name, index) ?? {},
    server: c.server,
    caData: c.caData,
    auth: { type: 'token', tokenFrom: { source: CLUSTER_TOKENS_SOURCE, key: tokenKey(c.name) } },
    ...(extra.namespaces === undefined ? {} : { namespaces: extra.namespaces }),
  }));
}

/** The content of the local source {@link CLUSTER_TOKENS_SOURCE} (simple form: secret name -> token). */
export function tokenSecrets(fleet: Pick<LocalFleet, 'clusters'>): Record<string, string> {
  return Object.fromEntries(fleet.clusters.map((c) => [tokenKey(c.name), c.token]));
}
