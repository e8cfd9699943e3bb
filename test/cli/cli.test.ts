import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { aBinding, aRegistry, toYaml } from './registry-builders.js';
import { runCli, runCliInProcess } from './run-cli.js';

interface Manifest {
  kind: string;
  metadata: { namespace: string };
  rules?: unknown;
  subjects?: unknown;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function aRegistryFile(content: unknown, name = 'registry.yaml'): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, typeof content === 'string' ? content : toYaml(content));
  return path;
}

describe('secret-propagator validate', () => {
  it('prints the exact path and reason of a schema problem and exits 2', async () => {
    // given
    const registry = {
      ...aRegistry(),
      bindings: [
        aBinding(),
        { ...aBinding({ name: 'other' }), target: { name: 'x', clusters: { names: ['dev-1'] } } },
      ],
    };
    const path = await aRegistryFile(registry, 'schema.yaml');
    // when
    const run = await runCli(['validate', '--registry', path]);
    // then
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      `secret-propagator: registry ${path} is invalid\n  bindings[1].target.namespace: required (expected string)\n`,
    );
    expect(run.stdout).toBe('');
  });

  it('prints every cross-reference problem as path: reason and exits 2', async () => {
    // given
    const registry = aRegistry({
      bindings: [
        aBinding({ source: 'vault-main' }),
        aBinding({
          name: 'second',
          target: { name: 'db-credentials', namespace: 'payments', clusters: { names: ['dev-9'] } },
        }),
      ],
    });
    const path = await aRegistryFile(registry, 'cross.yaml');
    // when
    const run = await runCliInProcess(['validate', '--registry', path]);
    // then
    expect(run.code).toBe(2);
    expect(run.stderr.split('\n')).toEqual([
      `secret-propagator: registry ${path} is inconsistent`,
      '  bindings[0].source: unknown source "vault-main" (known: local-store)',
      '  bindings[1].target.clusters.names[0]: unknown cluster "dev-9"',
      '  bindings[1].target.clusters: selects no cluster',
      '',
    ]);
  });

  it('reports YAML that does not parse and exits 2', async () => {
    // given
    const path = await aRegistryFile('apiVersion: secret-propagator/v1\nclusters: [\n', 'broken.yaml');
    // when
    const run = await runCliInProcess(['validate', '--registry', path]);
    // then
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`secret-propagator: registry ${path} is not valid YAML`);
  });

  it('accepts a valid registry, exits 0 and says what it holds', async () => {
    // given
    const path = await aRegistryFile(aRegistry(), 'valid.yaml');
    // when
    const run = await runCliInProcess(['validate', '--registry', path]);
    // then
    expect(run).toEqual({
      code: 0,
      stderr: '',
      stdout: `registry ${path} is valid: 1 cluster(s), 1 source(s), 1 binding(s)\n`,
    });
  });

  it('finds the registry through REGISTRY_FILE, then ./registry.yaml', async () => {
    // given
    const fromEnv = await aRegistryFile(aRegistry(), 'env.yaml');
    const inCwd = await mkdtemp(join(dir, 'cwd-'));
    await writeFile(join(inCwd, 'registry.yaml'), toYaml(aRegistry()));
    const empty = await mkdtemp(join(dir, 'empty-'));
    // when
    const [viaEnv, viaCwd, none] = await Promise.all([
      runCliInProcess(['validate'], { REGISTRY_FILE: fromEnv }),
      runCli(['validate'], { cwd: inCwd }),
      runCli(['validate'], { cwd: empty }),
    ]);
    // then
    expect(viaEnv.stdout).toContain(`registry ${fromEnv} is valid`);
    expect(viaCwd.stdout).toContain('registry registry.yaml is valid');
    expect(none.code).toBe(2);
    expect(none.stderr).toBe(
      'secret-propagator: registry file registry.yaml not found (pass --registry <file> or set REGISTRY_FILE)\n',
    );
  });
});

describe('secret-propagator invalid input', () => {
  it('exits 2 naming the known bindings for an unknown --binding', async () => {
    // given
    const path = await aRegistryFile(aRegistry(), 'unknown-binding.yaml');
    // when
    const run = await runCli(['sync', '--registry', path, '--binding', 'nope']);
    // then
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('secret-propagator: unknown binding "nope" (known: payments-db)\n');
  });

  it('exits 2 for an unknown command', async () => {
    // when
    const run = await runCliInProcess(['deploy']);
    // then
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("error: unknown command 'deploy'");
  });

  it('exits 2 for restart without --binding', async () => {
    // given
    const path = await aRegistryFile(aRegistry(), 'restart.yaml');
    // when
    const run = await runCliInProcess(['restart', '--registry', path]);
    // then
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("required option '--binding <name>' not specified");
  });
});

