import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { parseManifests, type Manifest } from './convert.js';

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** Every manifest in the given files and folders (folders recursively, *.yaml, *.yml, *.json), in path order. */
export async function readManifests(paths: readonly string[]): Promise<Manifest[]> {
  const files: string[] = [];
  const visit = async (path: string, explicit: boolean): Promise<void> => {
    const info = await stat(path).catch(() => undefined);
    if (info === undefined) throw new Error(`${path}: no such file or folder`);
    if (info.isDirectory()) {
      const entries = (await readdir(path)).sort();
      for (const entry of entries) if (!entry.startsWith('.')) await visit(join(path, entry), false);
    } else if (explicit || MANIFEST_EXTENSIONS.has(extname(path).toLowerCase())) {
      files.push(path);
    }
  };
  for (const path of paths) await visit(path, true);
  const manifests: Manifest[] = [];
  for (const file of files) manifests.push(...parseManifests(await readFile(file, 'utf8'), file));
  return manifests;
}
