/**
 * `npm run bench [-- --clusters N] [--latency ms] [--secrets S] [--concurrency C]`
 *
 * Starts N virtual clusters (each its own 127.0.0.1 port and TLS endpoint, `latency` ms
 * added to every request) in a separate process, registers one binding that targets all
 * of them with one dependent Deployment each, changes the secret and measures event ->
 * every Secret written and every restart issued, through the real engine, runtime, local
 * source and Kubernetes gateway. Then the same change again (nothing may be written), and
 * a reconcile of N clusters x S secrets. Beside each run, the floor: node:https alone doing
 * the same requests against the same servers. Results go to stdout (a table, and one JSON
 * object on the last line) and, for full runs, to BENCHMARKS.md.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { normalizeEvent } from '../../shared/events/index.js';
import type { SecretChange } from '../../shared/core/change.js';
import type { SecretSource } from '../../shared/core/ports.js';
import type { ChangeReport } from '../../shared/engine/types.js';
import { parseRegistry } from '../../shared/registry/load.js';
import { createRuntime, type Runtime } from '../../shared/runtime/index.js';
import { localSourceFactory } from '../../shared/sources/local/index.js';
import { createJsonLogger } from '../../shared/telemetry/index.js';
import { measureColdStarts, type ColdStartResult } from './cold-start.js';
import { closeFloor, runFloor, type FloorEndpoint, type FloorRequest } from './floor.js';
import { startFleetProcess, type FleetProcess, type RemoteCluster } from '../../dev/kube/fleet-client.js';

const NAMESPACE = 'app';
const WORKLOAD = 'api';
const SECRET = 'app-db';

export interface RunResult {
  name: string;
  targets: number;
  totalMs: number;
  cpuMsPerTarget: number;
  p50Ms: number;
  p99Ms: number;
  requestsPerTarget: number;
  requestsByVerb: Record<string, number>;
  written: number;
  restarts: number;
  storeReads: number;
  peakRssMb: number;
  /** V8 heap and off-heap (TLS, buffers) in use right after the run. */
  heapMb: number;
  externalMb: number;
  concurrency: number;
  floorMs: number;
  floorCpuMsPerTarget: number;
  wallRatio: number;
  cpuRatio: number;
}

// ---------------------------------------------------------------------------
// The fleet process (dev/kube/fleet-process.ts, driven over its control channel)
// ---------------------------------------------------------------------------

type FleetEndpoint = RemoteCluster;

async function startFleet(count: number, latencyMs: number): Promise<FleetProcess> {
  const fleet = await startFleetProcess({ count, latencyMs, prefix: 'c', rolloutDelayMs: 10, startTimeoutMs: 120_000 });
  // Every cluster gets the namespace and one Deployment that reads the Secret through envFrom.
  await fleet.seed(undefined, 'namespaces', { metadata: { name: NAMESPACE } });
  await fleet.seed(undefined, 'deployments', {
    metadata: { name: WORKLOAD, namespace: NAMESPACE, labels: { app: WORKLOAD } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: WORKLOAD } },
      template: {
        metadata: { labels: { app: WORKLOAD } },
        spec: { containers: [{ name: 'app', image: 'app:1', envFrom: [{ secretRef: { name: SECRET } }] }] },
      },
    },
  });
  return fleet;
}

// ---------------------------------------------------------------------------
// The registry and store for a run
// ---------------------------------------------------------------------------

function registryYaml(endpoints: readonly FleetEndpoint[], secrets: readonly string[], concurrency: number, restart: boolean): string {
  const clusters = endpoints.map(
    (e) =>
      `  - name: ${e.name}\n    labels: { fleet: bench }\n    server: ${e.server}\n    caData: ${e.caData}\n    auth: { type: token, tokenFrom: { source: cluster-tokens, key: ${e.name} } }`,
  );
  const bindings = secrets.map(
    (s) =>
      `  - name: ${s}\n    source: store\n    remoteRef: { key: ${s} }\n    dataFrom: [ { extract: {} } ]\n    target: { name: ${s}, namespace: ${NAMESPACE}, clusters: { matchLabels: { fleet: bench } } }\n` +
      (restart ? `    restart: { workloads: [ { kind: Deployment, name: ${WORKLOAD} } ] }` : '    restart: false'),
  );
  return [
    'apiVersion: secret-propagator/v1',
    `settings: { concurrency: ${concurrency}, targetTimeout: 60s, retries: 2, fanOut: { batchSize: 100000 } }`,
    'clusters:',
    ...clusters,
    'sources:',
    '  - { name: store, provider: local, path: ./store.json }',
    '  - { name: cluster-tokens, provider: local, path: ./tokens.json }',
    'bindings:',
    ...bindings,
    '',
  ].join('\n');
}

