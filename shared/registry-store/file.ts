import { readFile, stat, writeFile } from 'node:fs/promises';
import type { RegistryStore } from './types.js';

/** A published registry in a local file (`file://`): local runs, tests and benchmarks. */
export function createFileRegistryStore(url: string, path: string): RegistryStore {
  const versionOf = async () => {
    const info = await stat(path);
    return `${info.mtimeMs}-${info.size}`;
  };
  return {
    url,
    version: versionOf,
    async read() {
      const version = await versionOf();
      return { text: await readFile(path, 'utf8'), version };
    },
    async write(text) {
      await writeFile(path, text);
      return versionOf();
    },
  };
}
