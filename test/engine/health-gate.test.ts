/**
 * The health gate against local clusters whose workloads really roll out (dev/kube's
 * controller) and really fail (`unhealthyWhen`: pods rejecting a Secret value), read through the
 * product's own gateway.
 */
import { parseUnhealthyRule } from '../../dev/kube/unhealthy.js';
import { systemClock } from '../../shared/core/ports.js';
import { awaitHealthy, type GatedWorkload } from '../../shared/engine/health.js';
import { createKubeGateway } from '../../shared/kube/index.js';
import { kubeClient } from '../conformance/support/servers.js';
import { startLocalFleet, type LocalFleet } from '../support/clusters.js';

const BAD = 'canary-rejected-3b9e';
const b64 = (text: string): string => Buffer.from(text).toString('base64');

describe('awaitHealthy', () => {
  let fleet: LocalFleet;
  const gateways: ReturnType<typeof createKubeGateway>[] = [];

  beforeAll(async () => {
    fleet = await startLocalFleet({ names: ['staging', 'prod'], rolloutDelayMs: 30 });
    fleet.setController({ unhealthyWhen: [parseUnhealthyRule(`apps/db:password=${BAD}`)] });
  });
  afterAll(async () => {
    for (const g of gateways) g.close();
    await fleet.stop();
  });

  const gatewayOf = (name: string) => {
    const c = fleet.clusters.find((cluster) => cluster.name === name);
    if (c === undefined) throw new Error(`no cluster ${name}`);
    const gateway = createKubeGateway({
      name,
      server: c.server,
      caData: c.caData,
      credentials: () => Promise.resolve({ token: c.token }),
      timeoutMs: 2000,
    });
    gateways.push(gateway);
    return gateway;
  };

  /** Seeds the Secret with `password` and (re)rolls out a Deployment that reads it. */
  const rollOut = (cluster: string, name: string, password: string, restartedAt: string): GatedWorkload => {
    fleet.state.seedSecret(cluster, {
      metadata: { name: 'db', namespace: 'apps' },
      data: { password: b64(password) },
    });
    fleet.state.seedWorkload(cluster, 'Deployment', 'apps', name, {
      podSpec: {
        containers: [
          {
            name: 'app',
            image: 'app:1',
            env: [{ name: 'PW', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }],
          },
        ],
      },
      templateAnnotations: { 'example.com/restartedAt': restartedAt },
    });
    return { cluster, gateway: gatewayOf(cluster), kind: 'Deployment', namespace: 'apps', name };
  };

  test('passes once every restarted workload has rolled out, after the bake time', async () => {
    // given
    const workloads = [rollOut('staging', 'api', 'good', 't1'), rollOut('prod', 'api', 'good', 't1')];
    // when
    const result = await awaitHealthy(workloads, { timeoutMs: 10_000, bakeMs: 200, pollMs: 20 }, systemClock);
    // then
    expect(result).toEqual({ healthy: true, unhealthy: [], elapsedMs: expect.any(Number) });
    expect(result.elapsedMs).toBeGreaterThanOrEqual(200);
  });

  test('fails at the deadline with the workload and the reason its status gives, never the value', async () => {
    // given
    const workloads = [rollOut('staging', 'worker', BAD, 't1')];
    // when
    const result = await awaitHealthy(workloads, { timeoutMs: 400, bakeMs: 0, pollMs: 20 }, systemClock);
    // then
    expect(result.healthy).toBe(false);
    expect(result.unhealthy).toEqual([
      {
        cluster: 'staging',
        kind: 'Deployment',
        namespace: 'apps',
        name: 'worker',
        reason: 'not rolled out within 400 ms: 0 of 1 updated replicas are available',
      },
    ]);
    expect(JSON.stringify(result)).not.toContain(BAD);
  });

  test('fails at once when a controller gives up (progress deadline exceeded)', async () => {
    // given: a Deployment whose controller reports it timed out progressing
    const workload = rollOut('prod', 'stuck', 'good', 't1');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const prod = fleet.clusters.find((c) => c.name === 'prod');
    const api = kubeClient({
      server: prod?.server ?? '',
      caData: prod?.caData ?? '',
      token: prod?.token ?? '',
    });
    const generation = (
      fleet.state.getWorkload('prod', 'Deployment', 'apps', 'stuck')?.metadata as { generation: number }
    ).generation;
    const written = await api.send(
      'PATCH',
      '/apis/apps/v1/namespaces/apps/deployments/stuck/status',
      {
        status: {
          observedGeneration: generation,
          availableReplicas: 0,
          conditions: [
            {
              type: 'Progressing',
              status: 'False',
              reason: 'ProgressDeadlineExceeded',
              message: 'ReplicaSet "stuck-1" has timed out progressing.',
            },
          ],
        },
      },
      'application/merge-patch+json',
    );
    expect(written.status).toBe(200);
    // when
    const result = await awaitHealthy([workload], { timeoutMs: 60_000, bakeMs: 0, pollMs: 20 }, systemClock);
    // then: the verdict comes long before the minute
    expect(result.unhealthy.map((u) => u.reason)).toEqual([
      'exceeded its progress deadline: ReplicaSet "stuck-1" has timed out progressing.',
    ]);
    expect(result.elapsedMs).toBeLessThan(60_000);
  });

  test('a workload that breaks during the bake time fails the gate', async () => {
    // given a healthy rollout
    const workload = rollOut('staging', 'flaky', 'good', 't1');
    const gate = awaitHealthy([workload], { timeoutMs: 10_000, bakeMs: 1_500, pollMs: 20 }, systemClock);
    // when it is rolled out again onto the rejected value during the bake
    await new Promise((resolve) => setTimeout(resolve, 300));
    rollOut('staging', 'flaky', BAD, 't2');
    // then
    const result = await gate;
    expect(result.healthy).toBe(false);
    expect(result.unhealthy[0]?.reason).toMatch(/^became unhealthy during the bake time: /);
  });
});
