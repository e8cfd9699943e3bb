/**
 * The handlers through the real Functions Framework server (its Express app, its Pub/Sub
 * push conversion): what is acknowledged (2xx) and what makes Pub/Sub redeliver (5xx).
 * The runtime is injected: these paths end before or at the runtime's answer.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cloudEvent } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import type { SecretChange } from '../../shared/core/change.js';
import { ClusterUnavailableError, ConfigError } from '../../shared/core/errors.js';
import type { ChangeReport, TargetResult, WorkItem } from '../../shared/engine/types.js';
import { createGcpHandlers, type GcpRuntime } from '../../functions/gcp/handlers.js';
import { createCloudLogger } from '../../functions/gcp/logging.js';

const CANARY = 'canary-gcp-handler-91c2';

function aReport(overrides: Partial<ChangeReport> = {}): ChangeReport {
  return {
    changeId: 'c1',
    kind: 'version-current',
    binding: 'db',
    source: 'gcp-main',
    secretRef: 'projects/1/secrets/db',
    targets: [],
    counts: { created: 0, updated: 1, unchanged: 0, skipped: 0, failed: 0, deleted: 0 },
    restarts: 0,
    enqueued: 0,
    durationMs: 1,
    ...overrides,
  };
}

function aFailedTarget(retryable: boolean): TargetResult {
  return {
    binding: 'db',
    cluster: 'gke-eu',
    namespace: 'payments',
    secret: 'db',
    outcome: 'failed',
    errorCode: retryable ? 'ClusterUnavailable' : 'ClusterRejected',
    retryable,
    reason: retryable ? 'patch secret payments/db: HTTP 503' : 'patch secret payments/db: HTTP 403 Forbidden',
    restarts: [],
    attempts: 2,
    durationMs: 3,
  };
}

/** A runtime whose answers the test sets. */
function aRuntime(behaviour: {
  handle?: (c: SecretChange) => Promise<ChangeReport[]>;
  /** The bindings that read the changed secret; `db` unless the test says otherwise. */
  bindings?: string[];
}) {
  const calls: { handled: SecretChange[]; scheduled: unknown[]; work: WorkItem[] } = {
    handled: [],
    scheduled: [],
    work: [],
  };
  const runtime: GcpRuntime = {
    propagator: {
      bindingsFor: () => behaviour.bindings ?? ['db'],
      applyWorkItem: (item) => {
        calls.work.push(item);
        return Promise.resolve([
          aReport({
            targets: [aFailedTarget(true)],
            counts: { created: 0, updated: 0, unchanged: 0, skipped: 0, failed: 1, deleted: 0 },
          }),
        ]);
      },
    },
    handle: (change) => {
      calls.handled.push(change);
      return behaviour.handle?.(change) ?? Promise.resolve([aReport()]);
    },
    scheduled: (kind, bindings) => {
      calls.scheduled.push({ kind, bindings });
      return Promise.resolve([aReport({ kind: 'reconcile' })]);
    },
  };
  return { runtime, calls };
}

const pushBody = (attributes: Record<string, string>, data?: unknown) => ({
  message: {
    attributes,
    data: data === undefined ? '' : Buffer.from(JSON.stringify(data)).toString('base64'),
    messageId: '4242',
    message_id: '4242',
    publishTime: '2026-03-12T19:43:20.505Z',
  },
  subscription: 'projects/demo-project/subscriptions/push',
});
const versionAdd = (secret: string) =>
  pushBody(
    {
      eventType: 'SECRET_VERSION_ADD',
      secretId: `projects/123456789012/secrets/${secret}`,
      versionId: `projects/123456789012/secrets/${secret}/versions/2`,
      dataFormat: 'JSON_API_V1',
      timestamp: '2026-03-12T19:43:20.262Z',
    },
    { name: `projects/123456789012/secrets/${secret}/versions/2`, state: 'ENABLED' },
  );

