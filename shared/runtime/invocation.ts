import { ChangeKind, type NormalizedEvent, type SecretChange } from '../core/change.js';
import { errorCodeOf, InvalidEventError, isPropagatorError, isRetryable } from '../core/errors.js';
import type { LogFields, Logger, Metrics } from '../core/ports.js';
import { emptyCounts } from '../engine/report.js';
import { Outcome, type ChangeReport, type TargetResult, type WorkItem } from '../engine/types.js';
import { ignoredReasonCode } from '../events/aws.js';

/**
 * The invocation policy every cloud's handlers share (docs/semantics.md, "Invocation
 * policy"). A handler parses its platform's payload and reports the result to its platform;
 * everything in between is decided here, once:
 *
 * - only a failure that a later attempt can fix fails the invocation (`retry`);
 * - configuration errors, unbound secrets, ignored and invalid events, definitive failures
 *   and payloads the parser cannot read are acknowledged, because a redelivery would end
 *   the same way;
 * - each outcome gives exactly one log line and one metric, never a secret value.
 */

/** What happened to one invocation (or to one event of a batch). */
export const InvocationOutcome = {
  /** Every target converged (or was enqueued). */
  Ok: 'ok',
  /** Something failed that a retry can fix: the platform must redeliver. */
  Retry: 'retry',
  /** Targets or bindings failed definitively; acknowledged. */
  Failed: 'failed',
  /** The runtime refused the work (configuration error, access denied...); acknowledged. */
  Rejected: 'rejected',
  /** The payload is not a well-formed event, or the parser could not read it; acknowledged. */
  Invalid: 'invalid',
  /** A well-formed event that asks for no work (staged version, test message); acknowledged. */
  Ignored: 'ignored',
  /** No binding reads the secret the event names; acknowledged. */
  Unbound: 'unbound',
  /**
   * Expiry warnings with nothing to write: the engine logged one warning and counted
   * `expiry.warnings` per binding, which is this outcome's line and metric.
   */
  Warned: 'warned',
} as const;
export type InvocationOutcome = (typeof InvocationOutcome)[keyof typeof InvocationOutcome];

/** Totals over the reports of one invocation. */
export interface RunSummary {
  /** No failed target and no binding-level error. */
  ok: boolean;
  /** Something failed that a later attempt may fix: the handler should fail the invocation. */
  retryable: boolean;
  counts: Record<Outcome, number> & { restarts: number; enqueued: number; bindingErrors: number };
  failed: TargetResult[];
}

/** Totals over reports; `retryable` tells whether to fail the invocation. */
export function summarizeReports(reports: readonly ChangeReport[]): RunSummary {
  const counts = {
    ...emptyCounts(),
    restarts: 0,
    enqueued: 0,
    bindingErrors: 0,
  };
  const failed: TargetResult[] = [];
  let retryable = false;
  for (const report of reports) {
    for (const outcome of Object.values(Outcome)) counts[outcome] += report.counts[outcome];
    counts.restarts += report.restarts;
    counts.enqueued += report.enqueued;
    if (report.error !== undefined) {
      counts.bindingErrors++;
      if (report.error.retryable) retryable = true;
    }
    for (const target of report.targets) {
      if (target.outcome !== Outcome.Failed) continue;
      failed.push(target);
      if (target.retryable === true) retryable = true;
    }
  }
  return { ok: failed.length === 0 && counts.bindingErrors === 0, retryable, counts, failed };
}

/** What the policy needs of the runtime; the real Runtime fits as it is. */
export interface InvocationRuntime {
  handle(change: SecretChange): Promise<ChangeReport[]>;
  scheduled(kind: 'reconcile' | 'rotate', bindings?: string[]): Promise<ChangeReport[]>;
  propagator: {
    applyWorkItem(item: WorkItem): Promise<ChangeReport[]>;
    bindingsFor(change: SecretChange): string[];
  };
}

export interface InvocationDeps {
  /** The runtime, built on first use; a registry that fails to load is a `rejected` outcome. */
  runtime: () => InvocationRuntime;
  logger: Logger;
  metrics?: Metrics;
  /** Called with the reports before the outcome is logged (AWS publishes outcome events). */
  publish?: (reports: readonly ChangeReport[]) => Promise<void>;
}

