import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidEventError, normalizeEvent } from '../../shared/events/index.js';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8'));

describe('normalizeEvent("vault", ...) for Vault Enterprise event notifications', () => {
  it('turns a kv-v2 data-write into version-current for mount/path with the new version', () => {
    expect(normalizeEvent('vault', fixture('event-data-write.valid.json'))).toEqual({
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
    const result = normalizeEvent('vault', fixture('event-metadata-delete.valid.json'));
    expect(result).toEqual({
      changes: [expect.objectContaining({ secretRef: 'kv/apps/api', kind: 'deleted' })],
    });
  });

  it('ignores events that do not change a value, saying why', () => {
    expect(normalizeEvent('vault', fixture('event-metadata-write.ignored.json'))).toEqual({
      ignored: 'vault event type kv-v2/metadata-write does not change a secret value',
    });
  });

  it.each([
    ['a payload without a path', fixture('event-no-path.invalid.json')],
    ['a non-object', 'hello'],
    ['an object without data', { id: 'x' }],
  ])('rejects %s with InvalidEventError', (_name, raw) => {
    expect(() => normalizeEvent('vault', raw)).toThrow(InvalidEventError);
  });
});
