/**
 * The engine's own cost, without the network: `npm run bench:engine [-- --clusters N --changes C
 * --delay ms]` sends C changes of one binding (one named Deployment to restart) to N in-memory
 * clusters (`test/engine/support/memory-cluster.ts`) and prints the median CPU, young-generation
 * allocation and scavenge survivors per target over the changes after the first ten (warm-up).
 * With `--delay`, every cluster call waits that long first, so targets stay in flight across
 * collections as they do over a network, and what they hold meanwhile shows in the survivors. Every target is an
 * update with a restart, so this is what the engine adds to each changed target of
 * `npm run bench`'s change rows: the retry and deadline layers, the decision, the report. The
 * in-memory cluster's own copying is included (about 4 KB a target).
 */
import { parseArgs } from 'node:util';
import { createPropagator } from '../../shared/engine/propagator.js';
import { applyFunctionV8Flags } from '../../shared/runtime/node-options.js';
import { createJsonLogger } from '../../shared/telemetry/index.js';
import { aBinding, aCluster, aRegistry } from '../engine/support/builders.js';
import { createMemoryCluster } from '../engine/support/memory-cluster.js';
import { createMemorySource } from '../support/memory-source.js';
import { watchGc } from './gc.js';

const WARMUP = 10;
const { values } = parseArgs({
  options: {
    clusters: { type: 'string', default: '1500' },
    changes: { type: 'string', default: '40' },
    delay: { type: 'string', default: '0' },
  },
});
const count = Number(values.clusters);
const changes = Number(values.changes);
const delayMs = Number(values.delay);
if (
  !Number.isInteger(count) ||
  count < 1 ||
  !Number.isInteger(changes) ||
  changes <= WARMUP ||
  !Number.isFinite(delayMs) ||
  delayMs < 0
)
  throw new Error(
    `usage: npm run bench:engine -- [--clusters N] [--changes C (more than ${WARMUP})] [--delay ms]`,
  );

applyFunctionV8Flags();
const names = Array.from({ length: count }, (_, i) => `c${i}`);
const registry = aRegistry({
  settings: { concurrency: 256 },
  clusters: names.map((name) => aCluster(name)),
  bindings: [aBinding({ restart: { workloads: [{ kind: 'Deployment', name: 'api' }] } })],
});
const clusters = new Map(names.map((name) => [name, createMemoryCluster(name)]));
for (const cluster of clusters.values()) {
  cluster.seedWorkload('Deployment', 'payments', 'api', { containers: [] });
  cluster.delay(delayMs);
}
const source = createMemorySource({ name: 'mem' });
const propagator = createPropagator({
  registry,
  sources: new Map([['mem', source]]),
  gateways: (cluster) => {
    const gateway = clusters.get(cluster.name);
    if (gateway === undefined) throw new Error(`no in-memory cluster ${cluster.name}`);
    return gateway;
  },
  logger: createJsonLogger({ level: 'warn', write: () => undefined }),
});

const propagate = (change: number) => {
  source.put('prod/database', { username: 'app', password: `bench-${change}` });
  return propagator.propagate({
    provider: 'local',
    secretRef: 'prod/database',
    kind: 'version-current',
    eventId: `bench-${change}`,
    time: new Date().toISOString(),
  });
};
// The in-memory clusters' delays do not hold the process open.
const keepAlive = setInterval(() => undefined, 60_000);
// The first propagation creates the Secrets; every change after it updates them and restarts.
await propagate(-1);

const cpuUs: number[] = [];
const allocatedKb: number[] = [];
const survivedKb: number[] = [];
for (let change = 0; change < changes; change++) {
  const gc = watchGc();
  const cpu = process.cpuUsage();
  const reports = await propagate(change);
  const used = process.cpuUsage(cpu);
  const collected = gc.stop();
  const updated = reports.reduce((n, r) => n + r.counts.updated, 0);
  const restarts = reports.reduce((n, r) => n + r.restarts, 0);
  if (updated !== count || restarts !== count)
    throw new Error(`change ${change}: ${updated} updated, ${restarts} restarts, of ${count} targets`);
  if (change < WARMUP) continue;
  cpuUs.push((used.user + used.system) / count);
  allocatedKb.push((collected.allocatedMb * 1024) / count);
  survivedKb.push((collected.survivedMb * 1024) / count);
}
clearInterval(keepAlive);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const round = (x: number) => Math.round(x * 10) / 10;
const figures = {
  cpuUsPerTarget: round(median(cpuUs)),
  allocatedKbPerTarget: round(median(allocatedKb)),
  survivedKbPerTarget: round(median(survivedKb)),
};
process.stdout.write(
  `${count} clusters, ${changes - WARMUP} measured changes, ${delayMs} ms per cluster call: per changed target ${figures.cpuUsPerTarget} us CPU, ${figures.allocatedKbPerTarget} KB allocated, ${figures.survivedKbPerTarget} KB copied by scavenges (medians)\n`,
);
process.stdout.write(
  `${JSON.stringify({ clusters: count, changes: changes - WARMUP, delayMs, ...figures })}\n`,
);
