import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build, type BuildOptions } from 'esbuild';
import { gcpBundleOptions } from '../../functions/gcp/bundle.js';
import { median } from './stats.js';
import { ESM_REQUIRE_BANNER } from '../../shared/runtime/esm-banner.js';

/**
 * Cold start of each function bundle: size of the minified esbuild bundle (what the
 * platforms load) and the time to import it in a fresh Node process (module init:
 * SDK clients constructed, registry parsed). Both the way the deploy tooling builds them.
 */

export interface ColdStartResult {
  name: string;
  entry: string;
  bundleBytes: number;
  initMs: number;
  /** The first error line when the bundle failed to initialise. */
  error?: string;
}

/**
 * `external`: what the platform provides (the Azure host injects @azure/functions-core).
 * `options`: the deploy build's own esbuild options, when it shares them; they replace the
 * defaults below (entry, output file and log level excepted).
 */
export const FUNCTION_ENTRIES: readonly {
  name: string;
  entry: string;
  external?: string[];
  options?: BuildOptions;
}[] = [
  { name: 'aws/secret-changed', entry: 'functions/aws/secret-changed.ts' },
  { name: 'aws/scheduled', entry: 'functions/aws/scheduled.ts' },
  { name: 'aws/apply-worker', entry: 'functions/aws/apply-worker.ts' },
  { name: 'azure/index', entry: 'functions/azure/index.ts', external: ['@azure/functions-core'] },
  // Built exactly as functions/gcp/build.ts builds it.
  { name: 'gcp/index', entry: 'functions/gcp/index.ts', options: gcpBundleOptions },
];

const REGISTRY = `apiVersion: secret-propagator/v1
clusters:
  - name: c1
    server: https://127.0.0.1:1
    auth: { type: token, tokenFrom: { source: store, key: token } }
sources:
  - { name: store, provider: local, path: ./store.json }
bindings:
  - name: app
    source: store
    remoteRef: { key: app }
    target: { name: app, namespace: app, clusters: { names: [c1] } }
`;

/** Median of `runs` fresh-process imports of `file`, in ms. */
function importTime(file: string, cwd: string, runs: number): number {
  const script = `const t = performance.now(); await import(${JSON.stringify(file)}); process.stdout.write(String(performance.now() - t));`;
  const times: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd,
      env: {
        PATH: process.env['PATH'] ?? '',
        REGISTRY_FILE: join(cwd, 'registry.yaml'),
        AWS_REGION: 'us-east-1',
        NODE_ENV: 'production',
      },
      encoding: 'utf8',
      timeout: 30_000,
    });
    times.push(Number(out));
  }
  return median(times);
}

export async function measureColdStarts(root: string, runs = 5): Promise<ColdStartResult[]> {
  // Inside the repo so that externals resolve from its node_modules, as on the platform.
  mkdirSync(join(root, '.build'), { recursive: true });
  const dir = mkdtempSync(join(root, '.build', 'cold-'));
  writeFileSync(join(dir, 'registry.yaml'), REGISTRY);
  writeFileSync(join(dir, 'store.json'), JSON.stringify({ app: 'v', token: 't' }));
  const results: ColdStartResult[] = [];
  try {
    for (const { name, entry, external, options } of FUNCTION_ENTRIES) {
      const source = resolve(root, entry);
      if (!existsSync(source)) continue;
      const outfile = join(dir, `${name.replace('/', '-')}.mjs`);
      await build({
        bundle: true,
        minify: true,
        platform: 'node',
        format: 'esm',
        target: 'node22',
        mainFields: ['module', 'main'],
        banner: { js: ESM_REQUIRE_BANNER },
        legalComments: 'none',
        external: external ?? [],
        ...options,
        entryPoints: [source],
        outfile,
        logLevel: 'silent',
      });
      const bundleBytes = statSync(outfile).size;
      try {
        results.push({ name, entry, bundleBytes, initMs: importTime(outfile, dir, runs) });
      } catch (error) {
        const raw = (error as { stderr?: unknown }).stderr;
        const stderr = typeof raw === 'string' ? raw : Buffer.isBuffer(raw) ? raw.toString('utf8') : '';
        const line = stderr.split('\n').find((l) => /Error/.test(l)) ?? 'import failed';
        results.push({ name, entry, bundleBytes, initMs: Number.NaN, error: line.slice(0, 300) });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}
