/**
 * Runs a fleet of local clusters in its own process (benchmarks: the fleet's CPU is not
 * charged to the process under test).
 *
 *   tsx dev/kube/fleet-process.ts --count 1500 [--latency 20] [--prefix bench] [--rollout-delay 50]
 *
 * Prints ONE line of JSON on stdout once every cluster listens:
 * `{ "clusters": [{ name, server, caData, token }], "control": "http://127.0.0.1:<port>" }`.
 * The control channel (plain HTTP on loopback, JSON):
 *   GET  /requests[?cluster=n]   -> { total, byVerb: { get, list, create, update, patch, ... }, byCluster? }
 *   POST /reset                  -> clears request counts
 *   POST /fault   { cluster, fault: { status?, times?, latencyMs?, hang?, verb? } }
 *   POST /clear-faults
 *   POST /controller { cluster?, rolloutDelayMs?, neverReady? }
 *   POST /seed    { cluster, plural, object }      (namespaces, secrets, deployments, ...)
 *   POST /remove-all { cluster?, plural }          -> { removed }: deletes every object of a kind
 *   GET  /object?cluster=&plural=&namespace=&name= -> the stored object or 404
 * Exits when stdin closes or on SIGTERM.
 */
import http from 'node:http';
import { parseArgs } from 'node:util';
import type { Fault } from './cluster.js';
import type { JsonObject } from './patch.js';
import { parseUnhealthyRule } from './unhealthy.js';
import { startKubeFleet } from './server.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '1' },
    latency: { type: 'string', default: '0' },
    prefix: { type: 'string', default: 'cluster' },
    'rollout-delay': { type: 'string', default: '50' },
  },
});

const count = Number(values.count);
if (!Number.isInteger(count) || count < 1) {
  process.stderr.write(`--count must be a positive integer, got ${JSON.stringify(values.count)}\n`);
  process.exit(2);
}
const names = Array.from({ length: count }, (_, i) => `${values.prefix}-${String(i + 1).padStart(4, '0')}`);
const fleet = await startKubeFleet({
  names,
  latencyMs: Number(values.latency),
  recordRequests: false,
  controller: { rolloutDelayMs: Number(values['rollout-delay']) },
});

function readJson(req: http.IncomingMessage): Promise<JsonObject> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (text += d));
    req.on('end', () => {
      try {
        resolve(text === '' ? {} : (JSON.parse(text) as JsonObject));
      } catch (error) {
        reject(error instanceof Error ? error : new Error('bad JSON'));
      }
    });
  });
}

function countsOf(clusterNames: string[]): { total: number; byVerb: Record<string, number> } {
  const byVerb: Record<string, number> = {};
  let total = 0;
  for (const n of clusterNames) {
    for (const [verb, c] of fleet.cluster(n).counts) {
      byVerb[verb] = (byVerb[verb] ?? 0) + c;
      total += c;
    }
  }
  return { total, byVerb };
}

const control = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const reply = (status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const run = async (): Promise<void> => {
    const target = (name: unknown): string[] => (typeof name === 'string' ? [name] : names);
    switch (`${req.method ?? 'GET'} ${url.pathname}`) {
      case 'GET /requests': {
        const one = url.searchParams.get('cluster');
        const summary = countsOf(one === null ? names : [one]);
        const byCluster = url.searchParams.has('byCluster')
          ? Object.fromEntries(names.map((n) => [n, countsOf([n]).total]))
          : undefined;
        reply(200, { ...summary, ...(byCluster === undefined ? {} : { byCluster }) });
        return;
      }
      case 'POST /reset':
        for (const n of names) fleet.cluster(n).counts.clear();
        reply(200, { ok: true });
        return;
      case 'POST /fault': {
        const body = await readJson(req);
        for (const n of target(body.cluster)) fleet.cluster(n).faults.push({ ...(body.fault as Fault) });
        reply(200, { ok: true });
        return;
      }
      case 'POST /clear-faults':
        for (const n of names) fleet.cluster(n).faults = [];
        reply(200, { ok: true });
        return;
      case 'POST /controller': {
        const body = await readJson(req);
        for (const n of target(body.cluster)) {
          const c = fleet.cluster(n);
          c.controller = {
            rolloutDelayMs:
              typeof body.rolloutDelayMs === 'number' ? body.rolloutDelayMs : c.controller.rolloutDelayMs,
            neverReady: typeof body.neverReady === 'boolean' ? body.neverReady : c.controller.neverReady,
            unhealthyWhen: Array.isArray(body.unhealthyWhen)
              ? body.unhealthyWhen.filter((r): r is string => typeof r === 'string').map(parseUnhealthyRule)
              : c.controller.unhealthyWhen,
          };
        }
        reply(200, { ok: true });
        return;
      }
      case 'POST /seed': {
        const body = await readJson(req);
        const object = body.object as JsonObject;
        for (const n of target(body.cluster))
          fleet.cluster(n).seed(typeof body.plural === 'string' ? body.plural : '', object);
        reply(200, { ok: true });
        return;
      }
      case 'POST /remove-all': {
        const body = await readJson(req);
        let removed = 0;
        for (const n of target(body.cluster))
          removed += fleet.cluster(n).removeAll(typeof body.plural === 'string' ? body.plural : '');
        reply(200, { removed });
        return;
      }
      case 'GET /object': {
        const c = fleet.cluster(url.searchParams.get('cluster') ?? '');
        const key = `${url.searchParams.get('plural') ?? ''}/${url.searchParams.get('namespace') ?? ''}/${url.searchParams.get('name') ?? ''}`;
        const found = c.objects.get(key);
        reply(found === undefined ? 404 : 200, found ?? { error: 'not found' });
        return;
      }
      default:
        reply(404, { error: `unknown control request ${req.method ?? ''} ${url.pathname}` });
    }
  };
  run().catch((error: unknown) =>
    reply(400, { error: error instanceof Error ? error.message : 'bad request' }),
  );
});
await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));
const address = control.address();
const controlPort = typeof address === 'object' && address !== null ? address.port : 0;

process.stdout.write(
  `${JSON.stringify({
    clusters: fleet.endpoints.map(({ name, server, caData, token }) => ({ name, server, caData, token })),
    control: `http://127.0.0.1:${controlPort}`,
  })}\n`,
);

let stopping = false;
const shutdown = (): void => {
  if (stopping) return;
  stopping = true;
  control.close();
  fleet.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
process.stdin.on('end', shutdown);
process.stdin.resume();