function storeJson(secrets: readonly string[], version: number): string {
  const entries = Object.fromEntries(
    secrets.map((s) => [
      s,
      {
        versions: Array.from({ length: version }, (_, i) => ({
          id: String(i + 1),
          created: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
          value: { username: 'app', password: `bench-password-${s}-v${i + 1}`, host: 'db.internal:5432' },
        })),
      },
    ]),
  );
  return JSON.stringify(entries);
}

/** Counts reads of the secret store (not of the cluster-token source). */
function countReads(source: SecretSource, counter: { reads: number }): SecretSource {
  // The local source is a plain object, so spreading keeps every method.
  return {
    ...source,
    read: (key, options) => {
      counter.reads += 1;
      return source.read(key, options);
    },
  };
}

// ---------------------------------------------------------------------------
// Measuring
// ---------------------------------------------------------------------------

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

interface Measured {
  reports: ChangeReport[];
  wallMs: number;
  cpuMs: number;
}

async function measure(work: () => Promise<ChangeReport[]>): Promise<Measured> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const reports = await work();
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { reports, wallMs, cpuMs: (used.user + used.system) / 1000 };
}

/** The floor's requests for one cluster: the same verbs, paths and body sizes the engine used. */
function floorRequests(byVerbPerCluster: Record<string, number>, secrets: readonly string[], version: number): (e: FloorEndpoint) => FloorRequest[] {
  return () => {
    const out: FloorRequest[] = [];
    const per = (verb: string) => Math.round(byVerbPerCluster[verb] ?? 0);
    const secretPath = (s: string) => `/api/v1/namespaces/${NAMESPACE}/secrets/floor-${s}`;
    const body = (s: string) =>
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: `floor-${s}`, namespace: NAMESPACE, labels: { 'app.kubernetes.io/managed-by': 'floor' }, annotations: { 'secret-propagator.io/version': String(version) } },
        type: 'Opaque',
        data: { username: 'YXBw', password: Buffer.from(`bench-password-${s}-v${version}`).toString('base64'), host: 'ZGIuaW50ZXJuYWw6NTQzMg==' },
      });
    for (let i = 0; i < per('list'); i++) out.push({ method: 'GET', path: `/api/v1/namespaces/${NAMESPACE}/secrets?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dfloor` });
    for (let i = 0; i < per('get'); i++) out.push({ method: 'GET', path: secretPath(secrets[i % secrets.length] ?? SECRET) });
    // Creates are sent as PUTs of the same body: the floor's objects may already exist from an
    // earlier run, and an unconditional PUT costs the server and client the same as a POST.
    for (let i = 0; i < per('create') + per('update'); i++) {
      const s = secrets[i % secrets.length] ?? SECRET;
      out.push({ method: i < per('create') ? 'POST' : 'PUT', path: i < per('create') ? `/api/v1/namespaces/${NAMESPACE}/secrets` : secretPath(s), body: body(s) });
    }
    for (let i = 0; i < per('patch'); i++) {
      out.push({
        method: 'PATCH',
        path: `/apis/apps/v1/namespaces/${NAMESPACE}/deployments/${WORKLOAD}`,
        contentType: 'application/merge-patch+json',
        body: JSON.stringify({ spec: { template: { metadata: { annotations: { 'floor/restartedAt': new Date().toISOString() } } } } }),
      });
    }
    return out;
  };
}

