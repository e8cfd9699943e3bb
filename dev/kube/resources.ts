import { createHash } from 'node:crypto';
import type { Json, JsonObject } from './patch.js';
import { isObject } from './patch.js';

/** The resource types the local API server serves. Workload kinds share one controller. */
export interface ResourceType {
  group: '' | 'apps';
  version: 'v1';
  /** `v1` or `apps/v1`. */
  apiVersion: string;
  kind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  /** Has `spec` + `status`, `metadata.generation` and the rollout controller. */
  workload: boolean;
}

const VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

function resource(r: Omit<ResourceType, 'apiVersion' | 'version' | 'singular'>): ResourceType {
  return {
    ...r,
    version: 'v1',
    apiVersion: r.group === '' ? 'v1' : `${r.group}/v1`,
    singular: r.kind.toLowerCase(),
  };
}

export const RESOURCES: readonly ResourceType[] = [
  resource({
    group: '',
    kind: 'Namespace',
    plural: 'namespaces',
    namespaced: false,
    shortNames: ['ns'],
    workload: false,
  }),
  resource({
    group: '',
    kind: 'Secret',
    plural: 'secrets',
    namespaced: true,
    shortNames: [],
    workload: false,
  }),
  resource({
    group: 'apps',
    kind: 'Deployment',
    plural: 'deployments',
    namespaced: true,
    shortNames: ['deploy'],
    workload: true,
  }),
  resource({
    group: 'apps',
    kind: 'StatefulSet',
    plural: 'statefulsets',
    namespaced: true,
    shortNames: ['sts'],
    workload: true,
  }),
  resource({
    group: 'apps',
    kind: 'DaemonSet',
    plural: 'daemonsets',
    namespaced: true,
    shortNames: ['ds'],
    workload: true,
  }),
];

export function resourceByPlural(group: string, plural: string): ResourceType | undefined {
  return RESOURCES.find((r) => r.group === group && r.plural === plural);
}

export function resourceByKind(kind: string): ResourceType | undefined {
  const lower = kind.toLowerCase();
  return RESOURCES.find(
    (r) => r.kind.toLowerCase() === lower || r.plural === lower || r.shortNames.includes(lower),
  );
}

/** `/api/v1` and `/apis/apps/v1` discovery documents. */
export function apiResourceList(group: '' | 'apps'): JsonObject {
  const resources: Json[] = [];
  for (const r of RESOURCES.filter((x) => x.group === group)) {
    resources.push({
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: VERBS,
      shortNames: r.shortNames,
      storageVersionHash: createHash('sha256').update(r.plural).digest('base64').slice(0, 11),
    });
    if (r.workload) {
      resources.push({
        name: `${r.plural}/status`,
        singularName: '',
        namespaced: true,
        kind: r.kind,
        verbs: ['get', 'patch', 'update'],
      });
    }
  }
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group === '' ? 'v1' : `${group}/v1`,
    resources,
  };
}

export function apiGroupList(): JsonObject {
  const version = { groupVersion: 'apps/v1', version: 'v1' };
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [{ name: 'apps', versions: [version], preferredVersion: version }],
  };
}

export function apiVersions(serverAddress: string): JsonObject {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

export const VERSION_INFO: JsonObject = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-secret-propagator-local',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-01-01T00:00:00Z',
  goVersion: 'go1.23.0',
  compiler: 'gc',
  platform: 'linux/amd64',
};

function obj(value: Json | undefined): JsonObject {
  return isObject(value) ? value : {};
}

/** Fills in the defaults the real API server applies on create, so kubectl sees familiar objects. */
export function applyDefaults(type: ResourceType, body: JsonObject): void {
  if (type.kind === 'Namespace') {
    body.spec = { finalizers: ['kubernetes'], ...obj(body.spec) };
    body.status = { phase: 'Active' };
    const metadata = obj(body.metadata);
    metadata.labels = {
      ...obj(metadata.labels),
      'kubernetes.io/metadata.name': typeof metadata.name === 'string' ? metadata.name : '',
    };
    body.metadata = metadata;
    return;
  }
  if (type.kind === 'Secret') {
    if (typeof body.type !== 'string' || body.type === '') body.type = 'Opaque';
    return;
  }
  const spec = obj(body.spec);
  body.spec = spec;
  if (type.kind !== 'DaemonSet' && typeof spec.replicas !== 'number') spec.replicas = 1;
  if (spec.revisionHistoryLimit === undefined) spec.revisionHistoryLimit = 10;
  if (type.kind === 'Deployment') {
    if (spec.progressDeadlineSeconds === undefined) spec.progressDeadlineSeconds = 600;
    if (!isObject(spec.strategy) || spec.strategy.type === undefined)
      spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } };
  } else {
    if (!isObject(spec.updateStrategy) || spec.updateStrategy.type === undefined) {
      spec.updateStrategy =
        type.kind === 'StatefulSet'
          ? { type: 'RollingUpdate', rollingUpdate: { partition: 0 } }
          : { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } };
    }
    if (type.kind === 'StatefulSet' && spec.podManagementPolicy === undefined)
      spec.podManagementPolicy = 'OrderedReady';
  }
  if (body.status === undefined) body.status = {};
}

