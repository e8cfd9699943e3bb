import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createFileRegistryStore } from '../../shared/registry-store/file.js';
import { aRegistry } from '../registry/a-registry.js';
import { itPublishesThrough } from '../registry/store-contract.js';
import { runCli, runCliInProcess } from './run-cli.js';

const folder = mkdtempSync(join(tmpdir(), 'publish-file-'));
let objects = 0;

describe('secret-propagator publish --to file://', () => {
  itPublishesThrough({
    url: () => pathToFileURL(join(folder, `registry-${++objects}.json`)).href,
    open: (url) => createFileRegistryStore(url, new URL(url).pathname),
    env: () => ({}),
  });
});

describe('secret-propagator publish: refused destinations', () => {
  const registry = join(folder, 'registry.yaml');
  beforeAll(() => writeFileSync(registry, aRegistry()));

  it.each([
    [
      'ftp://host/registry.json',
      'registry URL "ftp://host/registry.json": unsupported scheme ftp: (expected s3://, gs://, https://<account>.blob.core.windows.net/ or file://)',
    ],
    ['s3://bucket-only', 'registry URL "s3://bucket-only": expected s3://<bucket>/<key>'],
    [
      'https://example.com/registry.json',
      'registry URL "https://example.com/registry.json": an https:// registry URL must be an Azure Blob Storage URL (https://<account>.blob.core.windows.net/<container>/<blob>)',
    ],
    [
      'https://acct.blob.core.windows.net/container',
      'registry URL "https://acct.blob.core.windows.net/container": expected https://<account>.blob.core.windows.net/<container>/<blob>',
    ],
  ])('refuses %s with exit 2', async (to, message) => {
    // when
    const run = await runCliInProcess(['publish', '--registry', registry, '--to', to]);

    // then
    expect(run).toEqual({ code: 2, stdout: '', stderr: `secret-propagator: ${message}\n` });
  });

  it('needs --to, through the real launcher', async () => {
    // when
    const run = await runCli(['publish', '--registry', registry]);

    // then
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("required option '--to <url>' not specified");
  });
});
