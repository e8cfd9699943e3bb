/**
 * `npm run bench:gateway [-- --requests N]`
 *
 * The Kubernetes gateway's own cost per request, apart from the engine: N sequential creates
 * of a Secret to one local cluster (no added latency) through `createKubeGateway`, against
 * the same creates through bare `node:https` with a keep-alive agent, alternating, three
 * rounds each (the first warms the code); then N reads of one Secret, through the gateway
 * and bare `node:https` drained unread (as the bench's floor does) and read and parsed (what
 * deciding needs at least). Prints CPU and wall time per request. The npm script runs it with
 * the functions' Node flags; it says so if they are missing.
 */
import https from 'node:https';
import tls from 'node:tls';
import { parseArgs } from 'node:util';
import { startFleetProcess } from '../../dev/kube/fleet-client.js';
import type { KubeSecret } from '../../shared/core/ports.js';
import { createKubeGateway, toV1Secret } from '../../shared/kube/index.js';
import {
  applyFunctionV8Flags,
  DEFAULT_FUNCTION_MEMORY_MB,
  functionNodeOptions,
} from '../../shared/runtime/node-options.js';
import { sendRequest, type FloorRequest } from './floor.js';

const missing = functionNodeOptions(DEFAULT_FUNCTION_MEMORY_MB)
  .split(' ')
  .filter((flag) => !process.execArgv.includes(flag));
if (missing.length > 0)
  process.stderr.write(
    `Without the functions' Node flags (${missing.join(' ')}): figures not comparable to npm run bench.\n`,
  );
// Both sides run with the V8 settings the functions' runtime applies.
applyFunctionV8Flags();

const { values } = parseArgs({ options: { requests: { type: 'string', default: '4000' } } });
const requests = Number(values.requests);
if (!Number.isInteger(requests) || requests < 1)
  throw new Error('usage: npm run bench:gateway -- [--requests N]');

const fleet = await startFleetProcess({ count: 1, latencyMs: 0, prefix: 'gw' });
const cluster = fleet.clusters[0];
if (cluster === undefined) throw new Error('the fleet started no cluster');
await fleet.seed(undefined, 'namespaces', { metadata: { name: 'app' } });

/** A Secret shaped like the engine's: its labels, annotations and three data keys. */
const secret = (name: string): KubeSecret => ({
  namespace: 'app',
  name,
  type: 'Opaque',
  data: { username: 'YXBw', password: 'YmVuY2gtcGFzc3dvcmQ=', host: 'ZGIuaW50ZXJuYWw6NTQzMg==' },
  labels: { 'app.kubernetes.io/managed-by': 'secret-propagator' },
  annotations: {
    'secret-propagator.io/source': 'store',
    'secret-propagator.io/binding': 'bench',
    'secret-propagator.io/version': '1',
    'secret-propagator.io/content-hash': 'a'.repeat(64),
  },
});

const gateway = createKubeGateway({
  name: cluster.name,
  server: cluster.server,
  caData: cluster.caData,
  credentials: () => Promise.resolve({ token: cluster.token }),
});

// The bare side is the bench's floor client (floor.ts): the same requests, drained or parsed as it does them.
const secureContext = tls.createSecureContext({ ca: Buffer.from(cluster.caData, 'base64') });
const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
const bare = (request: FloorRequest, parse: boolean) =>
  sendRequest(agent, cluster, secureContext, request, parse);

const SECRETS = '/api/v1/namespaces/app/secrets';
const creates = {
  'node:https': (name: string) =>
    bare({ method: 'POST', path: SECRETS, body: JSON.stringify(toV1Secret(secret(name))) }, false),
  gateway: (name: string) => gateway.createSecret(secret(name)),
};
const reads = {
  'node:https, drained': () => bare({ method: 'GET', path: `${SECRETS}/read-me` }, false),
  'node:https, parsed': () => bare({ method: 'GET', path: `${SECRETS}/read-me` }, true),
  gateway: () => gateway.getSecret('app', 'read-me'),
};

async function measure(
  what: string,
  clients: Record<string, (name: string) => Promise<unknown>>,
): Promise<void> {
  for (let round = 1; round <= 3; round += 1) {
    for (const [label, send] of Object.entries(clients)) {
      await send(`${label}-${round}-warm`); // the connection is open before timing starts
      const cpu = process.cpuUsage();
      const start = performance.now();
      for (let i = 0; i < requests; i += 1) await send(`${label}-${round}-${i}`);
      const used = process.cpuUsage(cpu);
      const perRequest = (us: number) => (us / requests).toFixed(1);
      console.log(
        `${what} round ${round} ${label.padEnd(20)} ${perRequest(used.user + used.system)} µs CPU/request, ${perRequest((performance.now() - start) * 1000)} µs wall/request`,
      );
    }
  }
}

try {
  await measure('create', creates);
  await gateway.createSecret(secret('read-me'));
  await measure('read  ', reads);
} finally {
  gateway.close();
  agent.destroy();
  await fleet.stop();
}
