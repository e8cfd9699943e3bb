/**
 * Builds the Cloud Functions (2nd gen) source for infra/gcp:
 *   dist/gcp/index.mjs     one ESM bundle of functions/gcp (Google SDKs only)
 *   dist/gcp/package.json  "main": "index.mjs", depends on @google-cloud/functions-framework
 *   dist/gcp-function.zip  the two files, for `function_source_zip`
 * The Functions Framework stays external: the platform starts the installed framework,
 * which must be the same module instance our `cloudEvent(...)` registrations went to. The
 * Google client libraries stay external too (google-gax reads its .proto files from disk);
 * Cloud Build installs all of them from the generated package.json.
 * Usage: npm run build:gcp (GCP_BUILD_OUT overrides the folder)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const out = process.env['GCP_BUILD_OUT'] ?? join(root, 'dist', 'gcp');
const FRAMEWORK = '@google-cloud/functions-framework';
const EXTERNAL = [FRAMEWORK, '@google-cloud/pubsub', '@google-cloud/secret-manager', 'google-auth-library'];

const rootPackage = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
};
const dependencies = Object.fromEntries(
  EXTERNAL.map((name) => {
    const version = rootPackage.dependencies[name];
    if (version === undefined) throw new Error(`${name} is missing from package.json dependencies`);
    return [name, version];
  }),
);

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

await build({
  entryPoints: [join(here, 'index.ts')],
  outfile: join(out, 'index.mjs'),
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  sourcemap: 'linked',
  external: EXTERNAL,
  // CommonJS dependencies inside an ESM bundle call require() for Node built-ins.
  banner: {
    js: "import { createRequire as __spCreateRequire } from 'node:module'; const require = __spCreateRequire(import.meta.url);",
  },
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
