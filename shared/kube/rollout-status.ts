/**
 * Whether a restarted workload has rolled out, decided from its object the way
 * `kubectl rollout status` decides it, so that a health gate waits for exactly what an operator
 * would wait for by hand. Pure: the caller reads the object (any gateway, any server).
 *
 * A workload is `done` when the controller has observed the latest spec and every replica of
 * it is updated and available; `waiting` while that is under way; `failed` when the controller
 * has given up (a Deployment past its progress deadline, an Argo Rollout that is Degraded) or
 * when the workload can never report a rollout (an update strategy other than RollingUpdate).
 */

import type { RolloutStatus } from '../core/ports.js';

export type { RolloutState, RolloutStatus } from '../core/ports.js';

type Json = Record<string, unknown>;

const object = (value: unknown): Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {};

const count = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);

/** A count the API server defaults when absent (`spec.replicas` defaults to 1). */
const replicasOf = (spec: Json): number => (spec.replicas === undefined ? 1 : count(spec.replicas));

const done = (reason: string): RolloutStatus => ({ state: 'done', reason });
const waiting = (reason: string): RolloutStatus => ({ state: 'waiting', reason });
const failed = (reason: string): RolloutStatus => ({ state: 'failed', reason });

/** Whether the controller has seen the newest spec (`observedGeneration >= generation`). */
function observed(workload: Json): boolean {
  const generation = count(object(workload.metadata).generation);
  const seen = object(workload.status).observedGeneration;
  return typeof seen === 'number' && seen >= generation;
}

function deployment(workload: Json): RolloutStatus {
  if (!observed(workload)) return waiting('waiting for the deployment spec update to be observed');
  const spec = object(workload.spec);
  const status = object(workload.status);
  const conditions = Array.isArray(status.conditions) ? status.conditions.map(object) : [];
  const progressing = conditions.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded')
    return failed(`exceeded its progress deadline${message(progressing)}`);
  const replicas = replicasOf(spec);
  const updated = count(status.updatedReplicas);
  if (updated < replicas) return waiting(`${updated} of ${replicas} new replicas have been updated`);
  const total = count(status.replicas);
  if (total > updated) return waiting(`${total - updated} old replicas are pending termination`);
  const available = count(status.availableReplicas);
  if (available < updated) return waiting(`${available} of ${updated} updated replicas are available`);
  return done('successfully rolled out');
}

function statefulSet(workload: Json): RolloutStatus {
  const spec = object(workload.spec);
  const strategy = object(spec.updateStrategy);
  if (strategy.type !== undefined && strategy.type !== 'RollingUpdate')
    return failed(
      `update strategy ${JSON.stringify(strategy.type)} reports no rollout (only RollingUpdate does)`,
    );
  const status = object(workload.status);
  if (status.observedGeneration === undefined || !observed(workload))
    return waiting('waiting for the statefulset spec update to be observed');
  const replicas = replicasOf(spec);
  const ready = count(status.readyReplicas);
  if (ready < replicas) return waiting(`${ready} of ${replicas} pods are ready`);
  // The API server defaults `rollingUpdate.partition` to 0, so a real StatefulSet nearly always
  // takes this branch, as in kubectl: with partition 0 every replica must be updated.
  const partition = object(strategy.rollingUpdate).partition;
  if (typeof partition === 'number') {
    const expected = replicas - partition;
    const updated = count(status.updatedReplicas);
    if (updated < expected) return waiting(`${updated} of ${expected} pods updated (partition ${partition})`);
    return done(`rollout complete: ${updated} new pods`);
  }
  if (status.updateRevision !== status.currentRevision)
    return waiting(`${count(status.updatedReplicas)} of ${replicas} pods are at the new revision`);
  return done('rolling update complete');
}

function daemonSet(workload: Json): RolloutStatus {
  const strategy = object(object(workload.spec).updateStrategy);
  if (strategy.type !== undefined && strategy.type !== 'RollingUpdate')
    return failed(
      `update strategy ${JSON.stringify(strategy.type)} reports no rollout (only RollingUpdate does)`,
    );
  if (!observed(workload)) return waiting('waiting for the daemon set spec update to be observed');
  const status = object(workload.status);
  const desired = count(status.desiredNumberScheduled);
  const updated = count(status.updatedNumberScheduled);
  if (updated < desired) return waiting(`${updated} of ${desired} updated pods are scheduled`);
  const available = count(status.numberAvailable);
  if (available < desired) return waiting(`${available} of ${desired} updated pods are available`);
  return done('successfully rolled out');
}

/** Argo Rollouts reports its own verdict in `status.phase` (what `kubectl argo rollouts status` reads). */
function argoRollout(workload: Json): RolloutStatus {
  if (!observed(workload)) return waiting('waiting for the rollout spec update to be observed');
  const status = object(workload.status);
  const phase = typeof status.phase === 'string' ? status.phase : 'Progressing';
  const why = typeof status.message === 'string' && status.message !== '' ? `: ${status.message}` : '';
  if (phase === 'Healthy') return done('healthy');
  if (phase === 'Degraded') return failed(`degraded${why}`);
  return waiting(`${phase.toLowerCase()}${why}`);
}

function message(condition: Json): string {
  return typeof condition.message === 'string' && condition.message !== '' ? `: ${condition.message}` : '';
}

const BY_KIND: Readonly<Record<string, (workload: Json) => RolloutStatus>> = {
  Deployment: deployment,
  StatefulSet: statefulSet,
  DaemonSet: daemonSet,
  Rollout: argoRollout,
};

/** The rollout state of `workload` (a Deployment, StatefulSet, DaemonSet or Argo Rollout object). */
export function rolloutStatus(kind: string, workload: unknown): RolloutStatus {
  const decide = Object.hasOwn(BY_KIND, kind) ? BY_KIND[kind] : undefined;
  if (decide === undefined) return failed(`kind ${kind} has no rollout status`);
  return decide(object(workload));
}
