import { createJsonLogger, createMemoryMetrics, isSensitiveKey } from '../../shared/telemetry/index.js';
import { ConflictError } from '../../shared/core/errors.js';

function capture(level: 'debug' | 'info' | 'warn' | 'error' = 'debug') {
  const lines: string[] = [];
  const logger = createJsonLogger({
    write: (l) => lines.push(l),
    level,
    now: () => new Date('2026-01-01T00:00:00Z'),
  });
  return { lines, logger, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('JSON logger', () => {
  it('writes one JSON object per line with time, level, message and the fixed keys first', () => {
    // given
    const { logger, lines } = capture();
    // when
    logger.child({ changeId: 'e1' }).info('target updated', { extra: 1, outcome: 'updated', cluster: 'c1' });
    // then
    expect(lines).toHaveLength(1);
    expect(Object.keys(JSON.parse(lines[0] ?? '{}'))).toEqual([
      'time',
      'level',
      'message',
      'changeId',
      'cluster',
      'outcome',
      'extra',
    ]);
  });

  it('drops lines below the level', () => {
    const { logger, lines } = capture('warn');
    logger.info('quiet');
    logger.debug('quieter');
    logger.error('loud');
    expect(lines).toHaveLength(1);
  });

  it('drops fields named like values at any depth and says which', () => {
    // given
    const { logger, lines, parsed } = capture();
    // when
    logger.info('oops', {
      value: 'CANARY-1',
      nested: { password: 'CANARY-2', ok: 1 },
      'secret-value': 'CANARY-3',
      token: 'CANARY-4',
      data: { k: 'CANARY-5' },
      secret: 'db-credentials',
    });
    // then
    expect(lines.join('\n')).not.toMatch(/CANARY/);
    expect(parsed()[0]).toMatchObject({
      secret: 'db-credentials',
      nested: { ok: 1 },
      redacted: ['value', 'nested.password', 'secret-value', 'token', 'data'],
    });
  });

  it('truncates long strings and reduces errors to name, code and message', () => {
    const { logger, parsed } = capture();
    logger.warn('x'.repeat(2000), { error: new ConflictError('stale'), big: 'y'.repeat(2000) });
    const line = parsed()[0] ?? {};
    expect(String(line['message']).length).toBeLessThan(600);
    expect(String(line['big']).length).toBeLessThan(600);
    expect(line['error']).toEqual({ name: 'ConflictError', code: 'Conflict', message: 'stale' });
  });

  it.each([
    'value',
    'password',
    'token',
    'secret-value',
    'secretValue',
    'privateKey',
    'clientKeyData',
    'kubeconfig',
  ])('treats %s as sensitive', (key) => {
    expect(isSensitiveKey(key)).toBe(true);
  });
  it.each(['secret', 'secretRef', 'version', 'cluster', 'outcome'])('keeps %s', (key) => {
    expect(isSensitiveKey(key)).toBe(false);
  });
});

describe('memory metrics', () => {
  it('sums counters filtered by dimensions', () => {
    const metrics = createMemoryMetrics();
    metrics.count('targets', 2, { outcome: 'updated' });
    metrics.count('targets', 1, { outcome: 'failed' });
    metrics.timing('d', 5);
    expect(metrics.counter('targets')).toBe(3);
    expect(metrics.counter('targets', { outcome: 'updated' })).toBe(2);
    expect(metrics.timings('d')).toEqual([5]);
  });
});
