import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from '@jest/globals';
import { parseRegistry } from '../../shared/registry/load.js';
import { parsePublished } from '../../shared/registry/published.js';
import type { RegistryStore } from '../../shared/registry-store/types.js';
import { runCliInProcess } from '../cli/run-cli.js';
import { aRegistry, binding } from './a-registry.js';

/** What one object store's tests provide: where to publish, and the store read back through the real SDK client. */
export interface StoreUnderTest {
  /** A fresh `--to` URL (a new object per call). */
  url(): string;
  /** The store for that URL as a function opens it. */
  open(url: string): RegistryStore;
  /** Environment for the CLI (emulator endpoints, credentials). */
  env(): Record<string, string>;
}

const folder = mkdtempSync(join(tmpdir(), 'publish-'));
function registryFile(name: string, text: string): string {
  const path = join(folder, name);
  writeFileSync(path, text);
  return path;
}

/**
 * The behaviour every store shares, through `secret-propagator publish` and the store a
 * function reads with: refusal of an invalid registry with nothing written, a round trip to
 * the validated registry, and a new version per publish.
 */
export function itPublishesThrough(store: StoreUnderTest): void {
  it('refuses an invalid registry with every problem by path, exit 2, and writes nothing', async () => {
    // given
    const url = store.url();
    const invalid = aRegistry(
      (r) => void delete binding(r)['target']?.['namespace'],
      (r) => void Object.assign(r.clusters[0] ?? {}, { server: 'http://127.0.0.1:6443' }),
    );

    // when
    const run = await runCliInProcess(
      ['publish', '--registry', registryFile('invalid.yaml', invalid), '--to', url],
      store.env(),
    );

    // then
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('clusters[0].server: must be an https:// URL (TLS is always verified)');
    expect(run.stderr).toContain('bindings[0].target.namespace: required (expected string)');
    await expect(store.open(url).version()).rejects.toThrow();
  });

  it('publishes the validated registry, read back by the functions’ client as it was validated', async () => {
    // given
    const url = store.url();
    const text = aRegistry();

    // when
    const run = await runCliInProcess(
      ['publish', '--registry', registryFile('valid.yaml', text), '--to', url],
      store.env(),
    );
    const read = await store.open(url).read();

    // then
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      new RegExp(
        `^published .*valid\\.yaml to ${url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: 2 cluster\\(s\\), 1 source\\(s\\), 1 binding\\(s\\), \\d+ bytes, sha256 [0-9a-f]{64}, version .+\\n$`,
      ),
    );
    expect(run.stdout).toContain(`version ${read.version}\n`);
    expect(parsePublished(read.text, url).registry).toEqual(parseRegistry(text).registry);
  });

  it('gives each publish a new version, which the cheap version check sees', async () => {
    // given
    const url = store.url();
    const first = registryFile('first.yaml', aRegistry());
    const second = registryFile(
      'second.yaml',
      aRegistry((r) => void Object.assign(r.clusters[0] ?? {}, { labels: { env: 'prod', tier: 'gold' } })),
    );
    await runCliInProcess(['publish', '--registry', first, '--to', url], store.env());
    const reader = store.open(url);
    const before = await reader.version();

    // when
    const run = await runCliInProcess(['publish', '--registry', second, '--to', url], store.env());
    const after = await reader.version();
    const read = await reader.read();

    // then
    expect(run.code).toBe(0);
    expect(after).not.toBe(before);
    expect(read.version).toBe(after);
    expect(parsePublished(read.text, url).registry.clusters[0]?.labels).toEqual({
      env: 'prod',
      tier: 'gold',
    });
  });
}
