import { randomUUID } from 'node:crypto';
import pLimit, { type LimitFunction } from 'p-limit';
import { ChangeKind, type SecretChange } from '../core/change.js';
import {
  ClusterRejectedError,
  ConfigError,
  SecretNotFoundError,
  ValidationGateError,
  errorCodeOf,
  isPropagatorError,
  isRetryable,
} from '../core/errors.js';
import {
  WORKLOAD_KINDS,
  systemClock,
  type ClusterGateway,
  type Clock,
  type KubeSecret,
  type Logger,
  type Metrics,
  type SecretSource,
  type SecretValue,
  type Workload,
} from '../core/ports.js';
import { namespaceRefusal } from '../registry/cross-check.js';
import type { BindingSpec, ClusterSpec, Registry, RestartSpec } from '../registry/schema.js';
import { matchesLabels, selectClusters } from '../registry/select.js';
import {
  certificatesExpiringWithin,
  readKey,
  requiredReads,
  renderSecret,
  validateSecret,
  type ReadRequest,
} from '../template/index.js';
import { MetricName } from '../telemetry/metrics.js';
import {
  Annotation,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  MANAGED_SELECTOR,
  RESTART_PENDING,
  RestartAnnotation,
} from './annotations.js';
import { SkipReason, decide, type Decision, type Desired } from './decide.js';
import { referencesSecret } from './discovery.js';
import { contentHash } from './hash.js';
import { parseDuration, withRetry, withTimeout, type RetryPolicy } from './retry.js';
import {
  Outcome,
  type ChangeReport,
  type PlannedTarget,
  type Propagator,
  type RestartResult,
  type TargetResult,
  type WorkItem,
  type WorkQueue,
} from './types.js';
import { toWaves } from './waves.js';

