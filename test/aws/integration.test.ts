/**
 * The AWS path end to end with real parts: moto (Secrets Manager, SQS, EventBridge), local
 * HTTPS Kubernetes API servers, and the three Lambda handlers invoked through middy and
 * Powertools. Events are the documented EventBridge shapes from test/fixtures/aws.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  PutSecretValueCommand,
  RestoreSecretCommand,
  SecretsManagerClient,
  UpdateSecretCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  SendMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import type { EventBridgeEvent } from 'aws-lambda';
import { parseRegistry, type LoadedRegistry } from '../../shared/registry/load.js';
import { createApplyWorkerHandler } from '../../functions/aws/apply-worker.js';
import { createScheduledHandler } from '../../functions/aws/scheduled.js';
import { createSecretChangedHandler } from '../../functions/aws/secret-changed.js';
import {
  CLUSTER_TOKENS_SOURCE,
  registryClusters,
  startLocalFleet,
  tokenSecrets,
  type LocalFleet,
} from '../support/clusters.js';
import { aLambdaContext, captureOutput, pollQueueOnce } from './support/lambda.js';
import { startMoto, type Moto } from './support/moto.js';

const CLUSTERS = ['c1', 'c2', 'c3'];
const NS = 'payments';
const CANARY = 'canary-7c1d-never-logged';
const fixtures = join(import.meta.dirname, '..', 'fixtures', 'aws');

let moto: Moto;
let fleet: LocalFleet;
let sm: SecretsManagerClient;
let sqs: SQSClient;
let workQueueUrl: string;
let outcomesQueueUrl: string;
const arns = new Map<string, string>();

// --- builders -----------------------------------------------------------------------------

type AnyEvent = EventBridgeEvent<string, Record<string, unknown>>;

/** A documented fixture with a fresh id and the given tweaks. */
function anEvent(fixture: string, tweak: (event: AnyEvent) => void = () => undefined): AnyEvent {
  const event = JSON.parse(readFileSync(join(fixtures, fixture), 'utf8')) as AnyEvent;
  event.id = randomUUID();
  event.region = moto.region;
  event.account = '123456789012';
  tweak(event);
  return event;
}
function aLabelUpdated(name: string, versionId: string, label = 'AWSCURRENT'): AnyEvent {
  return anEvent('valid/secret-label-updated-awscurrent.json', (e) => {
    e.resources = [arns.get(name) ?? name];
    e.detail = { name, labelUpdated: label, versionId };
  });
}
function aCloudTrail(
  fixture: string,
  name: string,
  request: Record<string, unknown>,
  response: Record<string, unknown> | null,
): AnyEvent {
  return anEvent(fixture, (e) => {
    e.detail.requestParameters = { secretId: name, ...request };
    e.detail.responseElements = response === null ? null : { arn: arns.get(name), name, ...response };
  });
}
function aServiceEvent(fixture: string, name: string): AnyEvent {
  return anEvent(fixture, (e) => {
    e.detail.additionalEventData = { SecretId: arns.get(name) };
  });
}

function aRegistry(options: { batchSize?: number } = {}): LoadedRegistry {
  const baseDir = mkdtempSync(join(tmpdir(), 'sp-aws-'));
  writeFileSync(join(baseDir, 'cluster-tokens.json'), JSON.stringify(tokenSecrets(fleet)));
  const target = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    namespace: NS,
    clusters: { names: CLUSTERS },
    ...extra,
  });
  const registry = {
    apiVersion: 'secret-propagator/v1',
    settings: { fanOut: { batchSize: options.batchSize ?? 200 }, retries: 1, targetTimeout: '5s' },
    clusters: registryClusters(fleet),
    sources: [
      { name: 'aws-main', provider: 'aws', region: moto.region, endpoint: moto.endpoint },
      { name: CLUSTER_TOKENS_SOURCE, provider: 'local', path: 'cluster-tokens.json' },
    ],
    bindings: [
      {
        name: 'db',
        source: 'aws-main',
        remoteRef: { key: 'app/db' },
        data: [
          { secretKey: 'username', property: 'username' },
          { secretKey: 'password', property: 'password' },
        ],
        target: target('db-credentials'),
        restart: { auto: true },
      },
      {
        name: 'api-key',
        source: 'aws-main',
        // Bound by full ARN while events name it by name or ARN.
        remoteRef: { key: arns.get('app/api-key') },
        dataFrom: [{ extract: {} }],
        target: target('api-key', { deletionPolicy: 'Delete' }),
      },
      { name: 'late', source: 'aws-main', remoteRef: { key: 'app/late' }, target: target('late') },
      {
        name: 'rotated',
        source: 'aws-main',
        remoteRef: { key: 'app/rotated' },
        target: target('rotated'),
        schedule: { rotate: 'rate(30 days)' },
        rotation: { generator: { type: 'password', length: 24, property: 'password' } },
      },
    ],
  };
  return parseRegistry(stringify(registry), 'integration registry', baseDir);
}

