import { ClusterUnavailableError, ConflictError } from '../../../shared/core/errors.js';
import type { ClusterGateway, KubeSecret, Workload, WorkloadKind } from '../../../shared/core/ports.js';

/**
 * An in-memory cluster implementing the `ClusterGateway` port with the API server's
 * rules that matter to the engine: resourceVersion with 409 on stale writes, 409 on
 * create of an existing name, label selectors. Faults are injected per operation.
 * Used by the engine unit tests; the integration tests use real HTTPS clusters.
 */
export interface MemoryCluster extends ClusterGateway {
  secrets: Map<string, KubeSecret>;
  workloads: Map<string, Workload>;
  calls: string[];
  seedSecret(secret: Omit<KubeSecret, 'resourceVersion'>): void;
  seedWorkload(
    kind: WorkloadKind,
    namespace: string,
    name: string,
    podSpec: unknown,
    labels?: Record<string, string>,
  ): void;
  /** The next `times` calls of `op` fail with `error`. */
  fail(op: string, error: Error, times?: number): void;
  /** Every call waits `ms` first. */
  delay(ms: number): void;
}

function matches(labels: Record<string, string>, selector: string | undefined): boolean {
  if (selector === undefined || selector === '') return true;
  return selector.split(',').every((term) => {
    const [k, v] = term.split('=');
    return k !== undefined && labels[k] === v;
  });
}

const copy = <T>(value: T): T => structuredClone(value);

export function createMemoryCluster(name: string): MemoryCluster {
  let version = 0;
  let delayMs = 0;
  const faults = new Map<string, { error: Error; times: number }>();
  const secrets = new Map<string, KubeSecret>();
  const workloads = new Map<string, Workload>();
  const calls: string[] = [];

  const enter = async (op: string) => {
    calls.push(op);
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs).unref());
    const fault = faults.get(op) ?? faults.get('*');
    if (fault !== undefined && fault.times > 0) {
      fault.times--;
      throw fault.error;
    }
  };

  return {
    cluster: name,
    secrets,
    workloads,
    calls,
    seedSecret(secret) {
      secrets.set(`${secret.namespace}/${secret.name}`, {
        ...copy(secret),
        resourceVersion: String(++version),
      });
    },
    seedWorkload(kind, namespace, workload, podSpec, labels = {}) {
      workloads.set(`${kind}/${namespace}/${workload}`, {
        kind,
        namespace,
        name: workload,
        labels,
        templateAnnotations: {},
        podSpec,
        resourceVersion: String(++version),
      });
    },
    fail(op, error, times = 1) {
      faults.set(op, { error, times });
    },
    delay(ms) {
      delayMs = ms;
    },
    async getSecret(namespace, secret) {
      await enter('getSecret');
      const found = secrets.get(`${namespace}/${secret}`);
      return found === undefined ? undefined : copy(found);
    },
    async listSecrets(selector, namespace) {
      await enter('listSecrets');
      return [...secrets.values()]
        .filter((s) => (namespace === undefined || s.namespace === namespace) && matches(s.labels, selector))
        .map(copy);
    },
    async createSecret(secret) {
      await enter('createSecret');
      const key = `${secret.namespace}/${secret.name}`;
      if (secrets.has(key))
        throw new ConflictError(`secrets "${secret.name}" already exists`, { status: 409 });
      secrets.set(key, { ...copy(secret), resourceVersion: String(++version) });
    },
    async replaceSecret(secret) {
      await enter('replaceSecret');
      const key = `${secret.namespace}/${secret.name}`;
      const current = secrets.get(key);
      if (current === undefined) throw new ClusterUnavailableError('not found', { status: 404 });
      if (current.resourceVersion !== secret.resourceVersion)
        throw new ConflictError('stale resourceVersion', { status: 409 });
      secrets.set(key, { ...copy(secret), resourceVersion: String(++version) });
    },
    async deleteSecret(namespace, secret) {
      await enter('deleteSecret');
      secrets.delete(`${namespace}/${secret}`);
    },
    async getWorkload(kind, namespace, workload) {
      await enter('getWorkload');
      const found = workloads.get(`${kind}/${namespace}/${workload}`);
      return found === undefined ? undefined : copy(found);
    },
    async listWorkloads(kind, namespace, selector) {
      await enter('listWorkloads');
      return [...workloads.values()]
        .filter((w) => w.kind === kind && w.namespace === namespace && matches(w.labels, selector))
        .map(copy);
    },
    async patchTemplateAnnotations(kind, namespace, workload, annotations, options) {
      await enter('patchTemplateAnnotations');
      const found = workloads.get(`${kind}/${namespace}/${workload}`);
      if (found === undefined) throw new ClusterUnavailableError('not found', { status: 404 });
      if (options?.resourceVersion !== undefined && options.resourceVersion !== found.resourceVersion)
        throw new ConflictError('stale resourceVersion', { status: 409 });
      found.templateAnnotations = { ...found.templateAnnotations, ...annotations };
      found.resourceVersion = String(++version);
    },
  };
}
