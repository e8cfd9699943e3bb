import { describe, expect, it } from '@jest/globals';
import { InvalidEventError } from '../../shared/core/errors.js';
import { createInvocationLogger, createLogMetrics, withInvocation } from '../../functions/azure/telemetry.js';
import { encodeWorkItem, parseWorkItem } from '../../functions/azure/work-queue.js';
import { createContextFactory } from './support/functions-host.js';

describe('invocation-scoped logging (InvocationContext -> Application Insights)', () => {
  it('writes each line to the context of the invocation that logged it, even when invocations interleave', async () => {
    // given
    const host = createContextFactory();
    const logger = createInvocationLogger();
    const a = host.context('secretChanged');
    const b = host.context('secretChanged');
    const tick = () => new Promise((resolve) => setTimeout(resolve, 5));
    // when
    await Promise.all([
      withInvocation(a, async () => {
        logger.info('from a', { changeId: 'a' });
        await tick();
        logger.warn('from a again', { changeId: 'a' });
      }),
      withInvocation(b, async () => {
        await tick();
        logger.error('from b', { changeId: 'b' });
      }),
    ]);
    // then
    const byInvocation = (ctx: { invocationId: string }) =>
      host
        .lines()
        .filter((l) => l.invocationId === ctx.invocationId)
        .map((l) => [l.level, l['message'], l['changeId']]);
    expect(byInvocation(a)).toEqual([
      ['information', 'from a', 'a'],
      ['warning', 'from a again', 'a'],
    ]);
    expect(byInvocation(b)).toEqual([['error', 'from b', 'b']]);
  });

  it('redacts value-like fields before they reach the context', async () => {
    // given
    const host = createContextFactory();
    const logger = createInvocationLogger();
    // when
    await withInvocation(host.context('scheduled'), () => {
      logger.info('oops', { password: 'canary-redact-1234', secretRef: 'kv/db' });
      return Promise.resolve();
    });
    // then
    expect(host.logs.map((l) => l.text).join('\n')).not.toContain('canary-redact-1234');
    expect(host.lines()[0]).toMatchObject({
      secretRef: 'kv/db',
      service: 'secret-propagator',
      cloud: 'azure',
    });
  });

  it('reports metrics as structured lines', async () => {
    // given
    const host = createContextFactory();
    const metrics = createLogMetrics(createInvocationLogger());
    // when
    await withInvocation(host.context('secretChanged'), () => {
      metrics.count('KeyVaultSecretExpired', 1, { secretRef: 'kv/db' });
      return Promise.resolve();
    });
    // then
    expect(host.lines()).toEqual([
      expect.objectContaining({ metric: 'KeyVaultSecretExpired', count: 1, secretRef: 'kv/db' }),
    ]);
  });
});

describe('work item messages', () => {
  const item = {
    changeId: 'c-1',
    kind: 'version-current' as const,
    binding: 'payments-db',
    clusters: ['aks-1', 'aks-2'],
    version: 'v7',
  };

  it('round-trips through the base64 JSON the queue trigger decodes', () => {
    const wire = encodeWorkItem(item);
    expect(parseWorkItem(JSON.parse(Buffer.from(wire, 'base64').toString('utf8')))).toEqual(item);
    expect(parseWorkItem(wire)).toEqual(item);
    expect(parseWorkItem(JSON.stringify(item))).toEqual(item);
  });

  it.each([
    [{ ...item, clusters: 'aks-1' }, /clusters must be a list/],
    [{ ...item, kind: 'explode' }, /kind must be a change kind/],
    [{ binding: 'x' }, /changeId must be a string/],
    ['not base64 json', /not a JSON work item/],
    [42, /not a work item object/],
  ])('rejects %j with a specific InvalidEventError', (entry, message) => {
    expect(() => parseWorkItem(entry)).toThrow(InvalidEventError);
    expect(() => parseWorkItem(entry)).toThrow(message);
  });
});
