/**
 * The engine's own cost, without the network: `npm run bench:engine [-- --mode change|reconcile
 * --clusters N --runs R --delay ms]` against N in-memory clusters
 * (`test/engine/support/memory-cluster.ts`), printing the median CPU, young-generation allocation
 * and scavenge-copied bytes per target over the runs after the first ten (warm-up).
 *
 * - `change` (default): a change of one binding with a restart (one named Deployment) per run;
 *   every target is an update and a restart, as in `npm run bench`'s change rows.
 * - `reconcile`: a reconcile of 20 bindings per run into clusters emptied before each, so every
 *   target is a create after the cluster's listing, as in `reconcile-create`.
 *
 * With `--delay`, every cluster call waits that long first, so targets stay in flight across
 * collections as they do over a network, and what they hold meanwhile shows in what the
 * scavenges copy. The in-memory cluster's own copying is included (a few KB a target).
 */
import { parseArgs } from 'node:util';
import { createPropagator } from '../../shared/engine/propagator.js';
import type { ChangeReport } from '../../shared/engine/types.js';
import { applyFunctionV8Flags } from '../../shared/runtime/node-options.js';
import { createJsonLogger } from '../../shared/telemetry/index.js';
import { aBinding, aCluster, aRegistry } from '../engine/support/builders.js';
import { createMemoryCluster } from '../engine/support/memory-cluster.js';
import { createMemorySource } from '../support/memory-source.js';
import { watchGc } from './gc.js';
import { median } from './stats.js';

const WARMUP = 10;
const RECONCILE_BINDINGS = 20;
const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'change' },
    clusters: { type: 'string', default: '1500' },
    runs: { type: 'string', default: '40' },
    delay: { type: 'string', default: '0' },
  },
});
const mode = values.mode;
const count = Number(values.clusters);
const runs = Number(values.runs);
const delayMs = Number(values.delay);
if (
  (mode !== 'change' && mode !== 'reconcile') ||
  !Number.isInteger(count) ||
  count < 1 ||
  !Number.isInteger(runs) ||
  runs <= WARMUP ||
  !Number.isFinite(delayMs) ||
  delayMs < 0
)
  throw new Error(
    `usage: npm run bench:engine -- [--mode change|reconcile] [--clusters N] [--runs R (more than ${WARMUP})] [--delay ms]`,
  );

applyFunctionV8Flags();
const names = Array.from({ length: count }, (_, i) => `c${i}`);
const secrets =
  mode === 'change'
    ? ['prod/database']
    : Array.from({ length: RECONCILE_BINDINGS }, (_, i) => `prod/secret-${i}`);
const registry = aRegistry({
  settings: { concurrency: 256 },
  clusters: names.map((name) => aCluster(name)),
  bindings:
    mode === 'change'
      ? [aBinding({ restart: { workloads: [{ kind: 'Deployment', name: 'api' }] } })]
      : secrets.map((key, i) =>
          aBinding({ name: `binding-${i}`, remoteRef: { key }, target: { name: `secret-${i}` } }),
        ),
});
const clusters = new Map(names.map((name) => [name, createMemoryCluster(name)]));
for (const cluster of clusters.values()) {
  cluster.seedWorkload('Deployment', 'payments', 'api', { containers: [] });
  cluster.delay(delayMs);
}
const source = createMemorySource({ name: 'mem' });
for (const key of secrets) source.put(key, { username: 'app', password: 'initial' });
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

/** The event of a new version of the change mode's secret. */
const changeEvent = (eventId: string) =>
  propagator.propagate({
    provider: 'local',
    secretRef: 'prod/database',
    kind: 'version-current',
    eventId,
    time: new Date().toISOString(),
  });

/** One run, checked: every target did what the mode says (so a broken engine cannot look fast). */
const once = async (run: number): Promise<void> => {
  let reports: ChangeReport[];
  if (mode === 'change') {
    source.put('prod/database', { username: 'app', password: `bench-${run}` });
    reports = await changeEvent(`bench-${run}`);
  } else {
    for (const cluster of clusters.values()) cluster.secrets.clear();
    reports = await propagator.reconcile();
  }
  const done = reports.reduce((n, r) => n + (mode === 'change' ? r.counts.updated : r.counts.created), 0);
  const restarts = reports.reduce((n, r) => n + r.restarts, 0);
  const expected = count * secrets.length;
  if (done !== expected || restarts !== (mode === 'change' ? expected : 0))
    throw new Error(
      `run ${run}: ${done} ${mode === 'change' ? 'updated' : 'created'} and ${restarts} restarts of ${expected} targets`,
    );
};

// The in-memory clusters' delays do not hold the process open.
const keepAlive = setInterval(() => undefined, 60_000);
// A change needs the Secrets there first: the first propagation creates them.
if (mode === 'change') await changeEvent('bench-create');

const targets = count * secrets.length;
const cpuUs: number[] = [];
const allocatedKb: number[] = [];
const survivedKb: number[] = [];
for (let run = 0; run < runs; run++) {
  const gc = watchGc();
  const cpu = process.cpuUsage();
  await once(run);
  const used = process.cpuUsage(cpu);
  const collected = gc.stop();
  if (run < WARMUP) continue;
  cpuUs.push((used.user + used.system) / targets);
  allocatedKb.push((collected.allocatedMb * 1024) / targets);
  survivedKb.push((collected.survivedMb * 1024) / targets);
}
clearInterval(keepAlive);
const round = (x: number) => Math.round(x * 10) / 10;
const figures = {
  cpuUsPerTarget: round(median(cpuUs)),
  allocatedKbPerTarget: round(median(allocatedKb)),
  survivedKbPerTarget: round(median(survivedKb)),
};
process.stdout.write(
  `${mode}: ${count} clusters x ${secrets.length}, ${runs - WARMUP} measured runs, ${delayMs} ms per cluster call: per target ${figures.cpuUsPerTarget} us CPU, ${figures.allocatedKbPerTarget} KB allocated, ${figures.survivedKbPerTarget} KB copied by scavenges (medians)\n`,
);
process.stdout.write(
  `${JSON.stringify({ mode, clusters: count, secrets: secrets.length, runs: runs - WARMUP, delayMs, ...figures })}\n`,
);
