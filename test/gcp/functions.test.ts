/**
 * End to end on real parts, all on 127.0.0.1: Secret Manager notifications published to the
 * Pub/Sub emulator reach the real Functions Framework server running functions/gcp through
 * push subscriptions; the function reads the real Secret Manager client (REST) against a
 * local Secret Manager server, authenticates with ADC against a local token endpoint, and
 * writes local Kubernetes clusters.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { PubSub } from '@google-cloud/pubsub';
import { registryClusters, startLocalFleet, tokenSecrets, type LocalFleet } from '../support/clusters.js';
import { startFakeGoogleAuth, type FakeGoogleAuth } from './support/google-token-server.js';
import { secretManagerMessage } from './support/notifications.js';
import { startPubsubEmulator, type PubsubEmulator } from './support/pubsub-emulator.js';
import { startFakeSecretManager, type FakeSecretManager } from './support/secret-manager-server.js';

const PROJECT = 'demo-project';
const NUMBER = '123456789012';
const GKE_TOKEN = 'ya29.local-gke-token';
const CANARY = 'canary-gcp-e2e-5b1d';
const RESTART_ANNOTATION = 'kubectl.kubernetes.io/restartedAt';

// No client may probe the GCE metadata server (169.254.169.254): only loopback here.
process.env['METADATA_SERVER_DETECTION'] = 'none';

/** The runtime needs the Kubernetes gateway (kube engineer); until it lands this suite is skipped. */

