/**
 * Builds the Cloud Functions (2nd gen) source for infra/gcp:
 *   dist/gcp/index.mjs     one minified ESM bundle of functions/gcp with the Secret Manager
 *                          client (REST transport) and google-auth-library inside
 *   dist/gcp/package.json  "main": "index.mjs", depends on the Functions Framework and Pub/Sub
 *   dist/gcp-function.zip  those files and the source map, for `function_source_zip`
 * The esbuild options live in functions/gcp/bundle.ts, shared with the cold-start
 * measurement (test/bench/cold-start.ts). The Functions Framework stays external because
 * the platform starts the installed framework, which must be the module instance our
 * `cloudEvent(...)` registrations went to; @google-cloud/pubsub because it is loaded only
 * on the first fan-out. Cloud Build installs both from the generated package.json.
 * Usage: npm run build:gcp (GCP_BUILD_OUT overrides the folder)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { GCP_EXTERNAL, gcpBundleOptions } from './bundle.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const out = process.env['GCP_BUILD_OUT'] ?? join(root, 'dist', 'gcp');

const rootPackage = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
};
const dependencies = Object.fromEntries(
  GCP_EXTERNAL.map((name) => {
    const version = rootPackage.dependencies[name];
    if (version === undefined) throw new Error(`${name} is missing from package.json dependencies`);
    return [name, version];
  }),
);

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

await build({
  ...gcpBundleOptions,
  entryPoints: [join(here, 'index.ts')],
  outfile: join(out, 'index.mjs'),
  sourcemap: 'linked',
  logLevel: 'warning',
});

writeFileSync(
  join(out, 'package.json'),
  `${JSON.stringify(
    {
      name: 'secret-propagator-gcp',
      version: '0.1.0',
      private: true,
      type: 'module',
      main: 'index.mjs',
      engines: { node: '>=22' },
      dependencies,
    },
    null,
    2,
  )}\n`,
);

const zip = join(dirname(out), 'gcp-function.zip');
rmSync(zip, { force: true });
execFileSync('zip', ['-q', '-r', zip, 'index.mjs', 'index.mjs.map', 'package.json'], { cwd: out });
console.log(`built ${out} and ${zip}`);
