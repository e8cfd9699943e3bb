/**
 * One contract, two servers: the same cases against the real kube-apiserver and against
 * dev/kube, through shared/kube's gateway (and its transport for what the gateway does not
 * expose). A case that holds on the real server and not on dev/kube is a dev/kube defect:
 * fix it there, or list it in the fidelity table of dev/kube/README.md.
 */
import { ClusterRejectedError, ConflictError } from '../../../shared/core/errors.js';
import type { KubeSecret } from '../../../shared/core/ports.js';
import {
  localContractServer,
  realContractServer,
  type ContractServer,
  type KubeAnswer,
} from '../support/servers.js';

const CANARY = 'canary-contract-5e1d';
const b64 = (text: string): string => Buffer.from(text).toString('base64');

let counter = 0;

const aSecret = (namespace: string, overrides: Partial<KubeSecret> = {}): KubeSecret => ({
  namespace,
  name: 'db-credentials',
  type: 'Opaque',
  data: { password: b64(CANARY) },
  labels: { 'app.kubernetes.io/managed-by': 'secret-propagator' },
  annotations: { 'secret-propagator.io/hash': 'h1' },
  ...overrides,
});

/** What a rejected promise was rejected with (undefined when it resolved). */
const failure = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

const deployment = (namespace: string, name: string) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace, labels: { app: name } },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name }, annotations: { team: 'payments' } },
      spec: {
        containers: [
          { name: 'app', image: 'registry.local/app:1' },
          { name: 'sidecar', image: 'registry.local/sidecar:1' },
        ],
      },
    },
  },
});

const statusOf = (answer: KubeAnswer): string => `${answer.status} ${answer.body.reason ?? ''}`.trim();

