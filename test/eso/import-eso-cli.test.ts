import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { registrySchema } from '../../shared/registry/schema.js';
import { repoRoot, runCli } from '../cli/run-cli.js';

const FIXTURES = join(repoRoot, 'test', 'fixtures', 'eso');

describe('secret-propagator import-eso', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'import-eso-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('converts a folder of manifests into registry YAML with one binding per ExternalSecret, reporting the rest on stderr', async () => {
    // given
    const output = join(dir, 'registry.yaml');
    // when
    const run = await runCli(['import-eso', FIXTURES, '-o', output, '--clusters', 'env=prod,region=eu']);
    // then
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('');
    const registry = registrySchema.parse(parse(await readFile(output, 'utf8')));
    expect(registry.bindings.map((b) => b.name).sort()).toEqual(
      [
        'app-config-team-a',
        'app-config-team-b',
        'git-deploy-key',
        'grafana-admin',
        'payments-db',
        'registry-pull',
        'web-tls',
      ].sort(),
    );
    expect(
      registry.bindings.every(
        (b) =>
          JSON.stringify(b.target.clusters) ===
          JSON.stringify({ matchLabels: { env: 'prod', region: 'eu' } }),
      ),
    ).toBe(true);
    expect(registry.sources.map((s) => `${s.name}:${s.provider}`).sort()).toEqual(
      ['aws-store:aws', 'aws-us:aws', 'azure-store:azure', 'gcp-store:gcp', 'vault-backend:vault'].sort(),
    );
    expect(run.stderr).toContain('note: ClusterSecretStore vault-backend');
    expect(run.stderr).toContain('defined more than once with different specs');
    expect(run.stderr).toContain('not converted: ExternalSecret apps/pkcs12');
    expect(run.stderr).toContain('unsupported function(s) pkcs12cert');
    expect(run.stderr).toContain('not converted: ExternalSecret apps/generated');
    expect(run.stderr).toContain('refreshInterval 1h is not carried over');
  });

  it('writes to stdout by default', async () => {
    const run = await runCli(['import-eso', join(FIXTURES, 'dockerconfig-gcp', 'manifests.yaml')]);
    expect(run.code).toBe(0);
    const registry = registrySchema.parse(parse(run.stdout));
    expect(registry.bindings[0]?.target.clusters).toEqual({ matchLabels: {} });
    expect(registry.sources).toEqual([{ name: 'gcp-store', provider: 'gcp', project: 'acme-prod' }]);
  });

  it('exits 2 when nothing could be converted, saying why', async () => {
    const run = await runCli(['import-eso', join(FIXTURES, 'unsupported')]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('provider "kubernetes" is not supported');
    expect(run.stderr).toContain('nothing could be converted');
  });

  it('exits 2 for a path that does not exist', async () => {
    const run = await runCli(['import-eso', join(dir, 'missing.yaml')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no such file or folder');
  });
});