const decode = (b64: string | undefined) => Buffer.from(b64 ?? '', 'base64').toString('utf8');
function secretIn(cluster: string, name: string): Record<string, string> | undefined {
  const secret = fleet.state.getSecret(cluster, NS, name) as { data?: Record<string, string> } | undefined;
  return secret === undefined
    ? undefined
    : Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, decode(v)]));
}
const lateValue = (cluster: string) => Object.values(secretIn(cluster, 'late') ?? {})[0];
function restartMarkOf(cluster: string): string {
  const workload = fleet.state.getWorkload(cluster, 'Deployment', NS, 'api') as
    { spec?: { template?: { metadata?: { annotations?: Record<string, string> } } } } | undefined;
  return JSON.stringify(workload?.spec?.template?.metadata?.annotations ?? {});
}
function getSecretValueCalls(secretId?: string) {
  return moto
    .calls('secretsmanager.GetSecretValue')
    .filter((c) => secretId === undefined || c.body?.SecretId === secretId);
}
async function putValue(
  name: string,
  value: Record<string, string> | string,
  stages?: string[],
): Promise<string> {
  const out = await sm.send(
    new PutSecretValueCommand({
      SecretId: name,
      SecretString: typeof value === 'string' ? value : JSON.stringify(value),
      ...(stages === undefined ? {} : { VersionStages: stages }),
    }),
  );
  return out.VersionId ?? '';
}
async function currentVersionId(name: string): Promise<string> {
  const out = await sm.send(new DescribeSecretCommand({ SecretId: name }));
  return (
    Object.entries(out.VersionIdsToStages ?? {}).find(([, stages]) => stages.includes('AWSCURRENT'))?.[0] ??
    ''
  );
}
/** What a rotation's finishSecret step does: AWSCURRENT moves to the pending version, AWSPENDING is removed. */
async function finishRotation(name: string, pending: string): Promise<void> {
  const current = await currentVersionId(name);
  await sm.send(
    new UpdateSecretVersionStageCommand({
      SecretId: name,
      VersionStage: 'AWSCURRENT',
      MoveToVersionId: pending,
      RemoveFromVersionId: current,
    }),
  );
  await sm.send(
    new UpdateSecretVersionStageCommand({
      SecretId: name,
      VersionStage: 'AWSPENDING',
      RemoveFromVersionId: pending,
    }),
  );
}
async function drainOutcomes(): Promise<{ 'detail-type': string; detail: Record<string, unknown> }[]> {
  const found: { 'detail-type': string; detail: Record<string, unknown> }[] = [];
  for (let i = 0; i < 5; i++) {
    const out = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: outcomesQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    const messages = out.Messages ?? [];
    for (const m of messages)
      found.push(JSON.parse(m.Body ?? '{}') as { 'detail-type': string; detail: Record<string, unknown> });
    if (messages.length > 0) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: outcomesQueueUrl,
          Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
        }),
      );
    }
    if (messages.length === 0 && found.length > 0) break;
    if (messages.length === 0) await new Promise((r) => setTimeout(r, 100));
  }
  return found;
}

// --- lifecycle ------------------------------------------------------------------------------

let secretChanged: ReturnType<typeof createSecretChangedHandler>;
const invoke = async (event: AnyEvent) =>
  captureOutput(() =>
    secretChanged(event as EventBridgeEvent<string, unknown>, aLambdaContext('secret-changed')),
  );

