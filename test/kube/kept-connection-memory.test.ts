import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MANAGED_SELECTOR } from '../../shared/engine/annotations.js';
import type { ClusterGateway } from '../../shared/core/ports.js';
import { createKubeGateway } from '../../shared/kube/index.js';
import { startLocalFleet, type LocalFleet } from '../support/clusters.js';

setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

/** Heap and buffer memory after a full collection. */
function retained(): number {
  collect();
  collect();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

async function countListed(gateway: ClusterGateway): Promise<number> {
  const listed = await gateway.listSecrets(MANAGED_SELECTOR, 'default');
  return listed.length;
}

describe('a kept-alive connection (local API server)', () => {
  let fleet: LocalFleet;

  beforeAll(async () => {
    fleet = await startLocalFleet({ names: ['big-list'] });
  });
  afterAll(async () => {
    await fleet.stop();
  });

  it('does not hold on to the answer of the first request made on it', async () => {
    // given 100 managed Secrets of 16 KB each: a listing of about 2 MB
    const [cluster] = fleet.clusters;
    if (cluster === undefined) throw new Error('no cluster');
    const writer = createKubeGateway({
      name: cluster.name,
      server: cluster.server,
      caData: cluster.caData,
      credentials: () => Promise.resolve({ token: cluster.token }),
    });
    const data = { blob: Buffer.alloc(12 * 1024, 7).toString('base64') };
    for (let i = 0; i < 100; i += 1) {
      await writer.createSecret({
        namespace: 'default',
        name: `big-${i}`,
        type: 'Opaque',
        data,
        labels: { 'app.kubernetes.io/managed-by': 'secret-propagator' },
        annotations: {},
      });
    }
    writer.close();
    const reader = createKubeGateway({
      name: cluster.name,
      server: cluster.server,
      caData: cluster.caData,
      credentials: () => Promise.resolve({ token: cluster.token }),
    });
    try {
      const before = retained();
      // when the listing is the first request on a new connection, which is then kept open
      // (in a function of its own, so that no frame of this test still holds the parsed list)
      const count = await countListed(reader);
      const after = retained();
      expect(count).toBe(100);
      // then once the caller has let go of it, the answer (about 2 MB as text and as bytes) is not kept with the connection
      expect(after - before).toBeLessThan(512 * 1024);
    } finally {
      reader.close();
    }
  });
});
