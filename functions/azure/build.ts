/**
 * Builds the deployable Function App folder `dist/azure/` that
 * `func azure functionapp publish <app> --javascript` (run inside it) accepts:
 *   dist/azure/host.json
 *   dist/azure/package.json   ("main": "dist/index.js", no dependencies: all bundled)
 *   dist/azure/dist/index.js  (one ESM bundle; @azure/functions-core is provided by the host)
 * Usage: npm run build:azure (AZURE_BUILD_OUT overrides the folder)
 */
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { ESM_REQUIRE_BANNER } from '../../shared/runtime/esm-banner.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const out = process.env['AZURE_BUILD_OUT'] ?? join(root, 'dist', 'azure');

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'dist'), { recursive: true });

await build({
  entryPoints: [join(here, 'index.ts')],
  outfile: join(out, 'dist', 'index.js'),
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  sourcemap: 'linked',
  minify: false,
  // The Functions host injects this module at run time.
  external: ['@azure/functions-core'],
  banner: { js: ESM_REQUIRE_BANNER },
  logLevel: 'warning',
});

copyFileSync(join(here, 'host.json'), join(out, 'host.json'));
writeFileSync(
  join(out, 'package.json'),
  `${JSON.stringify({ name: 'secret-propagator-azure', version: '0.1.0', private: true, type: 'module', main: 'dist/index.js', engines: { node: '>=22' } }, null, 2)}\n`,
);
writeFileSync(join(out, '.funcignore'), '*.map\n');
console.log(`built ${out}`);
