import { SecretNotFoundError } from '../../shared/core/errors.js';
import type { SecretSource, SecretValue } from '../../shared/core/ports.js';
import type { Provider } from '../../shared/core/change.js';

/**
 * An in-memory secret store implementing the real `SecretSource` port: versions per key,
 * a current pointer, typed not-found, and a log of reads so tests can count store calls.
 */
export interface MemorySource extends SecretSource {
  /** Adds a version and makes it current; returns its id. Objects are stored as JSON. */
  put(
    key: string,
    value: string | Record<string, unknown>,
    options?: { createdAt?: Date; current?: boolean },
  ): string;
  /** Makes an existing version current (e.g. AWSPENDING promoted). */
  promote(key: string, versionId: string): void;
  remove(key: string): void;
  /** Makes the next `times` reads of `key` throw `error`. */
  failReads(key: string, error: Error, times?: number): void;
  readonly reads: { key: string; version?: string }[];
  readonly rotations: string[];
}

export function createMemorySource(
  options: { name?: string; provider?: Provider; clock?: () => Date } = {},
): MemorySource {
  const encoder = new TextEncoder();
  const secrets = new Map<string, { versions: Map<string, SecretValue>; current: string }>();
  const faults = new Map<string, { error: Error; times: number }>();
  const reads: { key: string; version?: string }[] = [];
  const rotations: string[] = [];
  let counter = 0;
  const now = options.clock ?? (() => new Date());

  const source: MemorySource = {
    provider: options.provider ?? 'local',
    name: options.name ?? 'memory',
    reads,
    rotations,
    put(key, value, opts = {}) {
      counter++;
      const versionId = `v${counter}`;
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      const entry = secrets.get(key) ?? { versions: new Map<string, SecretValue>(), current: versionId };
      entry.versions.set(versionId, {
        versionId,
        createdAt: opts.createdAt ?? new Date(now().getTime() + counter),
        bytes: encoder.encode(text),
      });
      if (opts.current !== false) entry.current = versionId;
      secrets.set(key, entry);
      return versionId;
    },
    promote(key, versionId) {
      const entry = secrets.get(key);
      if (entry?.versions.has(versionId) !== true) throw new Error(`no version ${versionId} of ${key}`);
      entry.current = versionId;
    },
    remove(key) {
      secrets.delete(key);
    },
    failReads(key, error, times = 1) {
      faults.set(key, { error, times });
    },
    read(key, opts) {
      reads.push(opts?.version === undefined ? { key } : { key, version: opts.version });
      const fault = faults.get(key);
      if (fault !== undefined && fault.times > 0) {
        fault.times--;
        return Promise.reject(fault.error);
      }
      const entry = secrets.get(key);
      const value = entry?.versions.get(opts?.version ?? entry.current);
      if (value === undefined)
        return Promise.reject(new SecretNotFoundError(`secret "${key}" not found in memory source`));
      return Promise.resolve(value);
    },
    refersTo(key, changeRef) {
      return key === changeRef;
    },
    currentVersion(key) {
      const entry = secrets.get(key);
      return entry === undefined
        ? Promise.reject(new SecretNotFoundError(`secret "${key}" not found`))
        : Promise.resolve(entry.current);
    },
    rotate(key) {
      rotations.push(key);
      return Promise.resolve();
    },
    writeVersion(key, bytes) {
      const versionId = source.put(key, new TextDecoder().decode(bytes));
      return Promise.resolve({ versionId });
    },
  };
  return source;
}
