import type { NormalizedEvent, SecretChange } from '../core/change.js';
import { InvalidEventError } from '../core/errors.js';
import { describeValue, isIsoTime, isRecord, own, ownRecord } from './fields.js';

/**
 * Secrets Manager events delivered by EventBridge, normalised into `SecretChange`s.
 *
 * Three families, each naming the secret in a different field:
 * - native `Secret Label Updated` (sent by default, no CloudTrail): `detail.name` and the
 *   full ARN in `resources[0]`; fires when a staging label other than AWSPENDING/AWSPREVIOUS moves.
 * - `AWS API Call via CloudTrail`: `detail.responseElements.arn` (`aRN` before Feb 2024)
 *   or `detail.requestParameters.secretId` (name or ARN, as the caller gave it).
 * - `AWS Service Event via CloudTrail` (rotation outcomes): `detail.additionalEventData.SecretId`.
 *
 * Only a version that is current propagates: AWSPENDING (rotation in progress) never does;
 * the move of AWSCURRENT does. Ignored reasons start with a stable code (`rotation-failed: ...`)
 * that handlers use as a metric dimension.
 */

export const SECRETS_MANAGER_SOURCE = 'aws.secretsmanager';
export const SECRETS_MANAGER_EVENT_SOURCE = 'secretsmanager.amazonaws.com';
export const AwsDetailType = {
  LabelUpdated: 'Secret Label Updated',
  ApiCall: 'AWS API Call via CloudTrail',
  ServiceEvent: 'AWS Service Event via CloudTrail',
} as const;

/** CloudTrail API calls we act on (the EventBridge rule matches exactly these). */
export const CLOUDTRAIL_API_EVENTS = [
  'PutSecretValue',
  'UpdateSecret',
  'UpdateSecretVersionStage',
  'RotateSecret',
  'RestoreSecret',
  'DeleteSecret',
  'CreateSecret',
] as const;
/** CloudTrail service events we act on (RotationFailed is matched to be counted, not propagated). */
export const CLOUDTRAIL_SERVICE_EVENTS = ['RotationSucceeded', 'RotationFailed'] as const;

const AWSCURRENT = 'AWSCURRENT';

type Json = Record<string, unknown>;

const isObject = isRecord;
/** A string with something in it; blank is as good as absent for an id or a name. */
function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim().length > 0 ? value : undefined;
}
function strings(value: unknown): string[] | undefined {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : undefined;
}

interface Envelope {
  id: string;
  time: string;
  detailType: string;
  source: string;
  region: string | undefined;
  account: string | undefined;
  resources: string[];
  detail: Json;
}

function envelopeOf(raw: unknown): Envelope {
  if (!isObject(raw))
    throw new InvalidEventError(
      `expected an EventBridge event object, got ${Array.isArray(raw) ? 'a list' : typeof raw}`,
    );
  const id = str(own(raw, 'id'));
  const time = str(own(raw, 'time'));
  const detailType = str(own(raw, 'detail-type'));
  const source = str(own(raw, 'source'));
  const detail = own(raw, 'detail');
  const missing = [
    ...(id === undefined ? ['id'] : []),
    ...(time === undefined ? ['time'] : []),
    ...(detailType === undefined ? ['detail-type'] : []),
    ...(source === undefined ? ['source'] : []),
    ...(isObject(detail) ? [] : ['detail']),
  ];
  if (
    id === undefined ||
    time === undefined ||
    detailType === undefined ||
    source === undefined ||
    !isObject(detail)
  ) {
    throw new InvalidEventError(
      `EventBridge event is missing ${missing.join(', ')} (expected the EventBridge envelope: id, time, source, detail-type, detail)`,
    );
  }
  if (!isIsoTime(time))
    throw new InvalidEventError(
      `time: "${time.slice(0, 64)}" is not an ISO-8601 time (EventBridge sends 2024-02-06T16:43:48Z)`,
    );
  return {
    id,
    time,
    detailType,
    source,
    region: str(own(raw, 'region')),
    account: str(own(raw, 'account')),
    resources: strings(own(raw, 'resources')) ?? [],
    detail,
  };
}

