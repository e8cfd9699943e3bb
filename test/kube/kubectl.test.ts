/**
 * Fidelity of the local API server, proven with the real kubectl: if kubectl (which speaks
 * discovery, OpenAPI, protobuf, tables, watches, strategic merge patches) is satisfied, our
 * gateway tests against this server mean something.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeKubeconfig } from '../../dev/kube/kubeconfig.js';
import type { LocalFleet } from '../support/clusters.js';
import { startLocalFleet } from '../support/clusters.js';

const KUBECTL = '/usr/bin/kubectl';
// kubectl 1.28 and older need the protobuf OpenAPI v2 document for apply, which this server does not serve.
const OTHER_KUBECTLS = ['1.29', '1.31', '1.33']
  .map((v) => `/usr/lib/google-cloud-sdk/bin/kubectl.${v}`)
  .filter((p) => existsSync(p));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function kubectl(
  kubeconfig: string,
  args: string[],
  options: { binary?: string; timeoutMs?: number } = {},
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      options.binary ?? KUBECTL,
      args,
      {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: tmpdir(),
          KUBECONFIG: kubeconfig,
          KUBECACHEDIR: join(work, 'cache'),
        },
        timeout: options.timeoutMs ?? 20_000,
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

let work: string;

const deployment = (env: string, name = 'web'): string => `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: shop
  labels: { app: ${name} }
spec:
  replicas: 2
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      containers:
        - name: web
          image: registry.local/web:1
          env: [ { name: MODE, value: "${env}" } ]
`;

describe('kubectl against the local API server', () => {
  let fleet: LocalFleet;
  let kubeconfig: string;
  const run = (...args: string[]): Promise<Run> => kubectl(kubeconfig, args);
  const manifest = (name: string, text: string): string => {
    const path = join(work, name);
    writeFileSync(path, text);
    return path;
  };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'kubectl-test-'));
    fleet = await startLocalFleet({ names: ['kubectl-1'], rolloutDelayMs: 100 });
    kubeconfig = fleet.kubeconfig();
    fleet.state.seedNamespace('kubectl-1', 'shop');
  });
  afterAll(async () => {
    await fleet.stop();
    rmSync(work, { recursive: true, force: true });
  });
  beforeEach(() => fleet.setController({ neverReady: false }));

  test('creates a namespace and a secret (protobuf bodies), gets them as a table and as JSON', async () => {
    // when
    const ns = await run('create', 'namespace', 'billing');
    const created = await run(
      '-n',
      'billing',
      'create',
      'secret',
      'generic',
      'db',
      '--from-literal=user=app',
      '--from-literal=password=s3cr3t',
    );
    const table = await run('-n', 'billing', 'get', 'secrets');
    const json = await run('-n', 'billing', 'get', 'secret', 'db', '-o', 'json');
    // then
    expect(ns).toMatchObject({ code: 0, stdout: 'namespace/billing created\n' });
    expect(created).toMatchObject({ code: 0, stdout: 'secret/db created\n' });
    expect(table.stdout).toMatch(/^NAME\s+TYPE\s+DATA\s+AGE\ndb\s+Opaque\s+2\s+\d+s\n$/);
    const secret = JSON.parse(json.stdout);
    expect(secret.data).toEqual({
      user: Buffer.from('app').toString('base64'),
      password: Buffer.from('s3cr3t').toString('base64'),
    });
    expect(secret.metadata).toMatchObject({ uid: expect.any(String), resourceVersion: expect.any(String) });
  });

  test('apply creates, then configures a deployment, bumping its generation only on spec changes', async () => {
    // when
    const first = await run('apply', '-f', manifest('web-v1.yaml', deployment('one')));
    const same = await run('apply', '-f', manifest('web-v1.yaml', deployment('one')));
    const second = await run('apply', '-f', manifest('web-v2.yaml', deployment('two')));
    const generation = await run(
      '-n',
      'shop',
      'get',
      'deploy',
      'web',
      '-o',
      'jsonpath={.metadata.generation} {.spec.template.spec.containers[0].env[0].value}',
    );
    // then
    expect(first).toMatchObject({ code: 0, stdout: 'deployment.apps/web created\n' });
    expect(same).toMatchObject({ code: 0, stdout: 'deployment.apps/web unchanged\n' });
    expect(second).toMatchObject({ code: 0, stdout: 'deployment.apps/web configured\n' });
    expect(generation.stdout).toBe('2 two');
  });

  test('patch (strategic, merge, json) and label edit a deployment; get -l selects by label', async () => {
    // given
    await run('apply', '-f', manifest('api.yaml', deployment('one', 'api')));
    // when
    const strategic = await run(
      '-n',
      'shop',
      'patch',
      'deploy',
      'api',
      '-p',
      '{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"registry.local/web:2"}]}}}}',
    );
    const merge = await run(
      '-n',
      'shop',
      'patch',
      'deploy',
      'api',
      '--type=merge',
      '-p',
      '{"metadata":{"annotations":{"owner":"team-a"}}}',
    );
    const json = await run(
      '-n',
      'shop',
      'patch',
      'deploy',
      'api',
      '--type=json',
      '-p',
      '[{"op":"replace","path":"/spec/replicas","value":3}]',
    );
    const label = await run('-n', 'shop', 'label', 'deploy', 'api', 'tier=front');
    const selected = await run('-n', 'shop', 'get', 'deploy', '-l', 'tier=front', '-o', 'name');
    const state = fleet.state.getWorkload('kubectl-1', 'Deployment', 'shop', 'api');
    // then
    expect([strategic, merge, json].map((r) => r.stdout)).toEqual([
      'deployment.apps/api patched\n',
      'deployment.apps/api patched\n',
      'deployment.apps/api patched\n',
    ]);
    expect(label.stdout).toBe('deployment.apps/api labeled\n');
    expect(selected.stdout).toBe('deployment.apps/api\n');
    const spec = state?.spec as {
      replicas: number;
      template: { spec: { containers: { name: string; image: string; env: unknown[] }[] } };
    };
    expect(spec.replicas).toBe(3);
    // The strategic patch merged the container by name: env survived, image changed.
    expect(spec.template.spec.containers).toEqual([
      { name: 'web', image: 'registry.local/web:2', env: [{ name: 'MODE', value: 'one' }] },
    ]);
    expect(state?.metadata).toMatchObject({
      annotations: { owner: 'team-a' },
      labels: { app: 'api', tier: 'front' },
    });
  });

  test('rollout restart patches the pod template and rollout status waits until the controller reports it done', async () => {
    // given
    await run('apply', '-f', manifest('restart.yaml', deployment('one', 'restart-me')));
    fleet.state.seedWorkload('kubectl-1', 'StatefulSet', 'shop', 'db');
    fleet.state.seedWorkload('kubectl-1', 'DaemonSet', 'shop', 'agent');
    // when
    const restart = await run(
      '-n',
      'shop',
      'rollout',
      'restart',
      'deployment/restart-me',
      'statefulset/db',
      'daemonset/agent',
    );
    const status = await run('-n', 'shop', 'rollout', 'status', 'deployment/restart-me', '--timeout=15s');
    const sts = await run('-n', 'shop', 'rollout', 'status', 'statefulset/db', '--timeout=15s');
    const ds = await run('-n', 'shop', 'rollout', 'status', 'daemonset/agent', '--timeout=15s');
    // then
    expect(restart.stdout).toBe(
      'deployment.apps/restart-me restarted\nstatefulset.apps/db restarted\ndaemonset.apps/agent restarted\n',
    );
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('deployment "restart-me" successfully rolled out');
    expect(sts.code).toBe(0);
    expect(ds).toMatchObject({
      code: 0,
      stdout: expect.stringContaining('daemon set "agent" successfully rolled out'),
    });
    const template = fleet.state.getWorkload('kubectl-1', 'Deployment', 'shop', 'restart-me')?.spec as {
      template: { metadata: { annotations: Record<string, string> } };
    };
    expect(template.template.metadata.annotations['kubectl.kubernetes.io/restartedAt']).toEqual(
      expect.any(String),
    );
  });

  test('rollout status keeps waiting on a rollout that never becomes available', async () => {
    // given
    await run('apply', '-f', manifest('stuck.yaml', deployment('one', 'stuck')));
    fleet.setController({ neverReady: true });
    // when
    await run('-n', 'shop', 'rollout', 'restart', 'deployment/stuck');
    const status = await run('-n', 'shop', 'rollout', 'status', 'deployment/stuck', '--timeout=2s');
    // then
    expect(status.code).not.toBe(0);
    expect(status.stdout).toContain('Waiting for deployment "stuck" rollout to finish');
    expect(status.stderr).toContain('timed out waiting for the condition');
  });

  test('replace with a stale resourceVersion fails with the 409 Conflict message', async () => {
    // given
    await run('-n', 'shop', 'create', 'secret', 'generic', 'stale', '--from-literal=a=1');
    const old = await run('-n', 'shop', 'get', 'secret', 'stale', '-o', 'json');
    await run('-n', 'shop', 'label', 'secret', 'stale', 'changed=yes');
    // when
    const replace = await run('replace', '-f', manifest('stale.json', old.stdout));
    // then
    expect(replace.code).not.toBe(0);
    expect(replace.stderr).toContain('Error from server (Conflict): error when replacing');
    expect(replace.stderr).toContain(
      'Operation cannot be fulfilled on secrets "stale": the object has been modified; please apply your changes to the latest version and try again',
    );
  });

  test('a token outside its namespace allowlist is refused with the Forbidden message', async () => {
    // given
    const cluster = fleet.clusters[0];
    if (cluster === undefined) throw new Error('no cluster');
    fleet.addToken(cluster.name, 'shop-reader', {
      user: 'system:serviceaccount:shop:reader',
      namespaces: ['shop'],
      verbs: ['get', 'list', 'watch'],
    });
    const limited = writeKubeconfig([{ ...cluster, token: 'shop-reader' }]);
    // when
    const inside = await kubectl(limited, ['-n', 'shop', 'get', 'secrets', '-o', 'name']);
    const outside = await kubectl(limited, ['-n', 'kube-system', 'get', 'secrets']);
    const write = await kubectl(limited, [
      '-n',
      'shop',
      'create',
      'secret',
      'generic',
      'x',
      '--from-literal=a=b',
    ]);
    // then
    expect(inside.code).toBe(0);
    expect(outside.code).not.toBe(0);
    expect(outside.stderr).toContain(
      'Error from server (Forbidden): secrets is forbidden: User "system:serviceaccount:shop:reader" cannot list resource "secrets" in API group "" in the namespace "kube-system"',
    );
    expect(write.stderr).toContain(
      'cannot create resource "secrets" in API group "" in the namespace "shop"',
    );
  });

  test('a wrong token is refused as Unauthorized', async () => {
    // given
    const cluster = fleet.clusters[0];
    if (cluster === undefined) throw new Error('no cluster');
    const wrong = writeKubeconfig([{ ...cluster, token: 'wrong' }]);
    // when
    const result = await kubectl(wrong, ['get', 'secrets']);
    // then
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/Unauthorized|must be logged in/);
  });

  test('delete removes a secret and a later get reports NotFound from the Status body', async () => {
    // given
    await run('-n', 'shop', 'create', 'secret', 'generic', 'doomed', '--from-literal=a=1');
    // when
    const deleted = await run('-n', 'shop', 'delete', 'secret', 'doomed');
    const get = await run('-n', 'shop', 'get', 'secret', 'doomed');
    // then
    expect(deleted).toMatchObject({ code: 0, stdout: 'secret "doomed" deleted\n' });
    expect(get.code).not.toBe(0);
    expect(get.stderr).toBe('Error from server (NotFound): secrets "doomed" not found\n');
  });

  test('creating a secret that exists reports AlreadyExists', async () => {
    // given
    await run('-n', 'shop', 'create', 'secret', 'generic', 'twice', '--from-literal=a=1');
    // when
    const again = await run('-n', 'shop', 'create', 'secret', 'generic', 'twice', '--from-literal=a=1');
    // then
    expect(again.code).not.toBe(0);
    expect(again.stderr).toBe('error: failed to create secret secrets "twice" already exists\n');
  });

  test.each(OTHER_KUBECTLS)('%s can create, apply and read back objects', async (binary) => {
    // given
    const name = `v${binary.split('.').slice(-1)[0] ?? ''}`;
    // when
    const created = await kubectl(
      kubeconfig,
      ['-n', 'shop', 'create', 'secret', 'generic', `s-${name}`, '--from-literal=a=1'],
      { binary },
    );
    const applied = await kubectl(
      kubeconfig,
      ['apply', '-f', manifest(`${name}.yaml`, deployment('one', `d-${name}`))],
      { binary },
    );
    const read = await kubectl(
      kubeconfig,
      ['-n', 'shop', 'get', 'deploy', `d-${name}`, '-o', 'jsonpath={.spec.replicas}'],
      { binary },
    );
    // then
    expect(created.code).toBe(0);
    expect(applied.code).toBe(0);
    expect(read.stdout).toBe('2');
  });
});
