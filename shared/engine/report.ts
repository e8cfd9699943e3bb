import type { ChangeKind } from '../core/change.js';
import { errorCodeOf, isPropagatorError, isRetryable } from '../core/errors.js';
import type { BindingSpec } from '../registry/schema.js';
import { MetricName } from '../telemetry/metrics.js';
import type { BindingInfo } from './bindings.js';
import type { EngineContext, Invocation } from './context.js';
import type { Decision, Desired } from './decide.js';
import { Outcome, type ChangeReport, type RestartResult, type TargetResult } from './types.js';

/** The restarts of every target that restarted nothing: one frozen array, not one per target. */
export const NO_RESTARTS: readonly RestartResult[] = Object.freeze([]);

/** What happened to one target, without which target it was or how long it took. */
export interface TargetOutcome {
  outcome: Outcome;
  reason?: string;
  errorCode?: TargetResult['errorCode'];
  retryable?: boolean;
  version?: string;
  hash?: string;
  restarts?: readonly RestartResult[];
}

/** The target result of `outcome` for `spec`'s Secret in `cluster`. */
export function targetResult(
  spec: BindingSpec,
  cluster: string,
  outcome: TargetOutcome,
  attempts: number,
  durationMs: number,
): TargetResult {
  // One object literal with every field in the same order: targets of a fleet share one shape.
  const result: TargetResult = {
    binding: spec.name,
    cluster,
    namespace: spec.target.namespace,
    secret: spec.target.name,
    outcome: outcome.outcome,
    restarts: outcome.restarts ?? NO_RESTARTS,
    attempts,
    durationMs,
  };
  if (outcome.reason !== undefined) result.reason = outcome.reason;
  if (outcome.errorCode !== undefined) result.errorCode = outcome.errorCode;
  if (outcome.retryable !== undefined) result.retryable = outcome.retryable;
  if (outcome.version !== undefined) result.version = outcome.version;
  if (outcome.hash !== undefined) result.hash = outcome.hash;
  return result;
}

/** A target left alone for `reason` before anything was tried. */
export function skippedTarget(spec: BindingSpec, cluster: string, reason: string): TargetResult {
  return targetResult(spec, cluster, { outcome: Outcome.Skipped, reason }, 0, 0);
}

/** A target that failed with `error`; `reason` defaults to the error's own (value-free) message. */
export function failedOutcome(error: unknown, reason?: string): TargetOutcome {
  return {
    outcome: Outcome.Failed,
    errorCode: errorCodeOf(error),
    retryable: isRetryable(error),
    // The cause travels with the result (log line, CLI, outcome events): our errors carry no values.
    reason: reason ?? safeMessage(error),
  };
}

/** What `decision` came to for a target that now holds `desired` (or was skipped). */
export function decidedOutcome(decision: Decision, desired: Desired): TargetOutcome {
  if (decision.action === 'skip') return { outcome: Outcome.Skipped, reason: decision.reason };
  const outcome =
    decision.action === 'create'
      ? Outcome.Created
      : decision.action === 'update' || decision.action === 'restart'
        ? Outcome.Updated
        : Outcome.Unchanged;
  return { outcome, version: desired.version, hash: desired.hash };
}

/** An error's message when it is one of ours (which never carry values), else only its class. */
export function safeMessage(error: unknown): string {
  return isPropagatorError(error)
    ? error.message
    : `unexpected ${error instanceof Error ? error.name : 'error'}`;
}

/** A binding-level error as a report carries it. */
export function reportError(
  error: unknown,
  message = safeMessage(error),
): NonNullable<ChangeReport['error']> {
  return { code: errorCodeOf(error), message, retryable: isRetryable(error) };
}

/** What a report says besides its targets and their totals. */
export interface ReportHead {
  changeId: string;
  kind: ChangeKind;
  binding: string;
  source: string;
  secretRef: string;
  version?: string;
  /** Targets handed to the work queue. */
  enqueued?: number;
  error?: NonNullable<ChangeReport['error']>;
}