describe('gcp handlers through the Functions Framework', () => {
  const lines: Record<string, unknown>[] = [];
  const logger = createCloudLogger({
    level: 'debug',
    write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>),
    project: 'demo-project',
  });
  let current = aRuntime({});
  let brokenRegistry = false;
  const handlers = createGcpHandlers({
    runtime: () => {
      if (brokenRegistry)
        throw new ConfigError('registry REGISTRY (inline) is invalid', [
          'bindings[0].source: unknown source',
        ]);
      return current.runtime;
    },
    logger,
  });
  const servers: Server[] = [];
  const ports: Record<string, number> = {};

  beforeAll(async () => {
    cloudEvent('test-secretChanged', handlers.secretChanged);
    cloudEvent('test-scheduled', handlers.scheduled);
    cloudEvent('test-applyWork', handlers.applyWork);
    for (const name of ['test-secretChanged', 'test-scheduled', 'test-applyWork']) {
      const server = getTestServer(name);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      servers.push(server);
      ports[name] = (server.address() as AddressInfo).port;
    }
  });
  afterAll(async () => {
    for (const server of servers) await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    lines.length = 0;
    current = aRuntime({});
    brokenRegistry = false;
  });

  const post = (fn: string, body: unknown) =>
    fetch(`http://127.0.0.1:${ports[fn]}/projects/demo-project/topics/t`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('acknowledges an ignored event type with one log line and no runtime call', async () => {
    // when
    const response = await post(
      'test-secretChanged',
      pushBody(
        { eventType: 'SECRET_UPDATE', secretId: 'projects/1/secrets/db' },
        { name: 'projects/1/secrets/db' },
      ),
    );
    // then
    expect(response.status).toBeLessThan(300);
    expect(current.calls.handled).toEqual([]);
    expect(lines).toEqual([
      expect.objectContaining({ severity: 'INFO', outcome: 'ignored', eventId: '4242' }),
    ]);
  });

  it('acknowledges the data-less TOPIC_CONFIGURED test message the framework passes through raw', async () => {
    // when
    const response = await post('test-secretChanged', pushBody({ eventType: 'TOPIC_CONFIGURED' }));
    // then
    expect(response.status).toBeLessThan(300);
    expect(lines).toEqual([
      expect.objectContaining({ outcome: 'ignored', reason: expect.stringMatching(/^TOPIC_CONFIGURED/) }),
    ]);
  });

  it('acknowledges a malformed notification with a specific error line (redelivery cannot fix it)', async () => {
    // when
    const response = await post(
      'test-secretChanged',
      pushBody({ eventType: 'SECRET_VERSION_ADD', secretId: 'db' }, { name: 'x' }),
    );
    // then
    expect(response.status).toBeLessThan(300);
    expect(lines).toEqual([
      expect.objectContaining({
        severity: 'ERROR',
        errorCode: 'InvalidEvent',
        reason: expect.stringContaining('not a secret resource name'),
      }),
    ]);
  });

  it('hands a version event to the runtime and acknowledges success with a summary line', async () => {
    // when
    const response = await post('test-secretChanged', versionAdd('db'));
    // then
    expect(response.status).toBeLessThan(300);
    expect(current.calls.handled).toEqual([
      expect.objectContaining({
        kind: 'version-current',
        secretRef: 'projects/123456789012/secrets/db',
        versionId: '2',
        eventId: '4242',
      }),
    ]);
    expect(lines.at(-1)).toMatchObject({
      severity: 'INFO',
      message: 'secretChanged: done',
      outcome: 'ok',
      'logging.googleapis.com/labels': { eventId: '4242', function: 'secretChanged' },
    });
  });

  it('acknowledges an event no binding uses with one line', async () => {
    // given
    current = aRuntime({ bindings: [] });
    // when
    const response = await post('test-secretChanged', versionAdd('nobody'));
    // then
    expect(response.status).toBeLessThan(300);
    expect(current.calls.handled).toEqual([]);
    expect(lines).toEqual([
      expect.objectContaining({ outcome: 'unbound', secretRef: 'projects/123456789012/secrets/nobody' }),
    ]);
  });

  it('fails the invocation (so Pub/Sub redelivers) when a target failed retryably', async () => {
    // given
    current = aRuntime({ handle: () => Promise.resolve([aReport({ targets: [aFailedTarget(true)] })]) });
    // when
    const response = await post('test-secretChanged', versionAdd('db'));
    // then
    expect(response.status).toBeGreaterThanOrEqual(500);
    expect(lines).toEqual([
      expect.objectContaining({
        severity: 'ERROR',
        message: 'secretChanged: failed; the platform will retry',
        outcome: 'retry',
        failedTargets: [
          expect.objectContaining({
            cluster: 'gke-eu',
            errorCode: 'ClusterUnavailable',
            reason: 'patch secret payments/db: HTTP 503',
          }),
        ],
      }),
    ]);
  });

  it('acknowledges a definitive target failure after logging it', async () => {
    // given
    current = aRuntime({ handle: () => Promise.resolve([aReport({ targets: [aFailedTarget(false)] })]) });
    // when
    const response = await post('test-secretChanged', versionAdd('db'));
    // then
    expect(response.status).toBeLessThan(300);
    expect(lines).toEqual([
      expect.objectContaining({
        outcome: 'failed',
        failedTargets: [expect.objectContaining({ cluster: 'gke-eu', errorCode: 'ClusterRejected' })],
      }),
    ]);
  });

  it('fails the invocation when the runtime throws a retryable error', async () => {
    // given
    current = aRuntime({
      handle: () => Promise.reject(new ClusterUnavailableError(`cluster gke-eu unreachable`)),
    });
    // when
    const response = await post('test-secretChanged', versionAdd('db'));
    // then
    expect(response.status).toBeGreaterThanOrEqual(500);
    expect(lines).toEqual([
      expect.objectContaining({
        severity: 'ERROR',
        errorCode: 'ClusterUnavailable',
        outcome: 'retry',
        message: 'secretChanged: failed; the platform will retry',
      }),
    ]);
  });

  it('acknowledges events while the registry is invalid, naming the problem', async () => {
    // given
    brokenRegistry = true;
    // when
    const response = await post('test-secretChanged', versionAdd('db'));
    // then
    expect(response.status).toBeLessThan(300);
    expect(lines).toEqual([
      expect.objectContaining({
        errorCode: 'ConfigError',
        outcome: 'rejected',
        reason: expect.stringContaining('bindings[0].source'),
      }),
    ]);
  });

  it('runs a scheduled reconcile from the Cloud Scheduler message', async () => {
    // when
    const response = await post('test-scheduled', pushBody({}, { kind: 'reconcile', bindings: ['db'] }));
    // then
    expect(response.status).toBeLessThan(300);
    expect(current.calls.scheduled).toEqual([{ kind: 'reconcile', bindings: ['db'] }]);
    expect(lines).toEqual([
      expect.objectContaining({ message: 'scheduled reconcile: done', outcome: 'ok', requested: ['db'] }),
    ]);
  });

  it('acknowledges a scheduled message with an unknown kind', async () => {
    // when
    const response = await post('test-scheduled', pushBody({}, { kind: 'explode' }));
    // then
    expect(response.status).toBeLessThan(300);
    expect(current.calls.scheduled).toEqual([]);
    expect(lines).toEqual([
      expect.objectContaining({ errorCode: 'InvalidEvent', reason: expect.stringContaining('"explode"') }),
    ]);
  });

  it('leaves a work item unacknowledged when one of its clusters failed retryably', async () => {
    // when
    const response = await post(
      'test-applyWork',
      pushBody(
        { changeId: 'c1' },
        { changeId: 'c1', kind: 'version-current', binding: 'db', clusters: ['gke-eu'] },
      ),
    );
    // then
    expect(response.status).toBeGreaterThanOrEqual(500);
    expect(current.calls.work).toEqual([
      { changeId: 'c1', kind: 'version-current', binding: 'db', clusters: ['gke-eu'] },
    ]);
  });

  it('never logs a value carried in the message data', async () => {
    // when
    await post('test-scheduled', pushBody({}, { kind: 'nope', password: CANARY }));
    await post(
      'test-secretChanged',
      pushBody({ eventType: 'SECRET_VERSION_ADD', secretId: 'bad' }, { payload: CANARY }),
    );
    // then
    expect(JSON.stringify(lines)).not.toContain(CANARY);
  });
});
