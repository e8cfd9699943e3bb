import type { ClusterGateway, KubeSecret } from '../core/ports.js';
import { ClusterRejectedError, errorCodeOf } from '../core/errors.js';
import { namespaceRefusal } from '../registry/cross-check.js';
import type { ClusterSpec } from '../registry/schema.js';
import {
  Annotation,
  managedByUs,
  MANAGED_SELECTOR,
  RestartAnnotation,
  restartsPending,
} from './annotations.js';
import type { BindingInfo } from './bindings.js';
import type { EngineContext, Invocation, Listing, Listings, NamespaceListing } from './context.js';
import { SkipReason, decide, type Decision, type Desired } from './decide.js';
import { decidedOutcome, type TargetOutcome } from './report.js';
import { findDependents, finishRestarts } from './restart.js';
import { Outcome, type PlannedTarget } from './types.js';

/** Counts the attempts a target took, for its result. */
export interface Attempts {
  count: number;
}

/**
 * The managed Secrets of the target's namespace in the cluster, listed once per run and
 * shared by every target there; undefined if the listing failed in a way a GET per target may
 * get past (an outage, a timeout). A refusal (403 and the like) is not swallowed: the promise
 * rejects with it, so every target of that namespace fails naming the missing permission.
 */
function listingOf(
  gateway: ClusterGateway,
  cluster: string,
  namespace: string,
  listed: Listings,
): Promise<NamespaceListing | undefined> {
  let namespaces = listed.pending.get(cluster);
  if (namespaces === undefined)
    listed.pending.set(cluster, (namespaces = new Map<string, Promise<NamespaceListing | undefined>>()));
  let listing = namespaces.get(namespace);
  if (listing === undefined) {
    listing = gateway.listSecrets(MANAGED_SELECTOR, namespace).then(
      (items) => {
        const ready: NamespaceListing = new Map();
        for (const secret of items) ready.set(secret.name, secret);
        let known = listed.ready.get(cluster);
        if (known === undefined) listed.ready.set(cluster, (known = new Map<string, NamespaceListing>()));
        known.set(namespace, ready);
        return ready;
      },
      (error: unknown) => {
        if (error instanceof ClusterRejectedError) throw error;
        return undefined; // fall back to one GET per target, which retries
      },
    );
    // Targets that fail on a refused listing take the rejection from here; this one only keeps
    // it from being reported as unhandled when no target is left to await it.
    listing.catch(() => undefined);
    namespaces.set(namespace, listing);
  }
  return listing;
}

/** What the cluster's listing decides for the binding's target, when the listing holds it. */
export function listedDecision(listing: Listing, info: BindingInfo, desired: Desired): Decision | undefined {
  const { namespace, name, creationPolicy } = info.spec.target;
  const found = listing.get(namespace)?.get(name);
  return found === undefined ? undefined : decide(found, desired, { namespace, name, creationPolicy });
}

/**
 * Whether a decision taken from the listing settles the target: unchanged there, or not ours.
 * Then it needs no request at all (no retry or timer either); that is most of a reconcile.
 */
export function settles(decision: Decision): boolean {
  return decision.action === 'unchanged' || decision.action === 'skip';
}

/**
 * The target Secret as it is now: from the run's listing of the cluster where that can be
 * trusted, else read. The listing holds every Secret we manage there. Under Owner, a target
 * missing from it is either absent, so it is created in one request, or someone else's: the
 * create then answers 409, and the retry reads it and the ownership rules decide. Merge and
 * Orphan targets carry no managed-by label, so they are read.
 */
function existingSecret(
  gateway: ClusterGateway,
  info: BindingInfo,
  listing: NamespaceListing | undefined,
  signal: AbortSignal,
): KubeSecret | undefined | Promise<KubeSecret | undefined> {
  const { namespace, name, creationPolicy } = info.spec.target;
  const found = listing?.get(name);
  if (found !== undefined || (listing !== undefined && creationPolicy === 'Owner')) return found;
  return gateway.getSecret(namespace, name, { signal });
}

/**
 * Converges one target to `desired`: read (or take from the listing), decide, write, and
 * restart dependents after an update. `decided` is what the listing decided already, when the
 * caller knows it. A retry follows a conflict or a failure: it reads the Secret rather than
 * trust the listing.
 */
export async function applyTarget(
  ctx: EngineContext,
  inv: Invocation,
  info: BindingInfo,
  cluster: ClusterSpec,
  desired: Desired,
  attempts: Attempts,
  decided?: Decision,
): Promise<TargetOutcome> {
  const gateway = ctx.gatewayOf(cluster);
  const { namespace, name, creationPolicy } = info.spec.target;
  const listing =
    inv.listed === undefined ? undefined : await listingOf(gateway, cluster.name, namespace, inv.listed);
  const found = listing?.get(name);
  const fromListing =
    decided ??
    (found === undefined ? undefined : decide(found, desired, { namespace, name, creationPolicy }));
  if (fromListing !== undefined && settles(fromListing)) {
    attempts.count = 1;
    return decidedOutcome(fromListing, desired);
  }
  // Whether the Secret carried a restart-pending marker: all the restart needs of it.
  let recovering = false;
  const decision = await ctx.attempt(
    () => `cluster "${cluster.name}" Secret ${namespace}/${name}`,
    async (signal) => {
      const first = attempts.count === 1;
      const existing = await existingSecret(gateway, info, first ? listing : undefined, signal);
      recovering = existing !== undefined && restartsPending(existing.annotations);
      const decision =
        first && fromListing !== undefined
          ? fromListing
          : decide(existing, desired, { namespace, name, creationPolicy });
      await write(gateway, existing, decision, signal);
      return decision;
    },
    attempts,
  );
  const outcome = decidedOutcome(decision, desired);
  if (decision.action !== 'update' && decision.action !== 'restart') return outcome;
  if (decision.action === 'update' && decision.metadataOnly === true)
    return { ...outcome, reason: 'version-annotation-only' };
  const { restarts, failure } = await finishRestarts(ctx, gateway, info.spec, desired.hash, recovering);
  if (failure === undefined && restarts.length === 0) return outcome;
  return { ...outcome, ...failure, restarts };
}

