/**
 * Restarts as the server sees them: after the gateway's restart PATCH (a merge patch of the
 * pod template's annotations, as `kubectl rollout restart` does), the Deployment, StatefulSet
 * and DaemonSet carry the annotation in their pod template and a new `metadata.generation`,
 * on the real kube-apiserver and on dev/kube alike.
 */
import { WORKLOAD_RESOURCES } from '../../../shared/kube/index.js';
import type { WorkloadKind } from '../../../shared/core/ports.js';
import { localContractServer, realContractServer, type ContractServer } from '../support/servers.js';

const KINDS: WorkloadKind[] = ['Deployment', 'StatefulSet', 'DaemonSet'];

function manifest(kind: WorkloadKind, namespace: string, name: string): Record<string, unknown> {
  const labels = { app: name };
  return {
    apiVersion: 'apps/v1',
    kind,
    metadata: { name, namespace, labels },
    spec: {
      ...(kind === 'DaemonSet' ? {} : { replicas: 1 }),
      ...(kind === 'StatefulSet' ? { serviceName: name } : {}),
      selector: { matchLabels: labels },
      template: {
        metadata: { labels, annotations: { team: 'payments' } },
        spec: { containers: [{ name: 'app', image: 'registry.local/app:1' }] },
      },
    },
  };
}

describe.each([
  ['kube-apiserver', () => Promise.resolve(realContractServer())],
  ['dev/kube', localContractServer],
] as const)('restart PATCHes on %s', (_name, start) => {
  let server: ContractServer;
  const ns = `restarts-${process.pid}`;

  beforeAll(async () => {
    server = await start();
    await server.admin.namespace(ns);
  });
  afterAll(async () => {
    await server.stop();
  });

  test.each(KINDS)('a %s gets the annotation in its pod template and a new generation', async (kind) => {
    // given
    const name = kind.toLowerCase();
    await server.admin.apply([manifest(kind, ns, name)]);
    const path = `${WORKLOAD_RESOURCES[kind].basePath}/namespaces/${ns}/${WORKLOAD_RESOURCES[kind].plural}/${name}`;
    const before = await server.admin.send('GET', path);
    // when restarted twice
    await server.gateway.patchTemplateAnnotations(kind, ns, name, {
      'secret-propagator.io/restartedAt': 't1',
    });
    const once = await server.admin.send('GET', path);
    await server.gateway.patchTemplateAnnotations(kind, ns, name, {
      'secret-propagator.io/restartedAt': 't2',
    });
    const twice = await server.admin.send('GET', path);
    // then each PATCH is a spec change: a new generation, the annotation beside the others
    const generation = before.body.metadata?.generation ?? 0;
    expect(generation).toBeGreaterThanOrEqual(1);
    expect([once.body.metadata?.generation, twice.body.metadata?.generation]).toEqual([
      generation + 1,
      generation + 2,
    ]);
    const workload = await server.gateway.getWorkload(kind, ns, name);
    expect(workload?.templateAnnotations).toEqual({
      team: 'payments',
      'secret-propagator.io/restartedAt': 't2',
    });
  });

  test.each(KINDS)('the same annotation again is no spec change: a %s keeps its generation', async (kind) => {
    // given
    const name = `${kind.toLowerCase()}-same`;
    await server.admin.apply([manifest(kind, ns, name)]);
    await server.gateway.patchTemplateAnnotations(kind, ns, name, {
      'secret-propagator.io/restartedAt': 't1',
    });
    // dev/kube's rollout controller writes the status 10 ms after a spec change: let it settle.
    await new Promise((r) => setTimeout(r, 100));
    const path = `${WORKLOAD_RESOURCES[kind].basePath}/namespaces/${ns}/${WORKLOAD_RESOURCES[kind].plural}/${name}`;
    const before = await server.admin.send('GET', path);
    // when
    await server.gateway.patchTemplateAnnotations(kind, ns, name, {
      'secret-propagator.io/restartedAt': 't1',
    });
    // then
    const after = await server.admin.send('GET', path);
    expect(after.body.metadata?.generation).toBe(before.body.metadata?.generation);
    expect(after.body.metadata?.resourceVersion).toBe(before.body.metadata?.resourceVersion);
  });
});
