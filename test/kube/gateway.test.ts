import {
  ClusterRejectedError,
  ClusterUnavailableError,
  ConflictError,
  ThrottledError,
  ConfigError,
} from '../../shared/core/errors.js';
import type { ClusterCredentials, KubeSecret } from '../../shared/core/ports.js';
import {
  createCredentialsCache,
  createKubeconfigAuthenticator,
  createKubeGateway,
  createTokenAuthenticator,
} from '../../shared/kube/index.js';
import { toKubeconfig } from '../../dev/kube/kubeconfig.js';
import { createTlsMaterial } from '../../dev/kube/tls.js';
import type { LocalFleet } from '../support/clusters.js';
import { startLocalFleet } from '../support/clusters.js';

const CANARY = 'canary-9f3b2c-value';

const aSecret = (overrides: Partial<KubeSecret> = {}): KubeSecret => ({
  namespace: 'payments',
  name: 'db-credentials',
  type: 'Opaque',
  data: { password: Buffer.from(CANARY).toString('base64') },
  labels: { 'app.kubernetes.io/managed-by': 'secret-propagator' },
  annotations: { 'secret-propagator.io/hash': 'h1' },
  ...overrides,
});

describe('Kubernetes gateway against the local API server', () => {
  let fleet: LocalFleet;
  const gatewayFor = (
    options: { token?: string; caData?: string; timeoutMs?: number; server?: string } = {},
  ) => {
    const c = fleet.clusters[0];
    if (c === undefined) throw new Error('no cluster');
    return createKubeGateway({
      name: c.name,
      server: options.server ?? c.server,
      caData: options.caData ?? c.caData,
      credentials: () => Promise.resolve({ token: options.token ?? c.token }),
      timeoutMs: options.timeoutMs ?? 2000,
    });
  };

  beforeAll(async () => {
    fleet = await startLocalFleet({ names: ['gw-1'], rolloutDelayMs: 10 });
  });
  afterAll(async () => {
    await fleet.stop();
  });
  beforeEach(() => {
    fleet.clearFaults();
    fleet.state.seedNamespace('gw-1', 'payments');
    fleet.state.remove('gw-1', 'secrets', 'payments', 'db-credentials');
    fleet.resetRequests();
  });

  test('creates, reads and replaces a Secret with one request each, reusing one connection', async () => {
    // given
    const gateway = gatewayFor();
    // when
    const missing = await gateway.getSecret('payments', 'db-credentials');
    await gateway.createSecret(aSecret());
    const read = await gateway.getSecret('payments', 'db-credentials');
    await gateway.replaceSecret({
      ...aSecret({ data: { password: 'bmV3' } }),
      resourceVersion: read?.resourceVersion ?? '',
    });
    const replaced = await gateway.getSecret('payments', 'db-credentials');
    gateway.close();
    // then
    expect(missing).toBeUndefined();
    expect(read).toEqual({ ...aSecret(), resourceVersion: expect.any(String) });
    expect(replaced?.data).toEqual({ password: 'bmV3' });
    expect(replaced?.resourceVersion).not.toBe(read?.resourceVersion);
    expect(fleet.requests().map((r) => `${r.verb} ${r.status}`)).toEqual([
      'get 404',
      'create 201',
      'get 200',
      'update 200',
      'get 200',
    ]);
    expect(fleet.connections('gw-1')).toBe(1);
  });

  test('a Secret is sent as it is at each create (a frozen one, which cannot change, is serialized once)', async () => {
    // given
    const gateway = gatewayFor();
    const changing = aSecret();
    const frozen = Object.freeze(aSecret({ name: 'frozen', data: Object.freeze({ password: 'ZnJvemVu' }) }));
    // when
    await gateway.createSecret(changing);
    await gateway.deleteSecret('payments', 'db-credentials');
    changing.data = { password: 'c2Vjb25k' };
    await gateway.createSecret(changing);
    await gateway.createSecret(frozen);
    await gateway.deleteSecret('payments', 'frozen');
    await gateway.createSecret(frozen);
    // then
    expect((await gateway.getSecret('payments', 'db-credentials'))?.data).toEqual({ password: 'c2Vjb25k' });
    expect(await gateway.getSecret('payments', 'frozen')).toEqual({
      ...frozen,
      resourceVersion: expect.any(String),
    });
    gateway.close();
    fleet.state.remove('gw-1', 'secrets', 'payments', 'frozen');
  });

  test('a create drains its answer unread, yet a refused create still names the reason', async () => {
    // given
    const gateway = gatewayFor();
    await gateway.createSecret(aSecret());
    // when
    const again = gateway.createSecret(aSecret());
    // then
    await expect(again).rejects.toBeInstanceOf(ConflictError);
    await expect(again).rejects.toThrow(
      'cluster "gw-1": create secret payments/db-credentials: HTTP 409 AlreadyExists',
    );
    expect(fleet.requests().map((r) => `${r.verb} ${r.status}`)).toEqual(['create 201', 'create 409']);
    gateway.close();
  });

  test('a replace with a stale resourceVersion is a ConflictError carrying 409', async () => {
    // given
    const gateway = gatewayFor();
    await gateway.createSecret(aSecret());
    const created = await gateway.getSecret('payments', 'db-credentials');
    await gateway.replaceSecret({
      ...aSecret({ data: {} }),
      resourceVersion: created?.resourceVersion ?? '',
    });
    // when
    const stale = gateway.replaceSecret({ ...aSecret(), resourceVersion: created?.resourceVersion ?? '' });
    // then
    await expect(stale).rejects.toBeInstanceOf(ConflictError);
    await expect(stale).rejects.toMatchObject({ status: 409, retryable: true });
    gateway.close();
  });

  test.each([
    [401, ClusterRejectedError, false],
    [403, ClusterRejectedError, false],
    [404, ClusterRejectedError, false],
    [409, ConflictError, true],
    [422, ClusterRejectedError, false],
    [429, ThrottledError, true],
    [500, ClusterUnavailableError, true],
    [503, ClusterUnavailableError, true],
  ])('HTTP %i maps to %p (retryable %p) without the response body', async (status, type, retryable) => {
    // given
    const gateway = gatewayFor();
    fleet.setFault('gw-1', { status, times: 2 });
    // when
    const result = gateway.listSecrets('app=db', 'payments');
    // then
    await expect(result).rejects.toBeInstanceOf(type);
    await expect(result).rejects.toMatchObject({ status, retryable });
    const error = await result.then(
      () => new Error('expected a failure'),
      (e: unknown) => e as Error,
    );
    expect(error.message).toContain(`HTTP ${status}`);
    expect(error.message).not.toContain('injected fault');
    gateway.close();
  });

  test("a 429 carries the server's Retry-After, for the engine's backoff", async () => {
    // given dev/kube's 429, which asks for one second as kube-apiserver's throttling does
    const gateway = gatewayFor();
    fleet.setFault('gw-1', { status: 429, times: 2 });
    // when
    const result = gateway.getSecret('payments', 'db-credentials');
    // then
    await expect(result).rejects.toMatchObject({ status: 429, retryAfterMs: 1000 });
    gateway.close();
  });

  test('a bad token is a ClusterRejectedError after one retry with fresh credentials', async () => {
    // given
    const gateway = gatewayFor({ token: 'not-a-token' });
    // when
    const result = gateway.getSecret('payments', 'db-credentials');
    // then
    await expect(result).rejects.toMatchObject({ code: 'ClusterRejected', status: 401 });
    expect(fleet.requests().map((r) => r.status)).toEqual([401, 401]);
    gateway.close();
  });

  test('a token the cluster stops accepting is invalidated in the authenticator and the request succeeds with the rotated one', async () => {
    // given: a token authenticator (which caches what it read) over a store whose token is rotated
    const c = fleet.clusters[0];
    if (c === undefined) throw new Error('no cluster');
    fleet.addToken('gw-1', 'token-v1', { user: 'propagator' });
    fleet.addToken('gw-1', 'token-v2', { user: 'propagator' });
    const store = { token: 'token-v1', reads: 0 };
    const auth = createTokenAuthenticator({
      readValue: () => {
        store.reads += 1;
        return Promise.resolve(store.token);
      },
    });
    const spec = { name: c.name, auth: { type: 'token' as const, tokenFrom: { source: 's', key: 'k' } } };
    const gateway = createKubeGateway({
      name: c.name,
      server: c.server,
      caData: c.caData,
      credentials: () => auth.credentials(spec),
      invalidateCredentials: () => auth.invalidate(spec),
      timeoutMs: 2000,
    });
    await gateway.getSecret('payments', 'db-credentials');
    await gateway.getSecret('payments', 'db-credentials');
    // when: the token is rotated in the store and the old one revoked in the cluster
    store.token = 'token-v2';
    fleet.revokeToken('gw-1', 'token-v1');
    fleet.resetRequests();
    const after = await gateway.getSecret('payments', 'db-credentials');
    // then: one 401, then the store is read again and the request goes through
    expect(after).toBeUndefined();
    expect(fleet.requests().map((r) => r.status)).toEqual([401, 404]);
    expect(store.reads).toBe(2);
    gateway.close();
  });

  test('a token outside its namespace allowlist gets a 403 ClusterRejectedError', async () => {
    // given
    fleet.addToken('gw-1', 'payments-only', { namespaces: ['payments'] });
    const gateway = gatewayFor({ token: 'payments-only' });
    // when
    const inside = await gateway.listSecrets('x=y', 'payments');
    const outside = gateway.getSecret('kube-system', 'anything');
    // then
    expect(inside).toEqual([]);
    await expect(outside).rejects.toMatchObject({ code: 'ClusterRejected', status: 403 });
    gateway.close();
  });

  test('a request that never gets an answer fails as ClusterUnavailable after the timeout', async () => {
    // given
    const gateway = gatewayFor({ timeoutMs: 150 });
    fleet.setFault('gw-1', { hang: true, times: 1 });
    const started = Date.now();
    // when
    const result = gateway.getSecret('payments', 'db-credentials');
    // then
    await expect(result).rejects.toBeInstanceOf(ClusterUnavailableError);
    await expect(result).rejects.toThrow('no answer within 150 ms');
    expect(Date.now() - started).toBeLessThan(1500);
    gateway.close();
  });

  test('an unreachable server is a retryable ClusterUnavailableError', async () => {
    // given
    const gateway = gatewayFor({ server: 'https://127.0.0.1:1' });
    // when
    const result = gateway.getSecret('payments', 'db-credentials');
    // then
    await expect(result).rejects.toMatchObject({ code: 'ClusterUnavailable', retryable: true });
    gateway.close();
  });

  test('a server certificate not signed by caData fails TLS verification and is never trusted', async () => {
    // given
    const otherCa = createTlsMaterial('some other CA');
    const gateway = gatewayFor({ caData: otherCa.caData });
    // when
    const result = gateway.getSecret('payments', 'db-credentials');
    // then
    await expect(result).rejects.toBeInstanceOf(ClusterRejectedError);
    await expect(result).rejects.toThrow(/TLS verification failed/);
    expect(fleet.requests()).toEqual([]);
    gateway.close();
  });

  test('lists Secrets and workloads by label selector', async () => {
    // given
    const gateway = gatewayFor();
    await gateway.createSecret(aSecret());
    fleet.state.seedWorkload('gw-1', 'Deployment', 'payments', 'api', {
      labels: { app: 'api', tier: 'web' },
    });
    fleet.state.seedWorkload('gw-1', 'StatefulSet', 'payments', 'db', {
      labels: { app: 'db', tier: 'data' },
    });
    fleet.state.seedWorkload('gw-1', 'Deployment', 'payments', 'worker', {
      labels: { app: 'worker', tier: 'data' },
    });
    // when
    const secrets = await gateway.listSecrets('app.kubernetes.io/managed-by=secret-propagator', 'payments');
    const web = await gateway.listWorkloads('Deployment', 'payments', 'tier in (web)');
    const data = await gateway.listWorkloads('Deployment', 'payments', 'tier=data');
    const all = await gateway.listWorkloads('StatefulSet', 'payments');
    // then
    expect(secrets.map((s) => `${s.namespace}/${s.name}`)).toEqual(['payments/db-credentials']);
    expect(web.map((w) => w.name)).toEqual(['api']);
    expect(data.map((w) => w.name)).toEqual(['worker']);
    expect(all).toEqual([
      expect.objectContaining({
        kind: 'StatefulSet',
        name: 'db',
        labels: { app: 'db', tier: 'data' },
        podSpec: expect.objectContaining({ containers: expect.any(Array) }),
      }),
    ]);
    gateway.close();
  });

  test.each(['Deployment', 'StatefulSet', 'DaemonSet'] as const)(
    'patches %s pod template annotations with one merge PATCH, keeping the others',
    async (kind) => {
      // given
      const gateway = gatewayFor();
      fleet.state.seedWorkload('gw-1', kind, 'payments', 'app', { templateAnnotations: { keep: 'me' } });
      fleet.resetRequests();
      // when
      await gateway.patchTemplateAnnotations(kind, 'payments', 'app', {
        'kubectl.kubernetes.io/restartedAt': '2026-01-01T00:00:00Z',
        'secret-propagator.io/hash': 'abc',
      });
      const workload = await gateway.getWorkload(kind, 'payments', 'app');
      // then
      expect(fleet.requests().map((r) => `${r.verb} ${r.path}`)[0]).toBe(
        `patch /apis/apps/v1/namespaces/payments/${kind.toLowerCase()}s/app`,
      );
      expect(workload?.templateAnnotations).toEqual({
        keep: 'me',
        'kubectl.kubernetes.io/restartedAt': '2026-01-01T00:00:00Z',
        'secret-propagator.io/hash': 'abc',
      });
      expect(fleet.state.getWorkload('gw-1', kind, 'payments', 'app')?.metadata.generation).toBe(2);
      gateway.close();
    },
  );

  test('a missing workload reads as undefined and patching it is a 404 ClusterRejectedError', async () => {
    // given
    const gateway = gatewayFor();
    // when
    const missing = await gateway.getWorkload('DaemonSet', 'payments', 'nope');
    const patch = gateway.patchTemplateAnnotations('DaemonSet', 'payments', 'nope', { a: 'b' });
    // then
    expect(missing).toBeUndefined();
    await expect(patch).rejects.toMatchObject({ code: 'ClusterRejected', status: 404 });
    gateway.close();
  });

  test('deleting a Secret is idempotent', async () => {
    // given
    const gateway = gatewayFor();
    await gateway.createSecret(aSecret());
    // when
    await gateway.deleteSecret('payments', 'db-credentials');
    await gateway.deleteSecret('payments', 'db-credentials');
    // then
    expect(fleet.state.getSecret('gw-1', 'payments', 'db-credentials')).toBeUndefined();
    gateway.close();
  });

  test('error messages never contain Secret values the server echoes back', async () => {
    // given
    const gateway = gatewayFor();
    // when: invalid data makes the server answer 422 with a Status naming the field
    const result = gateway.createSecret(aSecret({ data: { password: `${CANARY}!!` } }));
    // then
    const error = await result.then(
      () => new Error('expected a failure'),
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(ClusterRejectedError);
    expect(JSON.stringify({ message: error.message, stack: error.stack })).not.toContain(CANARY);
    gateway.close();
  });
});

describe('cluster authenticators', () => {
  const ref = { source: 'cluster-tokens', key: 'k' };

  test('token auth reads the bearer token from the source, trimmed', async () => {
    // given
    const auth = createTokenAuthenticator({
      readValue: (r) => Promise.resolve(r.key === 'k' ? 'abc.def\n' : ''),
    });
    // when
    const credentials = await auth.credentials({ name: 'c', auth: { type: 'token', tokenFrom: ref } });
    // then
    expect(credentials).toEqual({ token: 'abc.def' });
  });

  test('an empty token is a ConfigError naming the source, not the value', async () => {
    // given
    const auth = createTokenAuthenticator({ readValue: () => Promise.resolve('  ') });
    // when
    const result = auth.credentials({ name: 'c', auth: { type: 'token', tokenFrom: ref } });
    // then
    await expect(result).rejects.toBeInstanceOf(ConfigError);
    await expect(result).rejects.toThrow('source "cluster-tokens" key "k"');
  });

  test('kubeconfig auth yields server, CA and token of the chosen context, and drives a gateway end to end', async () => {
    // given
    const fleet = await startLocalFleet({ names: ['kc-1', 'kc-2'] });
    try {
      const text = toKubeconfig(fleet.clusters.map((c) => ({ ...c })));
      const auth = createKubeconfigAuthenticator({ readValue: () => Promise.resolve(text) });
      // when
      const credentials = await auth.credentials({
        name: 'kc-2',
        auth: { type: 'kubeconfig', kubeconfigFrom: ref, context: 'kc-2' },
      });
      const gateway = createKubeGateway({ name: 'kc-2', credentials: () => Promise.resolve(credentials) });
      const secrets = await gateway.listSecrets('x=y', 'default');
      gateway.close();
      // then
      expect(credentials).toEqual({
        server: fleet.clusters[1]?.server,
        caData: fleet.clusters[1]?.caData,
        token: fleet.clusters[1]?.token,
      });
      expect(secrets).toEqual([]);
      expect(fleet.requests('kc-2')).toHaveLength(1);
    } finally {
      await fleet.stop();
    }
  });

  test('kubeconfig with an unknown context or insecure-skip-tls-verify is a ConfigError', async () => {
    // given
    const insecure =
      'apiVersion: v1\nkind: Config\ncurrent-context: a\nclusters: [{name: a, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: a, context: {cluster: a, user: u}}]\n';
    const auth = createKubeconfigAuthenticator({ readValue: () => Promise.resolve(insecure) });
    // when
    const unknown = auth.credentials({
      name: 'c',
      auth: { type: 'kubeconfig', kubeconfigFrom: ref, context: 'nope' },
    });
    const skip = auth.credentials({ name: 'c', auth: { type: 'kubeconfig', kubeconfigFrom: ref } });
    // then
    await expect(unknown).rejects.toThrow('has no context "nope"');
    await expect(skip).rejects.toThrow('insecure-skip-tls-verify');
  });
});

describe('credentials cache', () => {
  /** Credentials valid for 15 minutes from each fetch (tokens t1, t2, ...), cached with a 1-minute margin, on a clock the test moves. */
  const fifteenMinuteCredentials = () => {
    const state = { now: new Date('2026-01-01T00:00:00Z'), calls: 0 };
    const clock = { now: () => state.now, sleep: () => Promise.resolve() };
    const fetch = (): Promise<ClusterCredentials> => {
      state.calls += 1;
      return Promise.resolve({
        token: `t${state.calls}`,
        expiresAt: new Date(state.now.getTime() + 15 * 60_000),
      });
    };
    const advance = (ms: number) => {
      state.now = new Date(state.now.getTime() + ms);
    };
    return { state, advance, cache: createCredentialsCache(fetch, { clock, refreshMarginMs: 60_000 }) };
  };

  test('reuses credentials until shortly before expiresAt, then fetches again; concurrent callers share one fetch', async () => {
    // given
    const { state, advance, cache } = fifteenMinuteCredentials();
    // when
    const [a, b] = await Promise.all([cache.get(), cache.get()]);
    advance(13 * 60_000);
    const c = await cache.get();
    advance(90_000);
    const d = await cache.get();
    // then
    expect([a.token, b.token, c.token, d.token]).toEqual(['t1', 't1', 't1', 't2']);
    expect(state.calls).toBe(2);
  });

  test('current() answers without a fetch only while get() would: not before the first fetch, within the margin or after invalidate', async () => {
    // given
    const { state, advance, cache } = fifteenMinuteCredentials();
    // when
    const before = cache.current();
    await cache.get();
    const fresh = cache.current();
    advance(14 * 60_000 + 1);
    const withinMargin = cache.current();
    await cache.get();
    const refreshed = cache.current();
    cache.invalidate();
    const invalidated = cache.current();
    // then
    expect(before).toBeUndefined();
    expect(fresh?.token).toBe('t1');
    expect(withinMargin).toBeUndefined();
    expect(refreshed?.token).toBe('t2');
    expect(invalidated).toBeUndefined();
    expect(state.calls).toBe(2);
  });
});
