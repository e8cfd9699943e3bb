import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { InvalidEventError } from '../../shared/core/errors.js';
import { ignoredReasonCode } from '../../shared/events/aws.js';
import { normalizeEvent } from '../../shared/events/index.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'aws');
const load = (path: string): unknown => JSON.parse(readFileSync(join(fixtures, path), 'utf8'));
const ARN = 'arn:aws:secretsmanager:us-west-2:012345678901:secret:mySecret-a1b2c3';
const V1 = 'a1b2c3d4-5678-90ab-cdef-EXAMPLE11111';
const V2 = 'a1b2c3d4-5678-90ab-cdef-EXAMPLE22222';

const valid: Record<string, { kind: string; secretRef: string; versionId?: string; origin: string }> = {
  'secret-label-updated-awscurrent.json': {
    kind: 'version-current',
    secretRef: ARN,
    versionId: V1,
    origin: 'aws.secretsmanager/Secret Label Updated',
  },
  'put-secret-value.json': {
    kind: 'version-current',
    secretRef: ARN,
    versionId: V2,
    origin: 'aws.secretsmanager/AWS API Call via CloudTrail/PutSecretValue',
  },
  'put-secret-value-legacy-arn-key.json': {
    kind: 'version-current',
    secretRef: ARN,
    versionId: V2,
    origin: 'aws.secretsmanager/AWS API Call via CloudTrail/PutSecretValue',
  },
  'update-secret.json': {
    kind: 'version-current',
    secretRef: ARN,
    versionId: V2,
    origin: 'aws.secretsmanager/AWS API Call via CloudTrail/UpdateSecret',
  },
  'update-secret-version-stage-awscurrent.json': {
    kind: 'version-current',
    secretRef: ARN,
    versionId: V2,
    origin: 'aws.secretsmanager/AWS API Call via CloudTrail/UpdateSecretVersionStage',
  },
  'restore-secret.json': {
    kind: 'version-current',
    secretRef: ARN,
    origin: 'aws.secretsmanager/AWS API Call via CloudTrail/RestoreSecret',
  },
  'delete-secret.json': {
    kind: 'deleted',
    secretRef: ARN,
    origin: 'aws.secretsmanager/AWS API Call via CloudTrail/DeleteSecret',
  },
  'create-secret.json': {
    kind: 'version-current',
    secretRef: ARN,
    versionId: V1,
    origin: 'aws.secretsmanager/AWS API Call via CloudTrail/CreateSecret',
  },
  // Lenient: the envelope's source already says Secrets Manager.
  'put-secret-value-without-event-source.json': {
    kind: 'version-current',
    secretRef: ARN,
    versionId: V2,
    origin: 'aws.secretsmanager/AWS API Call via CloudTrail/PutSecretValue',
  },
  'rotation-succeeded.json': {
    kind: 'version-current',
    secretRef: ARN,
    origin: 'aws.secretsmanager/AWS Service Event via CloudTrail/RotationSucceeded',
  },
};

const ignored: Record<string, string> = {
  'secret-label-updated-custom-label.json': 'label-not-current',
  'put-secret-value-awspending.json': 'staged-not-current',
  'update-secret-version-stage-awspending.json': 'label-not-current',
  'update-secret-metadata-only.json': 'metadata-only',
  'create-secret-without-value.json': 'no-value',
  'rotate-secret.json': 'rotation-started',
  'rotation-failed.json': 'rotation-failed',
  'rotation-started.json': 'irrelevant-service-event',
  'get-secret-value.json': 'irrelevant-call',
  'put-secret-value-failed-call.json': 'failed-call',
  'other-service.json': 'not-secrets-manager',
  'detail-type-to-string.json': 'irrelevant-detail-type',
};

describe('aws event normalisation over the documented EventBridge shapes', () => {
  it('has an expectation for every fixture (a new fixture must be added to the table)', () => {
    // given / when / then
    expect(readdirSync(join(fixtures, 'valid')).sort()).toEqual(Object.keys(valid).sort());
    expect(readdirSync(join(fixtures, 'ignored')).sort()).toEqual(Object.keys(ignored).sort());
  });

  it.each(Object.entries(valid))('valid/%s becomes one change', (file, expected) => {
    // given
    const raw = load(join('valid', file)) as { id: string; time: string };

    // when
    const result = normalizeEvent('aws', raw);

    // then
    expect(result).toEqual({
      changes: [
        {
          provider: 'aws',
          kind: expected.kind,
          secretRef: expected.secretRef,
          ...(expected.versionId === undefined ? {} : { versionId: expected.versionId }),
          eventId: raw.id,
          time: raw.time,
          origin: expected.origin,
          location: { region: 'us-west-2', account: '012345678901' },
        },
      ],
    });
  });

  it.each(Object.entries(ignored))('ignored/%s is acknowledged with reason %s', (file, code) => {
    // given
    const raw = load(join('ignored', file));

    // when
    const result = normalizeEvent('aws', raw);

    // then
    expect('ignored' in result).toBe(true);
    expect(ignoredReasonCode('ignored' in result ? result.ignored : '')).toBe(code);
  });

  it.each(readdirSync(join(fixtures, 'invalid')))('invalid/%s is rejected with InvalidEventError', (file) => {
    // given
    const raw = load(join('invalid', file));

    // when / then
    expect(() => normalizeEvent('aws', raw)).toThrow(InvalidEventError);
  });

  it('names the field when the time is not ISO-8601', () => {
    // given
    const raw = load('invalid/time-not-iso.json');

    // when / then
    expect(() => normalizeEvent('aws', raw)).toThrow(/^time: "\*" is not an ISO-8601 time/);
  });

  it('ignores a CloudTrail call whose eventSource names another service', () => {
    // given
    const raw = load('valid/put-secret-value.json') as { detail: Record<string, unknown> };
    raw.detail['eventSource'] = 'kms.amazonaws.com';

    // when
    const result = normalizeEvent('aws', raw);

    // then
    expect(result).toEqual({ ignored: 'not-secrets-manager: CloudTrail event from kms.amazonaws.com' });
  });

  it('falls back to the secret name when the native event carries no resources', () => {
    // given
    const raw = {
      ...(load('valid/secret-label-updated-awscurrent.json') as Record<string, unknown>),
      resources: [],
    };

    // when
    const result = normalizeEvent('aws', raw);

    // then
    expect('changes' in result && result.changes[0]?.secretRef).toBe('mySecret');
  });

  it('treats a PutSecretValue without versionStages as moving AWSCURRENT', () => {
    // given
    const raw = load('valid/put-secret-value.json') as {
      detail: { requestParameters: Record<string, unknown>; responseElements: Record<string, unknown> };
    };
    delete raw.detail.responseElements.versionStages;

    // when
    const result = normalizeEvent('aws', raw);

    // then
    expect('changes' in result && result.changes[0]?.kind).toBe('version-current');
  });
});
