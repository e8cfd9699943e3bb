import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidEventError, normalizeEvent } from '../../shared/events/index.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'vault');
const fixture = (name: string): unknown => JSON.parse(readFileSync(join(fixtures, name), 'utf8'));

describe('normalizeEvent("vault", ...) for Vault Enterprise event notifications', () => {
  it('turns a kv-v2 data-write into version-current for mount/path with the new version', () => {
    expect(normalizeEvent('vault', fixture('valid/data-write.json'))).toEqual({
      changes: [
        {
          provider: 'vault',
          secretRef: 'secret/payments/db',
          versionId: '3',
          kind: 'version-current',
          eventId: 'a3be9fb1-b514-519f-5b25-b6f144a8c1ce',
          time: '2026-11-23T10:00:00.000000Z',
          origin: 'vault/kv-v2/data-write',
        },
      ],
    });
  });

  it('turns a metadata-delete into deleted', () => {
    const result = normalizeEvent('vault', fixture('valid/metadata-delete.json'));
    expect(result).toEqual({
      changes: [expect.objectContaining({ secretRef: 'kv/apps/api', kind: 'deleted' })],
    });
  });

  it('ignores events that do not change a value, saying why', () => {
    expect(normalizeEvent('vault', fixture('ignored/metadata-write.json'))).toEqual({
      ignored: 'vault event type kv-v2/metadata-write does not change a secret value',
    });
  });

  it.each([
    ['event-type-to-string.json', 'toString'],
    ['event-type-proto.json', '__proto__'],
  ])('ignores ignored/%s: an inherited member name is not an event type', (file, type) => {
    expect(normalizeEvent('vault', fixture(`ignored/${file}`))).toEqual({
      ignored: `vault event type ${type} does not change a secret value`,
    });
  });

  it.each([
    ['time-not-iso.json', 'vault event: time is "*", expected an ISO-8601 time'],
    ['empty-id.json', 'vault event: data.event.id must not be empty'],
    ['empty-path.json', 'vault event: data.event.metadata.path must not be empty'],
    ['path-is-the-mount.json', 'vault event: data.event.metadata.path names no secret under mount secret'],
    ['no-path.json', 'vault event: data.event.metadata.path'],
  ])('rejects invalid/%s naming the field', (file, message) => {
    const run = () => normalizeEvent('vault', fixture(`invalid/${file}`));
    expect(run).toThrow(InvalidEventError);
    expect(run).toThrow(message);
  });

  it('has an expectation for every invalid fixture', () => {
    expect(readdirSync(join(fixtures, 'invalid')).sort()).toEqual([
      'empty-id.json',
      'empty-path.json',
      'no-path.json',
      'path-is-the-mount.json',
      'time-not-iso.json',
    ]);
  });

  it.each([
    ['a non-object', 'hello'],
    ['an object without data', { id: 'x' }],
  ])('rejects %s with InvalidEventError', (_name, raw) => {
    expect(() => normalizeEvent('vault', raw)).toThrow(InvalidEventError);
  });
});
