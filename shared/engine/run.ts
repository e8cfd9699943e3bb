import { ChangeKind } from '../core/change.js';
import { SecretNotFoundError, ValidationGateError, errorCodeOf } from '../core/errors.js';
import type { ClusterSpec } from '../registry/schema.js';
import { MetricName } from '../telemetry/metrics.js';
import type { BindingInfo } from './bindings.js';
import type { EngineContext, Invocation } from './context.js';
import type { Desired } from './decide.js';
import { desiredOf } from './desired.js';
import { enqueueBinding, enqueueByCluster, fansOut, type Enqueued } from './fan-out.js';
import {
  buildReport,
  finishReport,
  reportError,
  reportHead,
  skippedTarget,
  type ReportHead,
} from './report.js';
import {
  applyWaves,
  forEachTarget,
  runClusterMajor,
  runTarget,
  type ClusterMajorBinding,
} from './schedule.js';
import { deleteTarget } from './target.js';
import type { ChangeReport, TargetResult } from './types.js';
import { toWaves } from './waves.js';

/** A binding made ready to apply: its content decided, or its report already finished. */
type Prepared =
  | { done: ChangeReport }
  | { head: ReportHead; started: number; desired: Desired; waves: ClusterSpec[][]; fanOut: boolean };

/** Skip reason of a target kept because the source is gone under `deletionPolicy: Retain`. */
export const SOURCE_DELETED_RETAINED = 'source-deleted-retained';

/** Expiry warnings and rotation requests write nothing: the runtime's rotation handles them. */
function isWarningOnly(kind: ChangeKind): boolean {
  return kind === ChangeKind.NearExpiry || kind === ChangeKind.Expired || kind === ChangeKind.RotateRequested;
}

/**
 * Everything before a binding's targets: read and render once, handle warnings, deletions and
 * binding errors (those reports are finished here), and decide whether its targets fan out.
 */
async function prepareBinding(
  ctx: EngineContext,
  inv: Invocation,
  info: BindingInfo,
  secretRef: string,
  clusters: readonly ClusterSpec[],
  allowFanOut: boolean,
): Promise<Prepared> {
  const started = performance.now();
  const head = reportHead(info, inv, secretRef);
  if (isWarningOnly(inv.kind)) {
    ctx.metrics?.count(MetricName.ExpiryWarnings, 1, { kind: inv.kind });
    ctx.logger.warn(`secret ${inv.kind}: nothing written`, {
      changeId: inv.changeId,
      binding: info.spec.name,
      source: info.source.name,
      secretRef,
      outcome: inv.kind,
    });
    return { done: buildReport(head, [], Math.round(performance.now() - started)) };
  }
  let desired: Desired;
  try {
    desired = await desiredOf(ctx, info, inv);
  } catch (error) {
    // A reconcile repairs a missed delete event: the source being gone means the same thing.
    if (
      (inv.kind === ChangeKind.Deleted || inv.kind === ChangeKind.Reconcile) &&
      error instanceof SecretNotFoundError
    ) {
      const targets = await sourceDeleted(ctx, inv, info, clusters, secretRef);
      // Retain keeps the Secrets and says so on each; a reconcile still reports the missing source.
      const retained = info.spec.target.deletionPolicy !== 'Delete' && inv.kind === ChangeKind.Reconcile;
      return {
        done: finishReport(ctx, retained ? { ...head, error: reportError(error) } : head, targets, started),
      };
    }
    if (error instanceof ValidationGateError)
      ctx.metrics?.count(MetricName.GateFailures, 1, { binding: info.spec.name });
    ctx.metrics?.count(MetricName.BindingErrors, 1, { errorCode: errorCodeOf(error) });
    return { done: finishReport(ctx, { ...head, error: reportError(error) }, [], started) };
  }
  const waves = clusters === info.clusters ? info.waves : toWaves(clusters, info.spec.rollout?.waves);
  const fanOut = fansOut(ctx, clusters, allowFanOut);
  return { head: { ...head, version: desired.version }, started, desired, waves, fanOut };
}