describe.each([
  ['kube-apiserver', () => Promise.resolve(realContractServer())],
  ['dev/kube', localContractServer],
] as const)('the Kubernetes contract on %s', (_name, start) => {
  let server: ContractServer;
  let ns: string;

  beforeAll(async () => {
    server = await start();
  });
  afterAll(async () => {
    await server.stop();
  });
  beforeEach(async () => {
    counter++;
    ns = `contract-${counter}-${process.pid}`;
    await server.admin.namespace(ns);
  });

  const secretPath = (name: string, namespace = ns): string =>
    `/api/v1/namespaces/${namespace}/secrets/${name}`;

  test('creates and reads a Secret, and answers 409 AlreadyExists to a second create', async () => {
    // given
    const { gateway } = server;
    // when
    await gateway.createSecret(aSecret(ns));
    const read = await gateway.getSecret(ns, 'db-credentials');
    const again = await failure(gateway.createSecret(aSecret(ns)));
    // then
    expect(read).toEqual({ ...aSecret(ns), resourceVersion: expect.stringMatching(/^\d+$/) });
    expect(again).toBeInstanceOf(ConflictError);
    expect((again as ConflictError).message).toMatch(/HTTP 409 AlreadyExists/);
    expect(await gateway.getSecret(ns, 'absent')).toBeUndefined();
  });

  test('replaces with the current resourceVersion and answers 409 Conflict to a stale one', async () => {
    // given
    const { gateway } = server;
    await gateway.createSecret(aSecret(ns));
    const first = await gateway.getSecret(ns, 'db-credentials');
    await gateway.replaceSecret({
      ...aSecret(ns, { data: { password: b64('two') } }),
      resourceVersion: first?.resourceVersion ?? '',
    });
    // when the first resourceVersion is used again
    const stale = await failure(
      gateway.replaceSecret({
        ...aSecret(ns, { data: { password: b64('three') } }),
        resourceVersion: first?.resourceVersion ?? '',
      }),
    );
    // then
    expect(stale).toBeInstanceOf(ConflictError);
    expect((stale as ConflictError).message).toMatch(/HTTP 409 Conflict/);
    const now = await gateway.getSecret(ns, 'db-credentials');
    expect(now?.data).toEqual({ password: b64('two') });
    expect(Number(now?.resourceVersion)).toBeGreaterThan(Number(first?.resourceVersion));
  });

  test('merge-patches pod-template annotations and bumps the generation', async () => {
    // given
    await server.admin.apply([deployment(ns, 'api')]);
    const before = await server.admin.send('GET', `/apis/apps/v1/namespaces/${ns}/deployments/api`);
    // when
    await server.gateway.patchTemplateAnnotations('Deployment', ns, 'api', {
      'example.com/restartedAt': 't1',
    });
    // then
    const workload = await server.gateway.getWorkload('Deployment', ns, 'api');
    const after = await server.admin.send('GET', `/apis/apps/v1/namespaces/${ns}/deployments/api`);
    expect(workload?.templateAnnotations).toEqual({ team: 'payments', 'example.com/restartedAt': 't1' });
    expect(after.body.metadata?.generation).toBe((before.body.metadata?.generation ?? 0) + 1);
  });

  test('strategic-merge-patches pod-template annotations and merges containers by name', async () => {
    // given
    await server.admin.apply([deployment(ns, 'api')]);
    // when
    const patched = await server.admin.send(
      'PATCH',
      `/apis/apps/v1/namespaces/${ns}/deployments/api`,
      {
        spec: {
          template: {
            metadata: { annotations: { 'example.com/restartedAt': 't2' } },
            spec: { containers: [{ name: 'sidecar', image: 'registry.local/sidecar:2' }] },
          },
        },
      },
      'application/strategic-merge-patch+json',
    );
    // then the other annotation and the other container are kept
    expect(patched.status).toBe(200);
    const workload = await server.gateway.getWorkload('Deployment', ns, 'api');
    expect(workload?.templateAnnotations).toEqual({ team: 'payments', 'example.com/restartedAt': 't2' });
    expect(workload?.podSpec).toMatchObject({
      containers: [
        { name: 'app', image: 'registry.local/app:1' },
        { name: 'sidecar', image: 'registry.local/sidecar:2' },
      ],
    });
  });

  test('deletes with preconditions: a stale resourceVersion or another uid is a 409', async () => {
    // given
    await server.gateway.createSecret(aSecret(ns));
    const current = await server.admin.send('GET', secretPath('db-credentials'));
    const uid = String(current.body.metadata?.['uid']);
    const resourceVersion = current.body.metadata?.resourceVersion ?? '';
    await server.gateway.replaceSecret({
      ...aSecret(ns, { data: { password: b64('two') } }),
      resourceVersion,
    });
    const deleteWith = (preconditions: Record<string, string>) =>
      server.admin.send('DELETE', secretPath('db-credentials'), {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        preconditions,
      });
    // when
    const staleVersion = await deleteWith({ resourceVersion });
    const otherUid = await deleteWith({ uid: '00000000-0000-0000-0000-000000000000' });
    const matching = await deleteWith({ uid });
    // then
    expect([statusOf(staleVersion), statusOf(otherUid), matching.status]).toEqual([
      '409 Conflict',
      '409 Conflict',
      200,
    ]);
    expect(await server.gateway.getSecret(ns, 'db-credentials')).toBeUndefined();
    await expect(server.gateway.deleteSecret(ns, 'db-credentials')).resolves.toBeUndefined();
  });

  test('lists by label in one namespace only', async () => {
    // given a managed and an unmanaged Secret here, and a managed one in another namespace
    const other = `${ns}-other`;
    await server.admin.namespace(other);
    await server.gateway.createSecret(aSecret(ns, { name: 'managed' }));
    await server.gateway.createSecret(aSecret(ns, { name: 'theirs', labels: { team: 'db' } }));
    await server.gateway.createSecret(aSecret(other, { name: 'elsewhere' }));
    // when
    const listed = await server.gateway.listSecrets('app.kubernetes.io/managed-by=secret-propagator', ns);
    const notIn = await server.gateway.listSecrets('app.kubernetes.io/managed-by!=secret-propagator', ns);
    // then
    expect(listed.map((s) => `${s.namespace}/${s.name}`)).toEqual([`${ns}/managed`]);
    expect(notIn.map((s) => s.name)).toEqual(['theirs']);
  });

  test.each([
    ['kubernetes.io/tls without tls.key', { type: 'kubernetes.io/tls', data: { 'tls.crt': b64('cert') } }],
    [
      'kubernetes.io/dockerconfigjson whose .dockerconfigjson is not JSON',
      { type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': b64('{not json') } },
    ],
    [
      'kubernetes.io/basic-auth with a foreign key only',
      { type: 'kubernetes.io/basic-auth', data: { token: b64('x') } },
    ],
  ])('rejects a typed Secret that breaks its type: %s (422 Invalid)', async (_case, overrides) => {
    // when
    const rejected = await failure(server.gateway.createSecret(aSecret(ns, overrides)));
    // then
    expect(rejected).toBeInstanceOf(ClusterRejectedError);
    expect((rejected as ClusterRejectedError).status).toBe(422);
    expect((rejected as ClusterRejectedError).message).toMatch(/HTTP 422 Invalid$/);
    expect(await server.gateway.getSecret(ns, 'db-credentials')).toBeUndefined();
  });

  test("refuses to change a Secret's type (422: the field is immutable)", async () => {
    // given an Opaque Secret holding what a TLS Secret needs
    const tlsData = { 'tls.crt': b64('cert'), 'tls.key': b64('key') };
    await server.gateway.createSecret(aSecret(ns, { data: tlsData }));
    const current = await server.gateway.getSecret(ns, 'db-credentials');
    // when
    const changed = await failure(
      server.gateway.replaceSecret({
        ...aSecret(ns, { type: 'kubernetes.io/tls', data: tlsData }),
        resourceVersion: current?.resourceVersion ?? '',
      }),
    );
    // then
    expect((changed as ClusterRejectedError).status).toBe(422);
    expect((await server.gateway.getSecret(ns, 'db-credentials'))?.type).toBe('Opaque');
  });

  test('keeps an immutable Secret immutable: data and the flag cannot change, delete works', async () => {
    // given
    const created = await server.admin.send('POST', `/api/v1/namespaces/${ns}/secrets`, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'frozen', labels: { 'app.kubernetes.io/managed-by': 'secret-propagator' } },
      type: 'Opaque',
      immutable: true,
      data: { password: b64(CANARY) },
    });
    const current = await server.gateway.getSecret(ns, 'frozen');
    // when
    const replaced = await failure(
      server.gateway.replaceSecret({
        ...aSecret(ns, { name: 'frozen', data: { password: b64('two') } }),
        resourceVersion: current?.resourceVersion ?? '',
      }),
    );
    const thawed = await server.admin.send(
      'PATCH',
      secretPath('frozen'),
      { immutable: false },
      'application/merge-patch+json',
    );
    const relabelled = await server.admin.send(
      'PATCH',
      secretPath('frozen'),
      { metadata: { labels: { team: 'db' } } },
      'application/merge-patch+json',
    );
    await server.gateway.deleteSecret(ns, 'frozen');
    // then data and the flag are refused, metadata is not, and delete is the way out
    expect(created.status).toBe(201);
    expect((replaced as ClusterRejectedError).status).toBe(422);
    expect([statusOf(thawed), relabelled.status]).toEqual(['422 Invalid', 200]);
    expect(await server.gateway.getSecret(ns, 'frozen')).toBeUndefined();
  });

  test('a namespace that does not exist: create is 404 NotFound, get is absent, list is empty', async () => {
    // given
    const missing = `${ns}-missing`;
    // when
    const created = await failure(server.gateway.createSecret(aSecret(missing)));
    const read = await server.gateway.getSecret(missing, 'db-credentials');
    const listed = await server.gateway.listSecrets(
      'app.kubernetes.io/managed-by=secret-propagator',
      missing,
    );
    const patched = await failure(
      server.gateway.patchTemplateAnnotations('Deployment', missing, 'api', { a: 'b' }),
    );
    // then
    expect((created as ClusterRejectedError).status).toBe(404);
    expect((created as ClusterRejectedError).message).toMatch(/HTTP 404 NotFound$/);
    expect(read).toBeUndefined();
    expect(listed).toEqual([]);
    expect((patched as ClusterRejectedError).status).toBe(404);
  });

  test.each([['Bad_Name'], ['UPPER'], ['trailing-'], [`${'a'.repeat(254)}`]])(
    'refuses the Secret name %s (not a DNS-1123 subdomain): 422 Invalid',
    async (name) => {
      // when
      const rejected = await failure(server.gateway.createSecret(aSecret(ns, { name })));
      // then
      expect((rejected as ClusterRejectedError).status).toBe(422);
      expect((rejected as ClusterRejectedError).message).toMatch(/HTTP 422 Invalid$/);
    },
  );
});
