import type { Provider } from './change.js';

// ---------------------------------------------------------------------------
// Secret stores
// ---------------------------------------------------------------------------

/** One version of a secret as read from a store. `bytes` is the only place a value lives. */
export interface SecretValue {
  /** The store's version id (AWS VersionId, Key Vault version, Google version number, ...). */
  versionId: string;
  /** When the store created this version; used to never regress to an older value. */
  createdAt?: Date;
  /** The raw payload. Text secrets are UTF-8 encoded. */
  bytes: Uint8Array;
  contentType?: string;
}

/**
 * The narrow interface every store adapter implements (as ESO's SecretsClient).
 * "Not found" is part of the contract: `read` throws `SecretNotFoundError`.
 * Adapters map SDK failures to the errors in `errors.ts` and never put values in them.
 */
export interface SecretSource {
  readonly provider: Provider;
  /** The registry name of this source. */
  readonly name: string;
  /** Reads the current version (AWSCURRENT, latest enabled, ...) or the named one. */
  read(key: string, options?: { version?: string }): Promise<SecretValue>;
  /**
   * Whether an event's `secretRef` names the secret that a binding calls `key` in this
   * source (name vs ARN, bare name vs `projects/<p>/secrets/<s>`, ...). Pure.
   */
  refersTo(key: string, changeRef: string): boolean;
  /** The current version id without reading the value (used by polling sources). */
  currentVersion?(key: string): Promise<string>;
  /** Asks the store to run its own rotation. */
  rotate?(key: string): Promise<void>;
  /** Writes a new version (generated rotation); returns its id. */
  writeVersion?(key: string, bytes: Uint8Array): Promise<{ versionId: string }>;
}

// ---------------------------------------------------------------------------
// Clusters
// ---------------------------------------------------------------------------

/** A Kubernetes Secret as the engine sees it. `data` values are base64, as on the wire. */
export interface KubeSecret {
  namespace: string;
  name: string;
  type: string;
  data: Record<string, string>;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Absent on a Secret we are about to create. */
  resourceVersion?: string;
}

export const WorkloadKind = {
  Deployment: 'Deployment',
  StatefulSet: 'StatefulSet',
  DaemonSet: 'DaemonSet',
} as const;
export type WorkloadKind = (typeof WorkloadKind)[keyof typeof WorkloadKind];
export const WORKLOAD_KINDS: readonly WorkloadKind[] = Object.values(WorkloadKind);

/** A workload with just what dependency discovery needs. */
export interface Workload {
  kind: WorkloadKind;
  namespace: string;
  name: string;
  labels: Record<string, string>;
  /** Annotations on the pod template (where restarts are recorded). */
  templateAnnotations: Record<string, string>;
  /** The pod template's `spec`, as plain JSON, for reference discovery. */
  podSpec: unknown;
  /** As read; a restart patch carries it, so two workers never restart one workload for one change. */
  resourceVersion?: string;
  /** Whether its latest spec has rolled out, as `kubectl rollout status` reads it; absent when the gateway cannot tell. */
  rollout?: RolloutStatus;
}

/** `done`: the latest spec is rolled out and available; `failed`: the controller gave up, or cannot roll out. */
export type RolloutState = 'done' | 'waiting' | 'failed';

export interface RolloutStatus {
  state: RolloutState;
  /** Why it is waiting or failed (or that it is complete), in an operator's words. */
  reason: string;
}

/**
 * What a caller may pass with any cluster request: `signal` cancels it (the engine aborts a
 * target's requests when its attempt runs out of time, and the request's socket is closed).
 */
export interface RequestOptions {
  signal?: AbortSignal;
}

/** A write conditional on the object being unchanged since it was read (else `ConflictError`). */
export interface PreconditionOptions extends RequestOptions {
  resourceVersion?: string;
}

/**
 * Everything the engine needs from one cluster. Implementations map HTTP failures to
 * `ClusterUnavailableError` (network, timeout, 5xx), `ThrottledError` (429),
 * `ConflictError` (409) and `ClusterRejectedError` (other 4xx), with the status code
 * and never the response body. Every method takes `RequestOptions` last.
 */
