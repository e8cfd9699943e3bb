import { createServer, type Server, type Socket } from 'node:net';
import { createPropagator } from '../../shared/engine/propagator.js';
import { createKubeGateway } from '../../shared/kube/index.js';
import { createJsonLogger } from '../../shared/telemetry/index.js';
import { createTlsMaterial } from '../../dev/kube/tls.js';
import { createMemorySource } from '../support/memory-source.js';
import { aBinding, aCluster, aRegistry } from './support/builders.js';

/** A "cluster" that accepts connections and never says a word: the request hangs. */
async function startHungServer(): Promise<{
  server: Server;
  port: number;
  closed: Promise<number>;
  stop(): Promise<void>;
}> {
  let onClose: (at: number) => void = () => undefined;
  const closed = new Promise<number>((resolve) => (onClose = resolve));
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    // Reads (and ignores) what the client sends, so the client's close is seen.
    socket.resume();
    socket.on('close', () => onClose(Date.now()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const stop = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  };
  return { server, port: address.port, closed, stop };
}

describe('settings.targetTimeout', () => {
  test('aborts the request in flight to a hung cluster at the deadline: its socket is closed, not abandoned', async () => {
    // given: a hung cluster, a 1 s target timeout (the shortest the registry accepts), no retries, and a per-request timeout far away
    const hung = await startHungServer();
    const registry = aRegistry({
      settings: { targetTimeout: '1s', retries: 0 },
      clusters: [aCluster('hung', { server: `https://127.0.0.1:${hung.port}` })],
      bindings: [aBinding()],
    });
    const source = createMemorySource({ name: 'mem' });
    source.put('prod/database', { username: 'app', password: 'initial' });
    const { caData } = createTlsMaterial('a CA the hung server never gets to show');
    const propagator = createPropagator({
      registry,
      sources: new Map([['mem', source]]),
      gateways: (cluster) =>
        createKubeGateway({
          name: cluster.name,
          server: cluster.server ?? '',
          caData,
          credentials: () => Promise.resolve({ token: 'a-token' }),
          timeoutMs: 60_000,
        }),
      logger: createJsonLogger({ level: 'error', write: () => undefined }),
    });
    try {
      const started = Date.now();
      // when
      const [report] = await propagator.reconcile();
      const closedAt = await Promise.race([
        hung.closed,
        new Promise<number>((r) => setTimeout(() => r(-1), 5000).unref()),
      ]);
      // then
      expect(report?.targets).toEqual([
        expect.objectContaining({
          cluster: 'hung',
          outcome: 'failed',
          errorCode: 'Timeout',
          retryable: true,
        }),
      ]);
      expect(closedAt).toBeGreaterThan(0);
      expect(closedAt - started).toBeGreaterThanOrEqual(950);
      expect(closedAt - started).toBeLessThan(5000);
    } finally {
      propagator.close();
      await hung.stop();
    }
  });
});
