/**
 * The deployable Google function source (functions/gcp/build.ts) run the way the platform
 * runs it: the built bundle, imported in a fresh Node process next to the installed
 * Functions Framework, serves CloudEvents on 127.0.0.1. It reads a local Secret Manager
 * server through the bundled REST-only client, gets tokens by ADC from a local token
 * endpoint, and writes a local cluster authenticated as GKE. What functions/gcp/bundle.ts
 * changes (google-gax's REST half only, one google-auth-library, no static gax protos) is
 * only ever exercised here: the other gcp tests run the sources.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startLocalFleet, type LocalFleet } from '../support/clusters.js';
import { startFakeGoogleAuth, type FakeGoogleAuth } from './support/google-token-server.js';
import { secretManagerMessage } from './support/notifications.js';
import { startFakeSecretManager, type FakeSecretManager } from './support/secret-manager-server.js';

const ROOT = join(import.meta.dirname, '..', '..');
const NODE = join(ROOT, 'node_modules', '.bin', 'node');
const PROJECT = 'demo-project';
const NUMBER = '123456789012';
const GKE_TOKEN = 'ya29.local-package-token';
const CANARY = 'canary-gcp-package-31c7';

/** Runs in the child: import the bundle, serve one registered function on loopback, report the port. */
const SERVE = `
const { getTestServer } = await import('@google-cloud/functions-framework/testing');
await import(process.env.BUNDLE_URL);
const server = getTestServer(process.env.FUNCTION_TARGET);
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
`;

describe('the built Google function source (npm run build:gcp)', () => {
  // Inside the repository, so that the external packages resolve from its node_modules as
  // they resolve from the installed ones on the platform.
  mkdirSync(join(ROOT, '.build'), { recursive: true });
  const out = mkdtempSync(join(ROOT, '.build', 'gcp-package-'));
  let google: FakeGoogleAuth;
  let store: FakeSecretManager;
  let fleet: LocalFleet;
  let child: ChildProcess | undefined;
  let port: number;
  let childOutput = '';

  beforeAll(async () => {
    const build = spawnSync(
      NODE,
      [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(ROOT, 'functions', 'gcp', 'build.ts')],
      { env: { ...process.env, GCP_BUILD_OUT: join(out, 'gcp') }, encoding: 'utf8' },
    );
    if (build.status !== 0) throw new Error(`build failed: ${build.stderr}`);

    google = await startFakeGoogleAuth({ fixedToken: GKE_TOKEN });
    store = await startFakeSecretManager({ project: PROJECT, projectNumber: NUMBER });
    fleet = await startLocalFleet({ names: ['gke-1'] });
    fleet.addToken('gke-1', GKE_TOKEN, {
      user: 'secret-propagator@demo-project.iam.gserviceaccount.com',
      namespaces: ['payments'],
      verbs: ['get', 'list', 'create', 'update', 'patch'],
      resources: ['secrets', 'deployments', 'statefulsets', 'daemonsets'],
    });
    fleet.state.seedNamespace('gke-1', 'payments');
    const [cluster] = fleet.clusters;
    if (cluster === undefined) throw new Error('no local cluster');
    const registry = {
      apiVersion: 'secret-propagator/v1',
      clusters: [
        { name: cluster.name, server: cluster.server, caData: cluster.caData, auth: { type: 'gke' } },
      ],
      sources: [
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
          target: { name: 'db', namespace: 'payments', clusters: { names: ['gke-1'] } },
        },
      ],
    };
    writeFileSync(join(out, 'registry.yaml'), JSON.stringify(registry, null, 2));

    const pkg = JSON.parse(readFileSync(join(out, 'gcp', 'package.json'), 'utf8')) as { main: string };
    const started = spawn(NODE, ['--input-type=module', '-e', SERVE], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: {
        PATH: process.env['PATH'] ?? '',
        BUNDLE_URL: pathToFileURL(join(out, 'gcp', pkg.main)).href,
        FUNCTION_TARGET: 'secretChanged',
        REGISTRY_FILE: join(out, 'registry.yaml'),
        GOOGLE_APPLICATION_CREDENTIALS: google.keyFile,
        GOOGLE_CLOUD_PROJECT: PROJECT,
        // No client may probe the GCE metadata server: only loopback here.
        METADATA_SERVER_DETECTION: 'none',
      },
    });
    child = started;
    started.stdout?.on('data', (chunk: Buffer) => (childOutput += chunk.toString('utf8')));
    started.stderr?.on('data', (chunk: Buffer) => (childOutput += chunk.toString('utf8')));
    port = await new Promise<number>((resolve, reject) => {
      started.once('message', (message) => resolve((message as { port: number }).port));
      started.once('exit', (code) => reject(new Error(`function process exited (${code}): ${childOutput}`)));
    });
  }, 60_000);

  afterAll(async () => {
    if (child?.exitCode === null) {
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child.kill();
      await exited;
    }
    await fleet?.stop();
    await store?.stop();
    await google?.stop();
    rmSync(out, { recursive: true, force: true });
  });

  it('ships a package.json that has the platform install only the Functions Framework and Pub/Sub', () => {
    // when
    const pkg = JSON.parse(readFileSync(join(out, 'gcp', 'package.json'), 'utf8')) as {
      main: string;
      type: string;
      dependencies: Record<string, string>;
    };
    // then
    expect(pkg).toMatchObject({ main: 'index.mjs', type: 'module' });
    expect(Object.keys(pkg.dependencies).sort()).toEqual([
      '@google-cloud/functions-framework',
      '@google-cloud/pubsub',
    ]);
  });

  it('propagates a Secret Manager notification: reads the version over REST with ADC and writes the GKE cluster', async () => {
    // given
    const version = store.addVersion('db-password', `s3cret-${CANARY}`);
    const message = secretManagerMessage(store, 'SECRET_VERSION_ADD', 'db-password', version);
    // when: an Eventarc Pub/Sub CloudEvent in binary content mode
    const response = await fetch(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'ce-specversion': '1.0',
        'ce-id': 'package-event-1',
        'ce-type': 'google.cloud.pubsub.topic.v1.messagePublished',
        'ce-source': `//pubsub.googleapis.com/projects/${PROJECT}/topics/secret-events`,
      },
      body: JSON.stringify({
        message: {
          data: message.data.toString('base64'),
          attributes: message.attributes,
          messageId: 'package-message-1',
          publishTime: new Date().toISOString(),
        },
        subscription: `projects/${PROJECT}/subscriptions/secret-events`,
      }),
    });
    // then
    expect(response.ok).toBe(true);
    const data = fleet.state.getSecret('gke-1', 'payments', 'db')?.['data'] as
      Record<string, string> | undefined;
    expect(Buffer.from(data?.['value'] ?? '', 'base64').toString('utf8')).toBe(`s3cret-${CANARY}`);
    expect(store.requests()).toContainEqual({
      method: 'GET',
      path: `/v1/projects/${PROJECT}/secrets/db-password/versions/latest:access`,
    });
    expect(google.tokenRequests()).toBeGreaterThan(0);
    expect(childOutput).toContain('secretChanged: done');
    expect(childOutput).not.toContain(CANARY);
  });
});