/** The source secret is really gone: Delete removes our targets, Retain leaves them. */
async function sourceDeleted(
  ctx: EngineContext,
  inv: Invocation,
  info: BindingInfo,
  clusters: readonly ClusterSpec[],
  secretRef: string,
): Promise<TargetResult[]> {
  if (info.spec.target.deletionPolicy === 'Delete')
    return forEachTarget(inv, clusters, (cluster) =>
      runTarget(info, cluster, (c, attempts) => deleteTarget(ctx, info, c, attempts)),
    );
  ctx.logger.info('source secret deleted: target Secrets retained (deletionPolicy Retain)', {
    changeId: inv.changeId,
    binding: info.spec.name,
    secretRef,
  });
  // Nothing is read or written: each target says it was kept, and why.
  return clusters.map((cluster) => skippedTarget(info.spec, cluster.name, SOURCE_DELETED_RETAINED));
}

/** One binding, wave by wave (or handed to workers). */
export async function runBinding(
  ctx: EngineContext,
  inv: Invocation,
  info: BindingInfo,
  secretRef: string,
  clusters: readonly ClusterSpec[] = info.clusters,
  allowFanOut = true,
): Promise<ChangeReport> {
  const p = await prepareBinding(ctx, inv, info, secretRef, clusters, allowFanOut);
  if ('done' in p) return p.done;
  if (p.fanOut && ctx.workQueue !== undefined) {
    const enqueued = await enqueueBinding(ctx, ctx.workQueue, inv, info, p.waves, p.desired);
    return finishReport(ctx, { ...p.head, ...enqueued }, [], p.started);
  }
  return finishReport(ctx, p.head, await applyWaves(ctx, inv, info, p.waves, p.desired), p.started);
}

/**
 * Several bindings at once (a reconcile, or one secret behind several bindings): bindings in
 * one wave run cluster by cluster (`runClusterMajor`), bindings with rollout waves keep their
 * wave order and run binding by binding, and bindings that fan out go to workers, as
 * cluster-major work items when they have no waves.
 */
export async function runBindings(
  ctx: EngineContext,
  inv: Invocation,
  infos: readonly BindingInfo[],
  secretRef: (info: BindingInfo) => string,
  scope: { clusters?: (info: BindingInfo) => readonly ClusterSpec[]; allowFanOut?: boolean } = {},
): Promise<ChangeReport[]> {
  const prepared = await Promise.all(
    infos.map((info) =>
      prepareBinding(
        ctx,
        inv,
        info,
        secretRef(info),
        scope.clusters?.(info) ?? info.clusters,
        scope.allowFanOut ?? true,
      ),
    ),
  );
  const targets: TargetResult[][] = prepared.map(() => []);
  const enqueued: Enqueued[] = prepared.map(() => ({}));
  const separate: Promise<unknown>[] = [];
  const clusterMajor: ClusterMajorBinding[] = [];
  const clusterMajorIndex: number[] = [];
  const fanOutGroup: { index: number; info: BindingInfo; clusters: readonly ClusterSpec[] }[] = [];
  const queue = ctx.workQueue;
  prepared.forEach((p, i) => {
    const info = infos[i];
    if ('done' in p || info === undefined) return;
    if (p.fanOut && queue !== undefined && p.waves.length <= 1)
      fanOutGroup.push({ index: i, info, clusters: p.waves[0] ?? [] });
    else if (p.fanOut && queue !== undefined)
      separate.push(enqueueBinding(ctx, queue, inv, info, p.waves, p.desired).then((e) => (enqueued[i] = e)));
    else if (p.waves.length > 1)
      separate.push(applyWaves(ctx, inv, info, p.waves, p.desired).then((t) => (targets[i] = t)));
    else {
      clusterMajor.push({ info, desired: p.desired, clusters: p.waves[0] ?? [] });
      clusterMajorIndex.push(i);
    }
  });
  const byCluster = runClusterMajor(ctx, inv, clusterMajor).then((results) =>
    results.forEach((t, j) => (targets[clusterMajorIndex[j] ?? -1] = t)),
  );
  if (queue !== undefined && fanOutGroup.length > 0) {
    separate.push(
      enqueueByCluster(ctx, queue, inv, fanOutGroup).then((results) =>
        results.forEach((e, j) => (enqueued[fanOutGroup[j]?.index ?? -1] = e)),
      ),
    );
  }
  await Promise.all([byCluster, ...separate]);
  return prepared.map((p, i) =>
    'done' in p ? p.done : finishReport(ctx, { ...p.head, ...enqueued[i] }, targets[i] ?? [], p.started),
  );
}