describe('secret-propagator rbac', () => {
  it('prints a Role and RoleBinding per cluster and namespace limited to the written Secrets', async () => {
    // given
    const registry = aRegistry({
      clusters: [
        {
          name: 'dev-1',
          labels: { env: 'dev' },
          server: 'https://127.0.0.1:6443',
          auth: { type: 'token', tokenFrom: { source: 'local-store', key: 't1' } },
        },
        {
          name: 'prod-1',
          labels: { env: 'prod' },
          server: 'https://127.0.0.1:6444',
          auth: { type: 'token', tokenFrom: { source: 'local-store', key: 't2' } },
        },
      ],
      bindings: [
        aBinding(),
        aBinding({
          name: 'api-key',
          target: { name: 'api-key', namespace: 'payments', clusters: { matchLabels: { env: 'prod' } } },
        }),
        aBinding({
          name: 'ci-token',
          target: { name: 'ci-token', namespace: 'jenkins', clusters: { names: ['dev-1'] } },
        }),
      ],
    });
    const path = await aRegistryFile(registry, 'rbac.yaml');
    // when
    const run = await runCliInProcess([
      'rbac',
      '--registry',
      path,
      '--subject-kind',
      'ServiceAccount',
      '--subject-name',
      'propagator',
      '--subject-namespace',
      'ops',
    ]);
    // then
    expect(run.code).toBe(0);
    const docs = parseAllDocuments(run.stdout).map((d) => d.toJS() as Manifest);
    expect(docs.map((d) => `${d.kind} ${d.metadata.namespace}`)).toEqual([
      'Role jenkins',
      'RoleBinding jenkins',
      'Role payments',
      'RoleBinding payments',
      'Role payments',
      'RoleBinding payments',
    ]);
    expect(run.stdout).toContain('# cluster prod-1, namespace payments (bindings: payments-db, api-key)');
    // (both bindings Retain, their restarts `auto`: no delete, no get on workloads)
    expect(docs[4]?.rules).toEqual([
      { apiGroups: [''], resources: ['secrets'], verbs: ['create', 'list'] },
      {
        apiGroups: [''],
        resources: ['secrets'],
        resourceNames: ['api-key', 'db-credentials'],
        verbs: ['get', 'update'],
      },
      {
        apiGroups: ['apps'],
        resources: ['deployments', 'statefulsets', 'daemonsets'],
        verbs: ['list', 'patch'],
      },
    ]);
    expect(docs[5]?.subjects).toEqual([{ kind: 'ServiceAccount', name: 'propagator', namespace: 'ops' }]);
  });

  it('grants delete only for Delete bindings, and workload verbs only for the kinds and ways bindings restart', async () => {
    // given in "payments": a Delete binding restarting one named StatefulSet, a Retain one
    // restarting Deployments by selector; in "jenkins": a binding that never restarts
    const registry = aRegistry({
      bindings: [
        aBinding({
          target: {
            name: 'db-credentials',
            namespace: 'payments',
            clusters: { names: ['dev-1'] },
            deletionPolicy: 'Delete',
          },
          restart: { workloads: [{ kind: 'StatefulSet', name: 'migrator' }] },
        }),
        aBinding({
          name: 'api-key',
          target: { name: 'api-key', namespace: 'payments', clusters: { names: ['dev-1'] } },
          restart: { selector: { matchLabels: { app: 'api' } }, kinds: ['Deployment'] },
        }),
        aBinding({
          name: 'ci-token',
          target: { name: 'ci-token', namespace: 'jenkins', clusters: { names: ['dev-1'] } },
          restart: false,
        }),
      ],
    });
    const path = await aRegistryFile(registry, 'rbac-narrow.yaml');
    // when
    const run = await runCliInProcess(['rbac', '--registry', path]);
    // then
    expect(run.code).toBe(0);
    const roles = parseAllDocuments(run.stdout)
      .map((d) => d.toJS() as Manifest)
      .filter((d) => d.kind === 'Role');
    expect(roles.map((r) => [r.metadata.namespace, r.rules])).toEqual([
      [
        'jenkins',
        [
          { apiGroups: [''], resources: ['secrets'], verbs: ['create', 'list'] },
          { apiGroups: [''], resources: ['secrets'], resourceNames: ['ci-token'], verbs: ['get', 'update'] },
        ],
      ],
      [
        'payments',
        [
          { apiGroups: [''], resources: ['secrets'], verbs: ['create', 'list'] },
          {
            apiGroups: [''],
            resources: ['secrets'],
            resourceNames: ['api-key', 'db-credentials'],
            verbs: ['get', 'update'],
          },
          { apiGroups: [''], resources: ['secrets'], resourceNames: ['db-credentials'], verbs: ['delete'] },
          { apiGroups: ['apps'], resources: ['deployments'], verbs: ['list', 'patch'] },
          { apiGroups: ['apps'], resources: ['statefulsets'], verbs: ['get', 'patch'] },
        ],
      ],
    ]);
  });

  it('limits the output to one cluster and refuses an unknown one with exit 2', async () => {
    // given
    const path = await aRegistryFile(aRegistry(), 'rbac-one.yaml');
    // when
    const [known, unknown] = await Promise.all([
      runCliInProcess(['rbac', '--registry', path, '--cluster', 'dev-1']),
      runCliInProcess(['rbac', '--registry', path, '--cluster', 'prod-9']),
    ]);
    // then
    expect(parseAllDocuments(known.stdout).map((d) => (d.toJS() as Manifest).kind)).toEqual([
      'Role',
      'RoleBinding',
    ]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('secret-propagator: unknown cluster "prod-9" (known: dev-1)\n');
  });
});
