import type { KubeSecret } from '../core/ports.js';
import {
  Annotation,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  managedByUs,
  restartsPending,
} from './annotations.js';

/** `creationPolicy` of a binding's target, as in ESO. */
export type CreationPolicy = 'Owner' | 'Merge' | 'Orphan';

/** Why a target is left alone. Stable strings: they appear in reports and logs. */
export const SkipReason = {
  /** The Secret exists and is not ours (no managed-by label) under `creationPolicy: Owner`. */
  ForeignSecret: 'foreign-secret',
  /** The Secret is ours but written by another binding. */
  OtherBinding: 'owned-by-other-binding',
  /** The target holds a newer version than the one we read. */
  OlderVersion: 'older-version',
  /** `creationPolicy: Merge` never creates a Secret. */
  MergeTargetMissing: 'merge-target-missing',
  /** The namespace is outside the cluster's allowlist (or kube-system without listing). */
  NamespaceNotAllowed: 'namespace-not-allowed',
  /** An earlier rollout wave had failures and `haltOnFailure` is set. */
  HaltedAfterFailedWave: 'halted-after-failed-wave',
  /** The cluster is no longer selected by the binding (work item from an older registry). */
  ClusterNotSelected: 'cluster-not-selected',
} as const;
export type SkipReason = (typeof SkipReason)[keyof typeof SkipReason];

/** What one binding wants every target to hold; computed once per binding per invocation. */
export interface Desired {
  binding: string;
  source: string;
  type: string;
  /** base64 values, as on the wire. */
  data: Readonly<Record<string, string>>;
  /** Labels / annotations from the binding's template. */
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
  hash: string;
  version: string;
  /** ISO time the store created the version, when the store says. */
  versionCreated?: string;
  /**
   * Whether the binding restarts dependents: then an update also records, in the same write,
   * that restarts for this hash are pending (`Annotation.RestartPending`).
   */
  restarts?: boolean;
}

export type Decision =
  | {
      action: 'create' | 'update';
      secret: KubeSecret;
      changedKeys: string[];
      /** Only our version annotations change (a new store version with the same content): no restart. */
      metadataOnly?: boolean;
    }
  | { action: 'unchanged'; changedKeys: [] }
  /** The Secret holds the content already, but restarts for it are still pending: finish them. */
  | { action: 'restart'; changedKeys: [] }
  | { action: 'skip'; reason: SkipReason; changedKeys: string[] };

function ourAnnotations(desired: Desired): Record<string, string> {
  return {
    [Annotation.Source]: desired.source,
    [Annotation.Binding]: desired.binding,
    [Annotation.Version]: desired.version,
    ...(desired.versionCreated === undefined ? {} : { [Annotation.VersionCreated]: desired.versionCreated }),
    [Annotation.ContentHash]: desired.hash,
  };
}

interface FreshSecret {
  keys: readonly string[];
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
  /** The Secret created at each target `namespace/name` (in practice one per binding), frozen and shared. */
  created: Map<string, KubeSecret>;
}

/** What every created target of one binding gets, worked out once per Desired and policy (a fleet creates thousands). */
const freshSecrets = new WeakMap<Desired, Map<CreationPolicy, FreshSecret>>();

function freshSecretOf(desired: Desired, policy: CreationPolicy): FreshSecret {
  let byPolicy = freshSecrets.get(desired);
  if (byPolicy === undefined) freshSecrets.set(desired, (byPolicy = new Map<CreationPolicy, FreshSecret>()));
  let fresh = byPolicy.get(policy);
  if (fresh === undefined) {
    fresh = {
      keys: Object.keys(desired.data).sort(),
      labels:
        policy === 'Owner'
          ? { ...desired.labels, [MANAGED_BY_LABEL]: MANAGED_BY_VALUE }
          : { ...desired.labels },
      annotations: { ...desired.annotations, ...ourAnnotations(desired) },
      created: new Map(),
    };
    byPolicy.set(policy, fresh);
  }
  return fresh;
}

/** Keys whose value would change (added, changed, or removed when we replace the data). */
function changedKeys(
  existing: Readonly<Record<string, string>>,
  desired: Readonly<Record<string, string>>,
  replaces: boolean,
): string[] {
  const keys: string[] = [];
  for (const key in desired) if (existing[key] !== desired[key]) keys.push(key);
  if (replaces) for (const key in existing) if (!(key in desired)) keys.push(key);
  return keys.sort();
}

function labelsPresent(
  existing: Readonly<Record<string, string>>,
  wanted: Readonly<Record<string, string>>,
): boolean {
  for (const key in wanted) if (existing[key] !== wanted[key]) return false;
  return true;
}

/** `desired.versionCreated` as a time, parsed once per Desired (a fleet compares it once per target). */
const createdTimes = new WeakMap<Desired, number>();

