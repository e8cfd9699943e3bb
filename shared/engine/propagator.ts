/**
 * The engine's entry points. Semantics (docs/architecture.md, "The engine"):
 * - every change converges each touched binding to the source's *current* value, read once
 *   per (source, key, version) per invocation however many bindings and targets need it;
 * - a binding is rendered, validated and hashed once per invocation; a read, render or gate
 *   failure writes nothing anywhere for that binding and is reported on the binding;
 * - each target gets exactly one outcome; transient cluster errors are retried with backoff;
 *   one slow or failing cluster never holds up the others beyond its own timeout;
 * - workloads restart only when a target's content actually changed (never on create: pods
 *   waiting for a missing Secret start by themselves once it exists).
 */
import { randomUUID } from 'node:crypto';
import { ChangeKind, type SecretChange } from '../core/change.js';
import { ConfigError, errorCodeOf } from '../core/errors.js';
import type { ClusterSpec } from '../registry/schema.js';
import { indexBindings, primaryRef, type BindingIndex, type BindingInfo } from './bindings.js';
import { createEngineContext, newInvocation, type EngineContext, type PropagatorOptions } from './context.js';
import { SkipReason } from './decide.js';
import { desiredOf } from './desired.js';
import { runBinding, runBindings } from './run.js';
import {
  buildReport,
  failedOutcome,
  finishReport,
  reportHead,
  safeMessage,
  skippedTarget,
  withTargets,
} from './report.js';
import { restartOutcome } from './restart.js';
import { forEachTarget, runTarget } from './schedule.js';
import { fleetStatus, type BindingStatus, type StatusOptions } from './status.js';
import { plannedSkip, planTarget } from './target.js';
import { Outcome, type ChangeReport, type PlannedTarget, type Propagator, type WorkItem } from './types.js';

export type { PropagatorOptions } from './context.js';

/** The engine's Propagator plus what the runtime needs for rotation and shutdown. */
export interface EnginePropagator extends Propagator {
  /** Names of the bindings whose source secret `change` names. Pure. */
  bindingsFor(change: SecretChange): string[];
  /** The clusters a binding targets, in registry order. */
  clustersOf(binding: string): readonly ClusterSpec[];
  /** Which version each target holds, read from our annotations: one listing per cluster and namespace. */
  status(options?: StatusOptions): Promise<BindingStatus[]>;
  /** Releases every cluster gateway the engine built (keep-alive connections). */
  close(): void;
}

/** Builds the engine over ports only: sources, cluster gateways, logger, metrics, clock. */
export function createPropagator(options: PropagatorOptions): EnginePropagator {
  const ctx = createEngineContext(options);
  const index = indexBindings(options.registry, options.sources);
  return {
    bindingsFor: (change) => index.touchedBy(change).map((info) => info.spec.name),
    clustersOf: (binding) => index.require(binding).clusters,
    close: () => ctx.closeGateways(),
    propagate: (change) => propagate(ctx, index, change),
    applyWorkItem: (item) => applyWorkItem(ctx, index, item),
    async reconcile(opts = {}) {
      const infos = index.select(opts.bindings);
      const inv = newInvocation(ctx, `reconcile-${randomUUID()}`, ChangeKind.Reconcile, infos.length > 1);
      return runBindings(ctx, inv, infos, primaryRef);
    },
    plan: (opts = {}) => plan(ctx, index.select(opts.bindings)),
    restart: (binding) => restart(ctx, index.require(binding)),
    status: (opts = {}) => fleetStatus(ctx, index.select(opts.bindings), opts),
  };
}

async function propagate(
  ctx: EngineContext,
  index: BindingIndex,
  change: SecretChange,
): Promise<ChangeReport[]> {
  const infos = index.touchedBy(change);
  const [only] = infos;
  if (only === undefined) {
    ctx.logger.info('no binding refers to this secret: nothing to do', {
      changeId: change.eventId,
      secretRef: change.secretRef,
      outcome: 'ignored',
    });
    return [];
  }
  if (infos.length === 1)
    return [await runBinding(ctx, newInvocation(ctx, change.eventId, change.kind), only, change.secretRef)];
  // Several bindings on one secret: cluster by cluster, one listing per cluster instead of one GET per target.
  const inv = newInvocation(ctx, change.eventId, change.kind, true);
  return runBindings(ctx, inv, infos, () => change.secretRef);
}

