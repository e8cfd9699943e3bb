import { ClusterRejectedError, errorCodeOf } from '../core/errors.js';
import { WORKLOAD_KINDS, type ClusterGateway, type Workload } from '../core/ports.js';
import type { BindingSpec, RestartSpec } from '../registry/schema.js';
import { matchesLabels } from '../registry/select.js';
import { Annotation, RESTART_PENDING, RestartAnnotation } from './annotations.js';
import type { EngineContext } from './context.js';
import { referencesSecret } from './discovery.js';
import { NO_RESTARTS, failedOutcome, safeMessage, type TargetOutcome } from './report.js';
import { withTimeout } from './retry.js';
import { Outcome, type RestartResult } from './types.js';

function toSelector(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/**
 * The workloads that use a binding's Secret: the named ones, those the selector picks, and
 * with `auto` those whose pod spec refers to the Secret. Without `verify`, named workloads are
 * taken on trust (no request): right after a content change none can carry the new hash yet.
 */
export async function findDependents(
  gateway: ClusterGateway,
  restart: RestartSpec,
  ns: string,
  secretName: string,
  verify: boolean,
  signal?: AbortSignal,
): Promise<Workload[]> {
  const found = new Map<string, Workload>();
  const add = (w: Workload) => found.set(`${w.kind}/${w.name}`, w);
  const options = signal === undefined ? undefined : { signal };
  for (const ref of restart.workloads ?? []) {
    if (!verify) {
      // One request per workload later; a missing one answers 404 and is skipped.
      add({
        kind: ref.kind,
        namespace: ns,
        name: ref.name,
        labels: {},
        templateAnnotations: {},
        podSpec: undefined,
      });
      continue;
    }
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
 * annotation); with `hash`, skips workloads already restarted for it. `verify` reads explicit
 * workloads first, which only matters when recovering a restart that failed earlier.
 */
export async function restartDependents(
  ctx: EngineContext,
  gateway: ClusterGateway,
  spec: BindingSpec,
  hash: string | undefined,
  verify = true,
): Promise<RestartResult[]> {
  const restart = spec.restart;
  if (restart === undefined || restart === false) return [];
  const ns = spec.target.namespace;
  // Named workloads taken on trust need no request to find: no retries or deadline for that.
  const lookup = verify || restart.auto === true || restart.selector !== undefined;
  const dependents = lookup
    ? await ctx.attempt(
        () => `cluster "${gateway.cluster}" dependents of ${ns}/${spec.target.name}`,
        (signal) => findDependents(gateway, restart, ns, spec.target.name, verify, signal),
      )
    : await findDependents(gateway, restart, ns, spec.target.name, verify);
  const results: RestartResult[] = [];
  let annotations: Record<string, string> | undefined;
  for (const workload of dependents) {
    if (hash !== undefined && workload.templateAnnotations[RestartAnnotation.RestartedForHash] === hash)
      continue;
    annotations ??= {
      [RestartAnnotation.RestartedAt]: ctx.clock.now().toISOString(),
      ...(hash === undefined ? {} : { [RestartAnnotation.RestartedForHash]: hash }),
    };
    const patch = annotations;
    const result = { kind: workload.kind, name: workload.name, namespace: ns };
    try {
      await ctx.attempt(
        () => `cluster "${gateway.cluster}" restart of ${workload.kind} ${ns}/${workload.name}`,
        (signal) => gateway.patchTemplateAnnotations(workload.kind, ns, workload.name, patch, { signal }),
      );
      results.push({ ...result, outcome: 'restarted' });
    } catch (error) {
      // An explicit workload that does not exist is not a failure, as with a verified lookup.
      if (!verify && error instanceof ClusterRejectedError && error.status === 404) continue;
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
  verify: boolean,
): Promise<{ restarts: readonly RestartResult[]; failure?: TargetOutcome }> {
  let restarts: RestartResult[];
  try {
    restarts = await restartDependents(ctx, gateway, spec, hash, verify);
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
 * After an update: restarts the target's dependents. A restart that fails fails the target,
 * and the Secret is marked so that the retry rewrites it and restarts again.
 */
export async function restartAfterUpdate(
  ctx: EngineContext,
  gateway: ClusterGateway,
  spec: BindingSpec,
  hash: string,
  recovering: boolean,
): Promise<{ restarts: readonly RestartResult[]; failure?: TargetOutcome }> {
  const restarted = await restartOutcome(ctx, gateway, spec, hash, recovering);
  if (restarted.failure !== undefined)
    await markRestartPending(ctx, gateway, spec.target.namespace, spec.target.name, hash);
  return restarted;
}

/**
 * After a failed restart the Secret already holds the new hash, so a redelivered event would
 * find it unchanged and the restart would be lost. Replacing the hash annotation with a marker
 * makes the retry rewrite the Secret and restart whatever still lacks the hash annotation. The
 * Secret is read again first (the write did not keep its answer, and if someone wrote since,
 * their content decides). Best effort: if this fails too, the target is reported failed anyway.
 */
async function markRestartPending(
  ctx: EngineContext,
  gateway: ClusterGateway,
  namespace: string,
  name: string,
  hash: string,
): Promise<void> {
  const mark = async (signal: AbortSignal) => {
    const current = await gateway.getSecret(namespace, name, { signal });
    if (current?.annotations[Annotation.ContentHash] !== hash) return;
    await gateway.replaceSecret(
      { ...current, annotations: { ...current.annotations, [Annotation.ContentHash]: RESTART_PENDING } },
      { signal },
    );
  };
  try {
    await withTimeout(mark, ctx.timeoutMs, `cluster "${gateway.cluster}" restart-pending mark`);
  } catch {
    // reported through the target's failed outcome
  }
}