beforeAll(async () => {
  moto = await startMoto();
  process.env.AWS_ENDPOINT_URL = moto.endpoint;
  process.env.POWERTOOLS_METRICS_NAMESPACE = 'SecretPropagator';
  fleet = await startLocalFleet({ names: CLUSTERS });
  for (const cluster of CLUSTERS) {
    fleet.state.seedNamespace(cluster, NS);
    fleet.state.seedWorkload(cluster, 'Deployment', NS, 'api', {
      podSpec: {
        containers: [
          {
            name: 'api',
            image: 'registry.local/api:1',
            envFrom: [{ secretRef: { name: 'db-credentials' } }],
          },
        ],
      },
    });
  }
  sm = new SecretsManagerClient({ region: moto.region, endpoint: moto.endpoint });
  sqs = new SQSClient({ region: moto.region, endpoint: moto.endpoint });
  for (const [name, value] of [
    ['app/db', { username: 'app', password: 'first' }],
    ['app/api-key', { key: 'k-1' }],
    ['app/rotated', { username: 'svc', password: 'initial' }],
  ] as const) {
    const created = await sm.send(
      new CreateSecretCommand({ Name: name, SecretString: JSON.stringify(value) }),
    );
    arns.set(name, created.ARN ?? '');
  }
  workQueueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'work' }))).QueueUrl ?? '';
  outcomesQueueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'outcomes' }))).QueueUrl ?? '';
  const outcomesArn = (
    await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: outcomesQueueUrl, AttributeNames: ['QueueArn'] }),
    )
  ).Attributes?.QueueArn;
  const events = new EventBridgeClient({ region: moto.region, endpoint: moto.endpoint });
  await events.send(
    new PutRuleCommand({ Name: 'outcomes', EventPattern: JSON.stringify({ source: ['secret-propagator'] }) }),
  );
  await events.send(
    new PutTargetsCommand({ Rule: 'outcomes', Targets: [{ Id: 'queue', Arn: outcomesArn }] }),
  );
  events.destroy();
  secretChanged = createSecretChangedHandler({ loaded: aRegistry(), env: {} });
});

afterEach(() => {
  fleet.clearFaults();
});

afterAll(async () => {
  sm.destroy();
  sqs.destroy();
  await fleet.stop();
  await moto.stop();
});

// --- behaviour ------------------------------------------------------------------------------

