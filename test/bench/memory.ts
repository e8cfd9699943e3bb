import { readFileSync, writeFileSync } from 'node:fs';

/** Peak resident memory of a process over a run, and its anonymous and file-backed parts at the highest sample. */
export interface PeakMemory {
  peakRssMb: number;
  anonAtPeakMb: number;
  fileAtPeakMb: number;
}

function status(pid: number): { rss: number; hwm: number; anon: number; file: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'latin1');
    const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(text)?.[1]) / 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM'), anon: kb('RssAnon'), file: kb('RssFile') };
  } catch {
    return undefined; // not Linux, or the process is gone
  }
}

/**
 * Watches another process's memory from outside it, so that measuring costs the measured
 * process nothing. The kernel's high-water mark (VmHWM) is reset at the start (clear_refs
 * "5") and read at the end, so the peak is exact rather than sampled; samples every 20 ms
 * give the anonymous / file-backed split near it. Where /proc is missing, every figure is NaN.
 */
export function watchMemory(pid: number | undefined): { stop(): PeakMemory } {
  const none = { peakRssMb: Number.NaN, anonAtPeakMb: Number.NaN, fileAtPeakMb: Number.NaN };
  if (pid === undefined || status(pid) === undefined) return { stop: () => none };
  let exact = true;
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    exact = false; // an older kernel: the highest sample has to do
  }
  let peak = status(pid);
  const timer = setInterval(() => {
    const now = status(pid);
    if (now !== undefined && (peak === undefined || now.rss > peak.rss)) peak = now;
  }, 20);
  return {
    stop() {
      clearInterval(timer);
      const end = status(pid);
      if (end !== undefined && (peak === undefined || end.rss > peak.rss)) peak = end;
      if (peak === undefined) return none;
      return {
        peakRssMb: Math.max(peak.rss, exact && end !== undefined ? end.hwm : 0),
        anonAtPeakMb: peak.anon,
        fileAtPeakMb: peak.file,
      };
    },
  };
}
