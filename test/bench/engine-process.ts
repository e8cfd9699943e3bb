/**
 * The engine side of the benchmark, in a process of its own: run.ts bundles this file with
 * esbuild (as the functions are deployed) and starts it fresh for each group of runs, so a
 * run's CPU and peak RSS are the engine's alone, not the harness's, the floor's or an
 * earlier group's. Driven over IPC: `setup` builds the runtime from a registry, `run`
 * performs one change or reconcile and answers with what it measured. Exits when the
 * channel closes.
 */
import { subscribe } from 'node:diagnostics_channel';
import type { SecretChange } from '../../shared/core/change.js';
import type { SecretSource } from '../../shared/core/ports.js';
import type { ChangeReport } from '../../shared/engine/types.js';
import { normalizeEvent } from '../../shared/events/index.js';
import { parseRegistry } from '../../shared/registry/load.js';
import { createRuntime, type Runtime } from '../../shared/runtime/index.js';
import { applyFunctionV8Flags } from '../../shared/runtime/node-options.js';
import { localSourceFactory } from '../../shared/sources/local/index.js';
import { createJsonLogger } from '../../shared/telemetry/index.js';
import { watchGc, type GcSummary } from './gc.js';
import { profiled } from './profile.js';
import { percentile } from './stats.js';

// The V8 settings a deployed function runs with. createRuntime applies them only where it
// sees a function platform's environment, which this process is not, so the bench applies
// them itself, as the floor's process does.
applyFunctionV8Flags();

/** What the engine is asked to do in one run. */
export type EngineWork =
  { kind: 'change'; secret: string; version: number } | { kind: 'reconcile' } | { kind: 'status' };

/** What one run measured, summarised in the engine process (30,000 reports stay there). */
export interface EngineRun {
  wallMs: number;
  cpuMs: number;
  /** The main thread's share of `cpuMs` (the rest is V8's helper threads, mostly the garbage collector, and libuv's pool). */
  mainCpuMs: number;
  gc: GcSummary;
  /** V8 heap and off-heap memory (TLS, buffers) in use right after the run. */
  heapMb: number;
  externalMb: number;
  targets: number;
  written: number;
  restarts: number;
  storeReads: number;
  /** Connections (TLS handshakes) opened during the run. */
  connections: number;
  p50Ms: number;
  p99Ms: number;
  /** Error codes of failed targets and bindings (empty for a clean run). */
  failures: string[];
}

export type EngineMessage =
  | { id: number; op: 'setup'; registry: string; dir: string }
  | { id: number; op: 'run'; work: EngineWork; profile?: string };

function changeEvent(secret: string, version: number): SecretChange {
  const normalized = normalizeEvent('local', {
    type: 'secret-version-created',
    secret,
    version: String(version),
    id: `bench-${secret}-${version}`,
    time: new Date().toISOString(),
  });
  if (!('changes' in normalized) || normalized.changes[0] === undefined)
    throw new Error('local event was not normalised into a change');
  return normalized.changes[0];
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

const counter = { reads: 0, connections: 0 };
// Every TCP connection the engine opens (each one a TLS handshake to an API server).
subscribe('net.client.socket', () => {
  counter.connections += 1;
});
let runtime: Runtime | undefined;

function setup(registry: string, dir: string): void {
  runtime?.close?.();
  runtime = createRuntime({
    loaded: parseRegistry(registry, 'bench', dir),
    sources: {
      local: (spec, ctx) =>
        spec.name === 'store'
          ? countReads(localSourceFactory(spec, ctx), counter)
          : localSourceFactory(spec, ctx),
    },
    // Warnings and errors only: the summary and per-target lines are what a person reads, not what we time.
    logger: createJsonLogger({ level: 'warn', write: () => undefined }),
  });
}

/** One run, with wall time and this process's CPU (its memory is watched from outside: see memory.ts); with `profile`, its profiles are written there. */
async function run(work: EngineWork, profile: string | undefined): Promise<EngineRun> {
  const rt = runtime;
  if (rt === undefined) throw new Error('run before setup');
  counter.reads = 0;
  counter.connections = 0;
  const cpu = process.cpuUsage();
  const mainCpu = process.threadCpuUsage();
  const gc = watchGc();
  const start = performance.now();
  if (work.kind === 'status') return statusRun(rt, profile);
  const reports: ChangeReport[] = await profiled(profile, () =>
    work.kind === 'change' ? rt.handle(changeEvent(work.secret, work.version)) : rt.scheduled('reconcile'),
  );
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  const main = process.threadCpuUsage(mainCpu);
  const collected = gc.stop();
  const memory = process.memoryUsage();
  const latencies = reports.flatMap((r) => r.targets.map((t) => t.durationMs)).sort((a, b) => a - b);
  return {
    wallMs,
    cpuMs: (used.user + used.system) / 1000,
    mainCpuMs: (main.user + main.system) / 1000,
    gc: collected,
    heapMb: memory.heapUsed / 2 ** 20,
    externalMb: memory.external / 2 ** 20,
    targets: latencies.length,
    written: reports.reduce((n, r) => n + r.counts.created + r.counts.updated, 0),
    restarts: reports.reduce((n, r) => n + r.restarts, 0),
    storeReads: counter.reads,
    connections: counter.connections,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    failures: reports.flatMap((r) => [
      ...(r.error ? [r.error.code] : []),
      ...r.targets.filter((t) => t.outcome === 'failed').map((t) => t.errorCode ?? '?'),
    ]),
  };
}

/** `status` over the fleet: reads only; a target not current counts as a failure (the bench expects all current). */
async function statusRun(rt: Runtime, profile: string | undefined): Promise<EngineRun> {
  const cpu = process.cpuUsage();
  const mainCpu = process.threadCpuUsage();
  const gc = watchGc();
  const start = performance.now();
  const bindings = await profiled(profile, () => rt.propagator.status());
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  const main = process.threadCpuUsage(mainCpu);
  const memory = process.memoryUsage();
  return {
    wallMs,
    cpuMs: (used.user + used.system) / 1000,
    mainCpuMs: (main.user + main.system) / 1000,
    gc: gc.stop(),
    heapMb: memory.heapUsed / 2 ** 20,
    externalMb: memory.external / 2 ** 20,
    targets: bindings.reduce((n, b) => n + b.targets.length, 0),
    written: 0,
    restarts: 0,
    storeReads: counter.reads,
    connections: counter.connections,
    p50Ms: 0,
    p99Ms: 0,
    failures: bindings.flatMap((b) => [
      ...(b.error ? [b.error.code] : []),
      ...b.targets.filter((t) => t.state !== 'current').map((t) => t.errorCode ?? t.state),
    ]),
  };
}

process.on('message', (message: EngineMessage) => {
  const reply = (body: Record<string, unknown>) => process.send?.({ id: message.id, ...body });
  const fail = (error: unknown) => reply({ error: error instanceof Error ? error.message : String(error) });
  try {
    if (message.op === 'setup') {
      setup(message.registry, message.dir);
      reply({});
    } else {
      run(message.work, message.profile).then((result) => reply({ result }), fail);
    }
  } catch (error) {
    fail(error);
  }
});
process.on('disconnect', () => {
  runtime?.close?.();
  process.exit(0);
});