export interface ClusterGateway {
  readonly cluster: string;
  getSecret(namespace: string, name: string, options?: RequestOptions): Promise<KubeSecret | undefined>;
  /**
   * Lists Secrets carrying `labelSelector` in one namespace. Never cluster-wide: the Role the
   * product prints grants `list` per namespace only.
   */
  listSecrets(labelSelector: string, namespace: string, options?: RequestOptions): Promise<KubeSecret[]>;
  /** Creates the Secret (`ConflictError` when it exists). Nothing comes back: no caller needs the created object, and a fleet would parse thousands. */
  createSecret(secret: KubeSecret, options?: RequestOptions): Promise<void>;
  /** Replaces the Secret; `secret.resourceVersion` is required and a stale one yields `ConflictError`. Nothing comes back, as for a create. */
  replaceSecret(secret: KubeSecret, options?: RequestOptions): Promise<void>;
  /** Deletes a Secret (gone already: fine); with `resourceVersion`, only that exact version. */
  deleteSecret(namespace: string, name: string, options?: PreconditionOptions): Promise<void>;
  getWorkload(
    kind: WorkloadKind,
    namespace: string,
    name: string,
    options?: RequestOptions,
  ): Promise<Workload | undefined>;
  listWorkloads(
    kind: WorkloadKind,
    namespace: string,
    labelSelector?: string,
    options?: RequestOptions,
  ): Promise<Workload[]>;
  /**
   * Merge-patches annotations onto the workload's pod template, which is how
   * `kubectl rollout restart` triggers a rollout. With `resourceVersion`, only if the workload
   * is unchanged since it was read (`ConflictError` otherwise).
   */
  patchTemplateAnnotations(
    kind: WorkloadKind,
    namespace: string,
    name: string,
    annotations: Record<string, string>,
    options?: PreconditionOptions,
  ): Promise<void>;
}

// ---------------------------------------------------------------------------
// Telemetry and time
// ---------------------------------------------------------------------------

/** Fixed log keys (docs/architecture.md, "Logs"). Values are identifiers, counts and codes: never secret values. */
export interface LogFields {
  changeId?: string;
  source?: string;
  secretRef?: string;
  version?: string;
  binding?: string;
  cluster?: string;
  namespace?: string;
  secret?: string;
  workload?: string;
  outcome?: string;
  errorCode?: string;
  durationMs?: number;
  [key: string]: unknown;
}

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

export interface Metrics {
  /** Adds `value` (default 1) to a counter. */
  count(name: string, value?: number, dimensions?: Record<string, string>): void;
  /** Records a duration in milliseconds. */
  timing(name: string, ms: number, dimensions?: Record<string, string>): void;
}

export interface Clock {
  now(): Date;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

// ---------------------------------------------------------------------------
// Cluster authentication (the plug-in point for eks / aks / gke / token / kubeconfig)
// ---------------------------------------------------------------------------

/** How to reach and authenticate to one cluster. Tokens are secrets: never log them. */
export interface ClusterCredentials {
  /** API server URL; overrides the registry's (eks DescribeCluster, kubeconfig). */
  server?: string;
  /** Base64 PEM CA; overrides the registry's. */
  caData?: string;
  /** Bearer token. */
  token?: string;
  /** Base64 PEM client certificate and key (kubeconfig client-cert auth). */
  clientCertData?: string;
  clientKeyData?: string;
  /** When the token stops being valid; the gateway asks again shortly before. */
  expiresAt?: Date;
}

/** The cluster an authenticator is asked about: its registry name, endpoint and `auth` entry. */
export interface AuthenticatedCluster<Spec = unknown> {
  name: string;
  server?: string;
  caData?: string;
  auth: Spec;
}

/**
 * Produces credentials for clusters whose `auth.type` equals `type`. One instance per cold
 * start. The authenticator is the only owner of credentials: it caches them (until shortly
 * before they expire) and answers with the same object while they are cached.
 */
export interface ClusterAuthenticator<Spec = unknown> {
  readonly type: string;
  credentials(cluster: AuthenticatedCluster<Spec>): Promise<ClusterCredentials>;
  /**
   * Forgets what is cached for `cluster` (the API server answered 401: the token was revoked,
   * rotated or expired early), so the next `credentials` call issues fresh ones.
   */
  invalidate(cluster: AuthenticatedCluster<Spec>): void;
}