/**
 * Carries out a create or update decision. A Secret's `type` is immutable, so an update of a
 * Secret we own (our managed-by label) whose type must change deletes exactly the version read (a precondition: a
 * concurrent writer's version makes it a conflict, and the attempt reads again) and creates
 * it anew, restart-pending marker included, so a crash after the create still restarts.
 */
async function write(
  gateway: ClusterGateway,
  existing: KubeSecret | undefined,
  decision: Decision,
  signal: AbortSignal,
): Promise<void> {
  if (decision.action === 'create') return gateway.createSecret(decision.secret, { signal });
  if (decision.action !== 'update') return;
  const secret = decision.secret;
  if (existing === undefined || existing.type === secret.type || !managedByUs(existing))
    return gateway.replaceSecret(secret, { signal });
  const rv = existing.resourceVersion;
  await gateway.deleteSecret(secret.namespace, secret.name, {
    signal,
    ...(rv === undefined ? {} : { resourceVersion: rv }),
  });
  const { resourceVersion: _read, ...recreated } = secret;
  await gateway.createSecret(recreated, { signal });
}

/**
 * The source secret is gone and the binding says `deletionPolicy: Delete`: deletes the target
 * if it is ours (outcome deleted), leaves anyone else's alone.
 */
export async function deleteTarget(
  ctx: EngineContext,
  info: BindingInfo,
  cluster: ClusterSpec,
  attempts: Attempts,
): Promise<TargetOutcome> {
  const gateway = ctx.gatewayOf(cluster);
  const { namespace, name, creationPolicy } = info.spec.target;
  const existing = await ctx.attempt(
    () => `cluster "${cluster.name}" Secret ${namespace}/${name}`,
    (signal) => gateway.getSecret(namespace, name, { signal }),
    attempts,
  );
  if (existing === undefined) return { outcome: Outcome.Unchanged };
  if (
    creationPolicy !== 'Owner' ||
    !managedByUs(existing) ||
    (existing.annotations[Annotation.Binding] ?? info.spec.name) !== info.spec.name
  )
    return { outcome: Outcome.Skipped, reason: SkipReason.ForeignSecret };
  await ctx.attempt(
    () => `cluster "${cluster.name}" delete of Secret ${namespace}/${name}`,
    (signal) => gateway.deleteSecret(namespace, name, { signal }),
    attempts,
  );
  return { outcome: Outcome.Deleted, reason: 'deleted' };
}

/** A planned target that will not be touched, and why. */
export function plannedSkip(info: BindingInfo, cluster: string, reason: string): PlannedTarget {
  const { namespace, name } = info.spec.target;
  return {
    binding: info.spec.name,
    cluster,
    namespace,
    secret: name,
    action: 'skip',
    reason,
    changedKeys: [],
    dependents: [],
  };
}

/** What a sync would do to one target, and which dependents it would restart: reads only. */
export async function planTarget(
  ctx: EngineContext,
  info: BindingInfo,
  cluster: ClusterSpec,
  desired: Desired,
): Promise<PlannedTarget> {
  const { namespace, name, creationPolicy } = info.spec.target;
  if (namespaceRefusal(cluster, namespace) !== undefined)
    return plannedSkip(info, cluster.name, SkipReason.NamespaceNotAllowed);
  try {
    const gateway = ctx.gatewayOf(cluster);
    const existing = await ctx.attempt(
      () => `cluster "${cluster.name}" Secret ${namespace}/${name}`,
      (signal) => gateway.getSecret(namespace, name, { signal }),
    );
    const decision = decide(existing, desired, { namespace, name, creationPolicy });
    // Finishing pending restarts writes no data, but it is work a sync would do.
    const action = decision.action === 'restart' ? 'update' : decision.action;
    const restart = info.spec.restart;
    const dependents =
      action === 'update' &&
      !(decision.action === 'update' && decision.metadataOnly === true) &&
      restart !== undefined &&
      restart !== false
        ? (
            await ctx.attempt(
              () => `cluster "${cluster.name}" dependents`,
              (signal) => findDependents(gateway, restart, namespace, name, signal),
            )
          )
            .filter((w) => w.templateAnnotations[RestartAnnotation.RestartedForHash] !== desired.hash)
            .map((w) => ({ kind: w.kind, name: w.name }))
        : [];
    return {
      binding: info.spec.name,
      cluster: cluster.name,
      namespace,
      secret: name,
      action,
      ...(decision.action === 'skip' ? { reason: decision.reason } : {}),
      ...(decision.action === 'restart' ? { reason: 'restart-pending' } : {}),
      changedKeys: decision.changedKeys,
      dependents,
    };
  } catch (error) {
    return plannedSkip(info, cluster.name, `error: ${errorCodeOf(error)}`);
  }
}
