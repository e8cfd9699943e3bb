/**
 * `npm run bench [-- --clusters N] [--latency ms] [--secrets S] [--concurrency C] [--repeats R] [--profile <run>]`
 *
 * Starts N virtual clusters (each its own 127.0.0.1 port and TLS endpoint, `latency` ms
 * added to every request) in a separate process, registers one binding that targets all
 * of them with one dependent Deployment each, changes the secret and measures event ->
 * every Secret written and every restart issued, through the real engine, runtime, local
 * source and Kubernetes gateway. Then the same change again (nothing may be written), and
 * a reconcile of N clusters x S secrets. Beside each run, the floor: node:https alone doing
 * the same requests against the same servers, and the parsing floor: the same, also reading
 * and parsing every GET's answer. The engine (bundled as the functions are) and
 * the floors each run in a process of their own, so each one's CPU and memory are measured
 * alone. Results go to stdout (a table, and one JSON object on the last line) and, for full
 * runs, to BENCHMARKS.md.
 *
 * `--profile <run>` writes CPU and allocation profiles of that run, the engine's and the
 * floor's, to .build/. For comparing engine builds or Node flags, BENCH_ENGINE_BUNDLE=<file>
 * runs a given engine bundle instead of building one, and BENCH_ENGINE_FLAGS adds Node flags
 * to the engine's (after the functions' own, so they win).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { startFleetProcess, type FleetProcess, type RemoteCluster } from '../../dev/kube/fleet-client.js';
import { DEFAULT_FUNCTION_MEMORY_MB, functionNodeOptions } from '../../shared/runtime/node-options.js';
import { memoryCgroupsAvailable, startChild } from './child.js';
import { measureColdStarts, type ColdStartResult } from './cold-start.js';
import type { EngineRun, EngineWork } from './engine-process.js';
import { startFloorProcess, type FloorProcess, type FloorResult } from './floor.js';
import type { GcSummary } from './gc.js';
import { watchMemory, type PeakMemory } from './memory.js';
import { median } from './stats.js';
import { ESM_REQUIRE_BANNER } from '../../shared/runtime/esm-banner.js';

const NAMESPACE = 'app';
/** The function size the reconcile runs are held to (issue #7: under 256 MB at 30,000 targets). */
const RECONCILE_MEMORY_MB = 256;
const WORKLOAD = 'api';
/** Repetitions of the change, repeat and reconcile runs (medians reported), unless `--repeats` says otherwise. */
const DEFAULT_REPEATS = 3;
const SECRET = 'app-db';

/** One run's row: what the engine measured (rounded), the fleet's request counts and the floor beside it. */
export interface RunResult extends Pick<
  MeasuredRun,
  | 'targets'
  | 'p50Ms'
  | 'p99Ms'
  | 'written'
  | 'restarts'
  | 'storeReads'
  | 'connections'
  | 'peakRssMb'
  | 'anonAtPeakMb'
  | 'fileAtPeakMb'
  | 'heapMb'
  | 'externalMb'
> {
  name: string;
  totalMs: number;
  cpuMsPerTarget: number;
  requestsPerTarget: number;
  requestsByVerb: Record<string, number>;
  concurrency: number;
  /** Measured this many times; wall and CPU are the medians. */
  repeats: number;
  floorMs: number;
  floorCpuMsPerTarget: number;
  wallRatio: number;
  cpuRatio: number;
  /**
   * The floor that also reads and JSON.parses the answer to every GET (the least a client
   * deciding from what it reads does), and the engine's CPU as a ratio to it. The targets are
   * against `floor`.
   */
  parsingFloorCpuMsPerTarget: number;
  cpuRatioParsing: number;
  /** Every repetition's CPU per target, engine and floor (the medians are above). */
  cpuMsPerTargetEach: number[];
  floorCpuMsPerTargetEach: number[];
  /**
   * Main-thread CPU per target (median), engine and floor: the rest of each side's CPU ran on
   * V8's helper threads (parallel garbage collection) and libuv's pool.
   */
  mainCpuMsPerTarget: number;
  floorMainCpuMsPerTarget: number;
  /** The collector's work in the repetition with the median wall time, engine and floor. */
  gc: GcSummary;
  floorGc: GcSummary | undefined;
}

