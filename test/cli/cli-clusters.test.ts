import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import {
  CLUSTER_TOKENS_SOURCE,
  registryClusters,
  startLocalFleet,
  tokenSecrets,
  type LocalFleet,
} from '../support/clusters.js';
import { aBinding, toYaml } from './registry-builders.js';
import { runCli, runCliInProcess, tlsMaterial } from './run-cli.js';

// Runs once the Kubernetes gateway (shared/kube/index.ts, kube engineer) has landed; until then
// the CLI cannot reach a cluster at all.

const CANARY = 'canary-cli-password-5f2e';
const CLUSTERS = ['dev-1', 'prod-1'];

let fleet: LocalFleet;
let dir: string;

beforeAll(async () => {
  fleet = await startLocalFleet({ names: CLUSTERS, rolloutDelayMs: 10, tls: await tlsMaterial() });
  dir = await mkdtemp(join(tmpdir(), 'cli-clusters-'));
});
afterAll(async () => {
  await fleet.stop();
  await rm(dir, { recursive: true, force: true });
});

/** A fresh scenario: namespaces and one dependent Deployment per cluster, a store, tokens and a registry. */
async function aScenario(
  name: string,
  bindings = [aBinding()],
  store: Record<string, unknown> = { 'prod/database': { username: 'app', password: CANARY } },
): Promise<string> {
  const namespace = `ns-${name}`;
  for (const cluster of CLUSTERS) {
    fleet.state.seedNamespace(cluster, namespace);
    fleet.state.seedWorkload(cluster, 'Deployment', namespace, 'api', {
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
  const base = await mkdtemp(join(dir, `${name}-`));
  await writeFile(join(base, 'store.yaml'), stringify(store));
  await writeFile(join(base, 'tokens.json'), JSON.stringify(tokenSecrets(fleet)));
  const registry = {
    apiVersion: 'secret-propagator/v1',
    settings: { retries: 0, targetTimeout: '5s' },
    clusters: registryClusters(fleet, { labels: (c) => ({ env: c.split('-')[0] ?? 'dev' }) }),
    sources: [
      { name: 'local-store', provider: 'local', path: 'store.yaml' },
      { name: CLUSTER_TOKENS_SOURCE, provider: 'local', path: 'tokens.json' },
    ],
    bindings: bindings.map((b) => ({ ...b, target: { ...b.target, namespace } })),
  };
  const path = join(base, 'registry.yaml');
  await writeFile(path, toYaml(registry));
  return path;
}

const writes = (cluster?: string) =>
  fleet.requests(cluster).filter((r) => r.verb !== 'get' && r.verb !== 'list' && r.verb !== 'watch');

describe('secret-propagator against local clusters', () => {
  afterEach(() => {
    fleet.clearFaults();
  });

  it('plan lists one create per cluster, writes nothing and exits 0', async () => {
    // given
    const registry = await aScenario('plan');
    fleet.resetRequests();
    // when
    const table = await runCli(['plan', '--registry', registry]);
    const json = await runCliInProcess(['plan', '--registry', registry, '--output', 'json']);
    // then
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(
      /dev-1\s+ns-plan\s+db-credentials\s+payments-db\s+create\s+password,username/,
    );
    expect(table.stdout).toMatch(/prod-1\s+ns-plan\s+db-credentials\s+payments-db\s+create/);
    expect(table.stdout).toContain('2 target(s): 2 to create, 0 to update, 0 unchanged, 0 skipped');
    expect(
      JSON.parse(json.stdout).targets.map(
        (t: { cluster: string; action: string }) => `${t.cluster}:${t.action}`,
      ),
    ).toEqual(['dev-1:create', 'prod-1:create']);
    expect(writes()).toEqual([]);
    expect(fleet.state.getSecret('dev-1', 'ns-plan', 'db-credentials')).toBeUndefined();
    expect(table.stdout + table.stderr + json.stdout + json.stderr).not.toContain(CANARY);
  });

  it('sync writes every target, prints a summary table, exits 0 and is idempotent', async () => {
    // given
    const registry = await aScenario('sync');
    // when
    const first = await runCli(['sync', '--registry', registry]);
    const second = await runCliInProcess(['sync', '--registry', registry, '--binding', 'payments-db']);
    // then
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('payments-db: 2 target(s), 2 created');
    expect(first.stdout).toMatch(
      /CLUSTER\s+NAMESPACE\s+SECRET\s+BINDING\s+OUTCOME\s+VERSION\s+RESTARTS\s+TIME/,
    );
    expect(first.stdout).toMatch(/dev-1\s+ns-sync\s+db-credentials\s+payments-db\s+created\s+1/);
    for (const cluster of CLUSTERS) {
      const secret = fleet.state.getSecret(cluster, 'ns-sync', 'db-credentials');
      expect(
        Buffer.from(String((secret?.['data'] as Record<string, string>)['password']), 'base64').toString(),
      ).toBe(CANARY);
    }
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(
      '2 target(s): 0 created, 0 updated, 2 unchanged, 0 skipped, 0 failed; 0 restart(s)',
    );
    expect(first.stdout + first.stderr + second.stdout + second.stderr).not.toContain(CANARY);
  });

  it('sync reports a failing cluster, still writes the others and exits 1', async () => {
    // given
    const registry = await aScenario('failing');
    fleet.setFault('prod-1', { status: 503, times: 50 });
    // when
    const run = await runCli(['sync', '--registry', registry]);
    // then
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /prod-1\s+ns-failing\s+db-credentials\s+payments-db\s+failed \(ClusterUnavailable, retryable\)/,
    );
    expect(run.stderr).toContain('secret-propagator: sync incomplete: 1 target(s) failed');
    expect(fleet.state.getSecret('dev-1', 'ns-failing', 'db-credentials')).toBeDefined();
    expect(fleet.state.getSecret('prod-1', 'ns-failing', 'db-credentials')).toBeUndefined();
  });

  it('sync exits 1 with the reason when the source has no such secret', async () => {
    // given
    const registry = await aScenario('missing', [aBinding({ remoteRef: { key: 'does/not-exist' } })]);
    // when
    const run = await runCliInProcess(['sync', '--registry', registry]);
    // then
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      'payments-db: SecretNotFound: secret "does/not-exist" not found in local source "local-store"',
    );
    expect(run.stderr).toContain('secret-propagator: sync incomplete: 1 binding(s) failed');
  });

  it('restart rolls out the dependents of a binding in every cluster and exits 0', async () => {
    // given
    const registry = await aScenario('restart');
    expect((await runCliInProcess(['sync', '--registry', registry])).code).toBe(0);
    const before = CLUSTERS.map((c) =>
      JSON.stringify(fleet.state.getWorkload(c, 'Deployment', 'ns-restart', 'api')?.['spec']),
    );
    // when
    const run = await runCli(['restart', '--registry', registry, '--binding', 'payments-db']);
    // then
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /dev-1\s+ns-restart\s+db-credentials\s+payments-db\s+\S+\s+\S+\s+Deployment\/api/,
    );
    for (const [i, cluster] of CLUSTERS.entries()) {
      const spec = fleet.state.getWorkload(cluster, 'Deployment', 'ns-restart', 'api')?.['spec'] as {
        template: { metadata: { annotations?: Record<string, string> } };
      };
      expect(JSON.stringify(spec)).not.toBe(before[i]);
      expect(spec.template.metadata.annotations?.['kubectl.kubernetes.io/restartedAt']).toBeDefined();
    }
  });
});
