import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

/**
 * Runs `work` under V8's CPU profiler when `path` (a `.cpuprofile`) is given and writes the
 * profile there, and an allocation profile beside it (`.heapprofile`: every allocation
 * sampled, garbage included, so it shows what feeds the collector). Open either in Chrome
 * DevTools or VS Code. The engine and the floor both use it, so their profiles of one run
 * can be set side by side.
 */
export async function profiled<T>(path: string | undefined, work: () => Promise<T>): Promise<T> {
  if (path === undefined) return work();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  await session.post('HeapProfiler.enable');
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 16_384,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
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
