#!/usr/bin/env node
// Launcher for the `secret-propagator` CLI: runs shared/cli/main.ts through tsx, so the
// CLI works straight after `npm ci` with no build step.
//
// The project runs on Node 22 (pinned as the `node` dev dependency): on an older Node the
// Kubernetes client crashes at import, so re-run this file with the pinned one if present.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const major = Number(process.versions.node.split('.')[0]);

if (major < 22) {
  const pinned = join(root, 'node_modules', '.bin', 'node');
  if (!existsSync(pinned)) {
    process.stderr.write(
      `secret-propagator: needs Node.js 22 or later (this is ${process.version}); run npm ci to install the pinned one\n`,
    );
    process.exit(2);
  }
  const result = spawnSync(pinned, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  process.exit(result.status ?? 1);
}

const { register } = await import('tsx/esm/api');
register();
const { runCli } = await import(join(root, 'shared', 'cli', 'main.ts'));
process.exitCode = await runCli(process.argv.slice(2));