function change(
  envelope: Envelope,
  secretRef: string,
  kind: SecretChange['kind'],
  origin: string,
  versionId?: string,
): NormalizedEvent {
  const location: NonNullable<SecretChange['location']> = {};
  const region = envelope.region ?? str(own(envelope.detail, 'awsRegion'));
  if (region !== undefined) location.region = region;
  if (envelope.account !== undefined) location.account = envelope.account;
  const result: SecretChange = {
    provider: 'aws',
    secretRef,
    kind,
    eventId: envelope.id,
    time: envelope.time,
    origin,
    location,
  };
  if (versionId !== undefined) result.versionId = versionId;
  return { changes: [result] };
}

function fromLabelUpdated(envelope: Envelope): NormalizedEvent {
  const { detail } = envelope;
  const name = str(own(detail, 'name'));
  if (name === undefined) throw new InvalidEventError('Secret Label Updated event has no detail.name');
  const label = str(own(detail, 'labelUpdated'));
  const origin = `${SECRETS_MANAGER_SOURCE}/${AwsDetailType.LabelUpdated}`;
  if (label !== AWSCURRENT) {
    return {
      ignored: `label-not-current: staging label ${label ?? '(none)'} moved on "${name}"; only AWSCURRENT propagates`,
    };
  }
  const arn = envelope.resources.find((r) => r.startsWith('arn:'));
  return change(envelope, arn ?? name, 'version-current', origin, str(own(detail, 'versionId')));
}

function fromApiCall(envelope: Envelope): NormalizedEvent {
  const { detail } = envelope;
  const eventName = str(own(detail, 'eventName')) ?? '(none)';
  const origin = `${SECRETS_MANAGER_SOURCE}/${AwsDetailType.ApiCall}/${eventName}`;
  // The envelope's `source: aws.secretsmanager` already says which service called; an absent
  // eventSource is not a reason to drop the change, a different one is.
  const eventSource = own(detail, 'eventSource');
  if (eventSource !== undefined && typeof eventSource !== 'string') {
    throw new InvalidEventError(`detail.eventSource: expected a string, got ${describeValue(eventSource)}`);
  }
  if (eventSource !== undefined && eventSource !== SECRETS_MANAGER_EVENT_SOURCE) {
    return { ignored: `not-secrets-manager: CloudTrail event from ${eventSource}` };
  }
  if (str(own(detail, 'errorCode')) !== undefined) {
    return {
      ignored: `failed-call: ${eventName} failed with ${String(own(detail, 'errorCode'))}; nothing changed`,
    };
  }
  const request = ownRecord(detail, 'requestParameters') ?? {};
  const response = ownRecord(detail, 'responseElements');
  const secretId =
    str(own(response ?? {}, 'arn')) ??
    str(own(response ?? {}, 'aRN')) ??
    str(own(request, 'secretId')) ??
    str(own(request, 'name'));
  const isHandled = (CLOUDTRAIL_API_EVENTS as readonly string[]).includes(eventName);
  if (!isHandled) return { ignored: `irrelevant-call: ${eventName} does not change a secret value` };
  if (secretId === undefined) {
    throw new InvalidEventError(
      `CloudTrail ${eventName} event names no secret (expected detail.responseElements.arn or detail.requestParameters.secretId)`,
    );
  }
  const versionId = str(own(response ?? {}, 'versionId'));
  switch (eventName) {
    case 'PutSecretValue': {
      // Without versionStages, PutSecretValue moves AWSCURRENT to the new version.
      const stages = strings(own(response ?? {}, 'versionStages')) ?? strings(own(request, 'versionStages'));
      if (stages !== undefined && !stages.includes(AWSCURRENT)) {
        return {
          ignored: `staged-not-current: PutSecretValue on "${secretId}" staged ${stages.join(', ') || '(no label)'}; waiting for AWSCURRENT to move`,
        };
      }
      return change(envelope, secretId, 'version-current', origin, versionId);
    }
    case 'UpdateSecret':
      // CloudTrail shows a versionId only when the value changed; a null response is read as a change (reading is harmless).
      if (response !== undefined && versionId === undefined) {
        return { ignored: `metadata-only: UpdateSecret on "${secretId}" changed no value` };
      }
      return change(envelope, secretId, 'version-current', origin, versionId);
    case 'UpdateSecretVersionStage': {
      const stage = str(own(request, 'versionStage'));
      if (stage !== AWSCURRENT || str(own(request, 'moveToVersionId')) === undefined) {
        return {
          ignored: `label-not-current: UpdateSecretVersionStage moved ${stage ?? '(none)'} on "${secretId}"; only AWSCURRENT propagates`,
        };
      }
      return change(envelope, secretId, 'version-current', origin, str(own(request, 'moveToVersionId')));
    }
    case 'RotateSecret':
      // Rotation writes AWSPENDING first; RotationSucceeded or the AWSCURRENT move propagates it.
      return {
        ignored: `rotation-started: RotateSecret on "${secretId}"; the AWSCURRENT move propagates it`,
      };
    case 'RestoreSecret':
      return change(envelope, secretId, 'version-current', origin);
    case 'DeleteSecret':
      return change(envelope, secretId, 'deleted', origin);
    case 'CreateSecret':
      if (response !== undefined && versionId === undefined) {
        return { ignored: `no-value: CreateSecret "${secretId}" has no value yet` };
      }
      return change(envelope, secretId, 'version-current', origin, versionId);
    default:
      return { ignored: `irrelevant-call: ${eventName} does not change a secret value` };
  }
}

