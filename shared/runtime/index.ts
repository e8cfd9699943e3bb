import { randomInt, randomUUID } from 'node:crypto';
import { ChangeKind, type Provider, type SecretChange } from '../core/change.js';
import {
  ConfigError,
  RenderError,
  SecretNotFoundError,
  errorCodeOf,
  isPropagatorError,
  isRetryable,
} from '../core/errors.js';
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
import { requiredReads } from '../template/index.js';
import { summarizeReports, type RunSummary } from './invocation.js';
import { applyFunctionV8Flags } from './node-options.js';

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

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const SYMBOLS = '!#%+-.:=@^_~';

/** A random password from a CSPRNG; with symbols it holds at least one symbol. */
export function generatePassword(length: number, symbols: boolean): string {
  const alphabet = symbols ? LETTERS + SYMBOLS : LETTERS;
  const chars: string[] = [];
  for (let i = 0; i < length; i++) chars.push(alphabet.charAt(randomInt(alphabet.length)));
  if (symbols && !chars.some((c) => SYMBOLS.includes(c)))
    chars[randomInt(length)] = SYMBOLS.charAt(randomInt(SYMBOLS.length));
  return chars.join('');
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

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
  applyFunctionV8Flags();
  const { loaded, logger } = options;
  const registry = loaded.registry;
  const clock = options.clock ?? systemClock;
  const sources = buildSources(loaded, options.sources, logger);

  /** Reads a cluster credential (token, kubeconfig) kept in one of the sources. */
  const readValue = async (ref: { source: string; key: string; property?: string }): Promise<string> => {
    const source = sources.get(ref.source);
    if (source === undefined)
      throw new ConfigError(`credential source "${ref.source}" is not defined under sources`);
    const text = decoder.decode((await source.read(ref.key)).bytes);
    if (ref.property === undefined) return text;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new ConfigError(
        `credential "${ref.key}" in source "${ref.source}" is not JSON, so property "${ref.property}" cannot be read`,
      );
    }
    const value =
      parsed !== null && typeof parsed === 'object'
        ? (parsed as Record<string, unknown>)[ref.property]
        : undefined;
    if (typeof value !== 'string')
      throw new ConfigError(
        `credential "${ref.key}" in source "${ref.source}" has no string property "${ref.property}"`,
      );
    return value;
  };

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
    });
  };
  const gatewayFor = options.gatewayFor ?? kubeGateway;
  const gateways = new Map<string, ClusterGateway>();

  const propagator = createPropagator({
    registry,
    sources,
    gateways: (cluster) => {
      let gateway = gateways.get(cluster.name);
      if (gateway === undefined) {
        gateway = gatewayFor(cluster);
        gateways.set(cluster.name, gateway);
      }
      return gateway;
    },
    logger,
    clock,
    ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
    ...(options.workQueue === undefined ? {} : { workQueue: options.workQueue }),
    ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
  });

  const bindingsByName = new Map(registry.bindings.map((b) => [b.name, b]));

  /** Asks the store for a new version: its own rotation, or a generated password. */
  const rotate = async (binding: BindingSpec, changeId: string): Promise<ChangeReport> => {
    const started = performance.now();
    const source = sources.get(binding.source);
    const key = binding.remoteRef?.key ?? requiredReads(binding)[0]?.key ?? '';
    const report: ChangeReport = {
      changeId,
      kind: ChangeKind.RotateRequested,
      binding: binding.name,
      source: binding.source,
      secretRef: key,
      targets: [],
      counts: { created: 0, updated: 0, unchanged: 0, skipped: 0, failed: 0 },
      restarts: 0,
      enqueued: 0,
      durationMs: 0,
    };
    const log = logger.child({ changeId, binding: binding.name, source: binding.source, secretRef: key });
    try {
      if (source === undefined)
        throw new ConfigError(`binding "${binding.name}" uses unknown source "${binding.source}"`);
      const generator = binding.rotation?.generator;
      if (generator === undefined) {
        if (source.rotate === undefined) {
          throw new ConfigError(
            `source "${source.name}" (${source.provider}) has no native rotation: add rotation.generator to binding "${binding.name}"`,
          );
        }
        await source.rotate(key);
        log.info('rotation requested from the store', { outcome: 'rotate-requested' });
      } else {
        if (source.writeVersion === undefined) {
          throw new ConfigError(
            `source "${source.name}" (${source.provider}) cannot write versions, so binding "${binding.name}" cannot use a generator`,
          );
        }
        const password = generatePassword(generator.length, generator.symbols);
        let bytes: Uint8Array;
        if (generator.property === undefined) {
          bytes = encoder.encode(password);
        } else {
          let current: Record<string, unknown> = {};
          try {
            const parsed: unknown = JSON.parse(decoder.decode((await source.read(key)).bytes));
            if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
              throw new SyntaxError('not an object');
            current = parsed as Record<string, unknown>;
          } catch (error) {
            if (!(error instanceof SecretNotFoundError)) {
              if (isPropagatorError(error)) throw error;
              throw new RenderError(
                `secret "${key}" is not a JSON object, so property "${generator.property}" cannot be rotated`,
              );
            }
          }
          bytes = encoder.encode(JSON.stringify({ ...current, [generator.property]: password }));
        }
        const { versionId } = await source.writeVersion(key, bytes);
        report.version = versionId;
        log.info('rotation wrote a new version', { version: versionId, outcome: 'rotated' });
      }
    } catch (error) {
      report.error = {
        code: errorCodeOf(error),
        message: isPropagatorError(error) ? error.message : 'unexpected error',
        retryable: isRetryable(error),
      };
      log.warn(`rotation failed: ${report.error.message}`, {
        errorCode: report.error.code,
        outcome: 'failed',
      });
    }
    report.durationMs = Math.round(performance.now() - started);
    return report;
  };

  const wantsRotation = (b: BindingSpec) => b.rotation !== undefined || b.schedule?.rotate !== undefined;

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
      for (const gateway of gateways.values()) (gateway as Partial<{ close(): void }>).close?.();
      gateways.clear();
    },
  };
}
