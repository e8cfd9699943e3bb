import { randomUUID } from 'node:crypto';
import { ChangeKind, type Provider, type SecretChange } from '../core/change.js';
import { ConfigError } from '../core/errors.js';
import type {
  ClusterAuthenticator,
  ClusterGateway,
  Clock,
  Logger,
  Metrics,
  SecretSource,
} from '../core/ports.js';
import { systemClock } from '../core/ports.js';
import { createPropagator, type EnginePropagator } from '../engine/propagator.js';
import type { ChangeReport, WorkQueue } from '../engine/types.js';
import {
  autoIdleConnections,
  createConnectionBudget,
  createKubeGateway,
  createKubeconfigAuthenticator,
  createTokenAuthenticator,
} from '../kube/index.js';
import type { LoadedRegistry } from '../registry/load.js';
import type { BindingSpec, ClusterSpec, Registry, SourceSpec, SourceSpecOf } from '../registry/schema.js';
import { applyFunctionV8Flags, isFunctionRuntime } from './node-options.js';
import { credentialReader } from './credentials.js';
import { parseDuration } from '../core/duration.js';
import { rotateBinding, wantsRotation } from '../engine/rotate.js';
import { summarizeReports, type RunSummary } from './invocation.js';

// The summary lives with the invocation policy that decides from it; re-exported for callers.
export { summarizeReports, type RunSummary } from './invocation.js';

/** One factory per provider, so each cloud bundle includes only its own SDK. */
export type SourceFactories = {
  [P in Provider]?: (spec: SourceSpecOf<P>, ctx: { baseDir: string; logger: Logger }) => SecretSource;
};

export interface RuntimeOptions {
  loaded: LoadedRegistry;
  sources: SourceFactories;
  /** Cluster authenticators beyond the built-in `token` and `kubeconfig` (eks, aks, gke); same type replaces. */
  authenticators?: ClusterAuthenticator[];
  logger: Logger;
  metrics?: Metrics;
  /** @default the system clock */
  clock?: Clock;
  /** Fan-out queue; without it every target is applied in this invocation. */
  workQueue?: WorkQueue;
  /** Replaces the shared/kube gateways (tests, custom transports). */
  gatewayFor?: (cluster: ClusterSpec) => ClusterGateway;
  /** Backoff between retries, passed to the engine. */
  backoff?: { baseMs?: number; maxMs?: number; random?: () => number };
}

export interface Runtime {
  registry: Registry;
  propagator: EnginePropagator;
  sources: Map<string, SecretSource>;
  /**
   * Handles one normalised change. Expiry warnings and rotation requests for bindings
   * with rotation configured (`rotation` or `schedule.rotate`) trigger a rotation.
   */
  handle(change: SecretChange): Promise<ChangeReport[]>;
  /** A scheduled run: reconcile (default all bindings) or rotate (default: bindings with `schedule.rotate`). */
  scheduled(kind: 'reconcile' | 'rotate', bindings?: string[]): Promise<ChangeReport[]>;
  summarize(reports: readonly ChangeReport[]): RunSummary;
  /** Releases the cluster gateways' keep-alive connections (CLI exit, tests). Optional for fakes. */
  close?(): void;
}

/**
 * What a cloud handler needs of a Runtime. Structural, so handler tests can pass a stand-in
 * and the real runtime fits as it is.
 */
export type HandlerRuntime = Pick<Runtime, 'handle' | 'scheduled' | 'summarize'> & {
  propagator: Pick<EnginePropagator, 'applyWorkItem'>;
};

export { generatePassword } from '../core/password.js';

/** Builds every source adapter of the registry; a provider without a factory is a ConfigError naming the source. */
export function buildSources(
  loaded: LoadedRegistry,
  factories: SourceFactories,
  logger: Logger,
): Map<string, SecretSource> {
  const sources = new Map<string, SecretSource>();
  for (const spec of loaded.registry.sources) {
    const factory = factories[spec.provider] as
      ((spec: SourceSpec, ctx: { baseDir: string; logger: Logger }) => SecretSource) | undefined;
    if (factory === undefined) {
      throw new ConfigError(
        `source "${spec.name}" uses provider "${spec.provider}", which this function does not include (available: ${Object.keys(factories).join(', ') || 'none'})`,
      );
    }
    sources.set(
      spec.name,
      factory(spec, { baseDir: loaded.baseDir, logger: logger.child({ source: spec.name }) }),
    );
  }
  return sources;
}

