/**
 * Fleet status: which store version each target Secret holds, read from our annotations on
 * the Secrets, never from their data. One listing per (cluster, namespace) serves every
 * binding targeting that namespace there, so a fleet of 1,500 clusters x 20 bindings costs
 * 1,500 x (namespaces) requests, and nothing is written.
 */
import { ChangeKind } from '../core/change.js';
import { ErrorCode, errorCodeOf } from '../core/errors.js';
import type { KubeSecret } from '../core/ports.js';
import { namespaceRefusal } from '../registry/cross-check.js';
import type { ClusterSpec } from '../registry/schema.js';
import { Annotation, managedByUs, MANAGED_SELECTOR, RESTART_PENDING } from './annotations.js';
import { primaryRef, type BindingInfo } from './bindings.js';
import { newInvocation, type EngineContext } from './context.js';
import { SkipReason, type Desired } from './decide.js';
import { desiredOf } from './desired.js';
import { safeMessage } from './report.js';

/** Where one target stands against the store's current version. Stable strings (CLI, JSON, HTML). */
export const TargetState = {
  /** Holds the store's current version with the content we would write. */
  Current: 'current',
  /** Holds an older (or other) version. */
  Behind: 'behind',
  /** Carries the current version's annotation but other content (edited by hand, or the template changed). */
  Drifted: 'drifted',
  /** Written, but some dependents still need their restart (the restart-pending marker). */
  RestartPending: 'restart-pending',
  /** No Secret of ours there yet. */
  Missing: 'missing',
  /** The cluster could not be reached (network, timeout, 5xx, throttled). */
  Unreachable: 'unreachable',
  /** The cluster answered with a refusal (403, ...). */
  Failed: 'failed',
  /** Not ours to manage there (namespace not allowed, owned by another binding). */
  Skipped: 'skipped',
  /** The store could not be read, so nothing can be compared with it. */
  Unknown: 'unknown',
} as const;
export type TargetState = (typeof TargetState)[keyof typeof TargetState];
export const TARGET_STATES: readonly TargetState[] = Object.values(TargetState);

/** One target's standing. Identifiers, versions and causes only: never a value. */
export interface TargetStatus {
  binding: string;
  cluster: string;
  namespace: string;
  secret: string;
  state: TargetState;
  /** The version the Secret's annotation names, when there is a Secret of ours. */
  version?: string;
  /** Why it is not current: a skip reason, or the error's message. */
  reason?: string;
  errorCode?: string;
}

/** One binding across the clusters asked about. */
export interface BindingStatus {
  binding: string;
  source: string;
  secretRef: string;
  /** The store's current version (absent when the store could not be read). */
  version?: string;
  /** The store could not be read or rendered: every target is `unknown`. */
  error?: { code: string; message: string };
  counts: Record<TargetState, number>;
  /** In the order of the binding's clusters. */
  targets: TargetStatus[];
}

/** What `status` looks at. */
export interface StatusOptions {
  /** Only these bindings (default: every binding). */
  bindings?: readonly string[];
  /** Only the clusters this accepts (default: every cluster). */
  clusters?: (cluster: ClusterSpec) => boolean;
}

/** A binding with what the store says it should be now (or why that is unknown). */
interface Expected {
  info: BindingInfo;
  clusters: ClusterSpec[];
  desired?: Desired;
  error?: { code: string; message: string };
}

/** What one (cluster, namespace) listing came to: the Secrets by name, or the failure. */
type NamespaceListing =
  { secrets: Map<string, KubeSecret> } | { state: TargetState; reason: string; errorCode: string };

function emptyCounts(): Record<TargetState, number> {
  return Object.fromEntries(TARGET_STATES.map((s) => [s, 0])) as Record<TargetState, number>;
}

/** The state of one target from what its namespace's listing holds. Pure. */
export function targetStatusOf(
  expected: Pick<Expected, 'info' | 'desired'>,
  cluster: string,
  found: KubeSecret | undefined,
): TargetStatus {
  const { spec } = expected.info;
  const head = { binding: spec.name, cluster, namespace: spec.target.namespace, secret: spec.target.name };
  const policy = spec.target.creationPolicy;
  const ours =
    found !== undefined &&
    (policy !== 'Owner' || managedByUs(found)) &&
    found.annotations[Annotation.Version] !== undefined;
  if (!ours || found === undefined) return { ...head, state: TargetState.Missing };
  const owner = found.annotations[Annotation.Binding];
  if (policy === 'Owner' && owner !== undefined && owner !== spec.name)
    return { ...head, state: TargetState.Skipped, reason: SkipReason.OtherBinding };
  const version = found.annotations[Annotation.Version] ?? '';
  const hash = found.annotations[Annotation.ContentHash];
  const desired = expected.desired;
  if (desired === undefined) return { ...head, state: TargetState.Unknown, version };
  if (hash === RESTART_PENDING) return { ...head, state: TargetState.RestartPending, version };
  if (version !== desired.version) return { ...head, state: TargetState.Behind, version };
  if (hash !== desired.hash) return { ...head, state: TargetState.Drifted, version };
  return { ...head, state: TargetState.Current, version };
}