async function runOne(options: {
  name: string;
  runtime: Runtime;
  fleet: FleetProcess;
  endpoints: readonly FleetEndpoint[];
  secrets: readonly string[];
  version: number;
  concurrency: number;
  counter: { reads: number };
  work: () => Promise<ChangeReport[]>;
  floor: boolean;
}): Promise<RunResult> {
  const { fleet, endpoints, secrets, counter } = options;
  await fleet.resetRequests();
  counter.reads = 0;
  const m = await measure(options.work);
  const memory = process.memoryUsage();
  // The fleet counts a request when it finishes answering it; let the last ones land.
  await new Promise((resolve) => setTimeout(resolve, 100));
  const { byVerb } = await fleet.requests();
  const targets = m.reports.reduce((n, r) => n + r.targets.length, 0);
  const written = m.reports.reduce((n, r) => n + r.counts.created + r.counts.updated, 0);
  const failed = m.reports.reduce((n, r) => n + r.counts.failed + (r.error === undefined ? 0 : 1), 0);
  if (failed > 0) {
    const codes = m.reports.flatMap((r) => [...(r.error ? [r.error.code] : []), ...r.targets.filter((t) => t.outcome === 'failed').map((t) => t.errorCode ?? '?')]);
    throw new Error(`${options.name}: ${failed} failed targets or bindings (${[...new Set(codes)].join(', ')}) after ${round(m.wallMs)} ms; the benchmark only reports clean runs`);
  }
  const restarts = m.reports.reduce((n, r) => n + r.restarts, 0);
  const latencies = m.reports.flatMap((r) => r.targets.map((t) => t.durationMs)).sort((a, b) => a - b);
  const requests = Object.values(byVerb).reduce((a, b) => a + b, 0);
  const storeReads = counter.reads;

  let floorMs = Number.NaN;
  let floorCpu = Number.NaN;
  if (options.floor) {
    const perCluster = Object.fromEntries(Object.entries(byVerb).map(([verb, n]) => [verb, n / endpoints.length]));
    const floor = await runFloor(endpoints, floorRequests(perCluster, secrets, options.version), options.concurrency);
    floorMs = floor.wallMs;
    floorCpu = floor.cpuMs;
  }
  return {
    name: options.name,
    targets,
    totalMs: round(m.wallMs, 1),
    cpuMsPerTarget: round(m.cpuMs / Math.max(targets, 1), 3),
    p50Ms: round(percentile(latencies, 50), 1),
    p99Ms: round(percentile(latencies, 99), 1),
    requestsPerTarget: round(requests / Math.max(targets, 1), 3),
    requestsByVerb: byVerb,
    written,
    restarts,
    storeReads,
    peakRssMb: round(process.resourceUsage().maxRSS / 1024, 1),
    heapMb: round(memory.heapUsed / 2 ** 20, 1),
    externalMb: round(memory.external / 2 ** 20, 1),
    concurrency: options.concurrency,
    floorMs: round(floorMs, 1),
    floorCpuMsPerTarget: round(floorCpu / Math.max(targets, 1), 3),
    wallRatio: round(m.wallMs / floorMs, 2),
    cpuRatio: round(m.cpuMs / floorCpu, 2),
  };
}

function changeEvent(secret: string, version: number): SecretChange {
  const normalized = normalizeEvent('local', {
    type: 'secret-version-created',
    secret,
    version: String(version),
    id: `bench-${secret}-${version}`,
    time: new Date().toISOString(),
  });
  if (!('changes' in normalized) || normalized.changes[0] === undefined) throw new Error('local event was not normalised into a change');
  return normalized.changes[0];
}

