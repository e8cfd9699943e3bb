import { createHash } from 'node:crypto';
import { ConfigError } from '../../shared/core/errors.js';
import { parseRegistry } from '../../shared/registry/load.js';
import {
  PUBLISHED_FORMAT,
  PUBLISHED_FORMAT_VERSION,
  parsePublished,
  toPublished,
} from '../../shared/registry/published.js';
import { aRegistry } from './a-registry.js';

const refusal = (text: string): string => {
  try {
    parsePublished(text, 'test');
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('accepted');
};

describe('the published registry', () => {
  it('loads back to exactly the validated registry, defaults included', () => {
    // given
    const { registry } = parseRegistry(aRegistry());

    // when
    const loaded = parsePublished(toPublished(registry), 's3://bucket/registry.json', '/base');

    // then
    expect(loaded.registry).toEqual(registry);
    expect(loaded.registry.settings.concurrency).toBe(64);
    expect(loaded).toMatchObject({ origin: 's3://bucket/registry.json', baseDir: '/base' });
  });

  it('writes a header line with the format, its version, the body hash and the counts', () => {
    // given
    const { registry } = parseRegistry(aRegistry());

    // when
    const [header] = toPublished(registry).split('\n');

    // then
    expect(JSON.parse(header ?? '')).toEqual({
      format: PUBLISHED_FORMAT,
      formatVersion: PUBLISHED_FORMAT_VERSION,
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      clusters: 2,
      sources: 1,
      bindings: 1,
    });
    expect(toPublished(registry)).toBe(toPublished(parseRegistry(aRegistry()).registry));
  });

  it('refuses a body that does not match its hash (truncated or edited)', () => {
    // given
    const published = toPublished(parseRegistry(aRegistry()).registry);

    // when / then
    expect(refusal(published.replace('prod-eu-1', 'prod-eu-2'))).toMatch(
      /^published registry test is refused: its content hash is [0-9a-f]{64}, the header says [0-9a-f]{64} \(truncated or edited\)$/,
    );
    expect(refusal(published.slice(0, -10))).toContain('(truncated or edited)');
  });

  it('refuses a format version it does not read, naming both', () => {
    // given
    const published = toPublished(parseRegistry(aRegistry()).registry);

    // when
    const message = refusal(published.replace('"formatVersion":1', '"formatVersion":2'));

    // then
    expect(message).toBe(
      "published registry test is refused: format version 2 is not the one this function reads (1); publish it again with this release's CLI",
    );
  });

  it.each([
    ['registry YAML', aRegistry()],
    ['an empty text', ''],
    ['a header without a body', `{"format":"${PUBLISHED_FORMAT}","formatVersion":1}`],
  ])('refuses %s as not published', (_, text) => {
    expect(refusal(text)).toBe(
      `published registry test is refused: it is not a ${PUBLISHED_FORMAT} document`,
    );
  });

  it('does not validate again: a hash-consistent body is taken as it is', () => {
    // given: a body the schema would refuse (no apiVersion), with its correct hash
    const body = JSON.stringify({ clusters: [], sources: [], bindings: [] });
    const valid = toPublished(parseRegistry(aRegistry()).registry);
    const header = JSON.parse(valid.split('\n')[0] ?? '') as Record<string, unknown>;
    header['sha256'] = createHash('sha256').update(body).digest('hex');

    // when
    const loaded = parsePublished(`${JSON.stringify(header)}\n${body}`, 'test');

    // then
    expect(loaded.registry).toEqual({ clusters: [], sources: [], bindings: [] });
  });
});