/**
 * Composes a runtime once per cold start: source adapters, cluster gateways (built lazily
 * per cluster and cached), the engine, and the scheduled paths.
 */
export function createRuntime(options: RuntimeOptions): Runtime {
  // Process-wide V8 settings are for deployed functions only, never the CLI or tests.
  if (isFunctionRuntime()) applyFunctionV8Flags();
  const { loaded, logger } = options;
  const registry = loaded.registry;
  const clock = options.clock ?? systemClock;
  const sources = buildSources(loaded, options.sources, logger);

  const readValue = credentialReader(sources);

  const authenticators = new Map<string, ClusterAuthenticator>();
  for (const a of [
    createTokenAuthenticator({ readValue }),
    createKubeconfigAuthenticator({ readValue }),
    ...(options.authenticators ?? []),
  ]) {
    authenticators.set(a.type, a);
  }

  const idle = registry.settings.idleConnections;
  const budget = createConnectionBudget(idle === 'auto' ? autoIdleConnections() : idle);
  // A request never outlives the attempt it belongs to: both end at targetTimeout.
  const timeoutMs = parseDuration(registry.settings.targetTimeout, 'settings.targetTimeout');
  const kubeGateway = (cluster: ClusterSpec): ClusterGateway => {
    const authenticator = authenticators.get(cluster.auth.type);
    const spec = {
      name: cluster.name,
      auth: cluster.auth,
      ...(cluster.server === undefined ? {} : { server: cluster.server }),
      ...(cluster.caData === undefined ? {} : { caData: cluster.caData }),
    };
    return createKubeGateway({
      name: cluster.name,
      budget,
      timeoutMs,
      ...(cluster.server === undefined ? {} : { server: cluster.server }),
      ...(cluster.caData === undefined ? {} : { caData: cluster.caData }),
      credentials: () =>
        authenticator === undefined
          ? Promise.reject(
              new ConfigError(
                `cluster "${cluster.name}" uses auth type "${cluster.auth.type}", which this function does not include`,
              ),
            )
          : authenticator.credentials(spec),
      invalidateCredentials: () => authenticator?.invalidate(spec),
    });
  };

  // The engine builds each cluster's gateway on first use and keeps it (the only gateway cache).
  const propagator = createPropagator({
    registry,
    sources,
    gateways: options.gatewayFor ?? kubeGateway,
    logger,
    clock,
    ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
    ...(options.workQueue === undefined ? {} : { workQueue: options.workQueue }),
    ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
  });

  const bindingsByName = new Map(registry.bindings.map((b) => [b.name, b]));

  const rotate = (binding: BindingSpec, changeId: string) =>
    rotateBinding({ sources, logger }, binding, changeId);

  const lookup = (names: readonly string[]): BindingSpec[] =>
    names.map((name) => {
      const b = bindingsByName.get(name);
      if (b === undefined)
        throw new ConfigError(
          `unknown binding "${name}" (known: ${[...bindingsByName.keys()].join(', ') || 'none'})`,
        );
      return b;
    });

  return {
    registry,
    propagator,
    sources,
    async handle(change) {
      const reports = await propagator.propagate(change);
      if (
        change.kind === ChangeKind.NearExpiry ||
        change.kind === ChangeKind.Expired ||
        change.kind === ChangeKind.RotateRequested
      ) {
        const due = lookup(propagator.bindingsFor(change)).filter(wantsRotation);
        reports.push(...(await Promise.all(due.map((b) => rotate(b, change.eventId)))));
      }
      return reports;
    },
    async scheduled(kind, bindings) {
      if (kind === 'reconcile') return propagator.reconcile(bindings === undefined ? {} : { bindings });
      const due =
        bindings === undefined
          ? registry.bindings.filter((b) => b.schedule?.rotate !== undefined)
          : lookup(bindings);
      const changeId = `rotate-${randomUUID()}`;
      return Promise.all(due.map((b) => rotate(b, changeId)));
    },
    summarize: summarizeReports,
    close() {
      propagator.close();
    },
  };
}
