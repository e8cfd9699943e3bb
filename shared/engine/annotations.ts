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
} as const;

/** Content-hash value of a Secret whose dependents still need a restart (matches no real hash). */
export const RESTART_PENDING = 'restart-pending';

/** Pod-template annotations a restart sets. */
export const RestartAnnotation = {
  /** The annotation `kubectl rollout restart` sets. */
  RestartedAt: 'kubectl.kubernetes.io/restartedAt',
  /** The content hash the restart was for: a repeated delivery of the same hash restarts nothing. */
  RestartedForHash: 'secret-propagator.io/restarted-for-hash',
} as const;
