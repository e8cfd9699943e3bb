import pLimit, { type LimitFunction } from 'p-limit';
import type { ChangeKind } from '../core/change.js';
import {
  systemClock,
  type Clock,
  type ClusterGateway,
  type KubeSecret,
  type Logger,
  type Metrics,
  type SecretSource,
  type SecretValue,
} from '../core/ports.js';
import { parseDuration } from '../core/duration.js';
import type { ClusterSpec, Registry, Settings } from '../registry/schema.js';
import type { Desired } from './decide.js';
import { withRetry, withTimeout, type RetryPolicy } from './retry.js';
import type { WorkQueue } from './types.js';

export interface PropagatorOptions {
  registry: Registry;
  /** One adapter per registry source, by source name. */
  sources: Map<string, SecretSource>;
  /** The gateway of a cluster; called once per cluster, the result is cached by the engine. */
  gateways: (cluster: ClusterSpec) => ClusterGateway;
  logger: Logger;
  /** @default no metrics */
  metrics?: Metrics;
  /** @default the system clock */
  clock?: Clock;
  /** When given, changes with more targets than `settings.fanOut.batchSize` are enqueued instead of applied. */
  workQueue?: WorkQueue;
  /** Backoff between retries. @default { baseMs: 200, maxMs: 5000, random: Math.random } */
  backoff?: { baseMs?: number; maxMs?: number; random?: () => number };
}

/**
 * What every part of the engine may use, made once per propagator: the registry's settings,
 * the clock, telemetry, the retry policy, the per-attempt deadline and the one gateway cache.
 */
export interface EngineContext {
  readonly settings: Settings;
  readonly logger: Logger;
  readonly metrics: Metrics | undefined;
  readonly clock: Clock;
  readonly retry: RetryPolicy;
  /** `settings.targetTimeout` in ms: the deadline of one attempt on one target. */
  readonly timeoutMs: number;
  readonly workQueue: WorkQueue | undefined;
  /** The cluster's gateway, built on first use and kept (the only gateway cache). */
  gatewayOf(cluster: ClusterSpec): ClusterGateway;
  /** Closes every gateway built so far that can be closed, and forgets them. */
  closeGateways(): void;
  /**
   * One attempt-bounded, retried step against a cluster: `operation` gets a signal that aborts
   * when the attempt runs out of time, so its requests are cancelled, not abandoned. `what`
   * names the step in a timeout error and is only called then.
   */
  attempt<T>(
    what: () => string,
    operation: (signal: AbortSignal) => Promise<T>,
    attempts?: { count: number },
  ): Promise<T>;
}

/** Builds the engine context from the propagator's options. */
export function createEngineContext(options: PropagatorOptions): EngineContext {
  const clock = options.clock ?? systemClock;
  const settings = options.registry.settings;
  const timeoutMs = parseDuration(settings.targetTimeout, 'settings.targetTimeout');
  const retry: RetryPolicy = {
    retries: settings.retries,
    baseMs: options.backoff?.baseMs ?? 200,
    maxMs: options.backoff?.maxMs ?? 5000,
    random: options.backoff?.random ?? Math.random,
    clock,
  };
  const gateways = new Map<string, ClusterGateway>();
  return {
    settings,
    logger: options.logger,
    metrics: options.metrics,
    clock,
    retry,
    timeoutMs,
    workQueue: options.workQueue,
    gatewayOf(cluster) {
      let gateway = gateways.get(cluster.name);
      if (gateway === undefined) {
        gateway = options.gateways(cluster);
        gateways.set(cluster.name, gateway);
      }
      return gateway;
    },
    closeGateways() {
      for (const gateway of gateways.values()) (gateway as Partial<{ close(): void }>).close?.();
      gateways.clear();
    },
    attempt: (what, operation, attempts) =>
      withRetry(() => withTimeout(operation, timeoutMs, what), retry, attempts),
  };
}

/** The managed Secrets of one namespace of one cluster, by name. */
export type NamespaceListing = Map<string, KubeSecret>;

/** A cluster's managed Secrets by namespace, then name: only the namespaces listed so far. */
export type Listing = Map<string, NamespaceListing>;

/**
 * A run's listings, one per (cluster, namespace): never cluster-wide, since the Role the
 * product prints grants `list` on Secrets per namespace only. `pending` per cluster and
 * namespace (undefined if the listing failed in a way a GET per target may get past, rejected
 * if it was refused), and `ready` per cluster once a namespace's listing is in.
 */
export interface Listings {
  pending: Map<string, Map<string, Promise<NamespaceListing | undefined>>>;
  ready: Map<string, Listing>;
}

/** State shared by everything one invocation does: the read caches and the concurrency limit. */
export interface Invocation {
  readonly changeId: string;
  readonly kind: ChangeKind;
  readonly limit: LimitFunction;
  /** Store reads by (source, key, version): each read once per invocation. */
  readonly reads: Map<string, Promise<SecretValue>>;
  /** Desired content by binding: rendered once per invocation. */
  readonly desired: Map<string, Promise<Desired>>;
  /** Managed Secrets per cluster, listed once (runs of several bindings). */
  readonly listed: Listings | undefined;
}

/** A new invocation; `listOnce` lists each cluster's managed Secrets once instead of one GET per target. */
export function newInvocation(
  ctx: EngineContext,
  changeId: string,
  kind: ChangeKind,
  listOnce = false,
): Invocation {
  return {
    changeId,
    kind,
    limit: pLimit(ctx.settings.concurrency),
    reads: new Map(),
    desired: new Map(),
    listed: listOnce ? { pending: new Map(), ready: new Map() } : undefined,
  };
}
