/**
 * A fleet of local Kubernetes API servers in its own process, so the benchmark's CPU
 * figures are the client's alone. Driven over the IPC channel of `child_process.fork`:
 *   -> { type: 'start', count, latencyMs, namespace, workload }  <- { type: 'ready', endpoints }
 *   -> { type: 'counts' }                                         <- { type: 'counts', byVerb }
 *   -> { type: 'reset' }                                          <- { type: 'reset' }
 *   -> { type: 'stop' }                                           (exits)
 */
import { startKubeFleet, type KubeFleet } from '../../dev/kube/server.js';

export interface StartMessage {
  type: 'start';
  count: number;
  latencyMs: number;
  namespace: string;
  /** One Deployment of this name per cluster, referencing `secretName` through envFrom. */
  workload: string;
  secretName: string;
}

export type ParentMessage = StartMessage | { type: 'counts' } | { type: 'reset' } | { type: 'stop' };

export interface FleetEndpoint {
  name: string;
  server: string;
  caData: string;
  token: string;
}

export type ChildMessage =
  | { type: 'ready'; endpoints: FleetEndpoint[] }
  | { type: 'counts'; byVerb: Record<string, number> }
  | { type: 'reset' }
  | { type: 'error'; message: string };

let fleet: KubeFleet | undefined;

function reply(message: ChildMessage): void {
  process.send?.(message);
}

async function start(message: StartMessage): Promise<void> {
  const names = Array.from({ length: message.count }, (_, i) => `c${String(i).padStart(4, '0')}`);
  fleet = await startKubeFleet({
    names,
    latencyMs: message.latencyMs,
    recordRequests: false,
    controller: { rolloutDelayMs: 10 },
  });
  for (const name of names) {
    const cluster = fleet.cluster(name);
    cluster.seed('namespaces', { metadata: { name: message.namespace } });
    cluster.seed('deployments', {
      metadata: { name: message.workload, namespace: message.namespace, labels: { app: message.workload } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: message.workload } },
        template: {
          metadata: { labels: { app: message.workload } },
          spec: { containers: [{ name: 'app', image: 'app:1', envFrom: [{ secretRef: { name: message.secretName } }] }] },
        },
      },
    });
  }
  reply({ type: 'ready', endpoints: fleet.endpoints.map(({ name, server, caData, token }) => ({ name, server, caData, token })) });
}

function counts(): Record<string, number> {
  const byVerb: Record<string, number> = {};
  if (fleet === undefined) return byVerb;
  for (const endpoint of fleet.endpoints) {
    for (const [verb, n] of fleet.cluster(endpoint.name).counts) byVerb[verb] = (byVerb[verb] ?? 0) + n;
  }
  return byVerb;
}

process.on('message', (raw: ParentMessage) => {
  switch (raw.type) {
    case 'start':
      start(raw).catch((error: unknown) => reply({ type: 'error', message: error instanceof Error ? error.message : String(error) }));
      return;
    case 'counts':
      reply({ type: 'counts', byVerb: counts() });
      return;
    case 'reset':
      for (const endpoint of fleet?.endpoints ?? []) fleet?.cluster(endpoint.name).counts.clear();
      reply({ type: 'reset' });
      return;
    case 'stop':
      void (fleet?.stop() ?? Promise.resolve()).finally(() => process.exit(0));
      return;
  }
});
process.on('disconnect', () => process.exit(0));
