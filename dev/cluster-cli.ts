/**
 * `npm run dev:cluster -- --port <p> [--name <n>] [--latency <ms>]
 * [--unhealthy-when <namespace>/<secret>:<key>=<value>]...`: one local Kubernetes API server on
 * 127.0.0.1:<p>. Prints the path of a kubeconfig for it as the first line of stdout, then
 * serves until killed. With `--unhealthy-when`, a workload restarted while it reads that Secret
 * key holding that value never becomes available (its Deployment condition says why).
 */
import { parseArgs } from 'node:util';
import { startKubeFleet } from './kube/server.js';
import { writeKubeconfig } from './kube/kubeconfig.js';
import { parseUnhealthyRule, type UnhealthyRule } from './kube/unhealthy.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    name: { type: 'string', default: 'local' },
    latency: { type: 'string', default: '0' },
    'unhealthy-when': { type: 'string', multiple: true, default: [] },
  },
});

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`--port must be a TCP port number (0-65535), got ${JSON.stringify(values.port)}\n`);
  process.exit(2);
}

let unhealthyWhen: UnhealthyRule[];
try {
  unhealthyWhen = values['unhealthy-when'].map(parseUnhealthyRule);
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(2);
}

const fleet = await startKubeFleet({
  names: [values.name],
  ports: [port],
  latencyMs: Number(values.latency),
  recordRequests: false,
  controller: { unhealthyWhen },
});
const [endpoint] = fleet.endpoints;
if (endpoint === undefined) throw new Error('no cluster started');
process.stdout.write(`${writeKubeconfig([endpoint])}\n`);
process.stderr.write(`local Kubernetes API server "${endpoint.name}" serving on ${endpoint.server}\n`);

const shutdown = (): void => {
  fleet.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