/** A failed target as logs and results show it: identifiers, codes and the cause, never a value. */
export type FailedTarget = Pick<
  TargetResult,
  'binding' | 'cluster' | 'namespace' | 'secret' | 'errorCode' | 'retryable' | 'reason'
>;

/** The outcome of one invocation or one event of a batch, for the handler to report. */
export interface InvocationResult {
  outcome: InvocationOutcome;
  /** Nothing failed. */
  ok: boolean;
  /** The platform must fail the invocation (or list the item as failed) so it is redelivered. */
  retryable: boolean;
  /** Why an ignored, unbound or invalid event was acknowledged. */
  ignored?: string;
  /** Error code of a rejected, invalid or unreadable payload, or of a retryable throw. */
  errorCode?: string;
  bindings: number;
  counts: RunSummary['counts'];
  failed: FailedTarget[];
}

/** Thrown by handlers whose platform retries on a thrown error: codes and counts only. */
export class RetryableInvocationError extends Error {
  override readonly name = 'RetryableInvocationError';
}

/** Throws RetryableInvocationError when the result asks for a redelivery. */
export function failIfRetryable(what: string, results: readonly InvocationResult[]): void {
  const retry = results.filter((r) => r.retryable);
  if (retry.length === 0) return;
  const failed = retry.reduce((n, r) => n + r.failed.length + r.counts.bindingErrors, 0);
  throw new RetryableInvocationError(
    `${what}: ${retry.length} of ${results.length} event(s) failed with retryable errors (${failed} target(s) or binding(s)); the platform will retry`,
  );
}

/** A scheduled run's request, as each platform's parser returns it. */
export interface ScheduledRequest {
  kind: 'reconcile' | 'rotate';
  bindings?: string[];
}

/** The work step's answer: reports to settle, or the reason the event needs no work. */
type Work = { reports: ChangeReport[] } | { ignored: string } | { unbound: SecretChange[] };

/** What one outcome line says; turned into a line, a metric and a result by `settle`. */
interface Settlement {
  outcome: InvocationOutcome;
  fields: LogFields;
  reason?: string;
  errorCode?: string;
  reports?: readonly ChangeReport[];
  summary?: RunSummary;
}

/** The fields an error may put in a log line: its code and class, and only our own messages. */
export function describeError(error: unknown): { errorCode: string; errorName: string; reason: string } {
  const errorName = error instanceof Error ? error.name : typeof error;
  return {
    errorCode: errorCodeOf(error),
    errorName,
    // Our errors' messages are built from identifiers only; anything else may quote input.
    reason: isPropagatorError(error) ? error.message : `unexpected ${errorName}`,
  };
}

const MAX_LOGGED_FAILURES = 50;

function changeFields(changes: readonly SecretChange[]): LogFields {
  const first = changes[0];
  if (first === undefined) return {};
  return {
    changeId: first.eventId,
    secretRef: first.secretRef,
    kind: first.kind,
    ...(first.versionId === undefined ? {} : { version: first.versionId }),
    ...(first.origin === undefined ? {} : { origin: first.origin }),
    ...(changes.length > 1 ? { events: changes.length } : {}),
  };
}

const WARNING_KINDS: ReadonlySet<string> = new Set([
  ChangeKind.NearExpiry,
  ChangeKind.Expired,
  ChangeKind.RotateRequested,
]);

/** Reports of expiry warnings that wrote, rotated and enqueued nothing. */
function warnedOnly(reports: readonly ChangeReport[]): boolean {
  return (
    reports.length > 0 &&
    reports.every(
      (r) =>
        WARNING_KINDS.has(r.kind) &&
        r.targets.length === 0 &&
        r.error === undefined &&
        r.enqueued === 0 &&
        r.version === undefined,
    )
  );
}

/** The settlement of the reports the runtime returned. */
function settleReports(reports: readonly ChangeReport[], fields: LogFields): Settlement {
  const summary = summarizeReports(reports);
  if (summary.ok && warnedOnly(reports))
    return { outcome: InvocationOutcome.Warned, fields, reports, summary };
  const outcome = summary.ok
    ? InvocationOutcome.Ok
    : summary.retryable
      ? InvocationOutcome.Retry
      : InvocationOutcome.Failed;
  return { outcome, fields, reports, summary };
}