/** One fleet size: create pass, a change, the same change again, optionally a reconcile of S secrets. */
async function benchFleet(count: number, opts: { latencyMs: number; concurrency: number; secrets: number; floor: boolean }): Promise<RunResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'sp-bench-'));
  const fleet = await startFleet(count, opts.latencyMs);
  const endpoints = fleet.clusters;
  const results: RunResult[] = [];
  const runtimes: Runtime[] = [];
  try {
    writeFileSync(join(dir, 'tokens.json'), JSON.stringify(Object.fromEntries(endpoints.map((e) => [e.name, e.token]))));
    const counter = { reads: 0 };
    const build = (secrets: readonly string[], restart: boolean) => {
      const loaded = parseRegistry(registryYaml(endpoints, secrets, opts.concurrency, restart), 'bench', dir);
      const runtime = createRuntime({
        loaded,
        sources: { local: (spec, ctx) => (spec.name === 'store' ? countReads(localSourceFactory(spec, ctx), counter) : localSourceFactory(spec, ctx)) },
        // Warnings and errors only: the summary and per-target lines are what a person reads, not what we time.
        logger: createJsonLogger({ level: 'warn', write: () => undefined }),
      });
      runtimes.push(runtime);
      return runtime;
    };

    // One binding over the whole fleet: create, change, repeat.
    const one = [SECRET];
    writeFileSync(join(dir, 'store.json'), storeJson(one, 1));
    const runtime = build(one, true);
    const common = { runtime, fleet, endpoints, secrets: one, concurrency: opts.concurrency, counter, floor: opts.floor };
    results.push(await runOne({ ...common, name: `create-${count}`, version: 1, work: () => runtime.handle(changeEvent(SECRET, 1)) }));
    writeFileSync(join(dir, 'store.json'), storeJson(one, 2));
    results.push(await runOne({ ...common, name: `change-${count}`, version: 2, work: () => runtime.handle(changeEvent(SECRET, 2)) }));
    results.push(await runOne({ ...common, name: `repeat-${count}`, version: 2, work: () => runtime.handle(changeEvent(SECRET, 2)) }));

    if (opts.secrets > 1) {
      const many = Array.from({ length: opts.secrets }, (_, i) => `secret-${String(i).padStart(2, '0')}`);
      writeFileSync(join(dir, 'store.json'), storeJson(many, 1));
      const reconcile = build(many, false);
      const rc = { ...common, runtime: reconcile, secrets: many, version: 1 };
      results.push(await runOne({ ...rc, name: `reconcile-create-${count}x${opts.secrets}`, work: () => reconcile.scheduled('reconcile') }));
      results.push(await runOne({ ...rc, name: `reconcile-unchanged-${count}x${opts.secrets}`, work: () => reconcile.scheduled('reconcile') }));
    }
  } finally {
    for (const runtime of runtimes) runtime.close?.();
    closeFloor();
    await fleet.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

function table(results: readonly RunResult[]): string {
  const header = '| run | targets | total ms | CPU ms/target | p50 / p99 ms | requests/target (by verb) | store reads | peak RSS MB | floor ms | floor CPU ms/target | wall x floor | CPU x floor |';
  const rule = '|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|';
  const rows = results.map((r) => {
    const verbs = Object.entries(r.requestsByVerb)
      .filter(([, n]) => n > 0)
      .map(([v, n]) => `${v} ${round(n / Math.max(r.targets, 1), 3)}`)
      .join(', ');
    return `| ${r.name} | ${r.targets} | ${r.totalMs} | ${r.cpuMsPerTarget} | ${r.p50Ms} / ${r.p99Ms} | ${r.requestsPerTarget} (${verbs}) | ${r.storeReads} | ${r.peakRssMb} | ${r.floorMs} | ${r.floorCpuMsPerTarget} | ${r.wallRatio} | ${r.cpuRatio} |`;
  });
  return [header, rule, ...rows].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      clusters: { type: 'string' },
      latency: { type: 'string', default: '25' },
      secrets: { type: 'string', default: '20' },
      concurrency: { type: 'string', default: '256' },
      'no-floor': { type: 'boolean', default: false },
      'no-cold-start': { type: 'boolean', default: false },
    },
  });
  const latencyMs = Number(values.latency);
  const concurrency = Number(values.concurrency);
  const sizes = values.clusters === undefined ? [1, 100, 1500] : [Number(values.clusters)];
  if (sizes.some((n) => !Number.isInteger(n) || n < 1) || !Number.isFinite(latencyMs) || !Number.isInteger(concurrency)) {
    throw new Error('usage: npm run bench -- [--clusters N] [--latency ms] [--secrets S] [--concurrency C]');
  }
  const results: RunResult[] = [];
  for (const [i, n] of sizes.entries()) {
    const last = i === sizes.length - 1;
    const runs = await benchFleet(n, { latencyMs, concurrency, secrets: last ? Number(values.secrets) : 1, floor: !values['no-floor'] });
    for (const r of runs) process.stderr.write(`${r.name}: ${r.totalMs} ms, ${r.cpuMsPerTarget} CPU ms/target, floor ${r.floorMs} ms\n`);
    results.push(...runs);
  }
  const coldStarts = values['no-cold-start'] ? [] : await measureColdStarts(ROOT);
  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version };
  const report = [
    table(results),
    coldStarts.length === 0 ? '' : coldStartTable(coldStarts),
    sizingAndPolling(results, coldStarts, Number(values.secrets)),
  ].filter((part) => part !== '').join('\n\n');
  process.stdout.write(`${report}\n`);
  if (values.clusters === undefined) writeBenchmarks(report, machine, latencyMs, concurrency);
  process.stdout.write(`${JSON.stringify({ machine, latencyMs, runs: results, coldStarts })}\n`);
}

const ROOT = new URL('../../', import.meta.url).pathname;

