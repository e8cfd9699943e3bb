/**
 * `npm run demo:aws`: the AWS path on this machine. moto_server plays Secrets Manager, SQS
 * and EventBridge; local HTTPS Kubernetes API servers play the clusters; the three Lambda
 * handlers run in-process, with the work queue polled the way Lambda's SQS event source
 * mapping does. Nothing leaves 127.0.0.1.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import type { EventBridgeEvent } from 'aws-lambda';
import { stringify } from 'yaml';
import { parseRegistry } from '../shared/registry/load.js';
import { createApplyWorkerHandler } from '../functions/aws/apply-worker.js';
import { createSecretChangedHandler } from '../functions/aws/secret-changed.js';
import {
  CLUSTER_TOKENS_SOURCE,
  registryClusters,
  startLocalFleet,
  tokenSecrets,
} from '../test/support/clusters.js';
import { aLambdaContext, pollQueueOnce } from '../test/aws/support/lambda.js';
import { startMoto } from '../test/aws/support/moto.js';

const say = (text: string) => process.stderr.write(`\n\u001b[1m== ${text}\u001b[0m\n`);
const CLUSTERS = ['eu-1', 'eu-2', 'us-1'];

say('starting moto_server and three local clusters');
const moto = await startMoto();
process.env.AWS_ENDPOINT_URL = moto.endpoint;
const fleet = await startLocalFleet({ names: CLUSTERS });
try {
  for (const cluster of CLUSTERS) {
    fleet.state.seedNamespace(cluster, 'payments');
    fleet.state.seedWorkload(cluster, 'Deployment', 'payments', 'api', {
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
  const sm = new SecretsManagerClient({ region: moto.region, endpoint: moto.endpoint });
  const sqs = new SQSClient({ region: moto.region, endpoint: moto.endpoint });
  const created = await sm.send(
    new CreateSecretCommand({
      Name: 'prod/database',
      SecretString: JSON.stringify({ username: 'app', password: 'first' }),
    }),
  );
  const workQueueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'work' }))).QueueUrl ?? '';
  const outcomesUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'outcomes' }))).QueueUrl ?? '';
  const outcomesArn = (
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: outcomesUrl, AttributeNames: ['QueueArn'] }))
  ).Attributes?.QueueArn;
  const events = new EventBridgeClient({ region: moto.region, endpoint: moto.endpoint });
  await events.send(
    new PutRuleCommand({ Name: 'outcomes', EventPattern: JSON.stringify({ source: ['secret-propagator'] }) }),
  );
  await events.send(new PutTargetsCommand({ Rule: 'outcomes', Targets: [{ Id: 'q', Arn: outcomesArn }] }));

  const baseDir = mkdtempSync(join(tmpdir(), 'demo-aws-'));
  writeFileSync(join(baseDir, 'cluster-tokens.json'), JSON.stringify(tokenSecrets(fleet)));
  const registry = {
    apiVersion: 'secret-propagator/v1',
    // A tiny batch size so the demo shows fan-out through the queue.
    settings: { fanOut: { batchSize: 2 } },
    clusters: registryClusters(fleet),
    sources: [
      { name: 'aws-main', provider: 'aws', region: moto.region, endpoint: moto.endpoint },
      { name: CLUSTER_TOKENS_SOURCE, provider: 'local', path: 'cluster-tokens.json' },
    ],
    bindings: [
      {
        name: 'payments-db',
        source: 'aws-main',
        remoteRef: { key: 'prod/database' },
        data: [
          { secretKey: 'username', property: 'username' },
          { secretKey: 'password', property: 'password' },
        ],
        target: { name: 'db-credentials', namespace: 'payments', clusters: { names: CLUSTERS } },
        restart: { auto: true },
      },
    ],
  };
  writeFileSync(join(baseDir, 'registry.yaml'), stringify(registry));
  const loaded = parseRegistry(stringify(registry), join(baseDir, 'registry.yaml'), baseDir);
  const secretChanged = createSecretChangedHandler({ loaded, env: { WORK_QUEUE_URL: workQueueUrl } });
  const worker = createApplyWorkerHandler({ loaded, env: {} });

  // Lambda's event source mapping: long-poll, invoke with a batch, delete what succeeded.
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const { delivered, failed } = await pollQueueOnce(sqs, workQueueUrl, (e, c) => worker(e, c), {
        batchSize: 5,
        waitSeconds: 1,
      });
      if (delivered > 0) say(`worker: ${delivered} work item(s), ${failed.length} failed`);
    }
  })();

  const fixture = JSON.parse(
    readFileSync(
      join(
        import.meta.dirname,
        '..',
        'test',
        'fixtures',
        'aws',
        'valid',
        'secret-label-updated-awscurrent.json',
      ),
      'utf8',
    ),
  ) as EventBridgeEvent<string, unknown>;
  /** Sends the native event for `versionId` and waits until the worker has brought every cluster to it. */
  const propagate = async (versionId: string) => {
    const event = {
      ...fixture,
      id: randomUUID(),
      region: moto.region,
      resources: [created.ARN ?? ''],
      detail: { name: 'prod/database', labelUpdated: 'AWSCURRENT', versionId },
    };
    const result = await secretChanged(event, aLambdaContext('secret-changed'));
    say(`secret-changed returned ${JSON.stringify(result)}`);
    const versionOf = (cluster: string) =>
      (
        fleet.state.getSecret(cluster, 'payments', 'db-credentials') as
          { metadata: { annotations?: Record<string, string> } } | undefined
      )?.metadata.annotations?.['secret-propagator.io/version'];
    for (let i = 0; i < 100 && CLUSTERS.some((c) => versionOf(c) !== versionId); i++)
      await new Promise((r) => setTimeout(r, 200));
  };

  say('first sync: the current version of prod/database reaches every cluster (created, no restart)');
  await propagate(created.VersionId ?? '');

  say('a new version of prod/database becomes AWSCURRENT: targets updated, dependents restarted');
  const put = await sm.send(
    new PutSecretValueCommand({
      SecretId: 'prod/database',
      SecretString: JSON.stringify({ username: 'app', password: 'rotated-2' }),
    }),
  );
  await propagate(put.VersionId ?? '');

  polling = false;
  await poller;

  say('target Secrets (keys and version annotations only; values stay out of the console)');
  for (const cluster of CLUSTERS) {
    const secret = fleet.state.getSecret(cluster, 'payments', 'db-credentials') as
      { data?: Record<string, string>; metadata: { annotations?: Record<string, string> } } | undefined;
    const restarted = fleet.state.getWorkload(cluster, 'Deployment', 'payments', 'api') as
      { spec?: { template?: { metadata?: { annotations?: Record<string, string> } } } } | undefined;
    process.stderr.write(
      `${cluster}: keys=${Object.keys(secret?.data ?? {}).join(',')} annotations=${JSON.stringify(secret?.metadata.annotations ?? {})}\n  api pod template annotations=${JSON.stringify(restarted?.spec?.template?.metadata?.annotations ?? {})}\n`,
    );
  }

  say('outcome events on the default bus (routed to a queue by an ordinary rule)');
  const outcomes = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: outcomesUrl, MaxNumberOfMessages: 10 }),
  );
  for (const m of outcomes.Messages ?? []) {
    const e = JSON.parse(m.Body ?? '{}') as { 'detail-type': string; detail: unknown };
    process.stderr.write(`${e['detail-type']}: ${JSON.stringify(e.detail)}\n`);
  }
  sm.destroy();
  sqs.destroy();
  events.destroy();
} finally {
  await fleet.stop();
  await moto.stop();
}
