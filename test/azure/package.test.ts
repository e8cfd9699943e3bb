import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { build } from 'esbuild';

const ROOT = join(import.meta.dirname, '..', '..');
const NODE = join(ROOT, 'node_modules', '.bin', 'node');

describe('Function App package for `func azure functionapp publish`', () => {
  const out = mkdtempSync(join(tmpdir(), 'azure-package-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('builds host.json, a package.json pointing at one ESM bundle, and the bundle registers the four functions', () => {
    // when
    const build = spawnSync(
      NODE,
      [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(ROOT, 'functions', 'azure', 'build.ts')],
      {
        env: { ...process.env, AZURE_BUILD_OUT: out },
        encoding: 'utf8',
      },
    );
    // then
    expect(build.stderr).not.toMatch(/error/i);
    expect(build.status).toBe(0);
    const pkg = JSON.parse(readFileSync(join(out, 'package.json'), 'utf8')) as {
      main: string;
      type: string;
      dependencies?: unknown;
    };
    expect(pkg).toMatchObject({ main: 'dist/index.js', type: 'module' });
    expect(pkg.dependencies).toBeUndefined();
    expect(existsSync(join(out, pkg.main))).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'host.json'), 'utf8'))).toMatchObject({ version: '2.0' });

    // when: loaded outside the host, @azure/functions reports each registration it skips
    const load = spawnSync(
      NODE,
      ['--input-type=module', '-e', `await import(${JSON.stringify(join(out, pkg.main))});`],
      {
        env: { ...process.env, REGISTRY: 'apiVersion: secret-propagator/v1\n' },
        encoding: 'utf8',
      },
    );
    // then
    expect(load.status).toBe(0);
    const registered = [...`${load.stdout}${load.stderr}`.matchAll(/register function "([^"]+)"/g)]
      .map((m) => m[1])
      .sort();
    expect(registered).toEqual(['applyWorkItem', 'scheduled', 'scheduledRotate', 'secretChanged']);
  });

  it('leaves @azure/identity and MSAL out of the bundle (the function authenticates with its managed identity endpoint)', async () => {
    // when: bundled as build.ts bundles it
    const result = await build({
      entryPoints: [join(ROOT, 'functions', 'azure', 'index.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      external: ['@azure/functions-core'],
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    // then
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((p) => p.includes('functions/azure/managed-identity.ts'))).toBe(true);
    expect(inputs.filter((p) => /node_modules\/@azure\/(identity|msal-node|msal-common)\//.test(p))).toEqual(
      [],
    );
  });
});
