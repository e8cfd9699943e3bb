/**
 * The health gate's reading of a workload, on objects the servers themselves hold: the status
 * is written through the `/status` subresource (as a controller does, and as envtest users do
 * on an API server without controllers), then read back and judged by `rolloutStatus`. On
 * dev/kube its own rollout controller moves the status as well, so the test writes after it
 * has settled.
 */
import { WORKLOAD_RESOURCES } from '../../../shared/kube/index.js';
import { rolloutStatus } from '../../../shared/kube/rollout-status.js';
import type { WorkloadKind } from '../../../shared/core/ports.js';
import { localContractServer, realContractServer, type ContractServer } from '../support/servers.js';

const labels = (name: string) => ({ app: name });

function manifest(kind: WorkloadKind, namespace: string, name: string): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind,
    metadata: { name, namespace, labels: labels(name) },
    spec: {
      ...(kind === 'DaemonSet' ? {} : { replicas: 2 }),
      ...(kind === 'StatefulSet' ? { serviceName: name } : {}),
      selector: { matchLabels: labels(name) },
      template: {
        metadata: { labels: labels(name) },
        spec: { containers: [{ name: 'app', image: 'registry.local/app:1' }] },
      },
    },
  };
}

/** A status that says the rollout of `generation` is complete, per kind. */
function completeStatus(kind: WorkloadKind, generation: number): Record<string, unknown> {
  switch (kind) {
    case 'Deployment':
      return {
        observedGeneration: generation,
        replicas: 2,
        updatedReplicas: 2,
        readyReplicas: 2,
        availableReplicas: 2,
      };
    case 'StatefulSet':
      return {
        observedGeneration: generation,
        replicas: 2,
        readyReplicas: 2,
        updatedReplicas: 2,
        currentReplicas: 2,
        currentRevision: 'r2',
        updateRevision: 'r2',
      };
    default:
      return {
        observedGeneration: generation,
        currentNumberScheduled: 2,
        numberMisscheduled: 0,
        desiredNumberScheduled: 2,
        numberReady: 2,
        updatedNumberScheduled: 2,
        numberAvailable: 2,
      };
  }
}

describe.each([
  ['kube-apiserver', () => Promise.resolve(realContractServer())],
  ['dev/kube', localContractServer],
] as const)('rollout status of workloads on %s', (serverName, start) => {
  let server: ContractServer;
  const ns = `rollout-status-${process.pid}`;

  beforeAll(async () => {
    server = await start();
    await server.admin.namespace(ns);
  });
  afterAll(async () => {
    await server.stop();
  });

  const pathOf = (kind: WorkloadKind, name: string): string =>
    `${WORKLOAD_RESOURCES[kind].basePath}/namespaces/${ns}/${WORKLOAD_RESOURCES[kind].plural}/${name}`;
  const read = async (kind: WorkloadKind, name: string) =>
    (await server.admin.send('GET', pathOf(kind, name))).body;
  const settle = () => new Promise((resolve) => setTimeout(resolve, 100));
  const writeStatus = async (
    kind: WorkloadKind,
    name: string,
    status: Record<string, unknown>,
  ): Promise<void> => {
    const answer = await server.admin.send(
      'PATCH',
      `${pathOf(kind, name)}/status`,
      { status },
      'application/merge-patch+json',
    );
    expect(answer.status).toBe(200);
  };

  test.each(['Deployment', 'StatefulSet', 'DaemonSet'] as const)(
    'a %s: complete status is done, a restart makes it wait until the controller reports the new generation',
    async (kind) => {
      // given a workload whose controller has reported its rollout complete
      const name = `${kind.toLowerCase()}-gate`;
      await server.admin.apply([manifest(kind, ns, name)]);
      await settle();
      const generation = Number((await read(kind, name)).metadata?.generation);
      await writeStatus(kind, name, completeStatus(kind, generation));
      expect(rolloutStatus(kind, await read(kind, name))).toMatchObject({ state: 'done' });
      // when it is restarted (a new generation nobody has observed yet)
      await server.gateway.patchTemplateAnnotations(kind, ns, name, {
        'secret-propagator.io/restartedAt': 'gate',
      });
      const restarted = await read(kind, name);
      // then it waits: the real server runs no controller, so nobody observes the generation;
      // dev/kube's controller reports it settled 10 ms later, in a status kubectl reads as done
      if (serverName === 'kube-apiserver') {
        expect(rolloutStatus(kind, restarted)).toMatchObject({ state: 'waiting' });
      } else {
        await settle();
        expect(rolloutStatus(kind, await read(kind, name))).toMatchObject({ state: 'done' });
      }
      // and once the controller reports the new generation with too few available pods, still waits
      await settle();
      const next = Number(restarted.metadata?.generation);
      const short =
        kind === 'Deployment'
          ? { ...completeStatus(kind, next), availableReplicas: 1 }
          : kind === 'StatefulSet'
            ? { ...completeStatus(kind, next), readyReplicas: 1 }
            : { ...completeStatus(kind, next), numberAvailable: 1 };
      await writeStatus(kind, name, short);
      expect(rolloutStatus(kind, await read(kind, name))).toMatchObject({ state: 'waiting' });
      // and is done when every pod is back
      await writeStatus(kind, name, completeStatus(kind, next));
      expect(rolloutStatus(kind, await read(kind, name))).toMatchObject({ state: 'done' });
    },
  );

  test('a Deployment past its progress deadline fails with the controller message', async () => {
    // given
    const name = 'deadline';
    await server.admin.apply([manifest('Deployment', ns, name)]);
    await settle();
    const generation = Number((await read('Deployment', name)).metadata?.generation);
    // when the controller gives up
    await writeStatus('Deployment', name, {
      ...completeStatus('Deployment', generation),
      availableReplicas: 0,
      unavailableReplicas: 2,
      conditions: [
        {
          type: 'Progressing',
          status: 'False',
          reason: 'ProgressDeadlineExceeded',
          message: 'ReplicaSet "deadline-5f6" has timed out progressing.',
          lastUpdateTime: '2026-12-05T10:00:00Z',
          lastTransitionTime: '2026-12-05T10:00:00Z',
        },
      ],
    });
    // then
    expect(rolloutStatus('Deployment', await read('Deployment', name))).toEqual({
      state: 'failed',
      reason: 'exceeded its progress deadline: ReplicaSet "deadline-5f6" has timed out progressing.',
    });
  });
});
