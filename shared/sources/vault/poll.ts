import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SecretChange } from '../../core/change.js';
import { errorCodeOf } from '../../core/errors.js';
import type { Clock, Logger } from '../../core/ports.js';
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

export function createMemoryPollState(initial: Record<string, string> = {}): PollState & { snapshot(): Record<string, string> } {
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
export function createFilePollState(path = process.env['VAULT_POLL_STATE_FILE'] ?? '/tmp/secret-propagator/vault-poll-state.json'): PollState {
  let cache: Record<string, string> | undefined;
  const load = async (): Promise<Record<string, string>> => {
    if (cache !== undefined) return cache;
    try {
      const parsed: unknown = JSON.parse(await readFile(path, 'utf8'));
      cache = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? Object.fromEntries(Object.entries(parsed).filter((e): e is [string, string] => typeof e[1] === 'string')) : {};
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
      logger?.warn('vault poll could not read metadata', { source: source.name, secretRef, errorCode: errorCodeOf(error), outcome: 'failed' });
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
