import { errorCodeOf } from '../core/errors.js';
import { WORKLOAD_KINDS, type ClusterGateway, type Workload } from '../core/ports.js';
import type { BindingSpec, RestartSpec } from '../registry/schema.js';
import { matchesLabels } from '../registry/select.js';
import { Annotation, RestartAnnotation } from './annotations.js';
import type { EngineContext } from './context.js';
import { referencesSecret } from './discovery.js';
import { NO_RESTARTS, failedOutcome, safeMessage, type TargetOutcome } from './report.js';
import { Outcome, type RestartResult } from './types.js';

function toSelector(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/**
 * The workloads that use a binding's Secret: the named ones (read, so that each carries its
 * restart annotations and resourceVersion; a missing one is left out), those the selector
 * picks, and with `auto` those whose pod spec refers to the Secret.
 */
export async function findDependents(
  gateway: ClusterGateway,
  restart: RestartSpec,
  ns: string,
  secretName: string,
  signal?: AbortSignal,
): Promise<Workload[]> {
  const found = new Map<string, Workload>();
  const add = (w: Workload) => found.set(`${w.kind}/${w.name}`, w);
  const options = signal === undefined ? undefined : { signal };
  for (const ref of restart.workloads ?? []) {
    const workload = await gateway.getWorkload(ref.kind, ns, ref.name, options);
    if (workload !== undefined) add(workload);
  }
  const selector = restart.selector?.matchLabels;
  if (restart.auto === true || selector !== undefined) {
    // With auto, list the namespace once per kind and apply the selector locally.
    const listSelector = restart.auto === true || selector === undefined ? undefined : toSelector(selector);
    for (const kind of restart.kinds ?? WORKLOAD_KINDS) {
      for (const w of await gateway.listWorkloads(kind, ns, listSelector, options)) {
        if (
          (selector !== undefined && matchesLabels(w.labels, selector)) ||
          (restart.auto === true && referencesSecret(w.podSpec, secretName))
        )
          add(w);
      }
    }
  }
  return [...found.values()];
}

/**
 * Restarts a binding's dependents in one cluster (`kubectl rollout restart`: a pod template
 * annotation); with `hash`, skips workloads already restarted for it. Each workload is read
 * first (listed, or one GET for a named one) and its patch carries the resourceVersion read:
 * when two workers finish the same change at once (a duplicate delivery, a redelivery racing
 * a slow first attempt), one patch wins, the other answers 409, and the loser reads the
 * workload again, finds the hash and leaves it. So a workload restarts once per change.
 */
export async function restartDependents(
  ctx: EngineContext,
  gateway: ClusterGateway,
  spec: BindingSpec,
  hash: string | undefined,
): Promise<RestartResult[]> {
  const restart = spec.restart;
  if (restart === undefined || restart === false) return [];
  const ns = spec.target.namespace;
  const dependents = await ctx.attempt(
    () => `cluster "${gateway.cluster}" dependents of ${ns}/${spec.target.name}`,
    (signal) => findDependents(gateway, restart, ns, spec.target.name, signal),
  );
  const results: RestartResult[] = [];
  let annotations: Record<string, string> | undefined;
  for (const found of dependents) {
    const done = (w: Workload) =>
      hash !== undefined && w.templateAnnotations[RestartAnnotation.RestartedForHash] === hash;
    if (done(found)) continue;
    annotations ??= {
      [RestartAnnotation.RestartedAt]: ctx.clock.now().toISOString(),
      ...(hash === undefined ? {} : { [RestartAnnotation.RestartedForHash]: hash }),
    };
    const patch = annotations;
    const result = { kind: found.kind, name: found.name, namespace: ns };
    try {
      let attempt = 0;
      const restarted = await ctx.attempt(
        () => `cluster "${gateway.cluster}" restart of ${found.kind} ${ns}/${found.name}`,
        async (signal) => {
          // After a conflict: someone else changed it, maybe restarted it for this very hash.
          const workload =
            attempt++ === 0 ? found : await gateway.getWorkload(found.kind, ns, found.name, { signal });
          if (workload === undefined || done(workload)) return false;
          const rv = workload.resourceVersion;
          await gateway.patchTemplateAnnotations(found.kind, ns, found.name, patch, {
            signal,
            ...(rv === undefined ? {} : { resourceVersion: rv }),
          });
          return true;
        },
      );
      if (restarted) results.push({ ...result, outcome: 'restarted' });
    } catch (error) {
      results.push({
        ...result,
        outcome: 'failed',
        errorCode: errorCodeOf(error),
        reason: safeMessage(error),
      });
    }
  }
  return results;
}

/**
 * What a target's restarts come to: nothing to add when all restarted, a failure (retryable:
 * the restart can be tried again) when one failed, or the lookup's failure.
 */
export async function restartOutcome(
  ctx: EngineContext,
  gateway: ClusterGateway,
  spec: BindingSpec,
  hash: string | undefined,
): Promise<{ restarts: readonly RestartResult[]; failure?: TargetOutcome }> {
  let restarts: RestartResult[];
  try {
    restarts = await restartDependents(ctx, gateway, spec, hash);
  } catch (error) {
    return {
      restarts: NO_RESTARTS,
      failure: failedOutcome(error, `dependents-lookup-failed: ${safeMessage(error)}`),
    };
  }
  const failedRestart = restarts.find((r) => r.outcome === 'failed');
  if (failedRestart === undefined) return { restarts };
  return {
    restarts,
    failure: {
      outcome: Outcome.Failed,
      errorCode: failedRestart.errorCode ?? 'Internal',
      retryable: true,
      // The cause (a 403 names the missing permission) travels with the target, not only the code.
      reason: `restart-failed: ${failedRestart.reason ?? failedRestart.errorCode ?? 'Internal'}`,
    },
  };
}

/**
 * After the write of a content change, or on finding a Secret that still records pending
 * restarts: restarts every dependent not yet carrying `hash`, then clears the Secret's marker.
 * A restart that fails fails the target (retryable) and leaves the marker, so the next
 * delivery restarts what was missed; a worker that dies leaves it too. `marked`: the Secret
 * carried a marker (a binding that no longer restarts still has it cleared).
 */
export async function finishRestarts(
  ctx: EngineContext,
  gateway: ClusterGateway,
  spec: BindingSpec,
  hash: string,
  marked: boolean,
): Promise<{ restarts: readonly RestartResult[]; failure?: TargetOutcome }> {
  const restarted = await restartOutcome(ctx, gateway, spec, hash);
  if (restarted.failure !== undefined) return restarted;
  const restarts = spec.restart !== undefined && spec.restart !== false;
  // Only an update of a restarting binding sets the marker; a found one is always cleared.
  if (!restarts && !marked) return restarted;
  try {
    await clearRestartPending(ctx, gateway, spec.target.namespace, spec.target.name, hash);
  } catch (error) {
    return { ...restarted, failure: failedOutcome(error, 'restart-marker-not-cleared') };
  }
  return restarted;
}

/**
 * Removes the restart-pending marker once every dependent carries `hash`. The Secret is read
 * first (the write kept no copy of its answer) and written back with its resourceVersion, so a
 * concurrent writer's newer content, and the marker that comes with it, are never touched.
 */
async function clearRestartPending(
  ctx: EngineContext,
  gateway: ClusterGateway,
  namespace: string,
  name: string,
  hash: string,
): Promise<void> {
  await ctx.attempt(
    () => `cluster "${gateway.cluster}" restart-pending marker of ${namespace}/${name}`,
    async (signal) => {
      const current = await gateway.getSecret(namespace, name, { signal });
      // Someone wrote other content since: its own marker (if any) is not ours to clear.
      if (current?.annotations[Annotation.ContentHash] !== hash) return;
      if (current.annotations[Annotation.RestartPending] === undefined) return;
      const annotations = { ...current.annotations };
      delete annotations[Annotation.RestartPending];
      await gateway.replaceSecret({ ...current, annotations }, { signal });
    },
  );
}
