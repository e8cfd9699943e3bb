import { GCProfiler } from 'node:v8';

/** What V8's garbage collector did during a run (see watchGc). */
export interface GcSummary {
  /** Young-generation collections, and the main thread's time in them. */
  scavenges: number;
  scavengeMs: number;
  /** Mark-compact collections of the whole heap, and the main thread's time in them (with their incremental marking steps). */
  fullGcs: number;
  fullGcMs: number;
  /**
   * Bytes that survived a scavenge (copied within the young generation or promoted to the old
   * one). A scavenge costs in proportion to them, not to what was allocated.
   */
  survivedMb: number;
  /** The part of `survivedMb` that scavenges moved to the old generation, where only a full collection frees it. */
  promotedMb: number;
  /** Bytes allocated in the young generation (filled between scavenges). */
  allocatedMb: number;
}

type Space = { spaceName: string; spaceUsedSize: number };
type Snapshot = { heapSpaceStatistics: Space[] };

function used(snapshot: Snapshot, name: string): number {
  return snapshot.heapSpaceStatistics.find((s) => s.spaceName === name)?.spaceUsedSize ?? 0;
}

/**
 * Records every collection from now until `stop`, with V8's own profiler (it reports each
 * collection's main-thread cost and the heap spaces before and after). The helper threads'
 * share of a parallel scavenge is not in `scavengeMs`; it shows in process CPU minus main-thread CPU.
 */
export function watchGc(): { stop(): GcSummary } {
  const profiler = new GCProfiler();
  profiler.start();
  return {
    stop() {
      const stats = profiler.stop()?.statistics ?? [];
      const summary: GcSummary = {
        scavenges: 0,
        scavengeMs: 0,
        fullGcs: 0,
        fullGcMs: 0,
        survivedMb: 0,
        promotedMb: 0,
        allocatedMb: 0,
      };
      let youngLeft = 0;
      for (const { gcType, cost, beforeGC, afterGC } of stats as {
        gcType: string;
        cost: number;
        beforeGC: Snapshot;
        afterGC: Snapshot;
      }[]) {
        const youngBefore = used(beforeGC, 'new_space') + used(beforeGC, 'new_large_object_space');
        const youngAfter = used(afterGC, 'new_space') + used(afterGC, 'new_large_object_space');
        summary.allocatedMb += Math.max(0, youngBefore - youngLeft) / 2 ** 20;
        youngLeft = youngAfter;
        if (gcType === 'Scavenge' || gcType === 'MinorMarkSweep') {
          summary.scavenges += 1;
          summary.scavengeMs += cost / 1000;
          const promoted =
            used(afterGC, 'old_space') +
            used(afterGC, 'large_object_space') -
            used(beforeGC, 'old_space') -
            used(beforeGC, 'large_object_space');
          summary.survivedMb += (youngAfter + Math.max(0, promoted)) / 2 ** 20;
          summary.promotedMb += Math.max(0, promoted) / 2 ** 20;
        } else {
          // A full collection is reported as its incremental marking, then the mark-compact
          // itself (and sometimes weak callbacks): all of it is its cost, one of it its count.
          if (gcType === 'MarkSweepCompact') summary.fullGcs += 1;
          summary.fullGcMs += cost / 1000;
        }
      }
      const tenth = (n: number) => Math.round(n * 10) / 10;
      return {
        scavenges: summary.scavenges,
        scavengeMs: tenth(summary.scavengeMs),
        fullGcs: summary.fullGcs,
        fullGcMs: tenth(summary.fullGcMs),
        survivedMb: tenth(summary.survivedMb),
        promotedMb: tenth(summary.promotedMb),
        allocatedMb: tenth(summary.allocatedMb),
      };
    },
  };
}
