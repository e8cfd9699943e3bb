import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { InvalidEventError } from '../../shared/core/errors.js';
import { normalizeEvent } from '../../shared/events/index.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'gcp');
const load = (path: string): unknown => JSON.parse(readFileSync(join(fixtures, path), 'utf8'));
const SECRET = 'projects/123456789012/secrets/db-password';
const TIME = '2026-03-12T19:43:20.262Z';

const valid: Record<string, { kind: string; versionId?: string; eventId: string; eventType: string }> = {
  'secret-version-add.cloudevent.json': {
    kind: 'version-current',
    versionId: '3',
    eventId: '10000000000000001',
    eventType: 'SECRET_VERSION_ADD',
  },
  'secret-version-add.push.json': {
    kind: 'version-current',
    versionId: '3',
    eventId: '10000000000000002',
    eventType: 'SECRET_VERSION_ADD',
  },
  'secret-version-enable.cloudevent.json': {
    kind: 'version-current',
    versionId: '2',
    eventId: '10000000000000003',
    eventType: 'SECRET_VERSION_ENABLE',
  },
  'secret-version-disable.cloudevent.json': {
    kind: 'version-disabled',
    versionId: '3',
    eventId: '10000000000000004',
    eventType: 'SECRET_VERSION_DISABLE',
  },
  'secret-version-destroy.push.json': {
    kind: 'version-disabled',
    versionId: '3',
    eventId: '10000000000000005',
    eventType: 'SECRET_VERSION_DESTROY',
  },
  'secret-version-destroy-scheduled.cloudevent.json': {
    kind: 'version-disabled',
    versionId: '3',
    eventId: '10000000000000006',
    eventType: 'SECRET_VERSION_DESTROY_SCHEDULED',
  },
  'secret-rotate.cloudevent.json': {
    kind: 'rotate-requested',
    eventId: '10000000000000007',
    eventType: 'SECRET_ROTATE',
  },
  'secret-delete.push.json': { kind: 'deleted', eventId: '10000000000000008', eventType: 'SECRET_DELETE' },
  'secret-version-add-version-in-data.push.json': {
    kind: 'version-current',
    versionId: '4',
    eventId: '10000000000000009',
    eventType: 'SECRET_VERSION_ADD',
  },
};

const ignored: Record<string, RegExp> = {
  'secret-create.cloudevent.json': /^SECRET_CREATE: /,
  'secret-update.push.json': /^SECRET_UPDATE: /,
  'topic-configured.push.json': /^TOPIC_CONFIGURED: /,
  'unknown-event-type.cloudevent.json': /^SECRET_SOMETHING_NEW: not an event/,
  'event-type-to-string.push.json': /^toString: not an event/,
};

const invalid: Record<string, RegExp> = {
  'not-an-object.json': /got string/,
  'no-message.json': /data\.message is missing/,
  'missing-event-type.push.json': /eventType is missing/,
  'missing-secret-id.cloudevent.json': /no secretId/,
  'secret-id-not-a-resource-name.push.json': /not a secret resource name/,
  'version-event-without-version.push.json': /names no version/,
  'unsupported-data-format.push.json': /dataFormat "PROTOBUF"/,
  'missing-message-id.push.json': /messageId is missing/,
  'timestamp-not-iso.push.json': /no valid timestamp \(attributes\.timestamp or publishTime, ISO-8601\)/,
};

describe('gcp event normalisation over the documented Secret Manager notification shapes', () => {
  it('has an expectation for every fixture (a new fixture must be added to the table)', () => {
    // given / when / then
    expect(readdirSync(join(fixtures, 'valid')).sort()).toEqual(Object.keys(valid).sort());
    expect(readdirSync(join(fixtures, 'ignored')).sort()).toEqual(Object.keys(ignored).sort());
    expect(readdirSync(join(fixtures, 'invalid')).sort()).toEqual(Object.keys(invalid).sort());
  });

  it.each(Object.entries(valid))('valid/%s becomes one change', (file, expected) => {
    // given
    const raw = load(join('valid', file));
    // when
    const result = normalizeEvent('gcp', raw);
    // then
    expect(result).toEqual({
      changes: [
        {
          provider: 'gcp',
          secretRef: SECRET,
          ...(expected.versionId === undefined ? {} : { versionId: expected.versionId }),
          kind: expected.kind,
          eventId: expected.eventId,
          time: TIME,
          origin: `secretmanager.googleapis.com/${expected.eventType}`,
          location: { project: '123456789012' },
        },
      ],
    });
  });

  it.each(Object.entries(ignored))('ignored/%s is acknowledged with its reason', (file, reason) => {
    // given
    const raw = load(join('ignored', file));
    // when
    const result = normalizeEvent('gcp', raw);
    // then
    expect(result).toEqual({ ignored: expect.stringMatching(reason) });
  });

  it.each(Object.entries(invalid))('invalid/%s is rejected with a specific error', (file, message) => {
    // given
    const raw = load(join('invalid', file));
    // when
    const attempt = () => normalizeEvent('gcp', raw);
    // then
    expect(attempt).toThrow(InvalidEventError);
    expect(attempt).toThrow(message);
  });

  it('accepts the bare PubsubMessage as the framework hands over converted legacy events', () => {
    // given
    const push = load('valid/secret-version-add.push.json') as { message: Record<string, unknown> };
    // when
    const result = normalizeEvent('gcp', { ...push.message, message_id: undefined });
    // then
    expect(result).toMatchObject({
      changes: [{ kind: 'version-current', versionId: '3', secretRef: SECRET }],
    });
  });

  it('refuses a CloudEvent that is not a Pub/Sub publication', () => {
    // given
    const raw = {
      ...(load('valid/secret-version-add.cloudevent.json') as object),
      type: 'google.cloud.storage.object.v1.finalized',
    };
    // when / then
    expect(() => normalizeEvent('gcp', raw)).toThrow(/is not google.cloud.pubsub.topic.v1.messagePublished/);
  });

  it('falls back to the publish time when the timestamp attribute is absent', () => {
    // given
    const raw = load('valid/secret-version-add.push.json') as {
      message: { attributes: Record<string, string> };
    };
    delete raw.message.attributes['timestamp'];
    // when
    const result = normalizeEvent('gcp', raw);
    // then
    expect(result).toMatchObject({ changes: [{ time: '2026-03-12T19:43:20.505Z' }] });
  });
});