/** The head of a report on `info` for the invocation `inv`. */
export function reportHead(info: BindingInfo, inv: Invocation, secretRef: string): ReportHead {
  return {
    changeId: inv.changeId,
    kind: inv.kind,
    binding: info.spec.name,
    source: info.source.name,
    secretRef,
  };
}

export function emptyCounts(): Record<Outcome, number> {
  return { created: 0, updated: 0, unchanged: 0, skipped: 0, failed: 0, deleted: 0 };
}

/** The report of `head` over `targets`, with its totals counted. */
export function buildReport(head: ReportHead, targets: TargetResult[], durationMs: number): ChangeReport {
  const counts = emptyCounts();
  let restarts = 0;
  for (const target of targets) {
    counts[target.outcome]++;
    for (const r of target.restarts) if (r.outcome === 'restarted') restarts++;
  }
  const { enqueued, ...rest } = head;
  return { ...rest, targets, counts, restarts, enqueued: enqueued ?? 0, durationMs };
}

/** `report` with `extra` targets added after it was finished (not logged again). */
export function withTargets(report: ChangeReport, extra: readonly TargetResult[]): ChangeReport {
  if (extra.length === 0) return report;
  const counts = { ...report.counts };
  for (const target of extra) counts[target.outcome]++;
  return { ...report, targets: [...report.targets, ...extra], counts };
}

/**
 * Builds the report of a binding's run started at `started` (performance.now()) and tells
 * logs and metrics about it: one line per target that did something, one for the binding.
 */
export function finishReport(
  ctx: EngineContext,
  head: ReportHead,
  targets: TargetResult[],
  started: number,
): ChangeReport {
  const report = buildReport(head, targets, Math.round(performance.now() - started));
  const log = ctx.logger.child({
    changeId: report.changeId,
    binding: report.binding,
    source: report.source,
    secretRef: report.secretRef,
    ...(report.version === undefined ? {} : { version: report.version }),
  });
  let restartFailures = 0;
  for (const target of report.targets) {
    for (const r of target.restarts) if (r.outcome === 'failed') restartFailures++;
    if (target.outcome === Outcome.Unchanged && target.restarts.length === 0) continue;
    // Durations of targets that did something; unchanged ones would only add volume.
    ctx.metrics?.timing(MetricName.TargetDuration, target.durationMs, { outcome: target.outcome });
    const fields = targetLogFields(target);
    if (target.outcome === Outcome.Failed) log.warn(`target ${target.outcome}`, fields);
    else log.info(`target ${target.outcome}`, fields);
  }
  recordReportMetrics(ctx, report, restartFailures);
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
  if (!failed) log.info('binding finished', summary);
  else if (report.error === undefined) log.warn('binding finished with failed targets', summary);
  else log.warn(`binding failed: ${report.error.message}`, summary);
  return report;
}

function targetLogFields(target: TargetResult): Record<string, unknown> {
  return {
    cluster: target.cluster,
    namespace: target.namespace,
    secret: target.secret,
    outcome: target.outcome,
    ...(target.reason === undefined ? {} : { reason: target.reason }),
    ...(target.errorCode === undefined ? {} : { errorCode: target.errorCode, retryable: target.retryable }),
    attempts: target.attempts,
    durationMs: target.durationMs,
    ...(target.restarts.length === 0
      ? {}
      : { restarts: target.restarts.map((r) => `${r.kind}/${r.name}:${r.outcome}`) }),
  };
}

function recordReportMetrics(ctx: EngineContext, report: ChangeReport, restartFailures: number): void {
  const metrics = ctx.metrics;
  if (metrics === undefined) return;
  for (const [outcome, n] of Object.entries(report.counts))
    if (n > 0) metrics.count(MetricName.Targets, n, { outcome });
  if (report.restarts > 0) metrics.count(MetricName.Restarts, report.restarts);
  if (restartFailures > 0) metrics.count(MetricName.RestartFailures, restartFailures);
  metrics.timing(MetricName.ChangeDuration, report.durationMs, { kind: report.kind });
}