function isOlder(desired: Desired, existing: KubeSecret): boolean {
  if (desired.versionCreated === undefined) return false;
  if (existing.annotations[Annotation.Source] !== desired.source) return false;
  const theirs = existing.annotations[Annotation.VersionCreated];
  if (theirs === undefined) return false;
  let a = createdTimes.get(desired);
  if (a === undefined) createdTimes.set(desired, (a = Date.parse(desired.versionCreated)));
  const b = Date.parse(theirs);
  return Number.isFinite(a) && Number.isFinite(b) && a < b;
}

/**
 * Decides what to do with one target, given what the cluster holds. Pure.
 *
 * - Owner: creates the Secret with our managed-by label; updates only a Secret carrying
 *   that label and our binding annotation (otherwise `foreign-secret` / `owned-by-other-binding`);
 *   replaces the whole data.
 * - Merge: never creates; writes only our keys into the existing Secret and keeps every
 *   other key, label and its type; does not take ownership (no managed-by label added).
 * - Orphan (our reading of ESO): creates or updates regardless of the managed-by label and
 *   replaces the data, but never adds the label, so the Secret is not ours: a `Delete`
 *   deletion policy leaves it in place and Owner-style checks do not apply.
 *
 * A target whose hash annotation, type, data and template labels already match is
 * `unchanged`, so a drifted value is repaired while a repeated delivery writes nothing, unless
 * it still records pending restarts: then it is `restart` (finish them, write nothing). An
 * update of a binding that restarts dependents records its restarts as pending. A
 * target holding a newer version of the same source (`version-created`) is `older-version`.
 */
export function decide(
  existing: KubeSecret | undefined,
  desired: Desired,
  target: { namespace: string; name: string; creationPolicy: CreationPolicy },
): Decision {
  const policy = target.creationPolicy;
  if (existing === undefined) {
    if (policy === 'Merge') return { action: 'skip', reason: SkipReason.MergeTargetMissing, changedKeys: [] };
    const fresh = freshSecretOf(desired, policy);
    // Every cluster gets the same Secret: one frozen object, which the gateway also serializes once.
    const at = `${target.namespace}/${target.name}`;
    let secret = fresh.created.get(at);
    if (secret === undefined) {
      secret = Object.freeze({
        namespace: target.namespace,
        name: target.name,
        type: desired.type,
        data: Object.freeze({ ...desired.data }),
        labels: Object.freeze({ ...fresh.labels }),
        annotations: Object.freeze({ ...fresh.annotations }),
      });
      fresh.created.set(at, secret);
    }
    return { action: 'create', changedKeys: [...fresh.keys], secret };
  }

  if (policy === 'Owner') {
    if (!managedByUs(existing)) {
      return { action: 'skip', reason: SkipReason.ForeignSecret, changedKeys: [] };
    }
    const owner = existing.annotations[Annotation.Binding];
    if (owner !== undefined && owner !== desired.binding) {
      return { action: 'skip', reason: SkipReason.OtherBinding, changedKeys: [] };
    }
  }

  const replaces = policy !== 'Merge';
  const keys = changedKeys(existing.data, desired.data, replaces);
  const sameHash = existing.annotations[Annotation.ContentHash] === desired.hash;
  const sameType = !replaces || existing.type === desired.type;
  if (
    sameHash &&
    sameType &&
    keys.length === 0 &&
    labelsPresent(existing.labels, desired.labels) &&
    labelsPresent(existing.annotations, desired.annotations)
  ) {
    // A worker that wrote this content may have died before its restarts were all done.
    if (restartsPending(existing.annotations)) return { action: 'restart', changedKeys: [] };
    // Same content: still record a new store version, so status and reconciles see it arrived.
    if (existing.annotations[Annotation.Version] === desired.version || isOlder(desired, existing))
      return { action: 'unchanged', changedKeys: [] };
    return {
      action: 'update',
      changedKeys: [],
      metadataOnly: true,
      secret: {
        ...existing,
        annotations: { ...existing.annotations, ...freshSecretOf(desired, policy).annotations },
      },
    };
  }
  if (isOlder(desired, existing))
    return { action: 'skip', reason: SkipReason.OlderVersion, changedKeys: keys };

  const labels = { ...existing.labels, ...desired.labels };
  if (policy === 'Owner') labels[MANAGED_BY_LABEL] = MANAGED_BY_VALUE;
  // Theirs, then the binding's and ours (worked out once per Desired).
  const annotations = { ...existing.annotations, ...freshSecretOf(desired, policy).annotations };
  // The restarts this change owes are recorded by the very write that makes them owed.
  if (desired.restarts === true) annotations[Annotation.RestartPending] = desired.hash;
  else delete annotations[Annotation.RestartPending];
  const secret: KubeSecret = {
    namespace: target.namespace,
    name: target.name,
    type: replaces ? desired.type : existing.type,
    data: replaces ? { ...desired.data } : { ...existing.data, ...desired.data },
    labels,
    annotations,
  };
  if (existing.resourceVersion !== undefined) secret.resourceVersion = existing.resourceVersion;
  return { action: 'update', secret, changedKeys: keys };
}