/** Lists one namespace of one cluster: our label only, unless a Merge or Orphan target (unlabelled) lives there. */
async function listNamespace(
  ctx: EngineContext,
  cluster: ClusterSpec,
  namespace: string,
  labelled: boolean,
): Promise<NamespaceListing> {
  try {
    const gateway = ctx.gatewayOf(cluster);
    const items = await ctx.attempt(
      () => `cluster "${cluster.name}" list of Secrets in ${namespace}`,
      (signal) => gateway.listSecrets(labelled ? MANAGED_SELECTOR : '', namespace, { signal }),
    );
    return { secrets: new Map(items.map((s) => [s.name, s])) };
  } catch (error) {
    const errorCode = errorCodeOf(error);
    const unreachable =
      errorCode === ErrorCode.ClusterUnavailable ||
      errorCode === ErrorCode.Throttled ||
      errorCode === ErrorCode.Timeout;
    return {
      state: unreachable ? TargetState.Unreachable : TargetState.Failed,
      reason: safeMessage(error),
      errorCode,
    };
  }
}

/** Every target of `expected` in one cluster: one listing per namespace they use. */
async function clusterStatus(
  ctx: EngineContext,
  cluster: ClusterSpec,
  expected: readonly Expected[],
): Promise<TargetStatus[]> {
  const namespaces = new Map<string, boolean>();
  for (const e of expected) {
    const { namespace, creationPolicy } = e.info.spec.target;
    if (namespaceRefusal(cluster, namespace) !== undefined) continue;
    namespaces.set(namespace, (namespaces.get(namespace) ?? true) && creationPolicy === 'Owner');
  }
  const listings = new Map<string, NamespaceListing>();
  await Promise.all(
    [...namespaces].map(async ([namespace, labelled]) => {
      listings.set(namespace, await listNamespace(ctx, cluster, namespace, labelled));
    }),
  );
  return expected.map((e) => {
    const { namespace, name } = e.info.spec.target;
    const head = { binding: e.info.spec.name, cluster: cluster.name, namespace, secret: name };
    const listing = listings.get(namespace);
    if (listing === undefined)
      return { ...head, state: TargetState.Skipped, reason: SkipReason.NamespaceNotAllowed };
    if (!('secrets' in listing))
      return { ...head, state: listing.state, reason: listing.reason, errorCode: listing.errorCode };
    return targetStatusOf(e, cluster.name, listing.secrets.get(name));
  });
}

/** The store's current version of each binding (read once per source and key), or why not. */
async function expectations(
  ctx: EngineContext,
  infos: readonly BindingInfo[],
  accept: (cluster: ClusterSpec) => boolean,
): Promise<Expected[]> {
  const inv = newInvocation(ctx, 'status', ChangeKind.Reconcile);
  return Promise.all(
    infos.map(async (info): Promise<Expected> => {
      const clusters = info.clusters.filter(accept);
      try {
        return { info, clusters, desired: await desiredOf(ctx, info, inv) };
      } catch (error) {
        return { info, clusters, error: { code: errorCodeOf(error), message: safeMessage(error) } };
      }
    }),
  );
}

/**
 * Where every target of the chosen bindings stands, cluster by cluster: at most
 * `settings.concurrency` listings at once, each cluster's listings dropped once its targets
 * are decided, so memory follows the clusters in flight.
 */
export async function fleetStatus(
  ctx: EngineContext,
  infos: readonly BindingInfo[],
  options: Pick<StatusOptions, 'clusters'> = {},
): Promise<BindingStatus[]> {
  const expected = await expectations(ctx, infos, options.clusters ?? (() => true));
  const byCluster = new Map<string, { cluster: ClusterSpec; expected: Expected[] }>();
  for (const e of expected) {
    for (const cluster of e.clusters) {
      let entry = byCluster.get(cluster.name);
      if (entry === undefined) byCluster.set(cluster.name, (entry = { cluster, expected: [] }));
      entry.expected.push(e);
    }
  }
  const found = new Map<string, TargetStatus>();
  const key = (binding: string, cluster: string) => `${binding}\u0000${cluster}`;
  const entries = [...byCluster.values()];
  let next = 0;
  const runner = async (): Promise<void> => {
    for (let entry = entries[next++]; entry !== undefined; entry = entries[next++])
      for (const status of await clusterStatus(ctx, entry.cluster, entry.expected))
        found.set(key(status.binding, status.cluster), status);
  };
  await Promise.all(Array.from({ length: Math.min(entries.length, ctx.settings.concurrency) }, runner));
  return expected.map((e) => {
    const targets = e.clusters.flatMap((c) => found.get(key(e.info.spec.name, c.name)) ?? []);
    const counts = emptyCounts();
    for (const t of targets) counts[t.state]++;
    return {
      binding: e.info.spec.name,
      source: e.info.source.name,
      secretRef: primaryRef(e.info),
      ...(e.desired === undefined ? {} : { version: e.desired.version }),
      ...(e.error === undefined ? {} : { error: e.error }),
      counts,
      targets,
    };
  });
}