/** The report of a work item naming a binding the registry no longer has. */
function unknownBinding(ctx: EngineContext, item: WorkItem, name: string): ChangeReport {
  const error = new ConfigError(
    `work item names unknown binding "${name}" (the registry changed since it was enqueued)`,
  );
  ctx.logger.warn(error.message, { changeId: item.changeId, binding: name, errorCode: error.code });
  const head = { changeId: item.changeId, kind: item.kind, binding: name, source: '', secretRef: '' };
  return buildReport(
    { ...head, error: { code: error.code, message: error.message, retryable: false } },
    [],
    0,
  );
}

/** Work-item clusters the binding no longer selects (the registry changed since it was enqueued): skipped. */
function withNotSelected(report: ChangeReport, info: BindingInfo, clusters: readonly string[]): ChangeReport {
  return withTargets(
    report,
    clusters.map((name) => skippedTarget(info.spec, name, SkipReason.ClusterNotSelected)),
  );
}

async function applyWorkItem(
  ctx: EngineContext,
  index: BindingIndex,
  item: WorkItem,
): Promise<ChangeReport[]> {
  if (item.bindings !== undefined && item.bindings.length > 1) {
    // A cluster-major item: every binding over the clusters of the batch it selects.
    const known = item.bindings.flatMap((name) => index.get(name) ?? []);
    const inBatch = (info: BindingInfo) =>
      item.clusters.flatMap((name) => info.clusterByName.get(name) ?? []);
    const inv = newInvocation(ctx, item.changeId, item.kind, true);
    const reports = await runBindings(ctx, inv, known, primaryRef, { clusters: inBatch, allowFanOut: false });
    // A cluster none of the bindings selects any more is reported as skipped by each of them,
    // as a single-binding item does.
    const unselected = item.clusters.filter((name) => !known.some((info) => info.clusterByName.has(name)));
    return [
      ...reports.map((report, i) => {
        const info = known[i];
        return info === undefined ? report : withNotSelected(report, info, unselected);
      }),
      ...item.bindings
        .filter((name) => index.get(name) === undefined)
        .map((name) => unknownBinding(ctx, item, name)),
    ];
  }
  const info = index.get(item.binding);
  if (info === undefined) return [unknownBinding(ctx, item, item.binding)];
  const clusters: ClusterSpec[] = [];
  const missing: string[] = [];
  for (const name of item.clusters) {
    const cluster = info.clusterByName.get(name);
    if (cluster === undefined) missing.push(name);
    else clusters.push(cluster);
  }
  const inv = newInvocation(ctx, item.changeId, item.kind);
  const report = await runBinding(ctx, inv, info, primaryRef(info), clusters, false);
  return [withNotSelected(report, info, missing)];
}

async function plan(ctx: EngineContext, infos: readonly BindingInfo[]): Promise<PlannedTarget[]> {
  const inv = newInvocation(ctx, `plan-${randomUUID()}`, ChangeKind.Reconcile);
  const planned = await Promise.all(
    infos.map(async (info): Promise<PlannedTarget[]> => {
      let desired;
      try {
        desired = await desiredOf(ctx, info, inv);
      } catch (error) {
        const reason = `${errorCodeOf(error)}: ${safeMessage(error)}`;
        return info.clusters.map((c) => plannedSkip(info, c.name, reason));
      }
      const known = desired;
      return forEachTarget(inv, info.clusters, (cluster) => planTarget(ctx, info, cluster, known));
    }),
  );
  return planned.flat();
}

/** `kubectl rollout restart` of a binding's dependents in every cluster it targets. */
async function restart(ctx: EngineContext, info: BindingInfo): Promise<ChangeReport> {
  const started = performance.now();
  const inv = newInvocation(ctx, `restart-${randomUUID()}`, ChangeKind.Reconcile);
  const targets = await forEachTarget(inv, info.clusters, (cluster) =>
    runTarget(info, cluster, async (c, attempts) => {
      attempts.count = 1;
      let gateway;
      try {
        gateway = ctx.gatewayOf(c);
      } catch (error) {
        return failedOutcome(error, `dependents-lookup-failed: ${safeMessage(error)}`);
      }
      const { restarts, failure } = await restartOutcome(ctx, gateway, info.spec, undefined);
      return { outcome: Outcome.Unchanged, ...failure, restarts };
    }),
  );
  return finishReport(ctx, reportHead(info, inv, primaryRef(info)), targets, started);
}
