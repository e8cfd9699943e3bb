/**
 * How targets are scheduled: the one loop over targets, rollout waves, and the cluster-major
 * runner of several bindings. The engine's performance tricks live here and only here: a
 * settled target's result is returned without a promise, a run's (binding, target) pairs are
 * packed into one array of integers, and clusters are taken by a fixed number of runners.
 */
import { namespaceRefusal } from '../registry/cross-check.js';
import type { ClusterSpec } from '../registry/schema.js';
import type { BindingInfo } from './bindings.js';
import type { EngineContext, Invocation } from './context.js';
import { SkipReason, type Desired } from './decide.js';
import { decidedOutcome, failedOutcome, skippedTarget, targetResult, type TargetOutcome } from './report.js';
import { applyTarget, listedDecision, settles, type Attempts } from './target.js';
import { Outcome, type TargetResult } from './types.js';

/** Lanes one cluster gets at most in a several-binding run: the gateway's default connections per cluster. */
const MAX_LANES_PER_CLUSTER = 8;

/** One step on one target: what it came to (or it throws). */
export type TargetStep = (cluster: ClusterSpec, attempts: Attempts) => Promise<TargetOutcome>;

/**
 * Runs `visit` for every cluster, at most `settings.concurrency` at once over the whole
 * invocation, results in the clusters' order.
 */
export function forEachTarget<R>(
  inv: Invocation,
  clusters: readonly ClusterSpec[],
  visit: (cluster: ClusterSpec) => R | Promise<R>,
): Promise<R[]> {
  return Promise.all(clusters.map((cluster) => inv.limit(() => visit(cluster))));
}

/**
 * One target's result: skipped when its namespace may not be written in the cluster, else
 * what `step` came to, timed, with a thrown error as a failed outcome.
 */
export async function runTarget(
  info: BindingInfo,
  cluster: ClusterSpec,
  step: TargetStep,
): Promise<TargetResult> {
  if (namespaceRefusal(cluster, info.spec.target.namespace) !== undefined)
    return skippedTarget(info.spec, cluster.name, SkipReason.NamespaceNotAllowed);
  const started = performance.now();
  const attempts = { count: 0 };
  let outcome: TargetOutcome;
  try {
    outcome = await step(cluster, attempts);
  } catch (error) {
    outcome = failedOutcome(error);
  }
  return targetResult(
    info.spec,
    cluster.name,
    outcome,
    attempts.count,
    Math.round(performance.now() - started),
  );
}

/**
 * Converges one target. When the run's listing of the cluster is in and settles the target,
 * the result comes back at once: no request, so no promise, retry or timer either.
 */
function convergeTarget(
  ctx: EngineContext,
  inv: Invocation,
  info: BindingInfo,
  cluster: ClusterSpec,
  desired: Desired,
): TargetResult | Promise<TargetResult> {
  const listing = inv.listed?.ready.get(cluster.name);
  if (listing !== undefined && namespaceRefusal(cluster, info.spec.target.namespace) === undefined) {
    const started = performance.now();
    const decision = listedDecision(listing, info, desired);
    if (decision !== undefined && settles(decision)) {
      const durationMs = Math.round(performance.now() - started);
      return targetResult(info.spec, cluster.name, decidedOutcome(decision, desired), 1, durationMs);
    }
    if (decision !== undefined)
      return runTarget(info, cluster, (c, attempts) =>
        applyTarget(ctx, inv, info, c, desired, attempts, decision),
      );
  }
  return runTarget(info, cluster, (c, attempts) => applyTarget(ctx, inv, info, c, desired, attempts));
}