describe('secret-changed handler (native event)', () => {
  it('propagates the AWSCURRENT move to every cluster, restarts dependents, reads once and publishes one outcome event', async () => {
    // given
    await invoke(aLabelUpdated('app/db', await currentVersionId('app/db')));
    const before = CLUSTERS.map(restartMarkOf);
    const version = await putValue('app/db', { username: 'app', password: CANARY });
    await drainOutcomes();
    moto.resetCalls();

    // when
    const { result, lines } = await invoke(aLabelUpdated('app/db', version));

    // then
    expect(result.ok).toBe(true);
    for (const cluster of CLUSTERS)
      expect(secretIn(cluster, 'db-credentials')).toEqual({ username: 'app', password: CANARY });
    expect(CLUSTERS.map(restartMarkOf)).not.toEqual(before);
    expect(getSecretValueCalls()).toHaveLength(1);
    const outcomes = await drainOutcomes();
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]?.['detail-type']).toBe('Secret Propagated');
    expect(outcomes[0]?.detail).toMatchObject({ binding: 'db', version, failedTargets: [] });
    expect(JSON.stringify(outcomes)).not.toContain(CANARY);
    expect(lines.join('\n')).not.toContain(CANARY);
    expect(lines.some((l) => l.includes('"correlation_id"'))).toBe(true);
  });

  it('writes once when the same change arrives again as a CloudTrail PutSecretValue event', async () => {
    // given
    const version = await putValue('app/db', { username: 'app', password: 'second' });
    await invoke(aLabelUpdated('app/db', version));
    const before = CLUSTERS.map(restartMarkOf);
    fleet.resetRequests();

    // when
    const { result } = await invoke(
      aCloudTrail(
        'valid/put-secret-value.json',
        'app/db',
        { clientRequestToken: version },
        { versionId: version, versionStages: ['AWSCURRENT'] },
      ),
    );

    // then
    expect(result.ok).toBe(true);
    expect(result.counts.unchanged).toBe(3);
    expect(
      fleet.requests().filter((r) => r.verb === 'update' || r.verb === 'create' || r.verb === 'patch'),
    ).toEqual([]);
    expect(CLUSTERS.map(restartMarkOf)).toEqual(before);
  });

  it('ignores a PutSecretValue that stages AWSPENDING, then propagates when UpdateSecretVersionStage moves AWSCURRENT', async () => {
    // given
    const current = secretIn('c1', 'db-credentials');
    const previous =
      (
        await sm.send(
          new PutSecretValueCommand({
            SecretId: 'app/db',
            SecretString: JSON.stringify({ username: 'app', password: 'third' }),
          }),
        )
      ).VersionId ?? '';
    await invoke(aLabelUpdated('app/db', previous));
    const pending = await putValue('app/db', { username: 'app', password: 'pending' }, ['AWSPENDING']);

    // when
    const ignored = await invoke(
      aCloudTrail(
        'ignored/put-secret-value-awspending.json',
        'app/db',
        { versionStages: ['AWSPENDING'] },
        { versionId: pending, versionStages: ['AWSPENDING'] },
      ),
    );

    // then
    expect(ignored.result.ignored).toMatch(/^staged-not-current/);
    expect(secretIn('c2', 'db-credentials')?.password).toBe('third');
    expect(current).toBeDefined();

    // when
    await finishRotation('app/db', pending);
    const moved = await invoke(
      aCloudTrail(
        'valid/update-secret-version-stage-awscurrent.json',
        'app/db',
        { versionStage: 'AWSCURRENT', moveToVersionId: pending, removeFromVersionId: previous },
        {},
      ),
    );

    // then
    expect(moved.result.ok).toBe(true);
    for (const cluster of CLUSTERS) expect(secretIn(cluster, 'db-credentials')?.password).toBe('pending');
  });

  it('propagates rotation completion (RotationSucceeded) and only counts RotateSecret and RotationFailed', async () => {
    // given: a rotation staged a new version as AWSPENDING
    const pending = await putValue('app/db', { username: 'app', password: 'rotated' }, ['AWSPENDING']);

    // when
    const onStarted = await invoke(
      aCloudTrail('ignored/rotate-secret.json', 'app/db', {}, { versionId: pending }),
    );
    const onFailed = await invoke(aServiceEvent('ignored/rotation-failed.json', 'app/db'));

    // then
    expect(onStarted.result.ignored).toMatch(/^rotation-started/);
    expect(onFailed.result.ignored).toMatch(/^rotation-failed/);
    expect(onFailed.lines.some((l) => l.includes('events.ignored') && l.includes('rotation-failed'))).toBe(
      true,
    );
    expect(secretIn('c1', 'db-credentials')?.password).not.toBe('rotated');

    // when: the rotation's last step moves AWSCURRENT, and Secrets Manager reports success
    await finishRotation('app/db', pending);
    const succeeded = await invoke(aServiceEvent('valid/rotation-succeeded.json', 'app/db'));

    // then
    expect(succeeded.result.ok).toBe(true);
    for (const cluster of CLUSTERS) expect(secretIn(cluster, 'db-credentials')?.password).toBe('rotated');
  });

  it('propagates UpdateSecret with a new value to a binding that names the secret by ARN', async () => {
    // given
    const out = await sm.send(
      new UpdateSecretCommand({ SecretId: 'app/api-key', SecretString: JSON.stringify({ key: 'k-2' }) }),
    );

    // when
    const { result } = await invoke(
      aCloudTrail('valid/update-secret.json', 'app/api-key', {}, { versionId: out.VersionId }),
    );

    // then
    expect(result.ok).toBe(true);
    for (const cluster of CLUSTERS) expect(secretIn(cluster, 'api-key')).toEqual({ key: 'k-2' });
  });

  it('creates targets on CreateSecret for a bound secret', async () => {
    // given
    const created = await sm.send(new CreateSecretCommand({ Name: 'app/late', SecretString: 'late-value' }));
    arns.set('app/late', created.ARN ?? '');

    // when
    const { result } = await invoke(
      aCloudTrail(
        'valid/create-secret.json',
        'app/late',
        { name: 'app/late' },
        { versionId: created.VersionId },
      ),
    );

    // then
    expect(result.ok).toBe(true);
    expect(result.counts.created).toBe(3);
    for (const cluster of CLUSTERS) expect(fleet.state.getSecret(cluster, NS, 'late')).toBeDefined();
  });

  it('follows the deletion policy on DeleteSecret and converges again on RestoreSecret', async () => {
    // given
    await invoke(aLabelUpdated('app/api-key', 'any'));
    await sm.send(new DeleteSecretCommand({ SecretId: 'app/api-key', RecoveryWindowInDays: 7 }));

    // when
    const deleted = await invoke(
      aCloudTrail('valid/delete-secret.json', 'app/api-key', { recoveryWindowInDays: 7 }, {}),
    );

    // then
    expect(deleted.result.retryable).toBe(false);
    for (const cluster of CLUSTERS) expect(fleet.state.getSecret(cluster, NS, 'api-key')).toBeUndefined();
    expect(fleet.state.getSecret('c1', NS, 'db-credentials')).toBeDefined();

    // when
    await sm.send(new RestoreSecretCommand({ SecretId: 'app/api-key' }));
    const restored = await invoke(aCloudTrail('valid/restore-secret.json', 'app/api-key', {}, {}));

    // then
    expect(restored.result.ok).toBe(true);
    for (const cluster of CLUSTERS) expect(secretIn(cluster, 'api-key')).toEqual({ key: 'k-2' });
  });

  it('acknowledges an event for a secret no binding uses with one log line and no store read', async () => {
    // given
    await sm.send(new CreateSecretCommand({ Name: 'other/unused', SecretString: 'x' }));
    moto.resetCalls();

    // when
    const { result, lines } = await invoke(aLabelUpdated('other/unused', randomUUID()));

    // then
    expect(result.ok).toBe(true);
    expect(result.bindings).toBe(0);
    expect(getSecretValueCalls()).toHaveLength(0);
    expect(lines.filter((l) => l.includes('no binding uses this secret'))).toHaveLength(1);
  });

  it('acknowledges a malformed event instead of failing the invocation', async () => {
    // given
    const malformed = anEvent('invalid/secret-label-updated-without-name.json');

    // when
    const { result } = await invoke(malformed);

    // then
    expect(result.ignored).toMatch(/^invalid-event/);
  });
});

