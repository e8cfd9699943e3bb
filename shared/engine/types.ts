import type { SecretChange } from '../core/change.js';
import type { ErrorCode } from '../core/errors.js';
import type { WorkloadKind } from '../core/ports.js';

/** What happened to one target Secret. */
export const Outcome = {
  Created: 'created',
  Updated: 'updated',
  Unchanged: 'unchanged',
  Skipped: 'skipped',
  Failed: 'failed',
  /** The target Secret was deleted (the source is gone and `deletionPolicy: Delete`). */
  Deleted: 'deleted',
} as const;
export type Outcome = (typeof Outcome)[keyof typeof Outcome];

/** One (binding, cluster) pair: a Secret in one namespace of one cluster. */
export interface TargetRef {
  binding: string;
  cluster: string;
  namespace: string;
  secret: string;
}

export interface RestartResult {
  kind: WorkloadKind;
  name: string;
  namespace: string;
  outcome: 'restarted' | 'failed';
  errorCode?: ErrorCode | 'Internal';
  /** Why a restart failed, when it did: the error's value-free message (a 403 names the permission). */
  reason?: string;
}

export interface TargetResult extends TargetRef {
  outcome: Outcome;
  /** Why a target was skipped (foreign Secret, older version, namespace not allowed...). */
  reason?: string;
  errorCode?: ErrorCode | 'Internal';
  retryable?: boolean;
  /** The store version now in the target. */
  version?: string;
  /** Content hash now in the target. */
  hash?: string;
  /** Empty for most targets (one shared, frozen array). */
  restarts: readonly RestartResult[];
  attempts: number;
  durationMs: number;
}

/** The report of one change (or one work item, or one binding's reconcile). */
export interface ChangeReport {
  changeId: string;
  kind: SecretChange['kind'];
  binding: string;
  source: string;
  secretRef: string;
  version?: string;
  targets: TargetResult[];
  counts: Record<Outcome, number>;
  restarts: number;
  /** Targets handed to the fan-out queue instead of being applied here. */
  enqueued: number;
  durationMs: number;
  /** A binding-level failure (secret not found, render error, gate refused). */
  error?: { code: ErrorCode | 'Internal'; message: string; retryable: boolean };
}

/**
 * A slice of one change's targets, applied by a queue worker. Carries identifiers only:
 * the worker reads the value from the store itself, so queues never hold secrets.
 */
export interface WorkItem {
  changeId: string;
  kind: SecretChange['kind'];
  /** The binding, or the first of `bindings`. */
  binding: string;
  /**
   * Several bindings over the same clusters (a fanned-out reconcile): the worker applies them
   * cluster by cluster, with one listing and one connection per cluster, each binding to the
   * clusters of `clusters` it selects.
   */
  bindings?: string[];
  /** The version the coordinator planned; the worker still converges to the current one. */
  version?: string;
  clusters: string[];
  /** Fan-out attempt counter, for logs. */
  attempt?: number;
}

/** Where a coordinator sends work items when a change has more targets than one invocation handles. */
export interface WorkQueue {
  enqueue(items: readonly WorkItem[]): Promise<void>;
}

export interface PlannedTarget extends TargetRef {
  /** What a sync would do: create, update, unchanged, skip. */
  action: 'create' | 'update' | 'unchanged' | 'skip';
  reason?: string;
  /** Keys that would change (names only, never values). */
  changedKeys: string[];
  dependents: { kind: WorkloadKind; name: string }[];
}

export interface Propagator {
  /** Applies one normalised change to every target of every binding it touches. */
  propagate(change: SecretChange): Promise<ChangeReport[]>;
  /** Applies a work item produced by fan-out. */
  /** Applies one work item: one report per binding it carries. */
  applyWorkItem(item: WorkItem): Promise<ChangeReport[]>;
  /** Converges the named bindings (default: all) to their sources' current values. */
  reconcile(options?: { bindings?: readonly string[] }): Promise<ChangeReport[]>;
  /** What `reconcile` would do, without writing. */
  plan(options?: { bindings?: readonly string[] }): Promise<PlannedTarget[]>;
  /** `kubectl rollout restart` of a binding's dependents in every target cluster. */
  restart(binding: string): Promise<ChangeReport>;
}
