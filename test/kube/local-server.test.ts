import https from 'node:https';
import type { LocalFleet } from '../support/clusters.js';
import { registryClusters, startLocalFleet, tokenSecrets } from '../support/clusters.js';

interface Reply {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- raw API JSON, asserted field by field
  body: any;
  headers: Record<string, string | string[] | undefined>;
}

function call(
  fleet: LocalFleet,
  cluster: string,
  method: string,
  path: string,
  options: { body?: unknown; token?: string; contentType?: string; timeoutMs?: number } = {},
): Promise<Reply> {
  const c = fleet.clusters.find((x) => x.name === cluster);
  if (c === undefined) throw new Error(cluster);
  const url = new URL(path, c.server);
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method,
        ca: Buffer.from(c.caData, 'base64'),
        headers: {
          authorization: `Bearer ${options.token ?? c.token}`,
          accept: 'application/json',
          ...(options.body === undefined
            ? {}
            : { 'content-type': options.contentType ?? 'application/json' }),
        },
        timeout: options.timeoutMs ?? 5000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: text === '' ? undefined : JSON.parse(text),
            headers: res.headers,
          }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    if (options.body !== undefined)
      req.write(typeof options.body === 'string' ? options.body : JSON.stringify(options.body));
    req.end();
  });
}

const aSecret = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace: 'payments', labels: { app: 'db' } },
  type: 'Opaque',
  data: { password: Buffer.from('canary-value').toString('base64') },
  ...extra,
});

