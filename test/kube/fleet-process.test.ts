import { startFleetProcess } from '../../dev/kube/fleet-client.js';
import type { FleetProcess } from '../../dev/kube/fleet-client.js';
import { createKubeGateway } from '../../shared/kube/index.js';

describe('fleet in a child process (benchmarks)', () => {
  let fleet: FleetProcess;

  beforeAll(async () => {
    fleet = await startFleetProcess({ count: 20, prefix: 'bench' });
  });
  afterAll(async () => {
    await fleet.stop();
  });

  test('serves every cluster over HTTPS and counts requests by verb over the control channel', async () => {
    // given
    await fleet.seed(undefined, 'namespaces', { metadata: { name: 'payments' } });
    await fleet.resetRequests();
    const gateways = fleet.clusters.map((c) =>
      createKubeGateway({
        name: c.name,
        server: c.server,
        caData: c.caData,
        credentials: () => Promise.resolve({ token: c.token }),
      }),
    );
    // when
    await Promise.all(
      gateways.map(async (g) => {
        await g.getSecret('payments', 'db');
        await g.createSecret({
          namespace: 'payments',
          name: 'db',
          type: 'Opaque',
          data: { a: 'YQ==' },
          labels: {},
          annotations: {},
        });
        g.close();
      }),
    );
    const counts = await fleet.requests();
    const one = await fleet.requests({ cluster: fleet.clusters[0]?.name ?? '' });
    const stored = await fleet.getObject(fleet.clusters[19]?.name ?? '', 'secrets', 'payments', 'db');
    // then
    expect(fleet.clusters).toHaveLength(20);
    expect(new Set(fleet.clusters.map((c) => c.server)).size).toBe(20);
    expect(counts).toEqual({ total: 40, byVerb: { get: 20, create: 20 } });
    expect(one).toEqual({ total: 2, byVerb: { get: 1, create: 1 } });
    expect(stored).toMatchObject({ data: { a: 'YQ==' } });
  });

  test('faults set over the control channel reach the clusters', async () => {
    // given
    const c = fleet.clusters[3];
    if (c === undefined) throw new Error('no cluster');
    await fleet.setFault(c.name, { status: 429, times: 1 });
    const gateway = createKubeGateway({
      name: c.name,
      server: c.server,
      caData: c.caData,
      credentials: () => Promise.resolve({ token: c.token }),
    });
    // when
    const first = gateway.getSecret('payments', 'db');
    // then
    await expect(first).rejects.toMatchObject({ code: 'Throttled', status: 429 });
    await expect(gateway.getSecret('payments', 'db')).resolves.toBeDefined();
    gateway.close();
  });

  test('remove-all deletes every object of a kind in every cluster, and nothing else', async () => {
    // given
    await fleet.seed(undefined, 'namespaces', { metadata: { name: 'payments' } });
    await fleet.seed(undefined, 'secrets', { metadata: { name: 'to-go', namespace: 'payments' }, data: {} });
    await fleet.seed(undefined, 'deployments', {
      metadata: { name: 'to-stay', namespace: 'payments' },
      spec: { template: { spec: { containers: [] } } },
    });
    const [first, last] = [fleet.clusters[0]?.name ?? '', fleet.clusters[19]?.name ?? ''];
    // when
    const removed = await fleet.removeAll(undefined, 'secrets');
    // then
    expect(removed).toBeGreaterThanOrEqual(20);
    expect(await fleet.getObject(first, 'secrets', 'payments', 'to-go')).toBeUndefined();
    expect(await fleet.getObject(last, 'secrets', 'payments', 'db')).toBeUndefined();
    expect(await fleet.getObject(last, 'deployments', 'payments', 'to-stay')).toMatchObject({
      metadata: { name: 'to-stay' },
    });
    expect(await fleet.getObject(first, 'namespaces', '', 'payments')).toBeDefined();
    await expect(fleet.removeAll(undefined, 'widgets')).rejects.toThrow('HTTP 400');
  });
});