/** One binding's targets, wave by wave; with `haltOnFailure`, a wave with failures skips the rest. */
export async function applyWaves(
  ctx: EngineContext,
  inv: Invocation,
  info: BindingInfo,
  waves: readonly ClusterSpec[][],
  desired: Desired,
): Promise<TargetResult[]> {
  const results: TargetResult[] = [];
  const halt = info.spec.rollout?.haltOnFailure ?? true;
  let halted = false;
  for (const wave of waves) {
    if (halted) {
      for (const cluster of wave)
        results.push(skippedTarget(info.spec, cluster.name, SkipReason.HaltedAfterFailedWave));
      continue;
    }
    const done = await forEachTarget(inv, wave, (cluster) =>
      convergeTarget(ctx, inv, info, cluster, desired),
    );
    results.push(...done);
    if (halt && done.some((r) => r.outcome === Outcome.Failed)) halted = true;
  }
  return results;
}

/** A binding of a cluster-major run: its content and the clusters it goes to, in one wave. */
export interface ClusterMajorBinding {
  info: BindingInfo;
  desired: Desired;
  clusters: readonly ClusterSpec[];
}

/**
 * Several bindings at once, cluster by cluster: each cluster's targets run back to back on its
 * kept connection, its managed Secrets are listed once for all of them (when the invocation
 * lists), and that listing is dropped as soon as the cluster is done. So memory follows the
 * clusters in flight, not the whole fleet. A cluster gets several lanes only when there are
 * fewer clusters than `concurrency` (still one target per lane at a time). Returns each
 * binding's results in the order of its clusters.
 */
export async function runClusterMajor(
  ctx: EngineContext,
  inv: Invocation,
  bindings: readonly ClusterMajorBinding[],
): Promise<TargetResult[][]> {
  // Each cluster's targets as (binding, index) pairs packed in one array of small integers: a
  // reconcile of 1,500 clusters x 20 bindings would otherwise hold 30,000 pair objects throughout.
  const byCluster = new Map<string, { cluster: ClusterSpec; targets: number[] }>();
  const results: TargetResult[][] = bindings.map(() => []);
  bindings.forEach(({ clusters }, binding) => {
    clusters.forEach((cluster, index) => {
      let entry = byCluster.get(cluster.name);
      if (entry === undefined) byCluster.set(cluster.name, (entry = { cluster, targets: [] }));
      entry.targets.push(binding, index);
    });
  });
  const entries = [...byCluster.values()];
  const concurrency = ctx.settings.concurrency;
  const lanesPerCluster = Math.max(
    1,
    Math.min(MAX_LANES_PER_CLUSTER, Math.floor(concurrency / Math.max(entries.length, 1))),
  );
  /** One cluster: lane `first` takes every `lanes`-th of its targets, one after another. */
  const runCluster = async ({ cluster, targets }: { cluster: ClusterSpec; targets: number[] }) => {
    const count = targets.length / 2;
    const lanes = Math.min(lanesPerCluster, count);
    const lane = async (first: number) => {
      for (let t = first; t < count; t += lanes) {
        const binding = targets[2 * t] ?? -1;
        const run = bindings[binding];
        const out = results[binding];
        if (run === undefined || out === undefined) continue;
        const settled = convergeTarget(ctx, inv, run.info, cluster, run.desired);
        out[targets[2 * t + 1] ?? 0] = settled instanceof Promise ? await settled : settled;
      }
    };
    try {
      if (lanes === 1) await inv.limit(() => lane(0));
      else await Promise.all(Array.from({ length: lanes }, (_, first) => inv.limit(() => lane(first))));
    } finally {
      inv.listed?.pending.delete(cluster.name);
      inv.listed?.ready.delete(cluster.name);
    }
  };
  // Clusters are taken in order by as many runners as the limit can keep busy, so a cluster
  // waiting for its turn holds nothing (no closure or promise queued per cluster).
  let next = 0;
  const runner = async (): Promise<void> => {
    for (let entry = entries[next++]; entry !== undefined; entry = entries[next++]) await runCluster(entry);
  };
  const runners = Math.min(entries.length, Math.ceil(concurrency / lanesPerCluster));
  await Promise.all(Array.from({ length: runners }, runner));
  return results;
}