export interface PropagatorOptions {
  registry: Registry;
  /** One adapter per registry source, by source name. */
  sources: Map<string, SecretSource>;
  /** The gateway of a cluster; called once per cluster, the result is cached. */
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

/** The engine's Propagator plus what the runtime needs for rotation. */
export interface EnginePropagator extends Propagator {
  /** Names of the bindings whose source secret `change` names. Pure. */
  bindingsFor(change: SecretChange): string[];
  /** The clusters a binding targets, in registry order. */
  clustersOf(binding: string): readonly ClusterSpec[];
}

interface BindingInfo {
  spec: BindingSpec;
  source: SecretSource;
  reads: ReadRequest[];
  clusters: ClusterSpec[];
  clusterByName: Map<string, ClusterSpec>;
  waves: ClusterSpec[][];
}

/** State shared by everything one invocation does: the read cache and the concurrency limit. */
interface Invocation {
  changeId: string;
  kind: ChangeKind;
  limit: LimitFunction;
  reads: Map<string, Promise<SecretValue>>;
  desired: Map<string, Promise<Desired>>;
  /** Managed Secrets per cluster, listed once (reconcile of several bindings). */
  listed: Listings | undefined;
}

/** A cluster's managed Secrets by namespace, then name. */
type Listing = Map<string, Map<string, KubeSecret>>;

/** A reconcile's listings: `pending` per cluster (undefined if the listing failed), and `ready` once one is in. */
interface Listings {
  pending: Map<string, Promise<Listing | undefined>>;
  ready: Map<string, Listing>;
}

function toListing(secrets: readonly KubeSecret[]): Listing {
  const listing: Listing = new Map();
  for (const secret of secrets) {
    let names = listing.get(secret.namespace);
    if (names === undefined) listing.set(secret.namespace, (names = new Map<string, KubeSecret>()));
    names.set(secret.name, secret);
  }
  return listing;
}

/** Lanes one cluster gets at most in a several-binding run: the gateway's default connections per cluster. */
const MAX_LANES_PER_CLUSTER = 8;

/** The restarts of every target that restarted nothing: one frozen array, not one per target. */
const NO_RESTARTS: readonly RestartResult[] = Object.freeze([]);

function emptyCounts(): Record<Outcome, number> {
  return { created: 0, updated: 0, unchanged: 0, skipped: 0, failed: 0 };
}

function toSelector(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

function safeMessage(error: unknown): string {
  // Our errors never carry values; anything else is reduced to its class name.
  return isPropagatorError(error)
    ? error.message
    : `unexpected ${error instanceof Error ? error.name : 'error'}`;
}

/**
 * Builds the engine. Semantics (DESIGN.md "Core semantics"):
 * - every change converges each touched binding to the source's *current* value, read once
 *   per (source, key, version) per invocation however many bindings and targets need it;
 * - a binding is rendered, validated and hashed once per invocation; a read, render or gate
 *   failure writes nothing anywhere for that binding and is reported on the binding;
 * - each target gets exactly one outcome; transient cluster errors are retried with
 *   backoff; one slow or failing cluster never holds up the others beyond its own timeout;
 * - workloads restart only when a target's content actually changed (never on create: pods
 *   waiting for a missing Secret start by themselves once it exists).
 */
export function createPropagator(options: PropagatorOptions): EnginePropagator {
  const { registry, sources, logger } = options;
  const clock = options.clock ?? systemClock;
  const metrics = options.metrics;
  const settings = registry.settings;
  const timeoutMs = parseDuration(settings.targetTimeout);
  const retry: RetryPolicy = {
    retries: settings.retries,
    baseMs: options.backoff?.baseMs ?? 200,
    maxMs: options.backoff?.maxMs ?? 5000,
    random: options.backoff?.random ?? Math.random,
    clock,
  };

  const gatewayCache = new Map<string, ClusterGateway>();
  const gatewayOf = (cluster: ClusterSpec): ClusterGateway => {
    let gateway = gatewayCache.get(cluster.name);
    if (gateway === undefined) {
      gateway = options.gateways(cluster);
      gatewayCache.set(cluster.name, gateway);
    }
    return gateway;
  };

  const bindings = new Map<string, BindingInfo>();
  for (const spec of registry.bindings) {
    const source = sources.get(spec.source);
    if (source === undefined) {
      throw new ConfigError(
        `binding "${spec.name}" uses source "${spec.source}", which has no adapter in this runtime`,
      );
    }
    const clusters = selectClusters(registry.clusters, spec.target.clusters);
    bindings.set(spec.name, {
      spec,
      source,
      reads: requiredReads(spec),
      clusters,
      clusterByName: new Map(clusters.map((c) => [c.name, c])),
      waves: toWaves(clusters, spec.rollout?.waves),
    });
  }

  const newInvocation = (changeId: string, kind: ChangeKind, listOnce = false): Invocation => ({
    changeId,
    kind,
    limit: pLimit(settings.concurrency),
    reads: new Map(),
    desired: new Map(),
    listed: listOnce ? { pending: new Map(), ready: new Map() } : undefined,
  });

  const infoOf = (name: string): BindingInfo => {
    const info = bindings.get(name);
    if (info === undefined) {
      throw new ConfigError(
        `unknown binding "${name}" (known: ${[...bindings.keys()].join(', ') || 'none'})`,
      );
    }
    return info;
  };

  const selectInfos = (names: readonly string[] | undefined): BindingInfo[] =>
    names === undefined ? [...bindings.values()] : names.map(infoOf);

  // ------------------------------------------------------------------ reading and rendering

  const readOnce = (source: SecretSource, request: ReadRequest, inv: Invocation): Promise<SecretValue> => {
    const key = `${source.name}\u0000${request.key}\u0000${request.version ?? ''}`;
    let pending = inv.reads.get(key);
    if (pending === undefined) {
      metrics?.count(MetricName.StoreReads, 1, { source: source.name });
      pending = source.read(
        request.key,
        request.version === undefined ? undefined : { version: request.version },
      );
      inv.reads.set(key, pending);
    }
    return pending;
  };

  const computeDesired = async (info: BindingInfo, inv: Invocation): Promise<Desired> => {
    const fetched = new Map<string, SecretValue>();
    await Promise.all(
      info.reads.map(async (request) => {
        fetched.set(readKey(request), await readOnce(info.source, request, inv));
      }),
    );
    const rendered = renderSecret(info.spec, fetched);
    const now = clock.now();
    validateSecret(info.spec, rendered, now);
    // The scheduled certificate check: every reconcile looks at what it renders anyway.
    if (inv.kind === ChangeKind.Reconcile) {
      for (const cert of certificatesExpiringWithin(rendered, settings.certificateExpiryWindow, now)) {
        metrics?.count(MetricName.CertificatesExpiring, 1, { binding: info.spec.name });
        logger.warn(cert.expired ? 'certificate has expired' : 'certificate expires within the window', {
          changeId: inv.changeId,
          binding: info.spec.name,
          source: info.source.name,
          key: cert.key,
          subject: cert.subject,
          notAfter: cert.notAfter.toISOString(),
          window: settings.certificateExpiryWindow,
        });
      }
    }
    const data: Record<string, string> = {};
    for (const [key, bytes] of Object.entries(rendered.data))
      data[key] = Buffer.from(bytes).toString('base64');
    const values = info.reads.map((r) => ({ request: r, value: fetched.get(readKey(r)) }));
    const version =
      values.length === 1
        ? (values[0]?.value?.versionId ?? '')
        : values.map(({ request, value }) => `${readKey(request)}=${value?.versionId ?? ''}`).join(',');
    // The newest creation time among the inputs: a later write of any input is newer content.
    let created: number | undefined;
    for (const { value } of values) {
      const t = value?.createdAt?.getTime();
      if (t !== undefined && (created === undefined || t > created)) created = t;
    }
    return {
      binding: info.spec.name,
      source: info.source.name,
      type: rendered.type,
      data,
      labels: rendered.labels,
      annotations: rendered.annotations,
      hash: contentHash(rendered),
      version,
      ...(created === undefined ? {} : { versionCreated: new Date(created).toISOString() }),
    };
  };

  const desiredOf = (info: BindingInfo, inv: Invocation): Promise<Desired> => {
    let pending = inv.desired.get(info.spec.name);
    if (pending === undefined) {
      pending = computeDesired(info, inv);
      inv.desired.set(info.spec.name, pending);
    }
    return pending;
  };

  // ------------------------------------------------------------------ one target

  /** `what` names the step in a timeout error, built only then. */
  const attempt = <T>(
    what: () => string,
    operation: () => Promise<T>,
    attempts?: { count: number },
  ): Promise<T> => withRetry(() => withTimeout(operation(), timeoutMs, what), retry, attempts);

  /** A cluster's managed Secrets, listed once per invocation and shared; undefined if the listing failed. */
  const listingOf = (
    gateway: ClusterGateway,
    cluster: string,
    listed: Listings,
  ): Promise<Listing | undefined> => {
    let listing = listed.pending.get(cluster);
    if (listing === undefined) {
      listing = gateway.listSecrets(MANAGED_SELECTOR).then(
        (items) => {
          const ready = toListing(items);
          listed.ready.set(cluster, ready);
          return ready;
        },
        () => undefined, // fall back to one GET per target
      );
      listed.pending.set(cluster, listing);
    }
    return listing;
  };

  /**
   * The target Secret as it is now: from the reconcile's listing of the cluster where that can
   * be trusted (`listed`, on a first attempt), else read. The listing holds every Secret we
   * manage there. Under Owner, a target missing from it is either absent, so it is created in
   * one request, or someone else's: the create then answers 409, and the retry reads it and the
   * ownership rules decide. Merge and Orphan targets carry no managed-by label, so they are read.
   */
  const existingSecret = (
    gateway: ClusterGateway,
    ns: string,
    name: string,
    listed: Listing | undefined,
    trustAbsence: boolean,
  ) => {
    const found = listed?.get(ns)?.get(name);
    if (found !== undefined || (listed !== undefined && trustAbsence)) return found;
    return gateway.getSecret(ns, name);
  };

  const findDependents = async (
    gateway: ClusterGateway,
    restart: RestartSpec,
    ns: string,
    secretName: string,
    verify: boolean,
  ): Promise<Workload[]> => {
    const found = new Map<string, Workload>();
    const add = (w: Workload) => found.set(`${w.kind}/${w.name}`, w);
    for (const ref of restart.workloads ?? []) {
      if (!verify) {
        // The Secret's content just changed, so no workload can carry this hash yet: patch
        // straight away (one request per workload; a missing one answers 404 and is skipped).
        add({
          kind: ref.kind,
          namespace: ns,
          name: ref.name,
          labels: {},
          templateAnnotations: {},
          podSpec: undefined,
        });
        continue;
      }
      const workload = await gateway.getWorkload(ref.kind, ns, ref.name);
      if (workload !== undefined) add(workload);
    }
    const selector = restart.selector?.matchLabels;
    if (restart.auto === true || selector !== undefined) {
      // With auto, list the namespace once per kind and apply the selector locally.
      const listSelector = restart.auto === true || selector === undefined ? undefined : toSelector(selector);
      for (const kind of restart.kinds ?? WORKLOAD_KINDS) {
        for (const w of await gateway.listWorkloads(kind, ns, listSelector)) {
          if (
            (selector !== undefined && matchesLabels(w.labels, selector)) ||
            (restart.auto === true && referencesSecret(w.podSpec, secretName))
          )
            add(w);
        }
      }
    }
    return [...found.values()];
  };

  /**
   * Restarts dependents; with `hash`, skips workloads already restarted for it. `verify`
   * reads explicit workloads first, which only matters when recovering a restart that
   * failed earlier (some workloads may already carry the hash).
   */
  const restartDependents = async (
    gateway: ClusterGateway,
    spec: BindingSpec,
    hash: string | undefined,
    verify = true,
  ): Promise<RestartResult[]> => {
    const restart = spec.restart;
    if (restart === undefined || restart === false) return [];
    const ns = spec.target.namespace;
    // Named workloads taken on trust need no request to find: no retries or deadline for that.
    const lookup = verify || restart.auto === true || restart.selector !== undefined;
    const find = () => findDependents(gateway, restart, ns, spec.target.name, verify);
    const dependents = lookup
      ? await attempt(() => `cluster "${gateway.cluster}" dependents of ${ns}/${spec.target.name}`, find)
      : await find();
    const results: RestartResult[] = [];
    let annotations: Record<string, string> | undefined;
    for (const workload of dependents) {
      if (hash !== undefined && workload.templateAnnotations[RestartAnnotation.RestartedForHash] === hash)
        continue;
      if (annotations === undefined) {
        annotations = { [RestartAnnotation.RestartedAt]: clock.now().toISOString() };
        if (hash !== undefined) annotations[RestartAnnotation.RestartedForHash] = hash;
      }
      const patch = annotations;
      try {
        await attempt(
          () => `cluster "${gateway.cluster}" restart of ${workload.kind} ${ns}/${workload.name}`,
          () => gateway.patchTemplateAnnotations(workload.kind, ns, workload.name, patch),
        );
        results.push({ kind: workload.kind, name: workload.name, namespace: ns, outcome: 'restarted' });
      } catch (error) {
        // An explicit workload that does not exist is not a failure, as with a verified lookup.
        if (!verify && error instanceof ClusterRejectedError && error.status === 404) continue;
        results.push({
          kind: workload.kind,
          name: workload.name,
          namespace: ns,
          outcome: 'failed',
          errorCode: errorCodeOf(error),
        });
      }
    }
    return results;
  };

  /**
   * After a failed restart the Secret already holds the new hash, so a redelivered event
   * would find it unchanged and the restart would be lost. Replacing the hash annotation
   * with a marker makes the retry rewrite the Secret and restart whatever still lacks the
   * hash annotation. The Secret is read again first (the write did not keep its answer, and
   * if someone wrote since, their content decides). Best effort: if this fails too, the
   * target is reported failed anyway.
   */
  const markRestartPending = async (
    gateway: ClusterGateway,
    namespace: string,
    name: string,
    hash: string,
  ): Promise<void> => {
    const mark = async () => {
      const current = await gateway.getSecret(namespace, name);
      if (current?.annotations[Annotation.ContentHash] !== hash) return;
      await gateway.replaceSecret({
        ...current,
        annotations: { ...current.annotations, [Annotation.ContentHash]: RESTART_PENDING },
      });
    };
    try {
      await withTimeout(mark(), timeoutMs, `cluster "${gateway.cluster}" restart-pending mark`);
    } catch {
      // reported through the target's failed outcome
    }
  };

  const baseResult = (info: BindingInfo, cluster: string): TargetResult => ({
    binding: info.spec.name,
    cluster,
    namespace: info.spec.target.namespace,
    secret: info.spec.target.name,
    outcome: Outcome.Unchanged,
    restarts: NO_RESTARTS,
    attempts: 0,
    durationMs: 0,
  });

  const skipped = (info: BindingInfo, cluster: string, reason: string): TargetResult => ({
    ...baseResult(info, cluster),
    outcome: Outcome.Skipped,
    reason,
  });

  /** Work-item clusters the binding no longer selects (the registry changed since it was enqueued): skipped. */
  const reportNotSelected = (report: ChangeReport, info: BindingInfo, clusters: readonly string[]): void => {
    for (const name of clusters) {
      report.targets.push(skipped(info, name, SkipReason.ClusterNotSelected));
      report.counts.skipped++;
    }
  };

  const failedWith = (result: TargetResult, error: unknown, reason?: string): TargetResult => {
    result.outcome = Outcome.Failed;
    result.errorCode = errorCodeOf(error);
    result.retryable = isRetryable(error);
    if (reason !== undefined) result.reason = reason;
    return result;
  };

  /** Records on `result` what was decided for its target (and, for a write, done). */
  const recordDecision = (result: TargetResult, decision: Decision, desired: Desired): void => {
    if (decision.action === 'skip') {
      result.outcome = Outcome.Skipped;
      result.reason = decision.reason;
      return;
    }
    result.outcome =
      decision.action === 'create'
        ? Outcome.Created
        : decision.action === 'update'
          ? Outcome.Updated
          : Outcome.Unchanged;
    result.version = desired.version;
    result.hash = desired.hash;
  };

  /** A target whose restart failed has failed (retryably: the restart can be tried again). */
  const failOnFailedRestart = (result: TargetResult): void => {
    const failedRestart = result.restarts.find((r) => r.outcome === 'failed');
    if (failedRestart === undefined) return;
    result.outcome = Outcome.Failed;
    result.errorCode = failedRestart.errorCode ?? 'Internal';
    result.retryable = true;
    result.reason = 'restart-failed';
  };

  /**
   * After an update: restarts the target's dependents. A restart that fails fails the target,
   * and the Secret is marked so that the retry rewrites it and restarts again.
   */
  const restartAfterUpdate = async (
    gateway: ClusterGateway,
    spec: BindingSpec,
    hash: string,
    result: TargetResult,
    recovering: boolean,
  ): Promise<void> => {
    try {
      result.restarts = await restartDependents(gateway, spec, hash, recovering);
    } catch (error) {
      failedWith(result, error, 'dependents-lookup-failed');
    }
    failOnFailedRestart(result);
    if (result.outcome === Outcome.Failed)
      await markRestartPending(gateway, spec.target.namespace, spec.target.name, hash);
  };

  /**
   * One target. When a reconcile's listing of the cluster is in, a target it settles
   * (unchanged there, or not ours) is decided on the spot: no request, so no promise, retry
   * or timer either. That is most of a reconcile's targets; the rest go on to `writeTarget`.
   */
  const applyTarget = (
    info: BindingInfo,
    cluster: ClusterSpec,
    desired: Desired,
    inv: Invocation,
  ): TargetResult | Promise<TargetResult> => {
    const listing = inv.listed?.ready.get(cluster.name);
    if (listing === undefined) return writeTarget(info, cluster, desired, inv);
    const started = performance.now();
    const { namespace, name, creationPolicy } = info.spec.target;
    const found = listing.get(namespace)?.get(name);
    if (found === undefined || namespaceRefusal(cluster, namespace) !== undefined)
      return writeTarget(info, cluster, desired, inv);
    const decision = decide(found, desired, { namespace, name, creationPolicy });
    if (decision.action !== 'unchanged' && decision.action !== 'skip')
      return writeTarget(info, cluster, desired, inv, decision);
    const result = baseResult(info, cluster.name);
    result.attempts = 1;
    recordDecision(result, decision, desired);
    result.durationMs = Math.round(performance.now() - started);
    return result;
  };

  /** A target that may need requests; `decided` is what the reconcile's listing decided for it, when that is known already. */
  const writeTarget = async (
    info: BindingInfo,
    cluster: ClusterSpec,
    desired: Desired,
    inv: Invocation,
    decided?: Decision,
  ): Promise<TargetResult> => {
    const started = performance.now();
    const result = baseResult(info, cluster.name);
    const { namespace, name } = info.spec.target;
    if (namespaceRefusal(cluster, namespace) !== undefined)
      return skipped(info, cluster.name, SkipReason.NamespaceNotAllowed);
    const attempts = { count: 0 };
    try {
      const gateway = gatewayOf(cluster);
      // Whether the Secret carried the restart-pending marker: all the restart needs of it (the
      // Secret itself is not kept through the writes).
      let recovering = false;
      const rules = { namespace, name, creationPolicy: info.spec.target.creationPolicy };
      let decision: Decision | undefined;
      // A reconcile lists each cluster's managed Secrets once (undefined if that failed).
      const listing =
        inv.listed === undefined ? undefined : await listingOf(gateway, cluster.name, inv.listed);
      const found = listing?.get(namespace)?.get(name);
      // What the listing says, decided once: the first attempt acts on it rather than deciding again.
      const fromListing = found === undefined ? undefined : (decided ?? decide(found, desired, rules));
      if (fromListing?.action === 'unchanged' || fromListing?.action === 'skip') {
        // Most of a reconcile's targets are settled by the listing alone: one that is unchanged
        // there, or not ours, needs no request, so it gets no retries or timer either.
        attempts.count = 1;
        decision = fromListing;
      }
      decision ??= await attempt(
        () => `cluster "${cluster.name}" Secret ${namespace}/${name}`,
        async () => {
          // A retry follows a conflict or a failure: it reads the Secret rather than trust the listing.
          const first = attempts.count === 1;
          const existing = await existingSecret(
            gateway,
            namespace,
            name,
            first ? listing : undefined,
            info.spec.target.creationPolicy === 'Owner',
          );
          recovering = existing?.annotations[Annotation.ContentHash] === RESTART_PENDING;
          const decision =
            first && fromListing !== undefined ? fromListing : decide(existing, desired, rules);
          if (decision.action === 'create') await gateway.createSecret(decision.secret);
          else if (decision.action === 'update') await gateway.replaceSecret(decision.secret);
          return decision;
        },
        attempts,
      );
      result.attempts = attempts.count;
      recordDecision(result, decision, desired);
      if (decision.action === 'update')
        await restartAfterUpdate(gateway, info.spec, desired.hash, result, recovering);
    } catch (error) {
      result.attempts = attempts.count;
      failedWith(result, error);
    }
    result.durationMs = Math.round(performance.now() - started);
    return result;
  };

  // ------------------------------------------------------------------ one binding

  const newReport = (info: BindingInfo, inv: Invocation, secretRef: string): ChangeReport => ({
    changeId: inv.changeId,
    kind: inv.kind,
    binding: info.spec.name,
    source: info.source.name,
    secretRef,
    targets: [],
    counts: emptyCounts(),
    restarts: 0,
    enqueued: 0,
    durationMs: 0,
  });

  const finish = (report: ChangeReport, started: number): ChangeReport => {
    report.durationMs = Math.round(performance.now() - started);
    const log = logger.child({
      changeId: report.changeId,
      binding: report.binding,
      source: report.source,
      secretRef: report.secretRef,
      ...(report.version === undefined ? {} : { version: report.version }),
    });
    for (const target of report.targets) {
      report.counts[target.outcome]++;
      for (const r of target.restarts) if (r.outcome === 'restarted') report.restarts++;
      if (target.outcome === Outcome.Unchanged && target.restarts.length === 0) continue;
      // Durations of targets that did something; unchanged ones would only add volume.
      metrics?.timing(MetricName.TargetDuration, target.durationMs, { outcome: target.outcome });
      const fields = {
        cluster: target.cluster,
        namespace: target.namespace,
        secret: target.secret,
        outcome: target.outcome,
        ...(target.reason === undefined ? {} : { reason: target.reason }),
        ...(target.errorCode === undefined
          ? {}
          : { errorCode: target.errorCode, retryable: target.retryable }),
        attempts: target.attempts,
        durationMs: target.durationMs,
        ...(target.restarts.length === 0
          ? {}
          : { restarts: target.restarts.map((r) => `${r.kind}/${r.name}:${r.outcome}`) }),
      };
      if (target.outcome === Outcome.Failed) log.warn(`target ${target.outcome}`, fields);
      else log.info(`target ${target.outcome}`, fields);
    }
    for (const [outcome, n] of Object.entries(report.counts))
      if (n > 0) metrics?.count(MetricName.Targets, n, { outcome });
    if (report.restarts > 0) metrics?.count(MetricName.Restarts, report.restarts);
    const restartFailures = report.targets.reduce(
      (n, t) => n + t.restarts.filter((r) => r.outcome === 'failed').length,
      0,
    );
    if (restartFailures > 0) metrics?.count(MetricName.RestartFailures, restartFailures);
    metrics?.timing(MetricName.ChangeDuration, report.durationMs, { kind: report.kind });
    const failed = report.error !== undefined || report.counts.failed > 0;
    const summary = {
      outcome: failed ? 'failed' : report.enqueued > 0 ? 'enqueued' : 'ok',
      ...(report.error === undefined
        ? {}
        : { errorCode: report.error.code, retryable: report.error.retryable }),
      durationMs: report.durationMs,
      targets: report.targets.length,
      ...report.counts,
      restarts: report.restarts,
      enqueued: report.enqueued,
    };
    if (failed)
      log.warn(
        report.error === undefined
          ? 'binding finished with failed targets'
          : `binding failed: ${report.error.message}`,
        summary,
      );
    else log.info('binding finished', summary);
    return report;
  };

  const applyWaves = async (
    info: BindingInfo,
    waves: ClusterSpec[][],
    desired: Desired,
    inv: Invocation,
  ): Promise<TargetResult[]> => {
    const results: TargetResult[] = [];
    const halt = info.spec.rollout?.haltOnFailure ?? true;
    let halted = false;
    for (const wave of waves) {
      if (halted) {
        for (const cluster of wave)
          results.push(skipped(info, cluster.name, SkipReason.HaltedAfterFailedWave));
        continue;
      }
      const done = await Promise.all(
        wave.map((cluster) => inv.limit(() => applyTarget(info, cluster, desired, inv))),
      );
      results.push(...done);
      if (halt && done.some((r) => r.outcome === Outcome.Failed)) halted = true;
    }
    return results;
  };

  const deleteTargets = async (
    info: BindingInfo,
    clusters: readonly ClusterSpec[],
    inv: Invocation,
  ): Promise<TargetResult[]> => {
    const { namespace, name, creationPolicy } = info.spec.target;
    return Promise.all(
      clusters.map((cluster) =>
        inv.limit(async () => {
          const started = performance.now();
          const result = baseResult(info, cluster.name);
          if (namespaceRefusal(cluster, namespace) !== undefined)
            return skipped(info, cluster.name, SkipReason.NamespaceNotAllowed);
          const attempts = { count: 0 };
          try {
            const gateway = gatewayOf(cluster);
            const existing = await attempt(
              () => `cluster "${cluster.name}" Secret ${namespace}/${name}`,
              () => gateway.getSecret(namespace, name),
              attempts,
            );
            if (existing === undefined) {
              result.outcome = Outcome.Unchanged;
            } else if (
              creationPolicy !== 'Owner' ||
              existing.labels[MANAGED_BY_LABEL] !== MANAGED_BY_VALUE ||
              (existing.annotations[Annotation.Binding] ?? info.spec.name) !== info.spec.name
            ) {
              result.outcome = Outcome.Skipped;
              result.reason = SkipReason.ForeignSecret;
            } else {
              await attempt(
                () => `cluster "${cluster.name}" delete of Secret ${namespace}/${name}`,
                () => gateway.deleteSecret(namespace, name),
                attempts,
              );
              result.outcome = Outcome.Updated;
              result.reason = 'deleted';
            }
          } catch (error) {
            failedWith(result, error);
          }
          result.attempts = attempts.count;
          result.durationMs = Math.round(performance.now() - started);
          return result;
        }),
      ),
    );
  };

  /** One binding's fan-out: work items of `batchSize` clusters, in wave order. */
  const enqueue = async (
    info: BindingInfo,
    waves: ClusterSpec[][],
    desired: Desired,
    inv: Invocation,
    report: ChangeReport,
  ) => {
    // Chunks follow wave order; halting between waves is not enforced across work items.
    const ordered = waves.flat();
    const size = settings.fanOut.batchSize;
    const items: WorkItem[] = [];
    for (let i = 0; i < ordered.length; i += size) {
      items.push({
        changeId: inv.changeId,
        kind: inv.kind,
        binding: info.spec.name,
        version: desired.version,
        clusters: ordered.slice(i, i + size).map((c) => c.name),
        attempt: 1,
      });
    }
    await sendWork(items, [{ report, targets: ordered.length }]);
  };

  /** A binding made ready to apply: its content decided, or its report already finished. */
  type Prepared =
    | { report: ChangeReport; done: true }
    | {
        report: ChangeReport;
        done: false;
        started: number;
        desired: Desired;
        waves: ClusterSpec[][];
        fanOut: boolean;
      };

  /**
   * Everything before the targets: read and render once, handle deletions and binding
   * errors, or enqueue the targets for workers. `done` reports are finished already.
   */
  const prepareBinding = async (
    info: BindingInfo,
    inv: Invocation,
    secretRef: string,
    clusters: readonly ClusterSpec[] = info.clusters,
    allowFanOut = true,
  ): Promise<Prepared> => {
    const started = performance.now();
    const report = newReport(info, inv, secretRef);
    const done = (r: ChangeReport): Prepared => ({ report: r, done: true });

    if (
      inv.kind === ChangeKind.NearExpiry ||
      inv.kind === ChangeKind.Expired ||
      inv.kind === ChangeKind.RotateRequested
    ) {
      // Warnings only: rotation (if configured) runs through the runtime's rotate path.
      metrics?.count(MetricName.ExpiryWarnings, 1, { kind: inv.kind });
      logger.warn(`secret ${inv.kind}: nothing written`, {
        changeId: inv.changeId,
        binding: info.spec.name,
        source: info.source.name,
        secretRef,
        outcome: inv.kind,
      });
      report.durationMs = Math.round(performance.now() - started);
      return done(report);
    }

    let desired: Desired;
    try {
      desired = await desiredOf(info, inv);
    } catch (error) {
      if (inv.kind === ChangeKind.Deleted && error instanceof SecretNotFoundError) {
        if (info.spec.target.deletionPolicy === 'Delete')
          report.targets = await deleteTargets(info, clusters, inv);
        else
          logger.info('source secret deleted: target Secrets retained (deletionPolicy Retain)', {
            changeId: inv.changeId,
            binding: info.spec.name,
            secretRef,
          });
        return done(finish(report, started));
      }
      if (error instanceof ValidationGateError)
        metrics?.count(MetricName.GateFailures, 1, { binding: info.spec.name });
      metrics?.count(MetricName.BindingErrors, 1, { errorCode: errorCodeOf(error) });
      report.error = { code: errorCodeOf(error), message: safeMessage(error), retryable: isRetryable(error) };
      return done(finish(report, started));
    }
    report.version = desired.version;

    const waves = clusters === info.clusters ? info.waves : toWaves(clusters, info.spec.rollout?.waves);
    const fanOut =
      allowFanOut && options.workQueue !== undefined && clusters.length > settings.fanOut.batchSize;
    return { report, done: false, started, desired, waves, fanOut };
  };

  /** Sends `items` to the work queue for the reports' bindings, or records why it failed on each report. */
  const sendWork = async (
    items: WorkItem[],
    reports: readonly { report: ChangeReport; targets: number }[],
  ): Promise<void> => {
    const queue = options.workQueue;
    if (queue === undefined) throw new ConfigError('fan-out without a work queue');
    try {
      await queue.enqueue(items);
      metrics?.count(MetricName.WorkItems, items.length);
      for (const { report, targets } of reports) report.enqueued = targets;
    } catch (error) {
      for (const { report } of reports) {
        report.error = {
          code: errorCodeOf(error),
          message: `enqueueing work items failed: ${safeMessage(error)}`,
          retryable: true,
        };
      }
    }
  };

  /**
   * Several bindings' fan-out as cluster-major work items: each item carries a batch of
   * clusters and every binding that selects one of them, so a worker lists and connects to
   * each cluster once for all of them (per-binding items would cost one handshake per
   * cluster per binding, and a GET per target).
   */
  const enqueueByCluster = async (
    group: readonly { info: BindingInfo; clusters: readonly ClusterSpec[]; report: ChangeReport }[],
    inv: Invocation,
  ): Promise<void> => {
    const ordered = new Map<string, Set<string>>();
    for (const { info, clusters } of group) {
      for (const cluster of clusters) {
        let bindingsHere = ordered.get(cluster.name);
        if (bindingsHere === undefined) ordered.set(cluster.name, (bindingsHere = new Set()));
        bindingsHere.add(info.spec.name);
      }
    }
    const names = [...ordered.keys()];
    const size = settings.fanOut.batchSize;
    const items: WorkItem[] = [];
    for (let i = 0; i < names.length; i += size) {
      const clusters = names.slice(i, i + size);
      const bindingsHere = group
        .map(({ info }) => info.spec.name)
        .filter((b) => clusters.some((c) => ordered.get(c)?.has(b)));
      const [first] = bindingsHere;
      if (first === undefined) continue;
      items.push({
        changeId: inv.changeId,
        kind: inv.kind,
        binding: first,
        bindings: bindingsHere,
        clusters,
        attempt: 1,
      });
    }
    await sendWork(
      items,
      group.map(({ report, clusters }) => ({ report, targets: clusters.length })),
    );
  };

  /** One binding, wave by wave. */
  const runBinding = async (...args: Parameters<typeof prepareBinding>): Promise<ChangeReport> => {
    const [info, inv] = args;
    const prepared = await prepareBinding(...args);
    if (prepared.done) return prepared.report;
    if (prepared.fanOut) await enqueue(info, prepared.waves, prepared.desired, inv, prepared.report);
    else prepared.report.targets = await applyWaves(info, prepared.waves, prepared.desired, inv);
    return finish(prepared.report, prepared.started);
  };

  /**
   * Several bindings at once (a reconcile, or one secret behind several bindings), cluster
   * by cluster: each cluster's targets run back to back on its kept connection, its managed
   * Secrets are listed once for all of them, and that listing is dropped as soon as the
   * cluster is done. So memory follows the clusters in flight, not the whole fleet, and each
   * cluster is visited once instead of once per binding. A cluster gets several lanes only
   * when there are fewer clusters than `concurrency` (still one target per lane at a time).
   * Bindings with rollout waves keep their wave order and run binding by binding.
   */
  const runBindings = async (
    infos: readonly BindingInfo[],
    inv: Invocation,
    secretRef: (info: BindingInfo) => string,
    scope: { clusters?: (info: BindingInfo) => readonly ClusterSpec[]; allowFanOut?: boolean } = {},
  ): Promise<ChangeReport[]> => {
    const prepared = await Promise.all(
      infos.map((info) =>
        prepareBinding(
          info,
          inv,
          secretRef(info),
          scope.clusters?.(info) ?? info.clusters,
          scope.allowFanOut ?? true,
        ),
      ),
    );
    // Each cluster's targets as (binding, index) pairs packed in one array of small integers: a
    // reconcile of 1,500 clusters x 20 bindings would otherwise hold 30,000 pair objects throughout.
    const byCluster = new Map<string, { cluster: ClusterSpec; targets: number[] }>();
    const results: TargetResult[][] = [];
    const separate: Promise<void>[] = [];
    const fanOutByCluster: { info: BindingInfo; clusters: readonly ClusterSpec[]; report: ChangeReport }[] =
      [];
    prepared.forEach((p, binding) => {
      const info = infos[binding];
      results.push([]);
      if (p.done || info === undefined) return;
      if (p.fanOut && p.waves.length <= 1) {
        fanOutByCluster.push({ info, clusters: p.waves[0] ?? [], report: p.report });
        return;
      }
      if (p.fanOut) {
        separate.push(enqueue(info, p.waves, p.desired, inv, p.report));
        return;
      }
      if (p.waves.length > 1) {
        separate.push(
          applyWaves(info, p.waves, p.desired, inv).then((targets) => void (results[binding] = targets)),
        );
        return;
      }
      (p.waves[0] ?? []).forEach((cluster, index) => {
        let entry = byCluster.get(cluster.name);
        if (entry === undefined) byCluster.set(cluster.name, (entry = { cluster, targets: [] }));
        entry.targets.push(binding, index);
      });
    });

    const entries = [...byCluster.values()];
    const lanesPerCluster = Math.max(
      1,
      Math.min(MAX_LANES_PER_CLUSTER, Math.floor(settings.concurrency / Math.max(entries.length, 1))),
    );
    /** One cluster: lane `first` takes every `lanes`-th of its targets, one after another. */
    const runCluster = async ({
      cluster,
      targets,
    }: {
      cluster: ClusterSpec;
      targets: number[];
    }): Promise<void> => {
      const count = targets.length / 2;
      const lanes = Math.min(lanesPerCluster, count);
      const lane = async (first: number) => {
        for (let t = first; t < count; t += lanes) {
          const binding = targets[2 * t] ?? -1;
          const info = infos[binding];
          const p = prepared[binding];
          const out = results[binding];
          if (info === undefined || p === undefined || p.done || out === undefined) continue;
          const settled = applyTarget(info, cluster, p.desired, inv);
          out[targets[2 * t + 1] ?? 0] = settled instanceof Promise ? await settled : settled;
        }
      };
      try {
        if (lanes === 1) await inv.limit(() => lane(0));
        else await Promise.all(Array.from({ length: lanes }, (_, first) => inv.limit(() => lane(first))));
      } finally {
        inv.listed?.pending.delete(cluster.name);
        inv.listed?.ready.delete(cluster.name);
      }
    };
    // Clusters are taken in order by as many runners as the limit can keep busy, so a cluster
    // waiting for its turn holds nothing (no closure or promise queued per cluster).
    let next = 0;
    const runner = async (): Promise<void> => {
      for (let entry = entries[next++]; entry !== undefined; entry = entries[next++]) await runCluster(entry);
    };
    const clusters = Array.from(
      { length: Math.min(entries.length, Math.ceil(settings.concurrency / lanesPerCluster)) },
      runner,
    );
    if (fanOutByCluster.length > 0) separate.push(enqueueByCluster(fanOutByCluster, inv));
    await Promise.all([...clusters, ...separate]);

    return prepared.map((p, binding) => {
      if (p.done) return p.report;
      p.report.targets = results[binding] ?? [];
      return finish(p.report, p.started);
    });
  };

  // ------------------------------------------------------------------ entry points

  const byProvider = new Map<string, BindingInfo[]>();
  for (const info of bindings.values()) {
    const list = byProvider.get(info.source.provider) ?? [];
    list.push(info);
    byProvider.set(info.source.provider, list);
  }

  const touched = (change: SecretChange): BindingInfo[] =>
    (byProvider.get(change.provider) ?? []).filter((info) =>
      info.reads.some((r) => info.source.refersTo(r.key, change.secretRef)),
    );

  const primaryRef = (info: BindingInfo): string => info.reads[0]?.key ?? info.spec.remoteRef?.key ?? '';

  const propagator: EnginePropagator = {
    bindingsFor: (change) => touched(change).map((info) => info.spec.name),

    clustersOf: (binding) => infoOf(binding).clusters,

    async propagate(change) {
      const infos = touched(change);
      if (infos.length === 0) {
        logger.info('no binding refers to this secret: nothing to do', {
          changeId: change.eventId,
          secretRef: change.secretRef,
          outcome: 'ignored',
        });
        return [];
      }
      if (infos.length === 1 && infos[0] !== undefined)
        return [await runBinding(infos[0], newInvocation(change.eventId, change.kind), change.secretRef)];
      // Several bindings on one secret: cluster by cluster, one listing per cluster instead of one GET per target.
      return runBindings(infos, newInvocation(change.eventId, change.kind, true), () => change.secretRef);
    },

    async applyWorkItem(item) {
      const unknownBinding = (name: string): ChangeReport => {
        const error = new ConfigError(
          `work item names unknown binding "${name}" (the registry changed since it was enqueued)`,
        );
        logger.warn(error.message, { changeId: item.changeId, binding: name, errorCode: error.code });
        return {
          changeId: item.changeId,
          kind: item.kind,
          binding: name,
          source: '',
          secretRef: '',
          targets: [],
          counts: emptyCounts(),
          restarts: 0,
          enqueued: 0,
          durationMs: 0,
          error: { code: error.code, message: error.message, retryable: false },
        };
      };

      if (item.bindings !== undefined && item.bindings.length > 1) {
        // A cluster-major item: every binding over the clusters of the batch it selects.
        const known = item.bindings.flatMap((name) => bindings.get(name) ?? []);
        const inBatch = (info: BindingInfo) =>
          item.clusters.flatMap((name) => info.clusterByName.get(name) ?? []);
        const reports = await runBindings(known, newInvocation(item.changeId, item.kind, true), primaryRef, {
          clusters: inBatch,
          allowFanOut: false,
        });
        // A cluster none of the bindings selects any more (the registry changed since the item
        // was enqueued) is reported as skipped by each of them, as a single-binding item does.
        const unselected = item.clusters.filter(
          (name) => !known.some((info) => info.clusterByName.has(name)),
        );
        reports.forEach((report, i) => {
          const info = known[i];
          if (info !== undefined) reportNotSelected(report, info, unselected);
        });
        return [...reports, ...item.bindings.filter((name) => !bindings.has(name)).map(unknownBinding)];
      }

      const info = bindings.get(item.binding);
      if (info === undefined) return [unknownBinding(item.binding)];
      const clusters: ClusterSpec[] = [];
      const missing: string[] = [];
      for (const name of item.clusters) {
        const cluster = info.clusterByName.get(name);
        if (cluster === undefined) missing.push(name);
        else clusters.push(cluster);
      }
      const report = await runBinding(
        info,
        newInvocation(item.changeId, item.kind),
        primaryRef(info),
        clusters,
        false,
      );
      reportNotSelected(report, info, missing);
      return [report];
    },

    async reconcile(opts = {}) {
      const infos = selectInfos(opts.bindings);
      const inv = newInvocation(`reconcile-${randomUUID()}`, ChangeKind.Reconcile, infos.length > 1);
      return runBindings(infos, inv, primaryRef);
    },

    async plan(opts = {}) {
      const infos = selectInfos(opts.bindings);
      const inv = newInvocation(`plan-${randomUUID()}`, ChangeKind.Reconcile);
      const planned = await Promise.all(
        infos.map(async (info): Promise<PlannedTarget[]> => {
          const { namespace, name, creationPolicy } = info.spec.target;
          const ref = (cluster: string) => ({ binding: info.spec.name, cluster, namespace, secret: name });
          let desired: Desired;
          try {
            desired = await desiredOf(info, inv);
          } catch (error) {
            const reason = `${errorCodeOf(error)}: ${safeMessage(error)}`;
            return info.clusters.map((c) => ({
              ...ref(c.name),
              action: 'skip',
              reason,
              changedKeys: [],
              dependents: [],
            }));
          }
          return Promise.all(
            info.clusters.map((cluster) =>
              inv.limit(async (): Promise<PlannedTarget> => {
                if (namespaceRefusal(cluster, namespace) !== undefined) {
                  return {
                    ...ref(cluster.name),
                    action: 'skip',
                    reason: SkipReason.NamespaceNotAllowed,
                    changedKeys: [],
                    dependents: [],
                  };
                }
                try {
                  const gateway = gatewayOf(cluster);
                  const existing = await attempt(
                    () => `cluster "${cluster.name}" Secret ${namespace}/${name}`,
                    () => gateway.getSecret(namespace, name),
                  );
                  const decision = decide(existing, desired, { namespace, name, creationPolicy });
                  const restart = info.spec.restart;
                  const dependents =
                    decision.action === 'update' && restart !== undefined && restart !== false
                      ? (
                          await attempt(
                            () => `cluster "${cluster.name}" dependents`,
                            () => findDependents(gateway, restart, namespace, name, true),
                          )
                        )
                          .filter(
                            (w) => w.templateAnnotations[RestartAnnotation.RestartedForHash] !== desired.hash,
                          )
                          .map((w) => ({ kind: w.kind, name: w.name }))
                      : [];
                  return {
                    ...ref(cluster.name),
                    action: decision.action,
                    ...(decision.action === 'skip' ? { reason: decision.reason } : {}),
                    changedKeys: decision.changedKeys,
                    dependents,
                  };
                } catch (error) {
                  return {
                    ...ref(cluster.name),
                    action: 'skip',
                    reason: `error: ${errorCodeOf(error)}`,
                    changedKeys: [],
                    dependents: [],
                  };
                }
              }),
            ),
          );
        }),
      );
      return planned.flat();
    },

    async restart(binding) {
      const info = infoOf(binding);
      const started = performance.now();
      const inv = newInvocation(`restart-${randomUUID()}`, ChangeKind.Reconcile);
      const report = newReport(info, inv, primaryRef(info));
      report.targets = await Promise.all(
        info.clusters.map((cluster) =>
          inv.limit(async () => {
            const t0 = performance.now();
            if (namespaceRefusal(cluster, info.spec.target.namespace) !== undefined)
              return skipped(info, cluster.name, SkipReason.NamespaceNotAllowed);
            const result = baseResult(info, cluster.name);
            try {
              result.restarts = await restartDependents(gatewayOf(cluster), info.spec, undefined);
              failOnFailedRestart(result);
            } catch (error) {
              failedWith(result, error, 'dependents-lookup-failed');
            }
            result.attempts = 1;
            result.durationMs = Math.round(performance.now() - t0);
            return result;
          }),
        ),
      );
      return finish(report, started);
    },
  };
  return propagator;
}
