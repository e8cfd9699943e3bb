import type { Metrics } from '../core/ports.js';

/** Metric names the engine emits (dimensions in comments). */
export const MetricName = {
  /** Targets by final outcome. dims: outcome */
  Targets: 'targets',
  /** Workloads restarted. */
  Restarts: 'restarts',
  /** Restarts that failed. */
  RestartFailures: 'restart.failures',
  /** Rendered values refused by a validation gate. dims: binding */
  GateFailures: 'gate.failures',
  /** Bindings that failed before any target (read, render). dims: errorCode */
  BindingErrors: 'binding.errors',
  /** Expiry warnings received. dims: kind */
  ExpiryWarnings: 'expiry.warnings',
  /** Certificates found expiring within the window by a scheduled reconcile. dims: binding */
  CertificatesExpiring: 'certificates.expiring',
  /** Work items enqueued for fan-out. */
  WorkItems: 'workitems.enqueued',
  /** Duration of one target. */
  TargetDuration: 'target.duration',
  /** Duration of one binding's change. */
  ChangeDuration: 'change.duration',
  /** Store reads actually issued (after the per-invocation cache). */
  StoreReads: 'store.reads',
} as const;

export interface MemoryMetrics extends Metrics {
  /** Sum of a counter, optionally only for points whose dimensions include `dimensions`. */
  counter(name: string, dimensions?: Record<string, string>): number;
  /** Every timing recorded under `name`. */
  timings(name: string): number[];
  readonly points: ReadonlyArray<{
    type: 'count' | 'timing';
    name: string;
    value: number;
    dimensions: Record<string, string>;
  }>;
  reset(): void;
}

function includes(have: Record<string, string>, want: Record<string, string> | undefined): boolean {
  if (want === undefined) return true;
  for (const [k, v] of Object.entries(want)) if (have[k] !== v) return false;
  return true;
}

/** Metrics kept in memory, for tests and the CLI summary. */
export function createMemoryMetrics(): MemoryMetrics {
  const points: {
    type: 'count' | 'timing';
    name: string;
    value: number;
    dimensions: Record<string, string>;
  }[] = [];
  return {
    points,
    count(name, value = 1, dimensions = {}) {
      points.push({ type: 'count', name, value, dimensions });
    },
    timing(name, ms, dimensions = {}) {
      points.push({ type: 'timing', name, value: ms, dimensions });
    },
    counter(name, dimensions) {
      let sum = 0;
      for (const p of points)
        if (p.type === 'count' && p.name === name && includes(p.dimensions, dimensions)) sum += p.value;
      return sum;
    },
    timings(name) {
      return points.filter((p) => p.type === 'timing' && p.name === name).map((p) => p.value);
    },
    reset() {
      points.length = 0;
    },
  };
}

/** Metrics that go nowhere. */
export const noopMetrics: Metrics = { count: () => undefined, timing: () => undefined };