/** A short revision hash of the pod template, as StatefulSets report in currentRevision/updateRevision. */
export function templateRevision(name: string, spec: JsonObject): string {
  return `${name}-${createHash('sha256')
    .update(JSON.stringify(spec.template ?? null))
    .digest('hex')
    .slice(0, 10)}`;
}

/**
 * The status the workload controller reports once a rollout of `generation` has settled.
 * `ready: false` models a rollout that never becomes available; `cause` says why in the
 * Deployment's conditions.
 */
export function settledStatus(
  type: ResourceType,
  name: string,
  body: JsonObject,
  ready: boolean,
  now: string,
  cause?: string,
): JsonObject {
  const spec = obj(body.spec);
  const generation = obj(body.metadata).generation ?? 1;
  const replicas = typeof spec.replicas === 'number' ? spec.replicas : 1;
  const available = ready ? replicas : 0;
  switch (type.kind) {
    case 'Deployment':
      return {
        observedGeneration: generation,
        replicas,
        updatedReplicas: replicas,
        readyReplicas: available,
        availableReplicas: available,
        ...(ready ? {} : { unavailableReplicas: replicas }),
        conditions: [
          {
            type: 'Available',
            status: ready ? 'True' : 'False',
            reason: ready ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
            message: ready
              ? 'Deployment has minimum availability.'
              : `Deployment does not have minimum availability.${cause === undefined ? '' : ` ${cause}`}`,
            lastUpdateTime: now,
            lastTransitionTime: now,
          },
          {
            type: 'Progressing',
            status: 'True',
            reason: ready ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated',
            message: ready
              ? `ReplicaSet "${name}" has successfully progressed.`
              : `ReplicaSet "${name}" is progressing.`,
            lastUpdateTime: now,
            lastTransitionTime: now,
          },
        ],
      };
    case 'StatefulSet': {
      const revision = templateRevision(name, spec);
      return {
        observedGeneration: generation,
        replicas,
        readyReplicas: available,
        currentReplicas: replicas,
        updatedReplicas: replicas,
        availableReplicas: available,
        currentRevision: revision,
        updateRevision: revision,
        collisionCount: 0,
      };
    }
    default:
      return {
        observedGeneration: generation,
        currentNumberScheduled: 1,
        desiredNumberScheduled: 1,
        numberMisscheduled: 0,
        numberReady: ready ? 1 : 0,
        numberAvailable: ready ? 1 : 0,
        ...(ready ? {} : { numberUnavailable: 1 }),
        updatedNumberScheduled: 1,
      };
  }
}

/** The status right after a spec change: the rollout has been observed but has not finished. */
export function progressingStatus(type: ResourceType, previous: JsonObject): JsonObject {
  switch (type.kind) {
    case 'Deployment':
      return { ...previous, updatedReplicas: 0 };
    case 'StatefulSet':
      return { ...previous, updatedReplicas: 0 };
    default:
      return { ...previous, updatedNumberScheduled: 0 };
  }
}

