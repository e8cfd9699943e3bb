import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Fault } from './cluster.js';
import type { JsonObject } from './patch.js';

export interface RemoteCluster {
  name: string;
  server: string;
  caData: string;
  token: string;
}

export interface RequestCounts {
  total: number;
  byVerb: Record<string, number>;
  byCluster?: Record<string, number>;
}

/** A fleet running in a child process (see fleet-process.ts), driven over its control channel. */
export interface FleetProcess {
  clusters: RemoteCluster[];
  pid: number;
  requests(options?: { cluster?: string; byCluster?: boolean }): Promise<RequestCounts>;
  resetRequests(): Promise<void>;
  setFault(cluster: string | undefined, fault: Fault): Promise<void>;
  clearFaults(): Promise<void>;
  setController(options: {
    cluster?: string;
    rolloutDelayMs?: number;
    neverReady?: boolean;
    /** `<namespace>/<secret>:<key>=<value>` rules (see dev/kube/unhealthy.ts). */
    unhealthyWhen?: string[];
  }): Promise<void>;
  seed(cluster: string | undefined, plural: string, object: JsonObject): Promise<void>;
  /** Deletes every object of a kind (`secrets`, ...) in one cluster, or all of them; resolves with how many. */
  removeAll(cluster: string | undefined, plural: string): Promise<number>;
  getObject(
    cluster: string,
    plural: string,
    namespace: string,
    name: string,
  ): Promise<JsonObject | undefined>;
  stop(): Promise<void>;
}

const SCRIPT = fileURLToPath(new URL('./fleet-process.ts', import.meta.url));

/** Starts `count` clusters in a child process (Node with the tsx loader) and waits until they listen. */
export async function startFleetProcess(options: {
  count: number;
  latencyMs?: number;
  prefix?: string;
  rolloutDelayMs?: number;
  startTimeoutMs?: number;
}): Promise<FleetProcess> {
  const args = [
    '--import',
    'tsx',
    SCRIPT,
    '--count',
    String(options.count),
    '--latency',
    String(options.latencyMs ?? 0),
    '--prefix',
    options.prefix ?? 'cluster',
    '--rollout-delay',
    String(options.rolloutDelayMs ?? 50),
  ];
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('the fleet process did not start in time')),
      options.startTimeoutMs ?? 120_000,
    );
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(line);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the fleet process exited with code ${String(code)} before it started`));
    });
  });
  const started = JSON.parse(first) as { clusters: RemoteCluster[]; control: string };
  const call = async (method: 'GET' | 'POST', path: string, body?: unknown): Promise<Response> =>
    fetch(`${started.control}${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
  const post = async (path: string, body?: unknown): Promise<void> => {
    const res = await call('POST', path, body ?? {});
    if (!res.ok) throw new Error(`fleet control ${path}: HTTP ${res.status}`);
  };
  return {
    clusters: started.clusters,
    pid: child.pid ?? 0,
    async requests(o = {}) {
      const q = new URLSearchParams();
      if (o.cluster !== undefined) q.set('cluster', o.cluster);
      if (o.byCluster === true) q.set('byCluster', '1');
      const res = await call('GET', `/requests?${q.toString()}`);
      return (await res.json()) as RequestCounts;
    },
    resetRequests: () => post('/reset'),
    setFault: (cluster, fault) => post('/fault', { ...(cluster === undefined ? {} : { cluster }), fault }),
    clearFaults: () => post('/clear-faults'),
    setController: (o) => post('/controller', o),
    seed: (cluster, plural, object) =>
      post('/seed', { ...(cluster === undefined ? {} : { cluster }), plural, object }),
    async removeAll(cluster, plural) {
      const res = await call('POST', '/remove-all', {
        ...(cluster === undefined ? {} : { cluster }),
        plural,
      });
      if (!res.ok) throw new Error(`fleet control /remove-all: HTTP ${res.status}`);
      return ((await res.json()) as { removed: number }).removed;
    },
    async getObject(cluster, plural, namespace, name) {
      const res = await call(
        'GET',
        `/object?${new URLSearchParams({ cluster, plural, namespace, name }).toString()}`,
      );
      return res.status === 404 ? undefined : ((await res.json()) as JsonObject);
    },
    stop() {
      return new Promise((resolve) => {
        if (child.exitCode !== null) {
          resolve();
          return;
        }
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    },
  };
}
