/**
 * The product under exactly the Role it prints, on a real authorizer: `secret-propagator rbac`
 * for a registry of two bindings in one namespace, applied with kubectl and bound to a token
 * user; then sync, a change with restarts, a reconcile, a restart and a delete as that user.
 * The server's audit log, not the product's own report, says whether any request got a 403.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { ControlPlaneEndpoint } from '../support/control-plane.js';
import {
  auditEvents,
  auditSettled,
  forbidden,
  kubectlApply,
  printedRbac,
  productRegistry,
  startProduct,
  type BindingInput,
  type Product,
} from '../support/product.js';
import { kubeClient, realServer, type KubeClient } from '../support/servers.js';

const CANARY = 'canary-rbac-71c0';
const NS = `rbac-${process.pid}`;
const USER = 'sp-product';
const LIMITED = 'sp-missing-verb';

const podUsing = (secret: string) => ({
  containers: [
    {
      name: 'app',
      image: 'registry.local/app:1',
      env: [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: secret, key: 'password' } } }],
    },
  ],
});

/** Deployment "api" (uses the Secret), StatefulSet "migrator" (named), DaemonSet "edge" (selected). */
function workloads(namespace: string): Record<string, unknown>[] {
  const workload = (
    kind: string,
    name: string,
    labels: Record<string, string>,
    extra: object,
    pod: object,
  ) => ({
    apiVersion: 'apps/v1',
    kind,
    metadata: { name, namespace, labels },
    spec: { ...extra, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: pod } },
  });
  const plain = { containers: [{ name: 'app', image: 'registry.local/app:1' }] };
  return [
    workload('Deployment', 'api', { app: 'api' }, { replicas: 1 }, podUsing('db-credentials')),
    workload('StatefulSet', 'migrator', { app: 'migrator' }, { replicas: 1, serviceName: 'migrator' }, plain),
    workload('DaemonSet', 'edge', { app: 'edge', tier: 'web' }, {}, plain),
  ];
}

const bindings: BindingInput[] = [
  {
    name: 'payments-db',
    source: 'mem',
    remoteRef: { key: 'app/db' },
    data: [{ secretKey: 'password', property: 'password' }],
    target: {
      name: 'db-credentials',
      namespace: NS,
      clusters: { matchLabels: { env: 'conformance' } },
      deletionPolicy: 'Delete',
    },
    restart: {
      auto: true,
      workloads: [{ kind: 'StatefulSet', name: 'migrator' }],
      selector: { matchLabels: { tier: 'web' } },
    },
  },
  {
    name: 'payments-api-key',
    source: 'mem',
    remoteRef: { key: 'app/api-key' },
    dataFrom: [{ extract: {} }],
    target: { name: 'api-key', namespace: NS, clusters: { matchLabels: { env: 'conformance' } } },
  },
];

let plane: ControlPlaneEndpoint;
let admin: KubeClient;
let dir: string;
let registryFile: string;
let product: Product;

beforeAll(async () => {
  plane = realServer();
  admin = kubeClient({ server: plane.server, caData: plane.caData, token: plane.adminToken });
  dir = mkdtempSync(join(tmpdir(), 'sp-rbac-'));
  registryFile = join(dir, 'registry.yaml');
  writeFileSync(registryFile, stringify(productRegistry(plane, bindings)));
  await admin.namespace(NS);
  await admin.apply(workloads(NS));
  await kubectlApply(plane, dir, await printedRbac(registryFile, USER, 'secret-propagator'));
  product = startProduct(plane, dir, productRegistry(plane, bindings), USER);
  product.store.put('app/db', { password: CANARY });
  product.store.put('app/api-key', { token: 'api-one' });
});