async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('functions/gcp on the Pub/Sub emulator, Functions Framework and local clusters', () => {
  let google: FakeGoogleAuth;
  let emulator: PubsubEmulator;
  let store: FakeSecretManager;
  let fleet: LocalFleet;
  let pubsub: PubSub;
  let dir: string;
  const servers: Record<string, { server: Server; port: number }> = {};
  const logs: string[] = [];
  const savedEnv = { ...process.env };
  const originalWrite = process.stdout.write.bind(process.stdout);

  const publish = (topic: string, message: { data: Buffer; attributes?: Record<string, string> }) =>
    pubsub.topic(topic).publishMessage(message);
  const notify = (eventType: string, secret: string, version?: number, state?: string) =>
    publish('secret-events', secretManagerMessage(store, eventType, secret, version, state));
  const secretValue = (cluster: string, name: string, key = 'value'): string | undefined => {
    const data = fleet.state.getSecret(cluster, 'payments', name)?.['data'] as
      Record<string, string> | undefined;
    const encoded = data?.[key];
    return encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString('utf8');
  };
  const restartedAt = (cluster: string, name: string): string | undefined => {
    const spec = fleet.state.getWorkload(cluster, 'Deployment', 'payments', name)?.['spec'] as
      { template?: { metadata?: { annotations?: Record<string, string> } } } | undefined;
    return spec?.template?.metadata?.annotations?.[RESTART_ANNOTATION];
  };
  const logged = (predicate: (line: Record<string, unknown>) => boolean) =>
    logs
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      })
      .filter(predicate);

  beforeAll(async () => {
    google = await startFakeGoogleAuth({ fixedToken: GKE_TOKEN });
    emulator = await startPubsubEmulator({ projectId: PROJECT });
    pubsub = new PubSub({ projectId: PROJECT, apiEndpoint: emulator.host, emulatorMode: true });
    store = await startFakeSecretManager({
      project: PROJECT,
      projectNumber: NUMBER,
      // As Secret Manager does after AddSecretVersion (generated rotation).
      onVersionAdded: (secret, version) => void notify('SECRET_VERSION_ADD', secret, version),
    });
    fleet = await startLocalFleet({ names: ['gke-eu', 'eu-2', 'us-1'] });
    fleet.addToken('gke-eu', GKE_TOKEN, {
      user: 'secret-propagator@demo-project.iam.gserviceaccount.com',
      namespaces: ['payments'],
      verbs: ['get', 'list', 'create', 'update', 'patch', 'delete'],
      resources: ['secrets', 'deployments', 'statefulsets', 'daemonsets'],
    });
    for (const cluster of ['gke-eu', 'eu-2', 'us-1']) {
      fleet.state.seedNamespace(cluster, 'payments');
      fleet.state.seedWorkload(cluster, 'Deployment', 'payments', 'api', {
        podSpec: {
          containers: [
            { name: 'app', image: 'registry.local/app:1', envFrom: [{ secretRef: { name: 'db' } }] },
          ],
        },
      });
    }

    dir = mkdtempSync(join(tmpdir(), 'gcp-e2e-'));
    writeFileSync(join(dir, 'cluster-tokens.json'), JSON.stringify(tokenSecrets(fleet)));
    const clusters = registryClusters(fleet, {
      labels: (name) => ({ region: name.startsWith('us') ? 'us' : 'eu' }),
    }).map((c) =>
      c.name === 'gke-eu'
        ? { name: c.name, labels: c.labels, server: c.server, caData: c.caData, auth: { type: 'gke' } }
        : c,
    );
    const target = (name: string, selector: object, extra: object = {}) => ({
      name,
      namespace: 'payments',
      clusters: selector,
      ...extra,
    });
    const registry = {
      apiVersion: 'secret-propagator/v1',
      settings: { fanOut: { batchSize: 2 }, retries: 1, targetTimeout: '5s' },
      clusters,
      sources: [
        { name: 'cluster-tokens', provider: 'local', path: 'cluster-tokens.json' },
        {
          name: 'gcp-main',
          provider: 'gcp',
          project: PROJECT,
          projectNumber: NUMBER,
          endpoint: store.endpoint,
        },
      ],
      bindings: [
        {
          name: 'db',
          source: 'gcp-main',
          remoteRef: { key: 'db-password' },
          target: target('db', { matchLabels: { region: 'eu' } }),
          restart: { auto: true },
        },
        {
          name: 'api-token',
          source: 'gcp-main',
          remoteRef: { key: `projects/${PROJECT}/secrets/api-token` },
          target: target('api-token', { names: ['gke-eu'] }),
          rotation: { generator: { type: 'password', length: 24 } },
        },
        {
          name: 'legacy',
          source: 'gcp-main',
          remoteRef: { key: 'legacy' },
          target: target('legacy', { names: ['eu-2'] }, { deletionPolicy: 'Delete' }),
        },
        {
          name: 'fleet-config',
          source: 'gcp-main',
          remoteRef: { key: 'fleet-config' },
          target: target('fleet-config', { matchLabels: {} }),
        },
      ],
    };
    writeFileSync(join(dir, 'registry.yaml'), JSON.stringify(registry, null, 2));

    Object.assign(process.env, {
      REGISTRY_FILE: join(dir, 'registry.yaml'),
      GOOGLE_APPLICATION_CREDENTIALS: google.keyFile,
      GOOGLE_CLOUD_PROJECT: PROJECT,
      METADATA_SERVER_DETECTION: 'none',
      PUBSUB_EMULATOR_HOST: emulator.host,
      WORK_TOPIC: `projects/${PROJECT}/topics/work`,
    });
    process.stdout.write = (chunk: string | Uint8Array) => {
      logs.push(
        ...String(chunk)
          .split('\n')
          .filter((l) => l !== ''),
      );
      return true;
    };

    await import('../../functions/gcp/index.js');
    for (const [fn, topic] of [
      ['secretChanged', 'secret-events'],
      ['scheduled', 'schedules'],
      ['applyWork', 'work'],
    ] as const) {
      const server = getTestServer(fn);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const port = (server.address() as AddressInfo).port;
      servers[fn] = { server, port };
      const [created] = await pubsub.createTopic(topic);
      await created.createSubscription(`${topic}-push`, {
        pushConfig: { pushEndpoint: `http://127.0.0.1:${port}/projects/${PROJECT}/topics/${topic}` },
        ackDeadlineSeconds: 10,
      });
    }
  }, 120_000);

  afterAll(async () => {
    process.stdout.write = originalWrite;
    process.env = savedEnv;
    for (const { server } of Object.values(servers)) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    await pubsub?.close();
    await emulator?.stop();
    await fleet?.stop();
    await store?.stop();
    await google?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('SECRET_VERSION_ADD reaches the function through a push subscription, updates the Secrets and restarts workloads', async () => {
    // given: a first version in place (creating a Secret restarts nothing)
    await notify('SECRET_VERSION_ADD', 'db-password', store.addVersion('db-password', 'first-value'));
    await waitFor(
      'db created',
      () => secretValue('gke-eu', 'db') === 'first-value' && secretValue('eu-2', 'db') === 'first-value',
    );
    expect(restartedAt('eu-2', 'api')).toBeUndefined();
    // when
    const version = store.addVersion('db-password', `s3cret-${CANARY}`);
    await notify('SECRET_VERSION_ADD', 'db-password', version);
    // then
    await waitFor(
      'db updated in gke-eu and eu-2',
      () =>
        secretValue('gke-eu', 'db') === `s3cret-${CANARY}` &&
        secretValue('eu-2', 'db') === `s3cret-${CANARY}`,
    );
    await waitFor(
      'api restarted in both clusters',
      () => restartedAt('gke-eu', 'api') !== undefined && restartedAt('eu-2', 'api') !== undefined,
    );
    expect(secretValue('us-1', 'db')).toBeUndefined();
    expect(restartedAt('us-1', 'api')).toBeUndefined();
  });

  it('SECRET_VERSION_DISABLE of the version in use goes back to the newest enabled version; SECRET_VERSION_ENABLE forward again', async () => {
    // given
    const v3 = store.addVersion('db-password', 'second-value');
    await notify('SECRET_VERSION_ADD', 'db-password', v3);
    await waitFor('second value', () => secretValue('eu-2', 'db') === 'second-value');
    // when
    store.setState('db-password', v3, 'DISABLED');
    await notify('SECRET_VERSION_DISABLE', 'db-password', v3, 'DISABLED');
    // then
    await waitFor(
      'back to the previous version',
      () =>
        secretValue('eu-2', 'db') === `s3cret-${CANARY}` &&
        secretValue('gke-eu', 'db') === `s3cret-${CANARY}`,
    );
    // when
    store.setState('db-password', v3, 'ENABLED');
    await notify('SECRET_VERSION_ENABLE', 'db-password', v3);
    // then
    await waitFor('second value again', () => secretValue('eu-2', 'db') === 'second-value');
  });

  it('SECRET_VERSION_DESTROY of the version in use goes back to the newest enabled version', async () => {
    // given
    const v3 = store.addVersion('db-password', 'third-value');
    await notify('SECRET_VERSION_ADD', 'db-password', v3);
    await waitFor('third version', () => secretValue('gke-eu', 'db') === 'third-value');
    // when
    store.setState('db-password', v3, 'DESTROYED');
    await notify('SECRET_VERSION_DESTROY', 'db-password', v3, 'DESTROYED');
    // then
    await waitFor('second version', () => secretValue('gke-eu', 'db') === 'second-value');
  });

  it('SECRET_ROTATE writes a generated version, whose SECRET_VERSION_ADD then propagates it', async () => {
    // given
    store.addVersion('api-token', 'initial-token');
    await notify('SECRET_VERSION_ADD', 'api-token', 1);
    await waitFor('initial token', () => secretValue('gke-eu', 'api-token') === 'initial-token');
    // when
    await notify('SECRET_ROTATE', 'api-token');
    // then
    const generated = await waitFor('a generated version', () => store.versions('api-token')[1]?.value);
    expect(generated).toHaveLength(24);
    await waitFor('generated token in the cluster', () => secretValue('gke-eu', 'api-token') === generated);
  });

  it('SECRET_DELETE follows the deletion policy (Delete removes the target Secret)', async () => {
    // given
    store.addVersion('legacy', 'old-value');
    await notify('SECRET_VERSION_ADD', 'legacy', 1);
    await waitFor('legacy created', () => secretValue('eu-2', 'legacy') === 'old-value');
    // when
    store.deleteSecret('legacy');
    await notify('SECRET_DELETE', 'legacy');
    // then
    await waitFor('legacy deleted', () => fleet.state.getSecret('eu-2', 'payments', 'legacy') === undefined);
  });

  it('SECRET_UPDATE and unbound secrets are acknowledged with one log line and change nothing', async () => {
    // given
    fleet.resetRequests();
    // when
    await notify('SECRET_UPDATE', 'db-password');
    await notify('SECRET_VERSION_ADD', 'nobody-uses-this', 1);
    // then
    await waitFor(
      'ignored line',
      () =>
        logged((l) => l['outcome'] === 'ignored' && String(l['reason']).startsWith('SECRET_UPDATE')).length >
        0,
    );
    await waitFor(
      'unbound line',
      () => logged((l) => String(l['secretRef']).endsWith('/nobody-uses-this')).length > 0,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(logged((l) => String(l['secretRef']).endsWith('/nobody-uses-this'))).toEqual([
      expect.objectContaining({ severity: 'INFO', outcome: 'unbound' }),
    ]);
    expect(fleet.requests().filter((r) => r.verb !== 'get' && r.verb !== 'list')).toEqual([]);
  });

  it('fans a change wider than the batch size out through the work topic to applyWork', async () => {
    // given
    const version = store.addVersion('fleet-config', 'fleet-wide');
    // when
    await notify('SECRET_VERSION_ADD', 'fleet-config', version);
    // then
    await waitFor('every cluster', () =>
      ['gke-eu', 'eu-2', 'us-1'].every((c) => secretValue(c, 'fleet-config') === 'fleet-wide'),
    );
    expect(
      logged(
        (l) =>
          l['logging.googleapis.com/labels'] !== undefined &&
          (l['logging.googleapis.com/labels'] as Record<string, string>)['function'] === 'applyWork',
      ).length,
    ).toBeGreaterThan(0);
  });

  it('scheduled reconcile from Cloud Scheduler repairs drift', async () => {
    // given
    await waitFor('db in eu-2', () => secretValue('eu-2', 'db') === 'second-value');
    fleet.state.remove('eu-2', 'secrets', 'payments', 'db');
    // when
    await publish('schedules', {
      data: Buffer.from(JSON.stringify({ kind: 'reconcile', bindings: ['db'] })),
    });
    // then
    await waitFor('db recreated', () => secretValue('eu-2', 'db') === 'second-value');
  });

  it('accepts the binary-mode CloudEvent Eventarc delivers', async () => {
    // given
    const version = store.addVersion('db-password', 'via-eventarc');
    const message = secretManagerMessage(store, 'SECRET_VERSION_ADD', 'db-password', version);
    const body = {
      message: {
        data: message.data.toString('base64'),
        attributes: message.attributes,
        messageId: '9990001',
        publishTime: new Date().toISOString(),
      },
      subscription: `projects/${PROJECT}/subscriptions/eventarc-sub`,
    };
    // when
    const response = await fetch(`http://127.0.0.1:${servers['secretChanged']?.port}/`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'ce-id': '9990001',
        'ce-specversion': '1.0',
        'ce-type': 'google.cloud.pubsub.topic.v1.messagePublished',
        'ce-source': `//pubsub.googleapis.com/projects/${PROJECT}/topics/secret-events`,
        'ce-time': new Date().toISOString(),
        traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      },
      body: JSON.stringify(body),
    });
    // then
    expect(response.status).toBe(204);
    expect(secretValue('gke-eu', 'db')).toBe('via-eventarc');
    const lines = logged((l) => l['eventId'] === '9990001');
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => typeof l['severity'] === 'string')).toBe(true);
    expect(
      lines.some(
        (l) =>
          l['logging.googleapis.com/trace'] === `projects/${PROJECT}/traces/4bf92f3577b34da6a3ce929d0e0e4736`,
      ),
    ).toBe(true);
  });

  it('redelivers a notification whose cluster failed retryably, and the redelivery writes only what is missing', async () => {
    // given: eu-2 refuses every write for now; gke-eu works
    fleet.setFault('eu-2', { status: 503, verb: 'update' });
    const before = restartedAt('gke-eu', 'api');
    const version = store.addVersion('db-password', 'after-outage');
    // when
    await notify('SECRET_VERSION_ADD', 'db-password', version);
    await waitFor('gke-eu updated', () => secretValue('gke-eu', 'db') === 'after-outage');
    const restartedOnce = await waitFor(
      'gke-eu restarted',
      () => restartedAt('gke-eu', 'api') !== before && restartedAt('gke-eu', 'api'),
    );
    await waitFor(
      'a failed, retryable invocation',
      () =>
        logged(
          (l) =>
            l['outcome'] === 'retry' &&
            (l['failedTargets'] as { cluster: string }[] | undefined)?.some((t) => t.cluster === 'eu-2') ===
              true,
        ).length > 0,
    );
    expect(secretValue('eu-2', 'db')).not.toBe('after-outage');
    fleet.clearFaults();
    // then: Pub/Sub redelivers the unacknowledged message
    await waitFor('eu-2 updated by a redelivery', () => secretValue('eu-2', 'db') === 'after-outage', 40_000);
    expect(restartedAt('gke-eu', 'api')).toBe(restartedOnce);
  }, 60_000);

  it('never logs a secret value', () => {
    // then
    expect(logs.length).toBeGreaterThan(0);
    expect(logs.join('\n')).not.toContain(CANARY);
  });
});
