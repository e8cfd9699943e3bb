/**
 * The health gate between waves: after a wave's restarts, wait until every restarted workload
 * has rolled out and is available (as `kubectl rollout status` decides it), then stay healthy
 * for the bake time. A workload whose controller gives up fails the gate at once; one still
 * waiting at the deadline fails it with the reason it was waiting for.
 */
import type { Clock, ClusterGateway, WorkloadKind } from '../core/ports.js';

/** A workload a wave restarted, on the gateway of its cluster. */
export interface GatedWorkload {
  cluster: string;
  gateway: ClusterGateway;
  kind: WorkloadKind;
  namespace: string;
  name: string;
}

export interface HealthGateSettings {
  /** How long the workloads may take to roll out (`rollout.healthTimeout`). */
  timeoutMs: number;
  /** How long they must then stay healthy (`rollout.bakeTime`); 0: no bake. */
  bakeMs: number;
  /** Time between two readings of every pending workload. */
  pollMs: number;
}

export interface UnhealthyWorkload {
  cluster: string;
  kind: WorkloadKind;
  namespace: string;
  name: string;
  /** What the workload's status says (the controller's message when there is one). */
  reason: string;
}

export interface HealthGateResult {
  healthy: boolean;
  unhealthy: UnhealthyWorkload[];
  /** Time from the start of the gate to its verdict, bake included. */
  elapsedMs: number;
}

type Reading = { state: 'done' } | { state: 'waiting' | 'failed'; reason: string };

/** One reading of a workload: a deleted one has nothing left to wait for. */
async function readOnce(workload: GatedWorkload): Promise<Reading> {
  try {
    const found = await workload.gateway.getWorkload(workload.kind, workload.namespace, workload.name);
    if (found === undefined) return { state: 'done' };
    if (found.rollout === undefined)
      return { state: 'failed', reason: 'its cluster reports no rollout status' };
    return found.rollout.state === 'done' ? { state: 'done' } : found.rollout;
  } catch (error) {
    // An unreachable cluster may come back before the deadline: keep waiting, keep the cause.
    return { state: 'waiting', reason: `its status could not be read: ${(error as Error).message}` };
  }
}

const unhealthy = (workload: GatedWorkload, reason: string): UnhealthyWorkload => ({
  cluster: workload.cluster,
  kind: workload.kind,
  namespace: workload.namespace,
  name: workload.name,
  reason,
});

interface NotDone {
  workload: GatedWorkload;
  state: 'waiting' | 'failed';
  reason: string;
}

/** Reads every workload of `pending` and returns those not done, with their reading. */
async function stillPending(pending: readonly GatedWorkload[]): Promise<NotDone[]> {
  const readings = await Promise.all(
    pending.map(async (workload) => ({ workload, reading: await readOnce(workload) })),
  );
  const notDone: NotDone[] = [];
  for (const { workload, reading } of readings)
    if (reading.state !== 'done') notDone.push({ workload, state: reading.state, reason: reading.reason });
  return notDone;
}

/**
 * Waits until every workload is rolled out and available and has stayed so for the bake time,
 * or gives the verdict `healthy: false` with each unhealthy workload and why.
 */
export async function awaitHealthy(
  workloads: readonly GatedWorkload[],
  settings: HealthGateSettings,
  clock: Clock,
): Promise<HealthGateResult> {
  const started = clock.now().getTime();
  const elapsed = () => clock.now().getTime() - started;
  let pending: readonly GatedWorkload[] = workloads;
  for (;;) {
    const readings = await stillPending(pending);
    const failed = readings.filter((r) => r.state === 'failed');
    if (failed.length > 0)
      return {
        healthy: false,
        unhealthy: failed.map((r) => unhealthy(r.workload, r.reason)),
        elapsedMs: elapsed(),
      };
    if (readings.length === 0) break;
    if (elapsed() >= settings.timeoutMs) {
      const limit = `not rolled out within ${settings.timeoutMs} ms`;
      return {
        healthy: false,
        unhealthy: readings.map((r) => unhealthy(r.workload, `${limit}: ${r.reason}`)),
        elapsedMs: elapsed(),
      };
    }
    pending = readings.map((r) => r.workload);
    await clock.sleep(settings.pollMs);
  }
  return bake(workloads, settings, clock, started);
}

/** Every workload must stay rolled out and available until the bake time has passed. */
async function bake(
  workloads: readonly GatedWorkload[],
  settings: HealthGateSettings,
  clock: Clock,
  started: number,
): Promise<HealthGateResult> {
  const bakeEnds = clock.now().getTime() + settings.bakeMs;
  while (clock.now().getTime() < bakeEnds) {
    await clock.sleep(Math.min(settings.pollMs, Math.max(0, bakeEnds - clock.now().getTime())));
    const readings = await stillPending(workloads);
    if (readings.length > 0)
      return {
        healthy: false,
        unhealthy: readings.map((r) =>
          unhealthy(r.workload, `became unhealthy during the bake time: ${r.reason}`),
        ),
        elapsedMs: clock.now().getTime() - started,
      };
  }
  return { healthy: true, unhealthy: [], elapsedMs: clock.now().getTime() - started };
}