// ---------------------------------------------------------------------------
// The fleet process (dev/kube/fleet-process.ts, driven over its control channel)
// ---------------------------------------------------------------------------

type FleetEndpoint = RemoteCluster;

async function startFleet(count: number, latencyMs: number): Promise<FleetProcess> {
  const fleet = await startFleetProcess({
    count,
    latencyMs,
    prefix: 'c',
    rolloutDelayMs: 10,
    startTimeoutMs: 120_000,
  });
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

function registryYaml(
  endpoints: readonly FleetEndpoint[],
  secrets: readonly string[],
  concurrency: number,
  restart: boolean,
): string {
  const clusters = endpoints.map(
    (e) =>
      `  - name: ${e.name}\n    labels: { fleet: bench }\n    server: ${e.server}\n    caData: ${e.caData}\n    auth: { type: token, tokenFrom: { source: cluster-tokens, key: ${e.name} } }`,
  );
  const bindings = secrets.map(
    (s) =>
      `  - name: ${s}\n    source: store\n    remoteRef: { key: ${s} }\n    dataFrom: [ { extract: {} } ]\n    target: { name: ${s}, namespace: ${NAMESPACE}, clusters: { matchLabels: { fleet: bench } } }\n` +
      (restart
        ? `    restart: { workloads: [ { kind: Deployment, name: ${WORKLOAD} } ] }`
        : '    restart: false'),
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

// ---------------------------------------------------------------------------
// Measuring
// ---------------------------------------------------------------------------

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

/** Runs `work` on `child`: the warm one as it is, or a fresh one from a factory, stopped afterwards. */
async function inProcess<P extends { stop(): Promise<void> }, T>(
  child: P | (() => Promise<P>),
  work: (p: P) => Promise<T>,
): Promise<T> {
  if (typeof child !== 'function') return work(child);
  const fresh = await child();
  return work(fresh).finally(() => fresh.stop());
}

/**
 * One run: the engine's work, then the floor doing the same requests. With `repeats`, both
 * are measured that many times, alternating, and the medians of wall and CPU time are
 * reported (this machine's figures vary by about 20% from one run to the next); `before(i)`
 * prepares repetition i (a change needs a new version each time). `engine` and `floor` are
 * each one warm process, or a function that starts a fresh one for each repetition (stopped
 * after it).
 */
async function runOne(options: {
  name: string;
  engine: EngineProcess | (() => Promise<EngineProcess>);
  work: (i: number) => EngineWork;
  before?: (i: number) => void | Promise<void>;
  repeats?: number;
  /** Repetitions run first and not counted (both sides), for code paths no earlier run has warmed. */
  warmup?: number;
  fleet: FleetProcess;
  endpoints: readonly FleetEndpoint[];
  secrets: readonly string[];
  version: number;
  concurrency: number;
  floor: FloorProcess | (() => Promise<FloorProcess>) | undefined;
  /** Also run the parsing floor (default true). */
  parsingFloor?: boolean;
  profile: string | undefined;
}): Promise<RunResult> {
  const { fleet, endpoints, secrets } = options;
  const engineRuns: MeasuredRun[] = [];
  const floorRuns: FloorResult[] = [];
  const parsingFloorRuns: FloorResult[] = [];
  let byVerb: Record<string, number> = {};
  const warmup = options.warmup ?? 0;
  for (let i = 0; i < warmup + (options.repeats ?? 1); i += 1) {
    const counted = i >= warmup;
    await options.before?.(i);
    await fleet.resetRequests();
    const profile =
      options.profile === options.name && i === warmup
        ? join(ROOT, '.build', `${options.name}.cpuprofile`)
        : undefined;
    const m = await inProcess(options.engine, (engine) => engine.run(options.work(i), profile));
    if (profile !== undefined) process.stderr.write(`The engine's CPU profile written to ${profile}\n`);
    if (m.failures.length > 0) {
      throw new Error(
        `${options.name}: ${m.failures.length} failed targets or bindings (${[...new Set(m.failures)].join(', ')}) after ${round(m.wallMs)} ms; the benchmark only reports clean runs`,
      );
    }
    if (counted) engineRuns.push(m);
    byVerb = await settledRequests(fleet);
    if (options.floor !== undefined) {
      const perCluster = Object.fromEntries(
        Object.entries(byVerb).map(([verb, n]) => [verb, n / endpoints.length]),
      );
      const floorProfile = profile?.replace(/\.cpuprofile$/, '.floor.cpuprofile');
      const spec = {
        perCluster,
        secrets,
        version: options.version,
        namespace: NAMESPACE,
        workload: WORKLOAD,
      };
      const floorRun = await inProcess(options.floor, (floor) =>
        floor.run(spec, options.concurrency, floorProfile),
      );
      if (counted) floorRuns.push(floorRun);
      if (floorProfile !== undefined)
        process.stderr.write(`The floor's CPU profile written to ${floorProfile}\n`);
      if (options.parsingFloor !== false) {
        const parsing = await inProcess(options.floor, (floor) =>
          floor.run(spec, options.concurrency, undefined, true),
        );
        if (counted) parsingFloorRuns.push(parsing);
      }
    }
  }
  const wallMs = median(engineRuns.map((r) => r.wallMs));
  const cpuMs = median(engineRuns.map((r) => r.cpuMs));
  const floorMs = median(floorRuns.map((r) => r.wallMs));
  const floorCpu = median(floorRuns.map((r) => r.cpuMs));
  const parsingFloorCpu = median(parsingFloorRuns.map((r) => r.cpuMs));
  // Latency percentiles and memory of the repetition with the median wall time; peak RSS the highest.
  const m = engineRuns.find((r) => r.wallMs === wallMs) ?? engineRuns[0];
  if (m === undefined) throw new Error(`${options.name}: no repetition ran`);
  const requests = Object.values(byVerb).reduce((x, y) => x + y, 0);
  const targets = Math.max(m.targets, 1);
  return {
    name: options.name,
    targets: m.targets,
    totalMs: round(wallMs, 1),
    cpuMsPerTarget: round(cpuMs / targets, 3),
    p50Ms: round(m.p50Ms, 1),
    p99Ms: round(m.p99Ms, 1),
    requestsPerTarget: round(requests / targets, 3),
    requestsByVerb: byVerb,
    written: m.written,
    restarts: m.restarts,
    storeReads: m.storeReads,
    connections: m.connections,
    peakRssMb: round(Math.max(...engineRuns.map((r) => r.peakRssMb)), 1),
    anonAtPeakMb: round(m.anonAtPeakMb, 1),
    fileAtPeakMb: round(m.fileAtPeakMb, 1),
    heapMb: round(m.heapMb, 1),
    externalMb: round(m.externalMb, 1),
    concurrency: options.concurrency,
    repeats: engineRuns.length,
    floorMs: round(floorMs, 1),
    floorCpuMsPerTarget: round(floorCpu / targets, 3),
    wallRatio: round(wallMs / floorMs, 2),
    cpuRatio: round(cpuMs / floorCpu, 2),
    parsingFloorCpuMsPerTarget: round(parsingFloorCpu / targets, 3),
    cpuRatioParsing: round(cpuMs / parsingFloorCpu, 2),
    cpuMsPerTargetEach: engineRuns.map((r) => round(r.cpuMs / targets, 3)),
    floorCpuMsPerTargetEach: floorRuns.map((r) => round(r.cpuMs / targets, 3)),
    mainCpuMsPerTarget: round(median(engineRuns.map((r) => r.mainCpuMs)) / targets, 3),
    floorMainCpuMsPerTarget: round(median(floorRuns.map((r) => r.mainCpuMs)) / targets, 3),
    gc: m.gc,
    floorGc: floorRuns.find((r) => r.wallMs === floorMs)?.gc ?? floorRuns[0]?.gc,
  };
}

/**
 * The fleet's per-verb request counts once they stop moving: it counts a request when it has
 * finished answering it, which can be a little after the engine has its answer.
 */
async function settledRequests(fleet: FleetProcess): Promise<Record<string, number>> {
  let previous = -1;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const { total, byVerb } = await fleet.requests();
    if (total === previous) return byVerb;
    previous = total;
  }
}

/** One engine run with the engine's memory, watched from outside its process. */
type MeasuredRun = EngineRun & PeakMemory;

/** The engine in a fresh process of its own (see engine-process.ts), built from `bundle`. */
interface EngineProcess {
  run(work: EngineWork, profile?: string): Promise<MeasuredRun>;
  stop(): Promise<void>;
}

/**
 * The engine in a fresh process, as a function instance of `functionMemoryMb` runs it: with
 * that instance's Node flags, and with `memoryLimitMb`, in a memory cgroup of that size.
 */
async function startEngine(
  bundle: string,
  registry: string,
  dir: string,
  functionMemoryMb: number,
  memoryLimitMb: number | undefined,
): Promise<EngineProcess> {
  const flags = [
    ...functionNodeOptions(functionMemoryMb).split(' '),
    ...(process.env.BENCH_ENGINE_FLAGS?.split(' ').filter(Boolean) ?? []),
  ];
  const child = startChild(bundle, {
    execArgv: flags,
    ...(memoryLimitMb === undefined ? {} : { memoryLimitMb }),
  });
  await child.call({ op: 'setup', registry, dir });
  return {
    async run(work, profile) {
      const memory = watchMemory(child.pid);
      const result = child.call<EngineRun>({
        op: 'run',
        work,
        ...(profile === undefined ? {} : { profile }),
      });
      const peak = await result.then(memory.stop, (error: unknown) => {
        memory.stop();
        throw error;
      });
      return { ...(await result), ...peak };
    },
    stop: () => child.stop(),
  };
}

/** Bundles engine-process.ts the way the functions are built (one ESM file, no loader at run time). */
async function buildEngine(): Promise<string> {
  const outfile = join(ROOT, '.build', 'bench-engine.mjs');
  await build({
    entryPoints: [join(ROOT, 'test', 'bench', 'engine-process.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    banner: { js: ESM_REQUIRE_BANNER },
    logLevel: 'warning',
  });
  return outfile;
}

/** One fleet size: create pass, a change, the same change again, optionally a reconcile of S secrets. */
async function benchFleet(
  count: number,
  opts: {
    latencyMs: number;
    concurrency: number;
    secrets: number;
    repeats: number;
    floor: boolean;
    profile: string | undefined;
    engineBundle: string;
    memoryLimited: boolean;
  },
): Promise<RunResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'sp-bench-'));
  const fleet = await startFleet(count, opts.latencyMs);
  const endpoints = fleet.clusters;
  // The change runs model the event function at the stacks' default memory; the floor beside
  // them runs with the same Node flags.
  const floor = opts.floor
    ? await startFloorProcess(endpoints, { functionMemoryMb: DEFAULT_FUNCTION_MEMORY_MB })
    : undefined;
  const results: RunResult[] = [];
  const engines: EngineProcess[] = [];
  const engine = async (
    secrets: readonly string[],
    restart: boolean,
    functionMemoryMb: number,
    memoryLimitMb?: number,
  ) => {
    const started = await startEngine(
      opts.engineBundle,
      registryYaml(endpoints, secrets, opts.concurrency, restart),
      dir,
      functionMemoryMb,
      memoryLimitMb,
    );
    engines.push(started);
    return started;
  };
  try {
    writeFileSync(
      join(dir, 'tokens.json'),
      JSON.stringify(Object.fromEntries(endpoints.map((e) => [e.name, e.token]))),
    );

    // One binding over the whole fleet: create, change, repeat, in one warm engine.
    const one = [SECRET];
    writeFileSync(join(dir, 'store.json'), storeJson(one, 1));
    const warm = await engine(one, true, DEFAULT_FUNCTION_MEMORY_MB);
    const common = {
      engine: warm,
      fleet,
      endpoints,
      secrets: one,
      concurrency: opts.concurrency,
      floor,
      profile: opts.profile,
    };
    // No parsing floor here: the floor's first run opens its connections, so a second one would not be comparable.
    results.push(
      await runOne({
        ...common,
        name: `create-${count}`,
        version: 1,
        parsingFloor: false,
        work: () => ({ kind: 'change', secret: SECRET, version: 1 }),
      }),
    );
    // A warm-up change (version 2: the create only warmed the read and create paths, not the
    // update and restart ones), `repeats` measured changes (versions 3, 4, ...), then the last
    // one `repeats` more times: medians.
    results.push(
      await runOne({
        ...common,
        name: `change-${count}`,
        version: 2,
        warmup: 1,
        repeats: opts.repeats,
        before: (i) => writeFileSync(join(dir, 'store.json'), storeJson(one, 2 + i)),
        work: (i) => ({ kind: 'change', secret: SECRET, version: 2 + i }),
      }),
    );
    const last = 2 + opts.repeats;
    results.push(
      await runOne({
        ...common,
        name: `repeat-${count}`,
        version: last,
        repeats: opts.repeats,
        work: () => ({ kind: 'change', secret: SECRET, version: last }),
      }),
    );
    await warm.stop();

    if (opts.secrets > 1) {
      // The scheduled reconcile as a fresh function instance of RECONCILE_MEMORY_MB runs it:
      // a new engine process in a memory cgroup of that size where this machine allows one
      // (Node then sizes its heap, and `idleConnections: auto` its kept connections, for it;
      // going over gets the process killed), and cold connections. The floor beside it is
      // held to the same memory in a cgroup of its own.
      const limit = opts.memoryLimited ? RECONCILE_MEMORY_MB : undefined;
      const many = Array.from({ length: opts.secrets }, (_, i) => `secret-${String(i).padStart(2, '0')}`);
      writeFileSync(join(dir, 'store.json'), storeJson(many, 1));
      // Each repetition in fresh processes, engine and floor, so both start with cold code and
      // cold connections: the next hourly reconcile finds no connection from an hour before (NAT
      // gateways and load balancers drop idle flows within minutes).
      const freshFloor = () =>
        startFloorProcess(endpoints, {
          functionMemoryMb: RECONCILE_MEMORY_MB,
          ...(limit === undefined ? {} : { memoryLimitMb: limit }),
        });
      const rc = {
        ...common,
        floor: opts.floor ? freshFloor : undefined,
        secrets: many,
        version: 1,
        engine: () => engine(many, false, RECONCILE_MEMORY_MB, limit),
        repeats: opts.repeats,
      };
      const work = (): EngineWork => ({ kind: 'reconcile' });
      // Every repetition of the first reconcile creates all 30,000 Secrets: the last one's are removed first.
      const removeSecrets = async () => void (await fleet.removeAll(undefined, 'secrets'));
      results.push(
        await runOne({
          ...rc,
          name: `reconcile-create-${count}x${opts.secrets}`,
          before: removeSecrets,
          work,
        }),
      );
      // The next reconcile finds nothing to do.
      results.push(await runOne({ ...rc, name: `reconcile-unchanged-${count}x${opts.secrets}`, work }));
      // `status` over the same fleet: one listing per cluster and namespace, nothing written (no floor: it is a read).
      results.push(
        await runOne({
          ...rc,
          floor: undefined,
          name: `status-${count}x${opts.secrets}`,
          work: () => ({ kind: 'status' }),
        }),
      );
    }
  } finally {
    for (const e of engines) await e.stop();
    await floor?.stop();
    await fleet.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

function table(results: readonly RunResult[]): string {
  const header =
    '| run | targets | total ms | CPU ms/target | p50 / p99 ms | requests/target (by verb) | store reads | peak RSS MB | floor ms | floor CPU ms/target | wall x floor | CPU x floor | CPU x parsing floor |';
  const rule = '|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|';
  const rows = results.map((r) => {
    const verbs = Object.entries(r.requestsByVerb)
      .filter(([, n]) => n > 0)
      .map(([v, n]) => `${v} ${round(n / Math.max(r.targets, 1), 3)}`)
      .join(', ');
    // Runs without a floor (status) show a dash where the floor's figures would be.
    const f = (n: number) => (Number.isNaN(n) ? '—' : String(n));
    return `| ${r.name} | ${r.targets} | ${r.totalMs} | ${r.cpuMsPerTarget} | ${r.p50Ms} / ${r.p99Ms} | ${r.requestsPerTarget} (${verbs}) | ${r.storeReads} | ${r.peakRssMb} | ${f(r.floorMs)} | ${f(r.floorCpuMsPerTarget)} | ${f(r.wallRatio)} | ${f(r.cpuRatio)} | ${f(r.cpuRatioParsing)} |`;
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
      repeats: { type: 'string', default: String(DEFAULT_REPEATS) },
      'no-floor': { type: 'boolean', default: false },
      'no-cold-start': { type: 'boolean', default: false },
      /** A run's name (e.g. reconcile-unchanged-1500x20): write its CPU profile to .build/<name>.cpuprofile. */
      profile: { type: 'string' },
    },
  });
  const latencyMs = Number(values.latency);
  const concurrency = Number(values.concurrency);
  const repeats = Number(values.repeats);
  const sizes = values.clusters === undefined ? [1, 100, 1500] : [Number(values.clusters)];
  if (
    sizes.some((n) => !Number.isInteger(n) || n < 1) ||
    !Number.isFinite(latencyMs) ||
    !Number.isInteger(concurrency) ||
    !Number.isInteger(repeats) ||
    repeats < 1
  ) {
    throw new Error(
      'usage: npm run bench -- [--clusters N] [--latency ms] [--secrets S] [--concurrency C] [--repeats R]',
    );
  }
  const engineBundle = process.env.BENCH_ENGINE_BUNDLE ?? (await buildEngine());
  const memoryLimited = memoryCgroupsAvailable();
  process.stderr.write(
    memoryLimited
      ? `reconcile runs: engine and floor each in a ${RECONCILE_MEMORY_MB} MB memory cgroup\n`
      : `reconcile runs: no memory cgroup available here, so not held to ${RECONCILE_MEMORY_MB} MB\n`,
  );
  const results: RunResult[] = [];
  for (const [i, n] of sizes.entries()) {
    const last = i === sizes.length - 1;
    const runs = await benchFleet(n, {
      latencyMs,
      concurrency,
      secrets: last ? Number(values.secrets) : 1,
      repeats,
      floor: !values['no-floor'],
      profile: values.profile,
      engineBundle,
      memoryLimited,
    });
    for (const r of runs)
      process.stderr.write(
        `${r.name}: ${r.totalMs} ms, ${r.cpuMsPerTarget} CPU ms/target, peak RSS ${r.peakRssMb} MB, floor ${r.floorMs} ms\n`,
      );
    results.push(...runs);
  }
  const coldStarts = values['no-cold-start'] ? [] : await measureColdStarts(ROOT);
  const machine: Machine = {
    cpus: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    reconcileMemoryLimitMb: memoryLimited ? RECONCILE_MEMORY_MB : null,
  };
  const report = [
    table(results),
    coldStarts.length === 0 ? '' : coldStartTable(coldStarts),
    sizingAndPolling(results, coldStarts, Number(values.secrets)),
  ]
    .filter((part) => part !== '')
    .join('\n\n');
  process.stdout.write(`${report}\n`);
  if (values.clusters === undefined) writeBenchmarks(report, machine, latencyMs, concurrency, repeats);
  process.stdout.write(`${JSON.stringify({ machine, latencyMs, runs: results, coldStarts })}\n`);
}

const ROOT = new URL('../../', import.meta.url).pathname;

interface Machine {
  cpus: number;
  cpu: string;
  memoryGb: number;
  node: string;
  reconcileMemoryLimitMb: number | null;
}

function coldStartTable(results: readonly ColdStartResult[]): string {
  const rows = results.map(
    (r) =>
      `| ${r.name} | ${round(r.bundleBytes / 1024, 0)} KB | ${Number.isNaN(r.initMs) ? `failed: ${r.error ?? ''}` : `${round(r.initMs, 0)} ms`} |`,
  );
  return [
    '| function bundle (esbuild, minified) | size | module init (median of 5 fresh processes) |',
    '|---|---:|---:|',
    ...rows,
  ].join('\n');
}

/**
 * Fan-out sizing from the measured change run, and the polling comparison. A worker that
 * applies B targets spends about B x (CPU ms per target) on its one vCPU plus one round of
 * request latency per step; the coordinator's own read and enqueue come on top.
 */
function sizingAndPolling(
  results: readonly RunResult[],
  coldStarts: readonly ColdStartResult[],
  secrets: number,
): string {
  const last = <T extends RunResult>(prefix: string) =>
    [...results].reverse().find((r) => r.name.startsWith(prefix)) as T | undefined;
  const change = last('change-');
  const create = last('create-');
  const single = results.find((r) => r.name === 'change-1');
  if (change === undefined || create === undefined) return '';
  // A worker's connections are usually cold (events minutes apart outlive keep-alive), so
  // size with the create run's CPU per target, which includes a TLS handshake per cluster.
  const cpu = Math.max(create.cpuMsPerTarget, change.cpuMsPerTarget);
  const fixedMs =
    (single?.totalMs ?? 0) +
    Math.max(0, ...coldStarts.filter((c) => !Number.isNaN(c.initMs)).map((c) => c.initMs));
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
      `1,500 clusters need at least ${workers} workers. The default batchSize ${batch} gives ${Math.ceil(fleet / batch)} workers of about ${batchMs} ms each, ${batchMs <= budgetMs / 2 ? `well under ${budgetMs} ms with room for slow clusters` : batchMs <= budgetMs ? `under ${budgetMs} ms` : `over ${budgetMs} ms: use a smaller batchSize`}.`,
    '',
    `| ${fleet.toLocaleString('en')} clusters x ${secrets} secrets | store reads per day | mean staleness after a change |`,
    '|---|---:|---:|',
    `| polling, refreshInterval 1h (ESO default in most fleets) | ${perDay(3600).toLocaleString('en')} | 30 min + sync time |`,
    `| polling, refreshInterval 15m | ${perDay(900).toLocaleString('en')} | 7.5 min + sync time |`,
    `| secret-propagator, events + hourly reconcile | 1 per change + ${(secrets * 24).toLocaleString('en')} (reconcile) | ${round(change.totalMs / 1000, 2)} s to the last of ${change.targets} clusters (p50 target ${round(change.p50Ms / 1000, 2)} s), one process |`,
  ];
  return lines.join('\n');
}

function writeBenchmarks(
  report: string,
  machine: Machine,
  latencyMs: number,
  concurrency: number,
  repeats: number,
): void {
  const file = join(ROOT, 'BENCHMARKS.md');
  const begin = '<!-- bench:begin -->';
  const end = '<!-- bench:end -->';
  const section = [
    begin,
    `Command: \`npm run bench\` (latency ${latencyMs} ms per request, engine concurrency ${concurrency}), ${new Date().toISOString().slice(0, 10)}.`,
    `Machine: ${machine.cpus} cores (${machine.cpu}), ${machine.memoryGb} GiB, Node ${machine.node}. ` +
      'The fleet, the floor and the engine (bundled with esbuild, as deployed) each run in a process of their own; ' +
      (machine.reconcileMemoryLimitMb === null
        ? 'no memory cgroup was available, so the reconcile runs were not held to a memory limit.'
        : `in the reconcile runs, the engine and the floor each ran in a ${machine.reconcileMemoryLimitMb} MB memory cgroup, as a function instance of that size.`) +
      ` The change, repeat and reconcile rows are medians of ${repeats} runs (engine, floor and parsing floor alternating; the change rows after one unmeasured warm-up change on both sides; each reconcile in fresh engine and floor processes, so cold code and cold connections on both sides, the Secrets removed before each reconcile-create); the create rows ran once.`,
    '',
    report,
    end,
  ].join('\n');
  const current = existsSync(file) ? readFileSync(file, 'utf8') : `# Benchmarks\n\n${begin}\n${end}\n`;
  const from = current.indexOf(begin);
  const to = current.indexOf(end);
  const next =
    from >= 0 && to > from
      ? current.slice(0, from) + section + current.slice(to + end.length)
      : `${current}\n${section}\n`;
  writeFileSync(file, next);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
