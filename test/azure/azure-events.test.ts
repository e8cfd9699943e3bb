import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import type { SecretChange } from '../../shared/core/change.js';
import { InvalidEventError } from '../../shared/core/errors.js';
import { normalizeEvent } from '../../shared/events/index.js';
import { cloudEventsValidationHeaders, subscriptionValidationResponse } from '../../shared/events/azure.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'azure');
const fixture = (path: string): unknown => JSON.parse(readFileSync(join(FIXTURES, path), 'utf8'));
const listed = (dir: string) =>
  readdirSync(join(FIXTURES, dir))
    .filter((f) => f.endsWith('.json'))
    .sort();

const DOC_VERSION = 'ee059b2bb5bc48398a53b168c6cdcb10';
const docChange = (kind: SecretChange['kind'], origin: string): Partial<SecretChange> => ({
  provider: 'azure',
  secretRef: 'sample-kv/newsecret',
  versionId: DOC_VERSION,
  kind,
  eventId: '00eccf70-95a7-4e7c-8299-2eb17ee9ad64',
  time: '2019-07-25T01:08:33.103Z',
  origin: `azure.keyvault/${origin}`,
  location: { vault: 'sample-kv.vault.azure.net' },
});

const valid: Record<string, Partial<SecretChange>[]> = {
  'eventgrid-new-version-created.json': [docChange('version-current', 'SecretNewVersionCreated')],
  'cloudevent-new-version-created.json': [docChange('version-current', 'SecretNewVersionCreated')],
  'eventgrid-new-version-created-legacy-casing.json': [
    docChange('version-current', 'SecretNewVersionCreated'),
  ],
  'cloudevent-new-version-created-legacy-casing.json': [
    docChange('version-current', 'SecretNewVersionCreated'),
  ],
  'eventgrid-single-event-object.json': [docChange('version-current', 'SecretNewVersionCreated')],
  'cloudevent-single-event-object.json': [docChange('version-current', 'SecretNewVersionCreated')],
  'eventgrid-near-expiry.json': [docChange('near-expiry', 'SecretNearExpiry')],
  'cloudevent-near-expiry.json': [docChange('near-expiry', 'SecretNearExpiry')],
  'eventgrid-expired.json': [docChange('expired', 'SecretExpired')],
  'cloudevent-expired.json': [docChange('expired', 'SecretExpired')],
  'eventgrid-batch.json': [
    docChange('version-current', 'SecretNewVersionCreated'),
    {
      secretRef: 'sample-kv/othersecret',
      versionId: '0a1b2c3d4e5f60718293a4b5c6d7e8f9',
      eventId: '8f2d3c4b-1a0e-4f5d-9c8b-7a6e5d4c3b2a',
      kind: 'version-current',
    },
  ],
};

const ignored: Record<string, RegExp> = {
  'eventgrid-subscription-validation.json': /subscription validation handshake/,
  'eventgrid-key-new-version-created.json': /KeyNewVersionCreated is not a secret event/,
  'cloudevent-certificate-near-expiry.json': /CertificateNearExpiry is not a secret event/,
  'eventgrid-vault-access-policy-changed.json': /VaultAccessPolicyChanged is not a secret event/,
  // An inherited member name is an unknown type like any other, not a lookup hit.
  'eventgrid-type-constructor.json': /constructor is not a Key Vault event/,
};

const invalid: Record<string, RegExp> = {
  'empty-batch.json': /empty batch/,
  'not-an-event.json': /has no "eventType"/,
  'eventgrid-missing-data.json': /has no "data" object/,
  'eventgrid-no-secret-name.json': /does not name the secret/,
  'eventgrid-bad-event-time.json': /no valid "eventTime"/,
  'cloudevent-missing-id.json': /has no "id"/,
  'batch-with-a-string.json': /azure event \[1\] is not an object/,
  'eventgrid-object-type-mismatch.json': /ObjectType is "Key"/,
  // Used to escape as a URIError, which the handler retried with the whole batch.
  'eventgrid-malformed-percent-escape.json': /data\.Id holds a malformed percent-escape/,
  'eventgrid-event-time-date-only.json': /no valid "eventTime" \(expected ISO-8601\)/,
};