function coldStartTable(results: readonly ColdStartResult[]): string {
  const rows = results.map(
    (r) => `| ${r.name} | ${round(r.bundleBytes / 1024, 0)} KB | ${Number.isNaN(r.initMs) ? `failed: ${r.error ?? ''}` : `${round(r.initMs, 0)} ms`} |`,
  );
  return ['| function bundle (esbuild, minified) | size | module init (median of 5 fresh processes) |', '|---|---:|---:|', ...rows].join('\n');
}

/**
 * Fan-out sizing from the measured change run, and the polling comparison. A worker that
 * applies B targets spends about B x (CPU ms per target) on its one vCPU plus one round of
 * request latency per step; the coordinator's own read and enqueue come on top.
 */
function sizingAndPolling(results: readonly RunResult[], coldStarts: readonly ColdStartResult[], secrets: number): string {
  const last = <T extends RunResult>(prefix: string) => [...results].reverse().find((r) => r.name.startsWith(prefix)) as T | undefined;
  const change = last('change-');
  const create = last('create-');
  const single = results.find((r) => r.name === 'change-1');
  if (change === undefined || create === undefined) return '';
  // A worker's connections are usually cold (events minutes apart outlive keep-alive), so
  // size with the create run's CPU per target, which includes a TLS handshake per cluster.
  const cpu = Math.max(create.cpuMsPerTarget, change.cpuMsPerTarget);
  const fixedMs = (single?.totalMs ?? 0) + Math.max(0, ...coldStarts.filter((c) => !Number.isNaN(c.initMs)).map((c) => c.initMs));
  const budgetMs = 2000;
  const fleet = 1500;
  const perWorker = Math.max(1, Math.floor((budgetMs - fixedMs) / Math.max(cpu, 0.001)));
  const workers = Math.ceil(fleet / perWorker);
  const batch = 200;
  const batchMs = Math.round(fixedMs + batch * cpu);
  const perDay = (intervalS: number) => fleet * secrets * (86_400 / intervalS);
  const lines = [
    `Fan-out sizing (one vCPU per worker): ${cpu} CPU ms per target with cold connections (create-${create.targets}; ${change.cpuMsPerTarget} when warm) ` +
      `and ${round(fixedMs, 0)} ms fixed per worker (one target's round trips + the slowest bundle init) allow ${perWorker} targets per worker in ${budgetMs} ms: ` +
      `1,500 clusters need at least ${workers} workers. The default batchSize ${batch} gives ${Math.ceil(fleet / batch)} workers of about ${batchMs} ms each, well under ${budgetMs} ms with room for slow clusters.`,
    '',
    `| ${fleet.toLocaleString('en')} clusters x ${secrets} secrets | store reads per day | mean staleness after a change |`,
    '|---|---:|---:|',
    `| polling, refreshInterval 1h (ESO default in most fleets) | ${perDay(3600).toLocaleString('en')} | 30 min + sync time |`,
    `| polling, refreshInterval 15m | ${perDay(900).toLocaleString('en')} | 7.5 min + sync time |`,
    `| secret-propagator, events + hourly reconcile | 1 per change + ${(secrets * 24).toLocaleString('en')} (reconcile) | ${round(change.totalMs / 1000, 2)} s to the last of ${change.targets} clusters (p50 target ${round(change.p50Ms / 1000, 2)} s), one process |`,
  ];
  return lines.join('\n');
}

function writeBenchmarks(report: string, machine: Record<string, unknown>, latencyMs: number, concurrency: number): void {
  const file = join(ROOT, 'BENCHMARKS.md');
  const begin = '<!-- bench:begin -->';
  const end = '<!-- bench:end -->';
  const section = [
    begin,
    `Command: \`npm run bench\` (latency ${latencyMs} ms per request, engine concurrency ${concurrency}), ${new Date().toISOString().slice(0, 10)}.`,
    `Machine: ${String(machine['cpus'])} cores (${String(machine['cpu'])}), ${String(machine['memoryGb'])} GiB, Node ${String(machine['node'])}; the fleet runs in its own process.`,
    '',
    report,
    end,
  ].join('\n');
  const current = existsSync(file) ? readFileSync(file, 'utf8') : `# Benchmarks\n\n${begin}\n${end}\n`;
  const from = current.indexOf(begin);
  const to = current.indexOf(end);
  const next = from >= 0 && to > from ? current.slice(0, from) + section + current.slice(to + end.length) : `${current}\n${section}\n`;
  writeFileSync(file, next);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