describe('fan-out through SQS (moto) and the apply worker', () => {
  it('enqueues one work item per cluster, and the worker applies them with partial batch failures', async () => {
    // given
    const loaded = aRegistry({ batchSize: 1 });
    const coordinator = createSecretChangedHandler({ loaded, env: { WORK_QUEUE_URL: workQueueUrl } });
    const worker = createApplyWorkerHandler({ loaded, env: {} });
    // app/late: moto keeps AWSCURRENT on a version moved by UpdateSecretVersionStage when a later
    // PutSecretValue arrives (unlike AWS), so this test uses a secret that never went through a rotation.
    const version = await putValue('app/late', 'fanned-out');
    fleet.setFault('c2', { status: 503, times: 10 });
    moto.resetCalls();

    // when
    const { result } = await captureOutput(() =>
      coordinator(aLabelUpdated('app/late', version) as EventBridgeEvent<string, unknown>, aLambdaContext()),
    );
    const firstPoll = await captureOutput(() => pollQueueOnce(sqs, workQueueUrl, (e, c) => worker(e, c)));

    // then
    expect(result.ok).toBe(true);
    expect(result.counts.enqueued).toBe(3);
    expect(moto.calls('AmazonSQS.SendMessageBatch').length).toBeGreaterThan(0);
    expect(firstPoll.result.delivered).toBe(3);
    expect(firstPoll.result.failed).toHaveLength(1);
    expect(lateValue('c1')).toBe('fanned-out');
    expect(lateValue('c3')).toBe('fanned-out');
    expect(lateValue('c2')).not.toBe('fanned-out');

    // when
    fleet.clearFaults();
    const retry = await captureOutput(() => pollQueueOnce(sqs, workQueueUrl, (e, c) => worker(e, c)));

    // then
    expect(retry.result).toEqual({ delivered: 1, failed: [] });
    expect(lateValue('c2')).toBe('fanned-out');
  });
});