afterAll(() => {
  product.close();
  admin.close();
  for (const line of product.logs) expect(line).not.toContain(CANARY);
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `step` as the product's user; returns the 403s the server answered it meanwhile. */
async function forbiddenDuring(step: () => Promise<unknown>, user = USER): Promise<string[]> {
  await auditSettled(plane, admin);
  const since = auditEvents(plane).length;
  await step();
  await auditSettled(plane, admin);
  return forbidden(plane, user, since);
}

const templateAnnotations = async (plural: string, name: string): Promise<Record<string, string>> => {
  const answer = await admin.send('GET', `/apis/apps/v1/namespaces/${NS}/${plural}/${name}`);
  const spec = answer.body['spec'] as { template?: { metadata?: { annotations?: Record<string, string> } } };
  return spec.template?.metadata?.annotations ?? {};
};

describe('the product under the Role `secret-propagator rbac` prints (real kube-apiserver)', () => {
  test('the printed Role is what kubectl applied: create/list, named get/update, delete for the Delete binding, workload verbs its restarts use', async () => {
    // when
    const role = await admin.send(
      'GET',
      `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/roles/secret-propagator`,
    );
    // then
    expect(role.status).toBe(200);
    expect(role.body['rules']).toEqual([
      { apiGroups: [''], resources: ['secrets'], verbs: ['create', 'list'] },
      {
        apiGroups: [''],
        resources: ['secrets'],
        resourceNames: ['api-key', 'db-credentials'],
        verbs: ['get', 'update'],
      },
      { apiGroups: [''], resources: ['secrets'], resourceNames: ['db-credentials'], verbs: ['delete'] },
      { apiGroups: ['apps'], resources: ['deployments', 'daemonsets'], verbs: ['list', 'patch'] },
      { apiGroups: ['apps'], resources: ['statefulsets'], verbs: ['get', 'list', 'patch'] },
    ]);
  });

  test('sync (each binding, as `secret-propagator sync` does) creates both Secrets with no 403', async () => {
    // when
    let reports: Awaited<ReturnType<Product['runtime']['propagator']['reconcile']>> = [];
    const denied = await forbiddenDuring(async () => {
      for (const binding of bindings)
        reports.push(...(await product.runtime.propagator.reconcile({ bindings: [binding.name] })));
    });
    // then
    expect(denied).toEqual([]);
    expect(product.runtime.summarize(reports)).toMatchObject({ ok: true, counts: { created: 2, failed: 0 } });
    reports = [];
  });

  test('a change updates the Secret and restarts its three dependents with no 403', async () => {
    // given
    product.store.put('app/db', { password: `${CANARY}-two` });
    // when
    let summary: ReturnType<Product['runtime']['summarize']> | undefined;
    const denied = await forbiddenDuring(async () => {
      summary = product.runtime.summarize(await product.runtime.handle(product.change('app/db')));
    });
    // then
    expect(denied).toEqual([]);
    expect(summary).toMatchObject({ ok: true, counts: { updated: 1, restarts: 3 } });
    for (const [plural, name] of [
      ['deployments', 'api'],
      ['statefulsets', 'migrator'],
      ['daemonsets', 'edge'],
    ] as const)
      expect(Object.keys(await templateAnnotations(plural, name))).toContain(
        'kubectl.kubernetes.io/restartedAt',
      );
  });

  // A reconcile of several bindings lists the namespace's managed Secrets once (never cluster-wide).
  test('a reconcile of every binding makes no request outside the Role (no 403)', async () => {
    // when
    let summary: ReturnType<Product['runtime']['summarize']> | undefined;
    const denied = await forbiddenDuring(async () => {
      summary = product.runtime.summarize(await product.runtime.propagator.reconcile());
    });
    // then
    expect(summary).toMatchObject({ ok: true, counts: { failed: 0 } });
    expect(denied).toEqual([]);
  });

  test('a restart of one binding patches its dependents with no 403', async () => {
    // given
    const before = await templateAnnotations('deployments', 'api');
    // when
    const denied = await forbiddenDuring(() => product.runtime.propagator.restart('payments-db'));
    // then
    expect(denied).toEqual([]);
    const after = await templateAnnotations('deployments', 'api');
    expect(after['kubectl.kubernetes.io/restartedAt']).not.toBe(before['kubectl.kubernetes.io/restartedAt']);
  });

  test('a deleted source deletes its target Secret (deletionPolicy Delete) with no 403', async () => {
    // given
    product.store.remove('app/db');
    // when
    let reasons: (string | undefined)[] = [];
    const denied = await forbiddenDuring(async () => {
      const reports = await product.runtime.handle(product.change('app/db', { kind: 'deleted' }));
      reasons = reports.flatMap((r) => r.targets.map((t) => t.reason));
    });
    // then
    expect(denied).toEqual([]);
    expect(reasons).toEqual(['deleted']);
    expect((await admin.send('GET', `/api/v1/namespaces/${NS}/secrets/db-credentials`)).status).toBe(404);
  });
});

describe('the product with one verb taken out of the printed Role', () => {
  /** The printed documents for LIMITED, without `verb` on `resource`. */
  async function roleWithout(resource: string, verb: string): Promise<Record<string, unknown>[]> {
    const documents = await printedRbac(registryFile, LIMITED, LIMITED);
    for (const doc of documents) {
      if (doc['kind'] !== 'Role') continue;
      const rules = doc['rules'] as { resources: string[]; verbs: string[] }[];
      for (const rule of rules)
        if (rule.resources.includes(resource)) rule.verbs = rule.verbs.filter((v) => v !== verb);
      doc['rules'] = rules.filter((rule) => rule.verbs.length > 0);
    }
    return documents;
  }

  /** The product running under LIMITED once the printed Role lost `verb` on `resource`. */
  async function productWithout(resource: string, verb: string): Promise<ReturnType<typeof startProduct>> {
    await kubectlApply(plane, dir, await roleWithout(resource, verb));
    return startProduct(plane, mkdtempSync(join(dir, 'limited-')), productRegistry(plane, bindings), LIMITED);
  }

  test('without `patch` on workloads: the restart fails and the report names `patch deployments`', async () => {
    // given
    const limited = await productWithout('deployments', 'patch');
    // The delete case above removed db-credentials: create it (no restart on creation), so
    // that the change below is an update whose dependents must restart.
    limited.store.put('app/db', { password: `${CANARY}-two` });
    expect(limited.runtime.summarize(await limited.runtime.handle(limited.change('app/db'))).ok).toBe(true);
    limited.store.put('app/db', { password: `${CANARY}-three` });
    // when
    const reports = await limited.runtime.handle(limited.change('app/db'));
    limited.close();
    // then the server refused the patches, and the product says which permission was missing
    const summary = limited.runtime.summarize(reports);
    expect(summary.ok).toBe(false);
    const said = [JSON.stringify(reports), ...limited.logs].join('\n');
    expect(said).toMatch(/\bpatch\b[^\n]*\bdeployments\b/);
  });

  test('without `update` on Secrets: the write fails and the product names `update` on `secrets`', async () => {
    // given
    const limited = await productWithout('secrets', 'update');
    limited.store.put('app/api-key', { token: 'api-two' });
    // when
    const denied = await forbiddenDuring(async () => {
      const reports = await limited.runtime.handle(limited.change('app/api-key'));
      limited.close();
      const said = [JSON.stringify(reports), ...limited.logs].join('\n');
      // then
      expect(limited.runtime.summarize(reports).ok).toBe(false);
      expect(said).toMatch(/\bupdate\b[^\n]*\bsecrets?\b|\bsecrets?\b[^\n]*\bupdate\b/);
    }, LIMITED);
    expect(denied).toEqual([`update /api/v1/namespaces/${NS}/secrets/api-key`]);
  });
});