/** The settlement of an error thrown by the parse step (`parsing`) or the work step. */
function settleError(error: unknown, parsing: boolean, fields: LogFields): Settlement {
  const { errorCode, errorName, reason } = describeError(error);
  if (error instanceof InvalidEventError)
    return { outcome: InvocationOutcome.Invalid, fields, reason: `invalid-event: ${reason}`, errorCode };
  // A parser that throws will throw again on redelivery: that payload's failure, acknowledged.
  if (parsing)
    return { outcome: InvocationOutcome.Failed, fields: { ...fields, errorName }, reason, errorCode };
  return {
    outcome: isRetryable(error) ? InvocationOutcome.Retry : InvocationOutcome.Rejected,
    fields: { ...fields, errorName },
    reason,
    errorCode,
  };
}

const MESSAGE: Record<InvocationOutcome, string> = {
  ok: 'done',
  retry: 'failed; the platform will retry',
  failed: 'failed; acknowledged (a retry cannot fix it)',
  rejected: 'rejected; acknowledged (a retry cannot fix it)',
  invalid: 'invalid event; acknowledged',
  ignored: 'event ignored',
  unbound: 'no binding uses this secret; acknowledged',
  warned: 'expiry warning logged',
};

const LEVEL: Record<InvocationOutcome, 'info' | 'warn' | 'error'> = {
  ok: 'info',
  retry: 'error',
  failed: 'error',
  rejected: 'error',
  invalid: 'error',
  ignored: 'info',
  unbound: 'info',
  warned: 'warn',
};

