import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidEventError, normalizeEvent } from '../../../shared/events/index.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'local');
const fixture = (path: string): unknown => JSON.parse(readFileSync(join(fixtures, path), 'utf8'));

describe('normalizeEvent("local")', () => {
  it.each([
    [
      'valid/version-created.json',
      [
        {
          provider: 'local',
          secretRef: 'prod/database',
          versionId: '3',
          kind: 'version-current',
          eventId: '6f1c2a0e-1b7e-4c55-9d1f-2b8a7f0e9c11',
          time: '2026-03-01T12:00:00.000Z',
          origin: 'local:local-main/secret-version-created',
        },
      ],
    ],
    [
      'valid/version-current-numeric-version.json',
      [
        {
          provider: 'local',
          secretRef: 'app/api-key',
          versionId: '7',
          kind: 'version-current',
          eventId: 'evt-2',
          time: '2026-03-01T11:00:01.250Z',
          origin: 'local/secret-version-current',
        },
      ],
    ],
    [
      'valid/deleted.json',
      [
        {
          provider: 'local',
          secretRef: 'old/token',
          kind: 'deleted',
          eventId: 'evt-3',
          time: '2026-03-01T12:00:02.000Z',
          origin: 'local/secret-deleted',
        },
      ],
    ],
    [
      'valid/version-disabled.json',
      [
        {
          provider: 'local',
          secretRef: 'prod/database',
          versionId: '2',
          kind: 'version-disabled',
          eventId: 'evt-4',
          time: '2026-03-01T12:00:03.000Z',
          origin: 'local/secret-version-disabled',
        },
      ],
    ],
    [
      'valid/batch.json',
      [
        {
          provider: 'local',
          secretRef: 'prod/database',
          kind: 'rotate-requested',
          eventId: 'evt-6',
          time: '2026-03-01T12:00:05.000Z',
          origin: 'local/secret-rotate-requested',
        },
      ],
    ],
  ])('turns %s into the expected changes', (file, expected) => {
    // given
    const raw = fixture(file);
    // when
    const result = normalizeEvent('local', raw);
    // then
    expect(result).toEqual({ changes: expected });
  });

  it.each([
    ['invalid/not-an-object.json', 'event: expected an object with type, secret, id and time, got string'],
    ['invalid/missing-secret.json', 'event.secret: required (the secret name in the local store)'],
    [
      'invalid/bad-time.json',
      'event.time: "yesterday" is not an ISO-8601 time (for example 2026-01-31T12:00:00Z)',
    ],
    [
      'invalid/version-created-without-version.json',
      'event.version: required for type "secret-version-created" (the version id the event is about)',
    ],
    ['invalid/type-not-string.json', 'event.type: expected a string, got number'],
    // Found by `npm run fuzz`: a blank version names no version.
    ['invalid/blank-version.json', 'event.version: expected a non-empty string, got a blank string'],
    // Without a zone the instant depends on the machine's time zone.
    [
      'invalid/time-without-zone.json',
      'event.time: "2026-03-01T12:00:02" is not an ISO-8601 time (for example 2026-01-31T12:00:00Z)',
    ],
    [
      'invalid/bad-item-in-batch.json',
      'event[1].secret: must not be empty (the secret name in the local store)',
    ],
  ])('rejects %s with a message naming the field', (file, message) => {
    // given
    const raw = fixture(file);
    // when
    const run = () => normalizeEvent('local', raw);
    // then
    expect(run).toThrow(InvalidEventError);
    expect(run).toThrow(message);
  });

  it.each([
    ['ignored/secret-read.json', 'local event type "secret-read" does not change secret values'],
    ['ignored/unknown-type.json', 'unknown local event type "store-compacted"'],
    // Names of Object.prototype members are unknown types, not table hits.
    ['ignored/type-constructor.json', 'unknown local event type "constructor"'],
    ['ignored/type-proto.json', 'unknown local event type "__proto__"'],
  ])('ignores %s with the reason', (file, reason) => {
    // given
    const raw = fixture(file);
    // when
    const result = normalizeEvent('local', raw);
    // then
    expect(result).toEqual({ ignored: expect.stringContaining(reason) });
  });
});
