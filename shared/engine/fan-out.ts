import { MetricName } from '../telemetry/metrics.js';
import type { BindingInfo } from './bindings.js';
import type { EngineContext, Invocation } from './context.js';
import type { Desired } from './decide.js';
import { reportError, safeMessage, type ReportHead } from './report.js';
import type { ClusterSpec } from '../registry/schema.js';
import type { WorkItem, WorkQueue } from './types.js';

/** What handing targets to the work queue came to, for the binding's report. */
export type Enqueued = Pick<ReportHead, 'enqueued' | 'error'>;

/** Whether a binding's `clusters` go to workers instead of being applied in this invocation. */
export function fansOut(ctx: EngineContext, clusters: readonly ClusterSpec[], allowFanOut: boolean): boolean {
  return allowFanOut && ctx.workQueue !== undefined && clusters.length > ctx.settings.fanOut.batchSize;
}

/** Sends `items`; each report then counts its `targets` as enqueued, or carries why that failed. */
async function sendWork(
  ctx: EngineContext,
  queue: WorkQueue,
  items: WorkItem[],
  targets: readonly number[],
): Promise<Enqueued[]> {
  try {
    await queue.enqueue(items);
    ctx.metrics?.count(MetricName.WorkItems, items.length);
    return targets.map((enqueued) => ({ enqueued }));
  } catch (error) {
    const failed = {
      error: {
        ...reportError(error, `enqueueing work items failed: ${safeMessage(error)}`),
        retryable: true,
      },
    };
    return targets.map(() => failed);
  }
}

/** One binding's fan-out: work items of `batchSize` clusters, in wave order. */
export async function enqueueBinding(
  ctx: EngineContext,
  queue: WorkQueue,
  inv: Invocation,
  info: BindingInfo,
  waves: readonly ClusterSpec[][],
  desired: Desired,
): Promise<Enqueued> {
  // Chunks follow wave order; halting between waves is not enforced across work items.
  const ordered = waves.flat();
  const size = ctx.settings.fanOut.batchSize;
  const items: WorkItem[] = [];
  for (let i = 0; i < ordered.length; i += size) {
    items.push({
      changeId: inv.changeId,
      kind: inv.kind,
      binding: info.spec.name,
      version: desired.version,
      clusters: ordered.slice(i, i + size).map((c) => c.name),
      attempt: 1,
    });
  }
  const [result] = await sendWork(ctx, queue, items, [ordered.length]);
  return result ?? {};
}

/**
 * Several bindings' fan-out as cluster-major work items: each item carries a batch of clusters
 * and every binding that selects one of them, so a worker lists and connects to each cluster
 * once for all of them (per-binding items would cost one handshake per cluster per binding,
 * and a GET per target). Returns what it came to for each binding of `group`, in order.
 */
export async function enqueueByCluster(
  ctx: EngineContext,
  queue: WorkQueue,
  inv: Invocation,
  group: readonly { info: BindingInfo; clusters: readonly ClusterSpec[] }[],
): Promise<Enqueued[]> {
  const ordered = new Map<string, Set<string>>();
  for (const { info, clusters } of group) {
    for (const cluster of clusters) {
      let bindingsHere = ordered.get(cluster.name);
      if (bindingsHere === undefined) ordered.set(cluster.name, (bindingsHere = new Set()));
      bindingsHere.add(info.spec.name);
    }
  }
  const names = [...ordered.keys()];
  const size = ctx.settings.fanOut.batchSize;
  const items: WorkItem[] = [];
  for (let i = 0; i < names.length; i += size) {
    const clusters = names.slice(i, i + size);
    const bindingsHere = group
      .map(({ info }) => info.spec.name)
      .filter((b) => clusters.some((c) => ordered.get(c)?.has(b)));
    const [first] = bindingsHere;
    if (first === undefined) continue;
    items.push({
      changeId: inv.changeId,
      kind: inv.kind,
      binding: first,
      bindings: bindingsHere,
      clusters,
      attempt: 1,
    });
  }
  return sendWork(
    ctx,
    queue,
    items,
    group.map(({ clusters }) => clusters.length),
  );
}
