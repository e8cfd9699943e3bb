import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

/**
 * Runs `work` under V8's CPU profiler when `path` (a `.cpuprofile`) is given and writes the
 * profile there, and an allocation profile beside it (`.heapprofile`: every allocation
 * sampled, garbage included, so it shows what feeds the collector). Open either in Chrome
 * DevTools or VS Code. The engine and the floor both use it, so their profiles of one run
 * can be set side by side. BENCH_PROFILE_INTERVAL_US sets the CPU sampling interval (V8's default
 * is 1,000 µs; short runs such as repeat-1500 want about 100).
 */
export async function profiled<T>(path: string | undefined, work: () => Promise<T>): Promise<T> {
  if (path === undefined) return work();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  const interval = Number(process.env['BENCH_PROFILE_INTERVAL_US']);
  if (interval > 0) await session.post('Profiler.setSamplingInterval', { interval });
  await session.post('Profiler.start');
  await session.post('HeapProfiler.enable');
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 16_384,
    includeObjectsCollectedByMajorGC: true,
    // BENCH_HEAP_SURVIVORS=1 leaves out what young collections free: the profile then shows
    // where the objects the scavenger has to copy (or promote) come from.
    includeObjectsCollectedByMinorGC: process.env['BENCH_HEAP_SURVIVORS'] !== '1',
  });
  try {
    return await work();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(path, JSON.stringify(profile));
    const { profile: allocations } = await session.post('HeapProfiler.stopSampling');
    writeFileSync(path.replace(/\.cpuprofile$/, '.heapprofile'), JSON.stringify(allocations));
    session.disconnect();
  }
}