/** Builds the one policy all handlers run their parse and work steps through. */
export function createInvocationPolicy(deps: InvocationDeps) {
  const { logger, metrics } = deps;

  /** The one line and the one metric of an outcome (none for `warned`: the engine's are). */
  const report = (what: string, s: Settlement, durationMs: number): void => {
    if (s.outcome === InvocationOutcome.Warned) return;
    const failed = s.summary?.failed ?? [];
    const bindingErrors = (s.reports ?? []).filter((r) => r.error !== undefined);
    const fields: LogFields = {
      ...s.fields,
      outcome: s.outcome,
      ...(s.errorCode === undefined ? {} : { errorCode: s.errorCode }),
      ...(s.reason === undefined ? {} : { reason: s.reason }),
      ...(s.summary === undefined
        ? {}
        : {
            bindings: s.reports?.length ?? 0,
            counts: { ...s.summary.counts },
            retryable: s.summary.retryable,
          }),
      ...(failed.length === 0
        ? {}
        : { failedTargets: failed.slice(0, MAX_LOGGED_FAILURES).map(failedTarget) }),
      ...(failed.length > MAX_LOGGED_FAILURES
        ? { failedTargetsOmitted: failed.length - MAX_LOGGED_FAILURES }
        : {}),
      ...(bindingErrors.length === 0
        ? {}
        : {
            bindingErrors: bindingErrors.map((r) => ({
              binding: r.binding,
              errorCode: r.error?.code,
              retryable: r.error?.retryable,
              reason: r.error?.message,
            })),
          }),
      durationMs,
    };
    logger[LEVEL[s.outcome]](`${what}: ${MESSAGE[s.outcome]}`, fields);
    if (metrics === undefined) return;
    if (s.outcome === InvocationOutcome.Ignored || s.outcome === InvocationOutcome.Invalid)
      metrics.count('events.ignored', 1, { reason: ignoredReasonCode(s.reason ?? '') });
    else if (s.outcome === InvocationOutcome.Unbound)
      metrics.count('events.ignored', 1, { reason: 'unbound' });
    else metrics.count('propagations', 1, { outcome: s.outcome });
  };

  /** Parse, work, settle: every failure becomes an outcome, nothing escapes. */
  const run = async <T>(
    what: string,
    parse: () => T,
    work: (input: T, runtime: InvocationRuntime) => Promise<Work>,
    fieldsOf: (input: T) => LogFields,
    base: LogFields,
    labelOf: (input: T) => string = () => what,
  ): Promise<InvocationResult> => {
    const started = Date.now();
    let input: T;
    try {
      input = parse();
    } catch (error) {
      return settle(what, settleError(error, true, base), started);
    }
    const fields = { ...base, ...fieldsOf(input) };
    let settlement: Settlement;
    try {
      const done = await work(input, deps.runtime());
      if ('ignored' in done)
        settlement = { outcome: InvocationOutcome.Ignored, fields, reason: done.ignored };
      else if ('unbound' in done)
        settlement = {
          outcome: InvocationOutcome.Unbound,
          fields: { ...fields, ...changeFields(done.unbound) },
        };
      else {
        await deps.publish?.(done.reports);
        settlement = settleReports(done.reports, fields);
      }
    } catch (error) {
      settlement = settleError(error, false, fields);
    }
    return settle(labelOf(input), settlement, started);
  };

  const settle = (what: string, s: Settlement, started: number): InvocationResult => {
    report(what, s, Date.now() - started);
    const acknowledgedWithReason =
      s.outcome === InvocationOutcome.Ignored ||
      s.outcome === InvocationOutcome.Invalid ||
      s.outcome === InvocationOutcome.Unbound;
    return {
      outcome: s.outcome,
      ok: s.summary?.ok ?? acknowledgedWithReason,
      retryable: s.outcome === InvocationOutcome.Retry,
      ...(acknowledgedWithReason ? { ignored: s.reason ?? InvocationOutcome.Unbound } : {}),
      ...(s.errorCode === undefined ? {} : { errorCode: s.errorCode }),
      bindings: s.reports?.length ?? 0,
      counts: s.summary?.counts ?? summarizeReports([]).counts,
      failed: (s.summary?.failed ?? []).map(failedTarget),
    };
  };

  return {
    /** One secret event: the platform's parse, then each bound change through the runtime. */
    event(what: string, parse: () => NormalizedEvent, base: LogFields = {}): Promise<InvocationResult> {
      return run(
        what,
        parse,
        async (normalized, runtime): Promise<Work> => {
          if ('ignored' in normalized) return { ignored: normalized.ignored };
          // Checked here so an unbound secret costs no store read and gets one line: ours.
          const bound = normalized.changes.filter((c) => runtime.propagator.bindingsFor(c).length > 0);
          if (bound.length === 0) return { unbound: normalized.changes };
          const reports: ChangeReport[] = [];
          for (const change of bound) reports.push(...(await runtime.handle(change)));
          return { reports };
        },
        (normalized) => ('ignored' in normalized ? {} : changeFields(normalized.changes)),
        base,
      );
    },

    /** A scheduled run; the line is named after the kind (`scheduled reconcile`). */
    scheduled(what: string, parse: () => ScheduledRequest, base: LogFields = {}): Promise<InvocationResult> {
      return run(
        what,
        parse,
        async (request, runtime) => ({ reports: await runtime.scheduled(request.kind, request.bindings) }),
        (request) => ({
          kind: request.kind,
          ...(request.bindings === undefined ? {} : { requested: request.bindings }),
        }),
        base,
        (request) => `scheduled ${request.kind}`,
      );
    },

    /** One fan-out work item. */
    workItem(what: string, parse: () => WorkItem, base: LogFields = {}): Promise<InvocationResult> {
      return run(
        what,
        parse,
        async (item, runtime) => ({ reports: await runtime.propagator.applyWorkItem(item) }),
        (item) => ({
          changeId: item.changeId,
          binding: item.binding,
          clusters: item.clusters.length,
        }),
        base,
      );
    },
  };
}

export type InvocationPolicy = ReturnType<typeof createInvocationPolicy>;

function failedTarget(t: TargetResult): FailedTarget {
  return {
    binding: t.binding,
    cluster: t.cluster,
    namespace: t.namespace,
    secret: t.secret,
    ...(t.errorCode === undefined ? {} : { errorCode: t.errorCode }),
    ...(t.retryable === undefined ? {} : { retryable: t.retryable }),
    ...(t.reason === undefined ? {} : { reason: t.reason }),
  };
}