function fromServiceEvent(envelope: Envelope): NormalizedEvent {
  const { detail } = envelope;
  const eventName = str(own(detail, 'eventName')) ?? '(none)';
  const origin = `${SECRETS_MANAGER_SOURCE}/${AwsDetailType.ServiceEvent}/${eventName}`;
  const extra = ownRecord(detail, 'additionalEventData') ?? {};
  const secretId = str(own(extra, 'SecretId')) ?? envelope.resources.find((r) => r.startsWith('arn:'));
  if (eventName === 'RotationSucceeded') {
    if (secretId === undefined)
      throw new InvalidEventError(
        'RotationSucceeded event names no secret (expected detail.additionalEventData.SecretId)',
      );
    return change(envelope, secretId, 'version-current', origin);
  }
  if (eventName === 'RotationFailed' || eventName === 'RotationAbandoned') {
    return {
      ignored: `rotation-failed: ${eventName} for "${secretId ?? '(unknown)'}"; AWSCURRENT did not move, targets keep the current value`,
    };
  }
  return { ignored: `irrelevant-service-event: ${eventName} does not change a secret value` };
}

/**
 * Normalises one EventBridge event from Secrets Manager. Pure. Throws `InvalidEventError`
 * for payloads that are not EventBridge events or that lack the secret id.
 */
export function normalizeAwsEvent(raw: unknown): NormalizedEvent {
  const envelope = envelopeOf(raw);
  if (envelope.source !== SECRETS_MANAGER_SOURCE) {
    return { ignored: `not-secrets-manager: event from ${envelope.source} (${envelope.detailType})` };
  }
  switch (envelope.detailType) {
    case AwsDetailType.LabelUpdated:
      return fromLabelUpdated(envelope);
    case AwsDetailType.ApiCall:
      return fromApiCall(envelope);
    case AwsDetailType.ServiceEvent:
      return fromServiceEvent(envelope);
    default:
      return { ignored: `irrelevant-detail-type: ${envelope.detailType}` };
  }
}

/** The stable code at the start of an ignored reason (`rotation-failed`), for metrics. */
export function ignoredReasonCode(reason: string): string {
  const code = /^([a-z-]+):/.exec(reason)?.[1];
  return code ?? 'other';
}