describe('local Kubernetes API server', () => {
  let fleet: LocalFleet;

  beforeAll(async () => {
    fleet = await startLocalFleet({ names: ['a', 'b'], rolloutDelayMs: 20 });
  });
  afterAll(async () => {
    await fleet.stop();
  });
  beforeEach(() => {
    fleet.clearFaults();
    fleet.resetRequests();
    fleet.state.seedNamespace('a', 'payments');
    fleet.state.remove('a', 'secrets', 'payments', 'db');
  });

  test('each cluster has its own HTTPS port and a full-access token', async () => {
    // given
    const [a, b] = fleet.clusters;
    // when
    const reply = await call(fleet, 'a', 'GET', '/api/v1/namespaces/payments');
    const wrongCluster = await call(fleet, 'b', 'GET', '/api/v1/namespaces', { token: a?.token ?? '' });
    // then
    expect(a?.server).not.toEqual(b?.server);
    expect(reply.status).toBe(200);
    expect(reply.body.metadata.name).toBe('payments');
    expect(wrongCluster.status).toBe(401);
    expect(wrongCluster.body).toMatchObject({
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      reason: 'Unauthorized',
      code: 401,
    });
  });

  test('creates, reads and lists secrets by label selector, and a stale resourceVersion is a 409 Conflict', async () => {
    // given
    const created = await call(fleet, 'a', 'POST', '/api/v1/namespaces/payments/secrets', {
      body: aSecret('db'),
    });
    // when
    const listed = await call(
      fleet,
      'a',
      'GET',
      '/api/v1/namespaces/payments/secrets?labelSelector=app%20in%20(db,web)',
    );
    const none = await call(fleet, 'a', 'GET', '/api/v1/secrets?labelSelector=app%3Dweb');
    const updated = await call(fleet, 'a', 'PUT', '/api/v1/namespaces/payments/secrets/db', {
      body: { ...created.body, data: { password: 'bmV3' } },
    });
    const stale = await call(fleet, 'a', 'PUT', '/api/v1/namespaces/payments/secrets/db', {
      body: { ...created.body, data: { password: 'b2xk' } },
    });
    // then
    expect(created.status).toBe(201);
    expect(created.body.metadata).toMatchObject({
      uid: expect.any(String),
      resourceVersion: expect.any(String),
      creationTimestamp: expect.any(String),
    });
    expect(listed.body.items.map((s: { metadata: { name: string } }) => s.metadata.name)).toEqual(['db']);
    expect(none.body.items).toEqual([]);
    expect(updated.status).toBe(200);
    expect(Number(updated.body.metadata.resourceVersion)).toBeGreaterThan(
      Number(created.body.metadata.resourceVersion),
    );
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({
      kind: 'Status',
      reason: 'Conflict',
      code: 409,
      details: { name: 'db', kind: 'secrets' },
    });
    expect(fleet.state.getSecret('a', 'payments', 'db')?.data).toEqual({ password: 'bmV3' });
  });

  test('a token limited to one namespace gets 403 elsewhere with a Forbidden Status', async () => {
    // given
    fleet.addToken('a', 'limited-token', {
      user: 'propagator',
      namespaces: ['payments'],
      verbs: ['get', 'list'],
    });
    // when
    const inside = await call(fleet, 'a', 'GET', '/api/v1/namespaces/payments/secrets', {
      token: 'limited-token',
    });
    const outside = await call(fleet, 'a', 'GET', '/api/v1/namespaces/kube-system/secrets', {
      token: 'limited-token',
    });
    const write = await call(fleet, 'a', 'POST', '/api/v1/namespaces/payments/secrets', {
      token: 'limited-token',
      body: aSecret('db'),
    });
    // then
    expect(inside.status).toBe(200);
    expect(outside.status).toBe(403);
    expect(outside.body.message).toBe(
      'secrets is forbidden: User "propagator" cannot list resource "secrets" in API group "" in the namespace "kube-system"',
    );
    expect(write.status).toBe(403);
    expect(write.body.reason).toBe('Forbidden');
  });

  test('injected faults answer with a Status for N requests, then the cluster recovers', async () => {
    // given
    fleet.setFault('a', { status: 503, times: 2 });
    // when
    const first = await call(fleet, 'a', 'GET', '/api/v1/namespaces/payments/secrets');
    const second = await call(fleet, 'a', 'GET', '/api/v1/namespaces/payments/secrets');
    const third = await call(fleet, 'a', 'GET', '/api/v1/namespaces/payments/secrets');
    const other = await call(fleet, 'b', 'GET', '/api/v1/namespaces/default/secrets');
    // then
    expect([first.status, second.status, third.status, other.status]).toEqual([503, 503, 200, 200]);
    expect(first.body).toMatchObject({ kind: 'Status', reason: 'ServiceUnavailable', code: 503 });
    expect(fleet.requests('a').map((r) => `${r.verb} ${r.status}`)).toEqual([
      'list 503',
      'list 503',
      'list 200',
    ]);
  });

  test('a hanging fault never answers, so the client times out', async () => {
    // given
    fleet.setFault('a', { hang: true, times: 1 });
    // when
    const reply = call(fleet, 'a', 'GET', '/api/v1/namespaces/payments/secrets/db', { timeoutMs: 200 });
    // then
    await expect(reply).rejects.toThrow('client timeout');
  });

  test('a deployment spec change bumps generation and the controller reports the rollout done', async () => {
    // given
    fleet.state.seedWorkload('a', 'Deployment', 'payments', 'api');
    // when
    const patched = await call(fleet, 'a', 'PATCH', '/apis/apps/v1/namespaces/payments/deployments/api', {
      contentType: 'application/merge-patch+json',
      body: {
        spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': 'now' } } } },
      },
    });
    await new Promise((r) => setTimeout(r, 100));
    const settled = fleet.state.getWorkload('a', 'Deployment', 'payments', 'api');
    // then
    expect(patched.status).toBe(200);
    expect(patched.body.metadata.generation).toBe(2);
    expect(patched.body.spec.template.spec.containers).toHaveLength(1);
    expect(settled?.status).toMatchObject({
      observedGeneration: 2,
      updatedReplicas: 1,
      availableReplicas: 1,
    });
  });

  test('registryClusters and tokenSecrets describe every cluster with token auth from the cluster-tokens source', () => {
    // when
    const entries = registryClusters(fleet);
    const tokens = tokenSecrets(fleet);
    // then
    expect(entries).toHaveLength(2);
    expect(entries[0]).toMatchObject({
      name: 'a',
      server: fleet.clusters[0]?.server,
      auth: { type: 'token', tokenFrom: { source: 'cluster-tokens' } },
    });
    expect(tokens[entries[0]?.auth.tokenFrom.key ?? '']).toBe(fleet.clusters[0]?.token);
  });
});
