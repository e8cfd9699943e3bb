/** Label every Secret we own carries (`creationPolicy: Owner`). */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'secret-propagator';
/** `listSecrets` selector for the Secrets we own. */
export const MANAGED_SELECTOR = `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`;

/** Annotations on every Secret we write; identifiers and a hash only, never a value. */
export const Annotation = {
  Source: 'secret-propagator.io/source',
  Version: 'secret-propagator.io/version',
  /** ISO time the store created the version; guards against writing an older value over a newer one. */
  VersionCreated: 'secret-propagator.io/version-created',
  ContentHash: 'secret-propagator.io/content-hash',
  Binding: 'secret-propagator.io/binding',
  /**
   * The content hash whose restarts are still owed. Written by the same request that writes
   * the data, removed only once every dependent carries that hash: a worker that dies at any
   * point leaves it behind, and the next delivery finishes the restarts.
   */
  RestartPending: 'secret-propagator.io/restart-pending',
} as const;

/**
 * The older marker: a content-hash value standing for "restarts pending" (it matches no real
 * hash). No longer written; a Secret still carrying it is recovered like one with
 * `Annotation.RestartPending`.
 */
export const RESTART_PENDING = 'restart-pending';

/** Whether a Secret carries our managed-by label: we created it, so it is ours to replace or delete. */
export function managedByUs(secret: { readonly labels: Readonly<Record<string, string>> }): boolean {
  return secret.labels[MANAGED_BY_LABEL] === MANAGED_BY_VALUE;
}

/** Whether the Secret records restarts still owed to its dependents (either marker). */
export function restartsPending(annotations: Readonly<Record<string, string>>): boolean {
  return (
    annotations[Annotation.RestartPending] !== undefined ||
    annotations[Annotation.ContentHash] === RESTART_PENDING
  );
}

/** Pod-template annotations a restart sets. */
export const RestartAnnotation = {
  /** The annotation `kubectl rollout restart` sets. */
  RestartedAt: 'kubectl.kubernetes.io/restartedAt',
  /** The content hash the restart was for: a repeated delivery of the same hash restarts nothing. */
  RestartedForHash: 'secret-propagator.io/restarted-for-hash',
} as const;
