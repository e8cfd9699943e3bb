import { setFlagsFromString } from 'node:v8';

/** The memory a function gets unless its deployment says otherwise (the AWS stack's `memorySize`). */
export const DEFAULT_FUNCTION_MEMORY_MB = 1024;

/**
 * V8 semi-space size (MB) for a function instance of `memoryMb`: 16 below 1 GB, 32 from 1 GB.
 *
 * V8 sizes its young generation from the instance's memory, so a 256-1024 MB function gets
 * semi-spaces of 1-4 MB, and a fleet run, whose per-request objects live across 25 ms or more
 * of network, promotes most of them and pays for it in old-generation collections. 16 MB
 * semi-spaces (at most 32 MB more memory) took a 30,000-target reconcile in a 256 MB cgroup
 * from 1.8x to 1.4x the floor's CPU. 32 MB halves the young collections again, each of which
 * copies every request still in flight: about 10% less CPU for a warm 1,500-cluster change, for
 * 30-50 MB more peak memory. That is room a 1 GB instance has and a 256 MB one does not (its
 * 30,000-target reconcile peaked at 246-271 MB with 32). BENCHMARKS.md has the figures.
 */
function semiSpaceMb(memoryMb: number): number {
  return memoryMb >= 1024 ? 32 : 16;
}

/**
 * The Node flags a deployed function of `memoryMb` runs with (NODE_OPTIONS on Lambda and Cloud
 * Functions, `languageWorkers__node__arguments` on Azure; infra tests check they agree).
 */
export function functionNodeOptions(memoryMb: number): string {
  return `--enable-source-maps --max-semi-space-size=${semiSpaceMb(memoryMb)}`;
}

/**
 * V8 settings every function runs with that NODE_OPTIONS cannot carry (Node accepts only a short
 * list of V8 flags there), so the runtime sets them itself when it is created, before any fleet
 * work (`applyFunctionV8Flags`).
 *
 * `--no-allocation-site-pretenuring`: V8 watches where objects are allocated and, when most
 * objects from one place survive a young-generation collection, allocates that place's objects
 * straight in the old generation from then on. A fleet run's per-request objects all live across
 * a network round trip, so they look long-lived to that heuristic, although each dies a few tens
 * of milliseconds later: V8 tenured them, and the old generation filled with garbage that only
 * full collections (marking the whole heap) free. Off, a 30,000-target reconcile in a 256 MB
 * cgroup promoted 23-26 MB instead of 90-130 MB and ran about 10 full collections instead of 21-22;
 * its CPU went from 1.40-1.49x the floor's to 1.16-1.53x (three of five runs at 1.16-1.24x;
 * BENCHMARKS.md).
 */
export const FUNCTION_V8_FLAGS: readonly string[] = ['--no-allocation-site-pretenuring'];

/** Applies FUNCTION_V8_FLAGS to this process (idempotent). */
export function applyFunctionV8Flags(): void {
  for (const flag of FUNCTION_V8_FLAGS) setFlagsFromString(flag);
}

/**
 * Whether this process is a deployed function (Lambda, Azure Functions or Cloud Functions), by
 * the variables each platform sets. The V8 flags above are sized for a function instance; the
 * CLI, the demo and the tests run with Node's defaults.
 */
export function isFunctionRuntime(env: NodeJS.ProcessEnv = process.env): boolean {
  return (
    env['AWS_LAMBDA_FUNCTION_NAME'] !== undefined ||
    env['FUNCTIONS_WORKER_RUNTIME'] !== undefined ||
    env['FUNCTION_TARGET'] !== undefined ||
    env['K_SERVICE'] !== undefined
  );
}
