import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SecretChange } from '../../core/change.js';
import { errorCodeOf } from '../../core/errors.js';
import type { Clock, Logger, SecretSource } from '../../core/ports.js';
import type { Registry } from '../../registry/schema.js';
import { requiredReads } from '../../template/index.js';
import type { VaultSource } from './index.js';

/**
 * The last current version seen per secret. Open-source Vault has no push events, so
 * the scheduled poll compares `current_version` from the metadata endpoint with this.
 *
 * Where functions keep it: `createFilePollState(path)`, by default at
 * `$VAULT_POLL_STATE_FILE` or `/tmp/secret-propagator/vault-poll-state.json`. On a cold
 * start with an empty file the poll only records a baseline (no change is emitted);
 * the scheduled reconcile repairs anything that changed while no state was kept.
 */
export interface PollState {
  get(key: string): Promise<string | undefined>;
  set(key: string, version: string): Promise<void>;
}

export function createMemoryPollState(
  initial: Record<string, string> = {},
): PollState & { snapshot(): Record<string, string> } {
  const versions = new Map(Object.entries(initial));
  return {
    get: (key) => Promise.resolve(versions.get(key)),
    set: (key, version) => {
      versions.set(key, version);
      return Promise.resolve();
    },
    snapshot: () => Object.fromEntries(versions),
  };
}

/** A JSON file of `{ "<source>/<mount>/<key>": "<version>" }`, written atomically (temp file + rename). */
export function createFilePollState(
  path = process.env['VAULT_POLL_STATE_FILE'] ?? '/tmp/secret-propagator/vault-poll-state.json',
): PollState {
  let cache: Record<string, string> | undefined;
  const load = async (): Promise<Record<string, string>> => {
    if (cache !== undefined) return cache;
    try {
      const parsed: unknown = JSON.parse(await readFile(path, 'utf8'));
      cache =
        parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
          ? Object.fromEntries(
              Object.entries(parsed).filter((e): e is [string, string] => typeof e[1] === 'string'),
            )
          : {};
    } catch {
      cache = {};
    }
    return cache;
  };
  return {
    get: async (key) => (await load())[key],
    set: async (key, version) => {
      const state = await load();
      state[key] = version;
      await mkdir(dirname(path), { recursive: true });
      const temp = `${path}.${process.pid}.tmp`;
      await writeFile(temp, JSON.stringify(state, null, 2));
      await rename(temp, path);
    },
  };
}

export interface PollVaultOptions {
  source: VaultSource;
  /** The KV paths bindings use in this source. */
  keys: readonly string[];
  state: PollState;
  clock?: Clock;
  /** Failures for one key are logged (code only) and retried on the next poll. */
  logger?: Logger;
}

/**
 * One poll: one metadata read per secret. Returns a `version-current` change for each
 * secret whose current version differs from the last one seen, and records the new
 * version. A secret seen for the first time only sets the baseline.
 */
export async function pollVault(options: PollVaultOptions): Promise<SecretChange[]> {
  const { source, state, logger } = options;
  const now = (options.clock?.now() ?? new Date()).toISOString();
  const changes: SecretChange[] = [];
  for (const key of [...new Set(options.keys)]) {
    const secretRef = `${source.mount}/${key.replace(/^\/+/, '')}`;
    const stateKey = `${source.name}/${secretRef}`;
    let version: string;
    try {
      version = await source.currentVersion(key);
    } catch (error) {
      logger?.warn('vault poll could not read metadata', {
        source: source.name,
        secretRef,
        errorCode: errorCodeOf(error),
        outcome: 'failed',
      });
      continue;
    }
    const last = await state.get(stateKey);
    if (last === version) continue;
    await state.set(stateKey, version);
    if (last === undefined) {
      logger?.debug('vault poll baseline recorded', { source: source.name, secretRef, version });
      continue;
    }
    changes.push({
      provider: 'vault',
      secretRef,
      versionId: version,
      kind: 'version-current',
      eventId: `vault-poll:${source.name}:${secretRef}:${version}`,
      time: now,
      origin: 'vault/poll',
    });
  }
  return changes;
}

/** The Vault KV paths each vault source's bindings read (pinned versions excluded: they never change). */
export function vaultKeysBySource(registry: Pick<Registry, 'sources' | 'bindings'>): Map<string, string[]> {
  const vaultSources = new Set(registry.sources.filter((s) => s.provider === 'vault').map((s) => s.name));
  const keys = new Map<string, Set<string>>();
  for (const binding of registry.bindings) {
    if (!vaultSources.has(binding.source)) continue;
    const set = keys.get(binding.source) ?? new Set<string>();
    for (const read of requiredReads(binding)) if (read.version === undefined) set.add(read.key);
    keys.set(binding.source, set);
  }
  return new Map([...keys].map(([source, set]) => [source, [...set].sort()]));
}

/**
 * The scheduled Vault poll for a whole registry: polls every vault source for the keys
 * its bindings read and returns the changes to hand to `runtime.handle`, e.g.
 * `for (const change of await pollRegistryVaults({ registry, sources: runtime.sources, state })) await runtime.handle(change)`.
 */
export async function pollRegistryVaults(options: {
  registry: Pick<Registry, 'sources' | 'bindings'>;
  sources: ReadonlyMap<string, SecretSource>;
  state: PollState;
  clock?: Clock;
  logger?: Logger;
}): Promise<SecretChange[]> {
  const changes: SecretChange[] = [];
  for (const [name, keys] of vaultKeysBySource(options.registry)) {
    const source = options.sources.get(name);
    if (
      source === undefined ||
      source.provider !== 'vault' ||
      !('mount' in source) ||
      source.currentVersion === undefined
    )
      continue;
    changes.push(
      ...(await pollVault({
        source: source as VaultSource,
        keys,
        state: options.state,
        ...(options.clock === undefined ? {} : { clock: options.clock }),
        ...(options.logger === undefined ? {} : { logger: options.logger }),
      })),
    );
  }
  return changes;
}