describe('normalizeEvent("azure", ...) over the Key Vault fixtures', () => {
  it('has an expectation for every fixture file', () => {
    expect(listed('valid')).toEqual(Object.keys(valid).sort());
    expect(listed('ignored')).toEqual(Object.keys(ignored).sort());
    expect(listed('invalid')).toEqual(Object.keys(invalid).sort());
  });

  it.each(Object.entries(valid))('valid/%s becomes the expected changes', (file, expected) => {
    // given
    const payload = fixture(`valid/${file}`);
    // when
    const result = normalizeEvent('azure', payload);
    // then
    expect('changes' in result).toBe(true);
    const changes = 'changes' in result ? result.changes : [];
    expect(changes).toHaveLength(expected.length);
    expected.forEach((e, i) => expect(changes[i]).toMatchObject(e));
  });

  it.each(Object.entries(ignored))('ignored/%s is acknowledged with its reason', (file, reason) => {
    // when
    const result = normalizeEvent('azure', fixture(`ignored/${file}`));
    // then
    expect(result).toEqual({ ignored: expect.stringMatching(reason) });
  });

  it.each(Object.entries(invalid))(
    'invalid/%s is rejected with a specific InvalidEventError',
    (file, message) => {
      // when
      const run = () => normalizeEvent('azure', fixture(`invalid/${file}`));
      // then
      expect(run).toThrow(InvalidEventError);
      expect(run).toThrow(message);
    },
  );

  it('accepts the delivery as JSON text and as bytes', () => {
    // given
    const text = readFileSync(join(FIXTURES, 'valid/eventgrid-new-version-created.json'), 'utf8');
    // when
    const fromText = normalizeEvent('azure', text);
    const fromBytes = normalizeEvent('azure', new TextEncoder().encode(text));
    // then
    expect(fromText).toEqual(fromBytes);
    expect(fromText).toMatchObject({ changes: [{ secretRef: 'sample-kv/newsecret' }] });
  });

  it('rejects NBF/EXP that are not epoch seconds', () => {
    // given
    const [event] = fixture('valid/eventgrid-new-version-created.json') as Record<
      string,
      Record<string, unknown>
    >[];
    const broken = { ...event, data: { ...event?.['data'], EXP: 'next tuesday' } };
    // when / then
    expect(() => normalizeEvent('azure', [broken])).toThrow(/data\.EXP must be seconds since the epoch/);
  });

  it('takes the secret name from data.Id when ObjectName is absent', () => {
    // given
    const [event] = fixture('valid/cloudevent-expired.json') as Record<string, Record<string, unknown>>[];
    const { ObjectName: _n, VaultName: _v, Version: _ver, ...data } = event?.['data'] ?? {};
    // when
    const result = normalizeEvent('azure', [{ ...event, data }]);
    // then
    expect(result).toMatchObject({
      changes: [{ secretRef: 'sample-kv/newsecret', versionId: DOC_VERSION, kind: 'expired' }],
    });
  });
});

describe('Event Grid handshakes for HTTP endpoints', () => {
  it('answers the subscription validation event with its validation code', () => {
    expect(subscriptionValidationResponse(fixture('ignored/eventgrid-subscription-validation.json'))).toEqual(
      {
        validationResponse: '512d38b6-c7b8-40c8-89fe-f46f9e9622b6',
      },
    );
  });

  it('has no validation response for an ordinary delivery', () => {
    expect(subscriptionValidationResponse(fixture('valid/eventgrid-batch.json'))).toBeUndefined();
  });

  it('answers the CloudEvents abuse-protection OPTIONS request with the allowed origin', () => {
    expect(cloudEventsValidationHeaders({ 'webhook-request-origin': 'eventgrid.azure.net' })).toEqual({
      'WebHook-Allowed-Origin': 'eventgrid.azure.net',
      'WebHook-Allowed-Rate': '*',
    });
    expect(cloudEventsValidationHeaders({})).toBeUndefined();
  });
});
