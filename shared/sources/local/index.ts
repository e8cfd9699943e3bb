import { generatePassword } from '../../core/password.js';
import { isAbsolute, join, resolve } from 'node:path';
import { Provider } from '../../core/change.js';
import { SecretNotFoundError } from '../../core/errors.js';
import type { Clock, Logger, SecretSource, SecretValue } from '../../core/ports.js';
import { systemClock } from '../../core/ports.js';
import type { SourceSpecOf } from '../../registry/schema.js';
import {
  currentVersionOf,
  fromBytes,
  loadLocalStore,
  toBytes,
  writeEntry,
  type LocalEntry,
} from './store-file.js';

export {
  currentVersionOf,
  loadLocalStore,
  type LocalEntry,
  type LocalStore,
  type LocalVersion,
} from './store-file.js';
export { watchLocalSource, type LocalSourceWatcher, type WatchLocalSourceOptions } from './watch.js';

export interface LocalSourceOptions {
  /** The registry name of this source. */
  name: string;
  /** A JSON/YAML store file, or a folder of them. */
  path: string;
  /** @default systemClock (stamps `created` on written versions) */
  clock?: Clock;
  /** Makes a rotated value. @default a 32-character random password (letters and digits) */
  generatePassword?: () => string;
}

function nextVersionId(entry: LocalEntry): string {
  const numeric = entry.versions.map((v) => Number(v.id)).filter((n) => Number.isInteger(n));
  let next = (numeric.length === 0 ? 0 : Math.max(...numeric)) + 1;
  while (entry.versions.some((v) => v.id === String(next))) next++;
  return String(next);
}

/**
 * The `local` source: secrets with version history in a JSON/YAML file or a folder of them.
 * Every read goes to the file, so hand edits and watcher events are seen at once.
 * Writes of one source are serialised; `rotate` and `writeVersion` append a version and
 * point `current` at it, which the watcher then reports as a change.
 */
export function createLocalSource(options: LocalSourceOptions): SecretSource {
  const clock = options.clock ?? systemClock;
  const generate = options.generatePassword ?? (() => generatePassword(32, false));
  let writes: Promise<unknown> = Promise.resolve();

  async function entryOf(
    key: string,
  ): Promise<{ entry: LocalEntry | undefined; isFolder: boolean; files: string[] }> {
    const store = await loadLocalStore(options.path);
    return { entry: store.entries.get(key), isFolder: store.isFolder, files: store.files };
  }

  function notFound(key: string): SecretNotFoundError {
    return new SecretNotFoundError(
      `secret "${key}" not found in local source "${options.name}" (${options.path})`,
    );
  }

  async function appendVersion(
    key: string,
    makeBytes: (current: Uint8Array | undefined) => Uint8Array,
  ): Promise<{ versionId: string }> {
    const run = writes.then(async () => {
      const { entry, isFolder, files } = await entryOf(key);
      let target: LocalEntry;
      if (entry !== undefined) target = entry;
      else if (!isFolder) target = { name: key, file: options.path, versions: [] };
      else {
        // A new secret in a folder store goes to the first file, or a new secrets.yaml.
        target = { name: key, file: files[0] ?? join(options.path, 'secrets.yaml'), versions: [] };
      }
      const current = currentVersionOf(target);
      const bytes = makeBytes(current?.bytes);
      const id = nextVersionId(target);
      const updated: LocalEntry = {
        ...target,
        versions: [
          ...target.versions,
          { id, created: clock.now().toISOString(), enabled: true, value: fromBytes(bytes), bytes },
        ],
        currentPointer: id,
      };
      await writeEntry(target.file, updated);
      return { versionId: id };
    });
    writes = run.catch(() => undefined);
    return run;
  }

  return {
    provider: Provider.Local,
    name: options.name,

    async read(key: string, readOptions?: { version?: string }): Promise<SecretValue> {
      const { entry } = await entryOf(key);
      if (entry === undefined) throw notFound(key);
      const wanted = readOptions?.version;
      const version =
        wanted === undefined ? currentVersionOf(entry) : entry.versions.find((v) => v.id === wanted);
      if (version === undefined) {
        throw wanted === undefined
          ? new SecretNotFoundError(
              `secret "${key}" in local source "${options.name}" has no enabled version`,
            )
          : new SecretNotFoundError(
              `secret "${key}" in local source "${options.name}" has no version "${wanted}"`,
            );
      }
      if (!version.enabled) {
        throw new SecretNotFoundError(
          `version "${version.id}" of secret "${key}" in local source "${options.name}" is disabled`,
        );
      }
      return {
        versionId: version.id,
        bytes: version.bytes,
        ...(version.created === undefined ? {} : { createdAt: new Date(version.created) }),
        ...(typeof version.value === 'string'
          ? { contentType: 'text/plain' }
          : { contentType: 'application/json' }),
      };
    },

    refersTo(key: string, changeRef: string): boolean {
      return key === changeRef;
    },

    async currentVersion(key: string): Promise<string> {
      const { entry } = await entryOf(key);
      if (entry === undefined) throw notFound(key);
      const version = currentVersionOf(entry);
      if (version === undefined)
        throw new SecretNotFoundError(
          `secret "${key}" in local source "${options.name}" has no enabled version`,
        );
      return version.id;
    },

    /**
     * Appends a generated version. A JSON object value keeps its other properties and gets a
     * new `password`; any other value is replaced by the generated password.
     */
    async rotate(key: string): Promise<void> {
      const { entry } = await entryOf(key);
      if (entry === undefined) throw notFound(key);
      await appendVersion(key, (current) => {
        const password = generate();
        if (current !== undefined) {
          const kept = fromBytes(current);
          if ('value' in kept && typeof kept.value === 'object' && kept.value !== null) {
            return toBytes({ ...(kept.value as Record<string, unknown>), password });
          }
        }
        return toBytes(password);
      });
    },

    async writeVersion(key: string, bytes: Uint8Array): Promise<{ versionId: string }> {
      return appendVersion(key, () => bytes);
    },
  };
}

/** Builds a local source from its registry entry; relative paths resolve against the registry's folder. */
export function localSourceFactory(
  spec: SourceSpecOf<'local'>,
  ctx: { baseDir: string; logger: Logger },
): SecretSource {
  const path = isAbsolute(spec.path) ? spec.path : resolve(ctx.baseDir, spec.path);
  return createLocalSource({ name: spec.name, path });
}
