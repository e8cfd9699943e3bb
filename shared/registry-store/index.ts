import { ConfigError } from '../core/errors.js';
import { createFileRegistryStore } from './file.js';
import { parseRegistryUrl, type RegistryLocation } from './location.js';
import type { RegistryStore } from './types.js';

export { parseRegistryUrl, type RegistryLocation } from './location.js';
export type { RegistryStore, StoredRegistry } from './types.js';
export { createFileRegistryStore } from './file.js';

type CloudKind = Exclude<RegistryLocation['kind'], 'file'>;

/** One opener per cloud, so each function bundles only its own SDK. */
export type StoreOpeners = {
  [K in CloudKind]?: (location: Extract<RegistryLocation, { kind: K }>) => RegistryStore;
};

/**
 * The store a registry URL names. `file://` is always available; a cloud scheme needs the
 * opener the caller passes (a function passes its own cloud's only).
 */
export function openRegistryStore(url: string, openers: StoreOpeners): RegistryStore {
  const location = parseRegistryUrl(url);
  if (location.kind === 'file') return createFileRegistryStore(url, location.path);
  const open = openers[location.kind] as ((at: RegistryLocation) => RegistryStore) | undefined;
  if (open === undefined) {
    throw new ConfigError(
      `registry URL "${url}" is in ${location.kind}, which this function does not read (it reads: file${Object.keys(
        openers,
      )
        .map((k) => `, ${k}`)
        .join('')})`,
    );
  }
  return open(location);
}
