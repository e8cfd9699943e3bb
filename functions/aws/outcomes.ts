import {
  PutEventsCommand,
  type EventBridgeClient,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import type { Logger } from '../../shared/core/ports.js';
import type { ChangeReport } from '../../shared/engine/types.js';

export const OUTCOME_SOURCE = 'secret-propagator';
export const OutcomeDetailType = {
  Propagated: 'Secret Propagated',
  Failed: 'Secret Propagation Failed',
} as const;

/** The `detail` of an outcome event: identifiers, counts and codes, never a value. */
export interface OutcomeDetail {
  changeId: string;
  kind: string;
  binding: string;
  source: string;
  secretRef: string;
  version?: string;
  counts: ChangeReport['counts'];
  restarts: number;
  enqueued: number;
  failedTargets: {
    cluster: string;
    namespace: string;
    secret: string;
    errorCode: string;
    retryable: boolean;
  }[];
  error?: { code: string; retryable: boolean };
  durationMs: number;
}

export function toOutcomeDetail(report: ChangeReport): OutcomeDetail {
  const detail: OutcomeDetail = {
    changeId: report.changeId,
    kind: report.kind,
    binding: report.binding,
    source: report.source,
    secretRef: report.secretRef,
    counts: report.counts,
    restarts: report.restarts,
    enqueued: report.enqueued,
    failedTargets: report.targets
      .filter((t) => t.outcome === 'failed')
      .map((t) => ({
        cluster: t.cluster,
        namespace: t.namespace,
        secret: t.secret,
        errorCode: t.errorCode ?? 'Internal',
        retryable: t.retryable ?? true,
      })),
    durationMs: report.durationMs,
  };
  if (report.version !== undefined) detail.version = report.version;
  // The error message is dropped on purpose: only the code leaves the function.
  if (report.error !== undefined)
    detail.error = { code: report.error.code, retryable: report.error.retryable };
  return detail;
}

export interface OutcomePublisher {
  publish(reports: readonly ChangeReport[]): Promise<void>;
}

/**
 * Publishes one EventBridge event per binding report (`Secret Propagated` or `Secret
 * Propagation Failed`) to the outcome bus. Publishing failures are logged, not thrown:
 * the Secrets are already written, and retrying the change would not fix the bus.
 */
export function createOutcomePublisher(options: {
  client: EventBridgeClient;
  eventBus: string;
  logger: Logger;
}): OutcomePublisher {
  return {
    async publish(reports) {
      const entries: PutEventsRequestEntry[] = reports.map((report) => {
        const detail = toOutcomeDetail(report);
        const failed = detail.failedTargets.length > 0 || detail.error !== undefined;
        return {
          EventBusName: options.eventBus,
          Source: OUTCOME_SOURCE,
          DetailType: failed ? OutcomeDetailType.Failed : OutcomeDetailType.Propagated,
          Resources: report.secretRef.startsWith('arn:') ? [report.secretRef] : [],
          Detail: JSON.stringify(detail),
        };
      });
      for (let i = 0; i < entries.length; i += 10) {
        const batch = entries.slice(i, i + 10);
        try {
          const out = await options.client.send(new PutEventsCommand({ Entries: batch }));
          if ((out.FailedEntryCount ?? 0) > 0) {
            options.logger.warn('some outcome events were not accepted', {
              failedCount: out.FailedEntryCount,
              errorCode: 'OutcomePublishFailed',
            });
          }
        } catch (error) {
          options.logger.warn('outcome events could not be published', {
            errorCode: 'OutcomePublishFailed',
            awsError:
              typeof error === 'object' && error !== null && 'name' in error
                ? String(error.name)
                : 'UnknownError',
          });
        }
      }
    },
  };
}