/** The invocation policy's lines (`<function>: <outcome words>`) and its EMF metrics, among everything printed. */
const policyLines = (lines: readonly string[], what: string) =>
  lines.filter((l) => l.includes(`"message":"${what}: `));
const policyMetric = (lines: readonly string[], name: string) =>
  lines.filter((l) => l.includes('"_aws"') && l.includes(`"Name":"${name}"`));

describe('invocation policy on Lambda', () => {
  it('acknowledges a configuration error (EventBridge must not retry it) with one line and one metric', async () => {
    // given: no registry configured at all
    const broken = createSecretChangedHandler({ env: {} });

    // when
    const { result, lines } = await captureOutput(() =>
      broken(aLabelUpdated('app/db', randomUUID()) as EventBridgeEvent<string, unknown>, aLambdaContext()),
    );

    // then
    expect(result).toMatchObject({ outcome: 'rejected', retryable: false, errorCode: 'ConfigError' });
    expect(policyLines(lines, 'secretChanged')).toHaveLength(1);
    expect(policyLines(lines, 'secretChanged')[0]).toContain('"outcome":"rejected"');
    expect(policyMetric(lines, 'propagations')).toHaveLength(1);
  });

  it('settles each SQS record on its own: a malformed record is dropped, the valid one applied, none retried', async () => {
    // given
    const worker = createApplyWorkerHandler({ loaded: aRegistry(), env: {} });
    const version = await putValue('app/late', 'batch-valid');
    const valid = {
      changeId: 'batch-1',
      kind: 'version-current',
      binding: 'late',
      version,
      clusters: ['c1'],
    };
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: workQueueUrl,
        Entries: [
          { Id: 'malformed', MessageBody: '{"changeId": ' },
          { Id: 'valid', MessageBody: JSON.stringify(valid) },
        ],
      }),
    );

    // when
    const { result, lines } = await captureOutput(() =>
      pollQueueOnce(sqs, workQueueUrl, (e, c) => worker(e, c)),
    );

    // then
    expect(result).toEqual({ delivered: 2, failed: [] });
    expect(lateValue('c1')).toBe('batch-valid');
    const outcomes = policyLines(lines, 'applyWorkItem');
    expect(outcomes).toHaveLength(2);
    expect(outcomes.filter((l) => l.includes('"outcome":"invalid"'))).toHaveLength(1);
    expect(outcomes.filter((l) => l.includes('"outcome":"ok"'))).toHaveLength(1);
  });
});

describe('scheduled handler', () => {
  it('rotates a binding with a generator by writing a new version that keeps the other properties', async () => {
    // given
    const scheduled = createScheduledHandler({ loaded: aRegistry(), env: {} });

    // when
    const { result } = await captureOutput(() =>
      scheduled({ kind: 'rotate', bindings: ['rotated'] }, aLambdaContext('scheduled')),
    );

    // then
    expect(result.retryable).toBe(false);
    const source = moto
      .calls('secretsmanager.PutSecretValue')
      .filter((c) => c.body?.SecretId === 'app/rotated');
    expect(source).toHaveLength(1);
    const written = JSON.parse(String(source[0]?.body?.SecretString)) as Record<string, string>;
    expect(written.username).toBe('svc');
    expect(written.password).toHaveLength(24);
  });

  it('reconciles drift: a target edited by hand is put back', async () => {
    // given
    const scheduled = createScheduledHandler({ loaded: aRegistry(), env: {} });
    const expected = lateValue('c1');
    const manifest = fleet.state.getSecret('c3', NS, 'late');
    fleet.state.seedSecret('c3', {
      ...(manifest ?? {}),
      data: { value: Buffer.from('tampered').toString('base64') },
    });

    // when
    const { result } = await captureOutput(() =>
      scheduled({ kind: 'reconcile', bindings: ['late'] }, aLambdaContext('scheduled')),
    );

    // then
    expect(result.ok).toBe(true);
    expect(lateValue('c3')).toBe(expected);
    expect(expected).toBeDefined();
  });
});