function age(created: unknown, now: number): string {
  const t = typeof created === 'string' ? Date.parse(created) : NaN;
  if (Number.isNaN(t)) return '<unknown>';
  const s = Math.max(0, Math.floor((now - t) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

function num(value: Json | undefined): number {
  return typeof value === 'number' ? value : 0;
}

/** The `meta.k8s.io/v1` Table kubectl asks for when printing `get` output. */
export function toTable(type: ResourceType, items: JsonObject[], resourceVersion: string): JsonObject {
  const now = Date.now();
  const col = (name: string, format = ''): Json => ({
    name,
    type: 'string',
    format,
    description: name,
    priority: 0,
  });
  let columns: Json[];
  let cells: (o: JsonObject) => Json[];
  switch (type.kind) {
    case 'Namespace':
      columns = [col('Name', 'name'), col('Status'), col('Age')];
      cells = (o) => [
        obj(o.metadata).name ?? '',
        obj(o.status).phase ?? 'Active',
        age(obj(o.metadata).creationTimestamp, now),
      ];
      break;
    case 'Secret':
      columns = [col('Name', 'name'), col('Type'), col('Data'), col('Age')];
      cells = (o) => [
        obj(o.metadata).name ?? '',
        o.type ?? 'Opaque',
        Object.keys(obj(o.data)).length,
        age(obj(o.metadata).creationTimestamp, now),
      ];
      break;
    case 'Deployment':
      columns = [col('Name', 'name'), col('Ready'), col('Up-to-date'), col('Available'), col('Age')];
      cells = (o) => {
        const s = obj(o.status);
        return [
          obj(o.metadata).name ?? '',
          `${num(s.readyReplicas)}/${num(obj(o.spec).replicas)}`,
          num(s.updatedReplicas),
          num(s.availableReplicas),
          age(obj(o.metadata).creationTimestamp, now),
        ];
      };
      break;
    case 'StatefulSet':
      columns = [col('Name', 'name'), col('Ready'), col('Age')];
      cells = (o) => [
        obj(o.metadata).name ?? '',
        `${num(obj(o.status).readyReplicas)}/${num(obj(o.spec).replicas)}`,
        age(obj(o.metadata).creationTimestamp, now),
      ];
      break;
    default:
      columns = [
        col('Name', 'name'),
        col('Desired'),
        col('Current'),
        col('Ready'),
        col('Up-to-date'),
        col('Available'),
        col('Age'),
      ];
      cells = (o) => {
        const s = obj(o.status);
        return [
          obj(o.metadata).name ?? '',
          num(s.desiredNumberScheduled),
          num(s.currentNumberScheduled),
          num(s.numberReady),
          num(s.updatedNumberScheduled),
          num(s.numberAvailable),
          age(obj(o.metadata).creationTimestamp, now),
        ];
      };
  }
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: columns,
    rows: items.map((o) => ({ cells: cells(o), object: o })),
  };
}

/** `/openapi/v3`: where each group version's document lives. */
export function openApiV3Root(): JsonObject {
  return {
    paths: {
      'api/v1': { serverRelativeURL: '/openapi/v3/api/v1?hash=0000000000000000' },
      'apis/apps/v1': { serverRelativeURL: '/openapi/v3/apis/apps/v1?hash=0000000000000000' },
    },
  };
}

/**
 * A minimal OpenAPI v3 document for one group version: the item paths with their PATCH
 * operation tagged by group/version/kind and a `fieldValidation` parameter. That is what
 * kubectl looks for to delegate schema validation to the server (`--validate=strict`).
 */
export function openApiV3Document(group: '' | 'apps'): JsonObject {
  const paths: JsonObject = {};
  const fieldValidation = {
    name: 'fieldValidation',
    in: 'query',
    schema: { type: 'string', uniqueItems: true },
  };
  for (const r of RESOURCES.filter((x) => x.group === group)) {
    const base = group === '' ? '/api/v1' : `/apis/${group}/v1`;
    const path = r.namespaced
      ? `${base}/namespaces/{namespace}/${r.plural}/{name}`
      : `${base}/${r.plural}/{name}`;
    const gvk = { group, version: 'v1', kind: r.kind };
    const operation = (id: string): JsonObject => ({
      operationId: `${id}${r.kind}`,
      'x-kubernetes-group-version-kind': gvk,
      parameters: [fieldValidation],
      responses: { '200': { description: 'OK' } },
    });
    paths[path] = {
      get: { ...operation('read'), parameters: [] },
      put: operation('replace'),
      patch: operation('patch'),
      delete: { ...operation('delete'), parameters: [] },
    };
    const collection = r.namespaced ? `${base}/namespaces/{namespace}/${r.plural}` : `${base}/${r.plural}`;
    paths[collection] = { post: operation('create'), get: { ...operation('list'), parameters: [] } };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.0' },
    paths,
    components: { schemas: {} },
  };
}
